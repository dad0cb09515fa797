//! Services against each other's real feeds, where both exist: each producer's own outbox,
//! written by its own code, consumed by the other's own consumer. (Kept out of the service
//! crates so that none is compiled against another's schema when `cargo xtask sqlx prepare`
//! checks its queries.)

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use coop_finance::ledger::{chart, store};
use coop_finance::postings::ImsFeed;
use coop_web::feed;
use coop_web::feed::consumer::{Consumer, Credentials};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
struct Whole;

impl feed::View for Whole {
    fn show(&self, _kind: &str, payload: &Value) -> Option<Value> {
        Some(payload.clone())
    }
}

/// Stands in for the producer's token check (each service's own is tested in its crate).
#[derive(Debug, Clone)]
struct FinanceOnly;

impl feed::Access for FinanceOnly {
    type View = Whole;

    async fn authorise(&self, headers: &HeaderMap) -> Result<Whole, Response> {
        match feed::bearer(headers) {
            Some("finance") => Ok(Whole),
            _ => Err(feed::refusal(StatusCode::FORBIDDEN, "forbidden", "Bearer")),
        }
    }
}

/// coop-ims's own feed now exists: its real outbox, written by its real stock code, booked here.
#[tokio::test]
async fn stock_movements_from_the_real_coop_ims_are_booked_once() {
    use coop_ims::stock::{self, MovementKind, NewMovement, ShrinkReason};
    let (_ims_db, ims) = coop_testkit::migrated_database(&coop_ims::MIGRATOR).await;
    stock::sync_locations(&ims, &coop_ims::Settings::default().locations)
        .await
        .unwrap();
    let form = coop_ims::catalogue::ProductForm {
        sku: "HAV".into(),
        name: "Havregryn".into(),
        unit: "each".into(),
        vat_class: "food".into(),
        cost: "14.50".into(),
        shelf_price: "24.90".into(),
        ..Default::default()
    };
    let draft = form.check(&["food".to_owned()], 2, "sv").unwrap();
    let oats = coop_ims::catalogue::create(&ims, &draft).await.unwrap();
    let locations = stock::locations(&ims).await.unwrap();
    let shop = locations
        .iter()
        .find(|l| l.code == "shop")
        .unwrap()
        .location_id;
    let room = locations
        .iter()
        .find(|l| l.code == "storeroom")
        .unwrap()
        .location_id;
    let on = chrono::NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
    let movement = |kind, reason, quantity| NewMovement {
        product_id: oats,
        location_id: shop,
        kind,
        reason,
        quantity,
        on,
        source_key: None,
        transfer_id: None,
        note: None,
        by: None,
    };
    stock::record_one(&ims, &movement(MovementKind::Received, None, dec!(24)))
        .await
        .unwrap();
    stock::record_one(
        &ims,
        &movement(MovementKind::Shrink, Some(ShrinkReason::Damaged), dec!(-2)),
    )
    .await
    .unwrap();
    stock::transfer(&ims, oats, shop, room, dec!(6), on, None)
        .await
        .unwrap();

    let (_books_db, books) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    store::seed_chart(&books, &chart::bas_default())
        .await
        .unwrap();
    store::open_fiscal_year(&books, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .await
        .unwrap();
    let served = coop_testkit::http::serve(feed::routes(ims.clone(), FinanceOnly)).await;
    let consumer = Consumer::new(
        "coop-ims",
        served.url("/api/feed").parse().unwrap(),
        Credentials::Bearer("finance".into()),
        books.clone(),
        ImsFeed,
    );
    consumer.round(0).await.unwrap();
    consumer.round(0).await.unwrap();
    // The delivery at cost (24 × 14.50) and the damaged two; the transfer books nothing; the
    // product events are not finance's business.
    let lines: Vec<(String, i32, Decimal)> = sqlx::query_as(
        "select e.text, l.account_number, l.amount from journal_line l
         join journal_entry e using (journal_entry_id)
         where e.source_key like 'coop-ims:%' order by e.journal_entry_id, l.account_number",
    )
    .fetch_all(&books)
    .await
    .unwrap();
    let amounts: Vec<(i32, Decimal)> = lines.iter().map(|(_, a, m)| (*a, *m)).collect();
    assert_eq!(
        amounts,
        vec![
            (1460, dec!(348.00)),
            (4990, dec!(-348.00)),
            (1460, dec!(-29.00)),
            (4990, dec!(29.00)),
        ]
    );
    assert!(lines[2].0.contains("damaged"), "{lines:?}");
}
