//! The browser pass over coop-ims's pages (headless Chromium, axe-core and the house rules; see
//! tests/browser/README.md), English and Swedish, a member's and a manager's: the finder, the
//! catalogue, a product's page with its forms, a refused form, and the stock value report. The
//! app is the real one; only the sign-in at coop-sso is stood in for: `/test/as/<who>` sets a
//! cookie that a layer of this test turns into a signed-in member.

use axum::extract::Path;
use axum::http::{header, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use coop_domain::Role;
use coop_testkit::browser::check;
use coop_web::auth::CurrentUser;
use serde_json::{json, Value};

fn who(name: &str) -> Option<CurrentUser> {
    let (id, roles): (u128, &[Role]) = match name {
        "member" => (0x0000_0000_0000_4000_8000_0000_0000_0001, &[Role::Member]),
        "manager" => (
            0x0000_0000_0000_4000_8000_0000_0000_0a0a,
            &[Role::Member, Role::Manager],
        ),
        _ => return None,
    };
    let mut u = CurrentUser::fixture(roles.iter().copied());
    u.sub = uuid::Uuid::from_u128(id).to_string();
    u.name = format!("Demo {name}");
    Some(u)
}

async fn sign_in_as(Path(name): Path<String>) -> Response {
    (
        [
            (
                header::SET_COOKIE,
                format!("test-as={name}; Path=/; HttpOnly; SameSite=Lax"),
            ),
            (header::LOCATION, "/ims".to_owned()),
        ],
        axum::http::StatusCode::SEE_OTHER,
    )
        .into_response()
}

async fn as_member(mut req: Request<axum::body::Body>, next: Next) -> Response {
    let name = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("test-as=").map(str::to_owned));
    if let Some(u) = name.as_deref().and_then(who) {
        req.extensions_mut().insert(u);
    }
    next.run(req).await
}

fn steps(lang: &str, who: &str, pages: Vec<Value>) -> Value {
    let mut steps = vec![json!({ "visit": format!("/test/as/{who}") })];
    steps.extend(pages);
    json!({ "name": format!("{who} ({lang})"), "steps": steps })
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
    let router = Router::new()
        .route("/test/as/{name}", get(sign_in_as))
        .fallback_service(app.router.clone())
        .layer(axum::middleware::from_fn(as_member));
    let _served = coop_testkit::http::serve_on(listener, router);

    let mut sessions = Vec::new();
    for lang in ["en", "sv"] {
        sessions.push(steps(
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
        sessions.push(steps(lang, "manager", vec![
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
