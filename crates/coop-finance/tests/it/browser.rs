//! The browser pass over coop-finance's pages (headless Chromium, axe-core and the house rules;
//! see tests/browser/README.md), English and Swedish, a member's and a bookkeeper's. The app is
//! the real one; only the sign-in at coop-sso is stood in for: `/test/as/<who>` sets a cookie
//! that a layer of this test turns into a signed-in member.

use coop_domain::Role;
use coop_testkit::browser::check;
use coop_web::auth::CurrentUser;
use serde_json::json;

fn who(name: &str) -> Option<CurrentUser> {
    let (id, roles): (u128, &[Role]) = match name {
        "member" => (0x0000_0000_0000_4000_8000_0000_0000_0001, &[Role::Member]),
        "bookkeeper" => (
            0x0000_0000_0000_4000_8000_0000_0000_0b0c,
            &[Role::Member, Role::Bookkeeper],
        ),
        _ => return None,
    };
    Some(coop_web::testing::user(name, id, roles))
}

#[tokio::test]
async fn external_the_finance_pages_pass_the_browser_checks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = crate::http::app_at(&base, json!({ "second_bookkeeper_above": "2000" })).await;
    coop_finance::demo::seed(&app.pool).await.unwrap();
    coop_finance::demo::seed_waiting(&app.pool, chrono::Utc::now().date_naive())
        .await
        .unwrap();
    let router = coop_web::testing::signed_in_as(app.router.clone(), "/finance", who);
    let _served = coop_testkit::http::serve_on(listener, router);

    let mut sessions = Vec::new();
    for lang in ["en", "sv"] {
        sessions.push(coop_web::testing::session(lang, "member", vec![
            json!({ "visit": format!("/finance?lang={lang}") }),
            check("wallet", lang, json!({ "expect_status": 200, "expect_selector": ["#available", "#reference"] })),
            json!({ "fill": [{ "name": "amount", "value": "-5" }, { "name": "bank_reference", "value": "x" }] }),
            json!({ "submit": "enter" }),
            check("wallet claim refused", lang, json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#amount"] })),
            json!({ "fill": [{ "name": "amount", "value": "250" }, { "name": "bank_reference", "value": "Swish" }] }),
            json!({ "submit": "enter" }),
            check("wallet claim sent", lang, json!({ "expect_status": 200, "expect_selector": ".notice-success" })),
        ]));
        sessions.push(coop_web::testing::session(lang, "bookkeeper", vec![
            json!({ "visit": format!("/finance/top-ups?lang={lang}") }),
            check("top-ups", lang, json!({ "expect_status": 200, "expect_selector": [".card", ".subnav [aria-current]"] })),
            json!({ "visit": format!("/finance/wallets?lang={lang}") }),
            check("wallets", lang, json!({ "expect_status": 200, "expect_selector": ["#wallets tbody th", "input[type=search]"] })),
            json!({ "visit": format!("/finance/bank?lang={lang}") }),
            check("bank", lang, json!({ "expect_status": 200, "expect_selector": "input[type=file]" })),
            json!({ "visit": format!("/finance/books/1/periods?lang={lang}") }),
            check("periods", lang, json!({ "expect_status": 200, "expect_selector": "table" })),
            json!({ "visit": format!("/finance/books?lang={lang}") }),
            check("books", lang, json!({ "expect_status": 200, "expect_selector": "a[download]" })),
            json!({ "visit": format!("/finance/entries?lang={lang}") }),
            check("journal", lang, json!({ "expect_status": 200, "expect_selector": "table a" })),
            json!({ "visit": format!("/finance/entries/new?lang={lang}") }),
            check("new entry", lang, json!({ "expect_status": 200, "expect_selector": "fieldset select" })),
            json!({ "fill": [{ "name": "text", "value": "Kontorsmaterial" }, { "name": "debit-1", "value": "abc" }] }),
            json!({ "submit": "enter" }),
            check("new entry refused", lang, json!({ "expect_status": 422, "expect_errors": true })),
            json!({ "visit": format!("/finance/entries/1?lang={lang}") }),
            check("entry", lang, json!({ "expect_status": 200, "expect_selector": "#entry-text" })),
            json!({ "visit": format!("/finance/budget?lang={lang}") }),
            check("budget", lang, json!({ "expect_status": 200, "expect_selector": ["svg[role=img]", "#m12"] })),
            json!({ "visit": format!("/finance/reports?from=2026-01-01&to=2026-12-31&lang={lang}") }),
            check("reports", lang, json!({ "expect_status": 200, "expect_selector": ["#result", "svg[role=img]", "#vat-to-pay"] })),
        ]));
    }
    // The pass blocks while Chromium runs; the app is served from this test's runtime meanwhile.
    tokio::task::spawn_blocking(move || {
        coop_testkit::browser::run("coop-finance", &base, sessions)
    })
    .await
    .unwrap();
}
