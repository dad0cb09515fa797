//! The browser pass over central's pages (headless Chromium, axe-core and the house rules; see
//! tests/browser/README.md), English and Swedish: a manager's tills, sales, till days and a
//! receipt; a member's own purchases and receipt; a cashier's PIN page with a refused form. The
//! app is the real one; only coop-sso's sign-in is stood in for (`coop_web::testing`).

use coop_domain::Role;
use coop_testkit::browser::check;
use coop_web::auth::CurrentUser;
use coop_web::testing::{session, signed_in_as, user};
use serde_json::json;

const MEMBER: u128 = 0x0000_0000_0000_4000_8000_0000_0000_0001;

fn who(name: &str) -> Option<CurrentUser> {
    Some(match name {
        "member" => user(name, MEMBER, &[Role::Member]),
        "manager" => user(
            name,
            0x0000_0000_0000_4000_8000_0000_0000_0a0a,
            &[Role::Member, Role::Manager],
        ),
        "cashier" => user(
            name,
            0x0000_0000_0000_4000_8000_0000_0000_0c0c,
            &[Role::Member, Role::Cashier],
        ),
        _ => return None,
    })
}

#[tokio::test]
async fn external_centrals_pages_pass_the_browser_checks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = crate::http::app_at(&base, |_| {}).await;
    let member = uuid::Uuid::from_u128(MEMBER).to_string();
    let (first, _, _) = crate::sales::a_day(&app, &member).await;
    let router = signed_in_as(app.router.clone(), "/pos", who);
    let _served = coop_testkit::http::serve_on(listener, router);

    let day = "2026-11-30";
    let mut sessions = Vec::new();
    for lang in ["en", "sv"] {
        sessions.push(session(lang, "manager", vec![
            json!({ "visit": format!("/pos?lang={lang}") }),
            check("tills", lang, json!({ "expect_status": 200, "expect_selector": ["table", ".subnav [aria-current]"] })),
            json!({ "visit": format!("/pos/sales?day={day}&lang={lang}") }),
            check("sales", lang, json!({ "expect_status": 200, "expect_selector": ["#sales tbody a", "#day-summary"] })),
            json!({ "visit": format!("/pos/days?day={day}&lang={lang}") }),
            check("till days", lang, json!({ "expect_status": 200, "expect_selector": [".till-total", "#all-tills"] })),
            json!({ "visit": format!("/pos/sales/{first}?lang={lang}") }),
            check("receipt", lang, json!({ "expect_status": 200, "expect_selector": "#receipt-number" })),
        ]));
        sessions.push(session(
            lang,
            "member",
            vec![
                json!({ "visit": format!("/pos/mine?lang={lang}") }),
                check(
                    "my purchases",
                    lang,
                    json!({ "expect_status": 200, "expect_selector": "#mine tbody a" }),
                ),
                json!({ "visit": format!("/pos/sales/{first}?lang={lang}") }),
                check(
                    "my receipt",
                    lang,
                    json!({ "expect_status": 200, "expect_selector": "#receipt-total" }),
                ),
            ],
        ));
        sessions.push(session(lang, "cashier", vec![
            json!({ "visit": format!("/pos/pin?lang={lang}") }),
            check("pin", lang, json!({ "expect_status": 200, "expect_selector": "#pin" })),
            json!({ "fill": [{ "name": "pin", "value": "12" }, { "name": "again", "value": "12" }] }),
            json!({ "submit": "enter" }),
            check("pin refused", lang, json!({ "expect_status": 422, "expect_errors": true })),
        ]));
    }
    // The pass blocks while Chromium runs; the app is served from this test's runtime meanwhile.
    tokio::task::spawn_blocking(move || coop_testkit::browser::run("coop-pos", &base, sessions))
        .await
        .unwrap();
}
