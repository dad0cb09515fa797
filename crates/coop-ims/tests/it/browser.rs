//! The browser pass over coop-ims's pages (headless Chromium, axe-core and the house rules; see
//! tests/browser/README.md), English and Swedish, a member's and a manager's: the finder, the
//! catalogue, a product's page with its forms, a refused form, and the stock value report. The
//! app is the real one; only the sign-in at coop-sso is stood in for: `/test/as/<who>` sets a
//! cookie that a layer of this test turns into a signed-in member.

use coop_domain::Role;
use coop_testkit::browser::check;
use coop_web::auth::CurrentUser;
use serde_json::json;

fn who(name: &str) -> Option<CurrentUser> {
    let (id, roles): (u128, &[Role]) = match name {
        "member" => (0x0000_0000_0000_4000_8000_0000_0000_0001, &[Role::Member]),
        "manager" => (
            0x0000_0000_0000_4000_8000_0000_0000_0a0a,
            &[Role::Member, Role::Manager],
        ),
        _ => return None,
    };
    Some(coop_web::testing::user(name, id, roles))
}

#[tokio::test]
async fn external_the_inventory_pages_pass_the_browser_checks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = crate::http::app_at(&base).await;
    coop_ims::demo::seed(&app.pool, chrono::Utc::now().date_naive())
        .await
        .unwrap();
    let oats: uuid::Uuid =
        sqlx::query_scalar("select product_id from product where sku = 'HAV-1KG'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let router = coop_web::testing::signed_in_as(app.router.clone(), "/ims", who);
    let _served = coop_testkit::http::serve_on(listener, router);

    let mut sessions = Vec::new();
    for lang in ["en", "sv"] {
        sessions.push(coop_web::testing::session(
            lang,
            "member",
            vec![
                json!({ "visit": format!("/ims?lang={lang}") }),
                check(
                    "finder",
                    lang,
                    json!({ "expect_status": 200, "expect_selector": "input[type=search]" }),
                ),
                json!({ "fill": [{ "name": "q", "value": "a" }] }),
                json!({ "submit": "enter" }),
                check(
                    "finder results",
                    lang,
                    json!({ "expect_status": 200, "expect_selector": ".card" }),
                ),
                json!({ "visit": format!("/ims/requests?lang={lang}") }),
                check("requests", lang, json!({ "expect_status": 200, "expect_selector": "textarea#details" })),
                json!({ "fill": [{ "name": "details", "value": "Oatly 1 l" }] }),
                json!({ "submit": { "button": if lang == "en" { "Send the request" } else { "Skicka önskemålet" } } }),
                check("request refused", lang, json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#title"] })),
                json!({ "fill": [{ "name": "title", "value": "Havremjölk barista" }] }),
                json!({ "submit": "enter" }),
                check("request sent", lang, json!({ "expect_status": 200, "expect_selector": [".notice-success", ".card"] })),
            ],
        ));
        sessions.push(coop_web::testing::session(lang, "manager", vec![
            json!({ "visit": format!("/ims/products?lang={lang}") }),
            check("catalogue", lang, json!({ "expect_status": 200, "expect_selector": ["table a", ".subnav [aria-current]"] })),
            json!({ "visit": format!("/ims/products/{oats}?lang={lang}") }),
            check("product", lang, json!({ "expect_status": 200, "expect_selector": ["#on-hand-shop", "select#reason"] })),
            json!({ "visit": format!("/ims/products/new?lang={lang}") }),
            check("new product", lang, json!({ "expect_status": 200, "expect_selector": "#codes" })),
            json!({ "fill": [{ "name": "name", "value": "Rågbröd" }, { "name": "shelf_price", "value": "12.345" }] }),
            json!({ "submit": "enter" }),
            check("new product refused", lang, json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#sku", "#vat_class", "#cost", "#shelf_price"] })),
            json!({ "visit": format!("/ims/audits?lang={lang}") }),
            check("counts", lang, json!({ "expect_status": 200, "expect_selector": "input#sample" })),
            json!({ "fill": [{ "name": "sample", "value": "5" }] }),
            json!({ "submit": "enter" }),
            check("count sheet", lang, json!({ "expect_status": 200, "expect_selector": ".count-sheet input" })),
            json!({ "submit": { "button": if lang == "en" { "Cancel the count" } else { "Avbryt inventeringen" } } }),
            json!({ "visit": format!("/ims/reports/velocity?lang={lang}") }),
            check("sales pace", lang, json!({ "expect_status": 200, "expect_selector": ["figure picture img[alt]", "table"] })),
            json!({ "visit": format!("/ims/reports/reorder?lang={lang}") }),
            check("what to order", lang, json!({ "expect_status": 200, "expect_selector": "h1" })),
            json!({ "visit": format!("/ims/suppliers?lang={lang}") }),
            check("suppliers", lang, json!({ "expect_status": 200, "expect_selector": "input#lead_time_days" })),
            json!({ "visit": format!("/ims/orders?lang={lang}") }),
            check("purchase orders", lang, json!({ "expect_status": 200, "expect_selector": "h1" })),
            json!({ "visit": format!("/ims/reports/shrink?lang={lang}") }),
            check("shrink", lang, json!({ "expect_status": 200, "expect_selector": "#shrink-total" })),
            json!({ "visit": format!("/ims/reports/stock?lang={lang}") }),
            check("stock value", lang, json!({ "expect_status": 200, "expect_selector": ["figure picture img[alt]", "table"] })),
            json!({ "submit": { "button": if lang == "en" { "Prepare the whole list as CSV" } else { "Förbered hela listan som CSV" } } }),
            check("export job", lang, json!({ "expect_status": 200, "expect_selector": "#job-state" })),
            json!({ "visit": format!("/ims/jobs?lang={lang}") }),
            check("downloads", lang, json!({ "expect_status": 200, "expect_selector": ".job-list a" })),
        ]));
    }
    tokio::task::spawn_blocking(move || coop_testkit::browser::run("coop-ims", &base, sessions))
        .await
        .unwrap();
}
