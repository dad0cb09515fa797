//! The stock reports over movements the test writes on known days: pace and cover, slow movers
//! and stock-outs, reorder suggestions in whole cases per supplier, moves from the storeroom to a
//! shop running low, and shrink per product and reason with its rate.

use chrono::{Duration, NaiveDate};
use coop_ims::catalogue;
use coop_ims::reports;
use coop_ims::stock::{self, MovementKind, NewMovement, ShrinkReason};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;
use uuid::Uuid;

use crate::catalogue::{d, database, form};

async fn put(pool: &PgPool, p: Uuid, at: Uuid, kind: MovementKind, q: Decimal, on: NaiveDate) {
    stock::record_one(
        pool,
        &NewMovement {
            product_id: p,
            location_id: at,
            kind,
            reason: (kind == MovementKind::Shrink).then_some(ShrinkReason::Spoiled),
            quantity: q,
            on,
            source_key: None,
            transfer_id: None,
            note: None,
            by: None,
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn pace_cover_reorders_moves_and_shrink_add_up() {
    let pool = database().await;
    let locations = stock::locations(&pool).await.unwrap();
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
    let grossist = catalogue::supplier(&pool, "Grossisten AB", None, 2)
        .await
        .unwrap();
    let with = |sku: &str, name: &str| {
        let mut f = form(sku, name, "each", "20", "");
        f.supplier = grossist.to_string();
        f.case_size = "12".into();
        f
    };
    let oats = crate::catalogue::product(&pool, &with("HAV", "Havregryn")).await;
    let candles = crate::catalogue::product(&pool, &with("LJUS", "Kronljus")).await;
    let salt = crate::catalogue::product(&pool, &with("SALT", "Salt")).await;
    let today = d(2026, 11, 30);
    // Oats: 60 in, then 2 a day for 28 days (56), all from the shop; 24 more in the storeroom.
    put(
        &pool,
        oats,
        shop,
        MovementKind::Received,
        dec!(60),
        today - Duration::days(40),
    )
    .await;
    for i in 0..28 {
        put(
            &pool,
            oats,
            shop,
            MovementKind::Sold,
            dec!(-2),
            today - Duration::days(i),
        )
        .await;
    }
    put(&pool, oats, room, MovementKind::Received, dec!(24), today).await;
    // Candles: 10 in 100 days ago, none sold since; 2 spoiled.
    put(
        &pool,
        candles,
        shop,
        MovementKind::Received,
        dec!(10),
        today - Duration::days(100),
    )
    .await;
    put(
        &pool,
        candles,
        shop,
        MovementKind::Shrink,
        dec!(-2),
        today - Duration::days(3),
    )
    .await;
    // Salt: sold out: 3 in, 3 sold last week.
    put(
        &pool,
        salt,
        shop,
        MovementKind::Received,
        dec!(3),
        today - Duration::days(20),
    )
    .await;
    put(
        &pool,
        salt,
        shop,
        MovementKind::Sold,
        dec!(-3),
        today - Duration::days(6),
    )
    .await;

    let rows = reports::velocity(&pool, today).await.unwrap();
    // Read a few products at a time, as the background export does: the same rows, and the
    // progress climbs to the whole.
    for chunk in [1, 2, 1000] {
        let seen = std::sync::Mutex::new(Vec::new());
        let mut chunked = reports::velocity_in_chunks(&pool, today, chunk, |done| {
            seen.lock().unwrap().push(done);
            async {}
        })
        .await
        .unwrap();
        let mut whole = rows.clone();
        whole.sort_by_key(|v| v.product_id);
        chunked.sort_by_key(|v| v.product_id);
        assert_eq!(chunked, whole, "chunks of {chunk}");
        let seen = seen.into_inner().unwrap();
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert!((seen.last().unwrap() - 1.0).abs() < 1e-9, "{seen:?}");
    }
    let oat = rows.iter().find(|v| v.product_id == oats).unwrap();
    assert_eq!(
        (oat.sold_7, oat.sold_28, oat.sold_90),
        (dec!(14), dec!(56), dec!(56))
    );
    assert_eq!(
        (oat.per_day(28), oat.in_shops, oat.on_hand),
        (dec!(2), dec!(4), dec!(28))
    );
    assert_eq!(oat.days_of_cover(), Some(dec!(14)));
    let slow: Vec<Uuid> = reports::slow_movers(&rows)
        .iter()
        .map(|v| v.product_id)
        .collect();
    assert_eq!(slow, vec![candles]);
    let outs: Vec<Uuid> = reports::stock_outs(&rows)
        .iter()
        .map(|v| v.product_id)
        .collect();
    assert_eq!(outs, vec![salt]);

    // Oats: 2 a day × (2 lead + 7 + 3) = 24 wanted, 28 held: nothing. Salt: 3/28 a day × 12
    // = 1.29 wanted, 0 held: one case of 12.
    let orders = reports::reorder(&rows);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].supplier.as_deref(), Some("Grossisten AB"));
    let lines: Vec<(Uuid, Decimal)> = orders[0]
        .lines
        .iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    assert_eq!(lines, vec![(salt, dec!(12))]);

    // The shop has 4 oats, two days' worth: a week is 14, so 10 come from the storeroom.
    let moves = reports::replenishment(&pool, today).await.unwrap();
    assert_eq!(moves.len(), 1);
    assert_eq!((moves[0].product_id, moves[0].quantity), (oats, dec!(10)));

    // Shrink in the last four weeks: 2 candles at 10.00, all of what went out.
    let shrink = reports::shrink(&pool, today - Duration::days(27), today)
        .await
        .unwrap();
    assert_eq!(shrink.len(), 1);
    assert_eq!(
        (
            shrink[0].reason.as_str(),
            shrink[0].quantity,
            shrink[0].value,
            shrink[0].rate
        ),
        ("spoiled", dec!(2), dec!(20.00), dec!(100.0))
    );
}
