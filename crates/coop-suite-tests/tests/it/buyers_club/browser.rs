//! The browser pass over the buyers club's pages (headless Chromium, axe-core and the house
//! rules; see tests/browser/README.md), English and Swedish: the orders, an open order as its
//! manager and as a member who bought, the sorting view, a member's part, a closed order with a
//! change waiting for the member's answer, starting an order, the suppliers and a supplier,
//! the notification choices and the places (with a refused place).

use chrono::Duration;
use coop_buyers_club::store::{self, Actor};
use coop_domain::Role;
use coop_testkit::browser::check;
use coop_web::auth::CurrentUser;
use rust_decimal_macros::dec;
use serde_json::json;
use uuid::Uuid;

use super::common::now;

fn who(name: &str) -> Option<CurrentUser> {
    let id = match name {
        "alva" => 1,
        "bo" => 2,
        _ => return None,
    };
    Some(coop_web::testing::user(name, id, &[Role::Member]))
}

#[tokio::test]
async fn external_the_buyers_club_pages_pass_the_browser_checks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = super::http::app_at(&base).await;
    let c = &app.club;
    let (alva, bo) = (Uuid::from_u128(1), Uuid::from_u128(2));
    for m in [alva, bo] {
        let w = coop_finance::wallet::wallet_of(&c.books, m).await.unwrap();
        coop_finance::wallet::credit_top_up(
            &c.books,
            w,
            dec!(2000),
            now().date_naive(),
            &format!("t-{m}"),
            2,
        )
        .await
        .unwrap();
    }
    // The member feed has named them.
    for (m, number, name) in [(alva, "101", "Alva Andersson"), (bo, "102", "Bo Berg")] {
        sqlx::query("insert into member (member_id, member_number, name, status) values ($1, $2, $3, 'active')")
            .bind(m)
            .bind(number)
            .bind(name)
            .execute(&c.db)
            .await
            .unwrap();
    }
    // Alva shares her place with the other members.
    coop_buyers_club::places::set_mine(
        &c.db,
        alva,
        &coop_buyers_club::places::Mine {
            address: "Kvarnvägen 2, Röstånga".into(),
            latitude: Some(dec!(55.99)),
            longitude: Some(dec!(13.30)),
            on_map: true,
        },
        coop_web::Lang::Sv,
    )
    .await
    .unwrap();
    let (supplier, [oats, honey, soap]) = c.supplier(alva).await;
    store::edit_supplier(
        &c.db,
        supplier,
        &store::SupplierDraft {
            name: "Gården Söderåsen".into(),
            contact: "order@garden.example".into(),
            address: "Byvägen 1, Röstånga".into(),
            location: Some((dec!(55.996), dec!(13.285))),
            order_threshold: dec!(100),
            lead_time_days: 3,
        },
    )
    .await
    .unwrap();
    // An open order with purchases (its end a week from the real clock: the pages check it).
    let open = store::create_order(
        &c.db,
        alva,
        &store::NewOrder {
            supplier,
            title: "Veckans beställning",
            ends_at: chrono::Utc::now() + Duration::days(7),
            threshold: None,
            products: &[oats, honey, soap],
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let buy = |m, p, q, t| {
        store::set_purchase(
            &c.db,
            &c.wallet,
            Actor::Member(m),
            open,
            m,
            p,
            q,
            t,
            chrono::Utc::now(),
            2,
        )
    };
    buy(alva, oats, dec!(4), dec!(2)).await.unwrap();
    buy(bo, oats, dec!(3), dec!(1)).await.unwrap();
    buy(bo, honey, dec!(1), dec!(0)).await.unwrap();
    // A closed one, with a change waiting for Bo.
    let closed = store::create_order(
        &c.db,
        alva,
        &store::NewOrder {
            supplier,
            title: "Förra veckan",
            ends_at: chrono::Utc::now() + Duration::days(1),
            threshold: None,
            products: &[honey],
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    store::set_purchase(
        &c.db,
        &c.wallet,
        Actor::Member(bo),
        closed,
        bo,
        honey,
        dec!(2),
        dec!(0),
        chrono::Utc::now(),
        2,
    )
    .await
    .unwrap();
    store::close(&c.db, alva, closed, chrono::Utc::now(), 2)
        .await
        .unwrap();
    store::request_change(
        &c.db,
        alva,
        closed,
        honey,
        bo,
        dec!(1),
        "En burk gick sönder",
        chrono::Utc::now(),
    )
    .await
    .unwrap();

    let router = coop_web::testing::signed_in_as(app.router.clone(), "/buyers-club/", who);
    let _served = coop_testkit::http::serve_on(listener, router);
    let mut sessions = Vec::new();
    for lang in ["en", "sv"] {
        sessions.push(coop_web::testing::session(lang, "alva", vec![
            json!({ "visit": format!("/buyers-club/?lang={lang}") }),
            check("orders", lang, json!({ "expect_status": 200, "expect_selector": ["#orders tbody a", ".subnav [aria-current]"] })),
            json!({ "visit": format!("/buyers-club/orders/{open}?lang={lang}") }),
            check("order as its manager", lang, json!({ "expect_status": 200, "expect_selector": ["#lines", "#close", "#most"] })),
            json!({ "visit": format!("/buyers-club/orders/{open}/sorting?lang={lang}") }),
            check("sorting view", lang, json!({ "expect_status": 200, "expect_selector": ".sort-line table" })),
            json!({ "visit": format!("/buyers-club/orders/{closed}?lang={lang}") }),
            check("closed order as its manager", lang, json!({ "expect_status": 200, "expect_selector": ["#changes", "#complete"] })),
            json!({ "visit": format!("/buyers-club/orders/new?supplier={supplier}&lang={lang}") }),
            check("start an order", lang, json!({ "expect_status": 200, "expect_selector": ["#products input[type=checkbox]", "input#ends_on"] })),
            json!({ "fill": [{ "name": "ends_on", "value": "" }] }),
            json!({ "submit": { "button": if lang == "en" { "Start the order" } else { "Starta beställningen" } } }),
            check("start an order refused", lang, json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#ends_on"] })),
            json!({ "visit": format!("/buyers-club/suppliers?lang={lang}") }),
            check("suppliers", lang, json!({ "expect_status": 200, "expect_selector": ["#suppliers a", "input#name"] })),
            json!({ "visit": format!("/buyers-club/suppliers/{supplier}?lang={lang}") }),
            check("supplier", lang, json!({ "expect_status": 200, "expect_selector": ["#products tbody th", "#products tbody a"] })),
            json!({ "visit": format!("/buyers-club/products/{oats}?lang={lang}") }),
            check("product", lang, json!({ "expect_status": 200, "expect_selector": ["input#unit_price", "select#vat_class"] })),
            json!({ "fill": [{ "name": "unit_price", "value": "gratis" }] }),
            json!({ "submit": { "button": if lang == "en" { "Save" } else { "Spara" } } }),
            check("product refused", lang, json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#unit_price"] })),
            json!({ "visit": format!("/buyers-club/notifications?lang={lang}") }),
            check("notifications", lang, json!({ "expect_status": 200, "expect_selector": ["#choices input[type=checkbox]", "#where"] })),
            json!({ "visit": format!("/buyers-club/places?lang={lang}") }),
            check("places", lang, json!({ "expect_status": 200, "expect_selector": ["#places tbody th", "input#latitude"] })),
            json!({ "fill": [{ "name": "latitude", "value": "95" }] }),
            json!({ "submit": { "button": if lang == "en" { "Save my place" } else { "Spara min plats" } } }),
            check("place refused", lang, json!({ "expect_status": 422, "expect_errors": true, "expect_error_links": ["#latitude"] })),
        ]));
        sessions.push(coop_web::testing::session(lang, "bo", vec![
            json!({ "visit": format!("/buyers-club/orders/{open}?lang={lang}") }),
            check("order as a member", lang, json!({ "expect_status": 200, "expect_selector": ["#lines input", "#most"] })),
            json!({ "fill": [{ "name": format!("q-{honey}"), "value": "-2" }] }),
            json!({ "submit": { "button": if lang == "en" { "Save my purchases" } else { "Spara mina köp" } } }),
            check("purchase refused", lang, json!({ "expect_status": 422, "expect_errors": true })),
            json!({ "visit": format!("/buyers-club/orders/{open}/part?lang={lang}") }),
            check("my part", lang, json!({ "expect_status": 200, "expect_selector": ["#part", "#total"] })),
            json!({ "visit": format!("/buyers-club/orders/{closed}?lang={lang}") }),
            check("a change to answer", lang, json!({ "expect_status": 200, "expect_selector": ["#my-changes-title", "form.change button"] })),
        ]));
    }
    tokio::task::spawn_blocking(move || {
        coop_testkit::browser::run("coop-buyers-club", &base, sessions)
    })
    .await
    .unwrap();
}
