//! The stock ledger: on hand is the sum of the movements at every location, under any
//! interleaving of concurrent writers; movements are append-only and levels cannot be written;
//! a transfer moves stock without changing its value; bad quantities are refused and write
//! nothing.

use std::collections::BTreeMap;

use coop_ims::stock::{self, MovementKind, NewMovement, ShrinkReason, StockError};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;
use uuid::Uuid;

use crate::catalogue::{d, database, ean13, form, product};

async fn shop_and_storeroom(pool: &PgPool) -> (Uuid, Uuid) {
    let l = stock::locations(pool).await.unwrap();
    let shop = l.iter().find(|l| l.code == "shop").unwrap().location_id;
    let room = l
        .iter()
        .find(|l| l.code == "storeroom")
        .unwrap()
        .location_id;
    (shop, room)
}

fn movement(
    product: Uuid,
    location: Uuid,
    kind: MovementKind,
    quantity: Decimal,
) -> NewMovement<'static> {
    NewMovement {
        product_id: product,
        location_id: location,
        kind,
        reason: (kind == MovementKind::Shrink).then_some(ShrinkReason::Spoiled),
        quantity,
        on: d(2026, 11, 30),
        source_key: None,
        transfer_id: None,
        note: None,
        by: None,
    }
}

/// (product, location) → on hand, from the level table and from the movements.
async fn levels(
    pool: &PgPool,
) -> (
    BTreeMap<(Uuid, Uuid), Decimal>,
    BTreeMap<(Uuid, Uuid), Decimal>,
) {
    let kept: Vec<(Uuid, Uuid, Decimal)> =
        sqlx::query_as("select product_id, location_id, on_hand from stock_level")
            .fetch_all(pool)
            .await
            .unwrap();
    let summed: Vec<(Uuid, Uuid, Decimal)> = sqlx::query_as(
        "select product_id, location_id, sum(quantity) from stock_movement group by 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let map = |v: Vec<(Uuid, Uuid, Decimal)>| {
        v.into_iter()
            .filter(|(_, _, q)| !q.is_zero())
            .map(|(p, l, q)| ((p, l), q.normalize()))
            .collect()
    };
    (map(kept), map(summed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Four writers at once, each a random run of deliveries, sales, shrink, returns and
    /// transfers over three products and two locations: afterwards on hand equals the sum of
    /// the movements everywhere, and equals what the operations added up to.
    #[test]
    fn on_hand_is_the_sum_of_the_movements_under_any_interleaving(
        writers in prop::collection::vec(
            prop::collection::vec((0_usize..3, 0_usize..2, 0_u8..5, 1_i64..500), 1..15),
            4,
        )
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let pool = database().await;
            let (shop, room) = shop_and_storeroom(&pool).await;
            let mut products = Vec::new();
            for (i, unit) in ["each", "kg", "each"].iter().enumerate() {
                products.push(product(&pool, &form(&format!("P{i}"), &format!("Vara {i}"), unit, "10", "")).await);
            }
            let locations = [shop, room];
            let mut model: BTreeMap<(Uuid, Uuid), Decimal> = BTreeMap::new();
            let mut tasks = Vec::new();
            for ops in &writers {
                let mut planned = Vec::new();
                for &(p, l, op, n) in ops {
                    let (product, at, other) = (products[p], locations[l], locations[1 - l]);
                    // Grams for the weighed product, whole units for the others.
                    let q = if p == 1 { Decimal::new(n, 3) } else { Decimal::from(n) };
                    let change = match op {
                        // Received or returned; sold or lost; moved.
                        0 | 3 => vec![(at, q)],
                        1 | 2 => vec![(at, -q)],
                        _ => vec![(at, -q), (other, q)],
                    };
                    for (loc, c) in change {
                        *model.entry((product, loc)).or_default() += c;
                    }
                    planned.push((product, at, other, op, q));
                }
                let pool = pool.clone();
                tasks.push(tokio::spawn(async move {
                    for (product, at, other, op, q) in planned {
                        match op {
                            0 => { stock::record_one(&pool, &movement(product, at, MovementKind::Received, q)).await.unwrap(); }
                            1 => { stock::record_one(&pool, &movement(product, at, MovementKind::Sold, -q)).await.unwrap(); }
                            2 => { stock::record_one(&pool, &movement(product, at, MovementKind::Shrink, -q)).await.unwrap(); }
                            3 => { stock::record_one(&pool, &movement(product, at, MovementKind::Returned, q)).await.unwrap(); }
                            _ => { stock::transfer(&pool, product, at, other, q, d(2026, 11, 30), None).await.unwrap(); }
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let (kept, summed) = levels(&pool).await;
            let model: BTreeMap<_, _> = model.into_iter().filter(|(_, q)| !q.is_zero()).map(|(k, q)| (k, q.normalize())).collect();
            assert_eq!(kept, summed, "the level table is the sum of the movements");
            assert_eq!(kept, model, "and what the operations added up to");
        });
    }
}

#[tokio::test]
async fn movements_and_levels_cannot_be_changed_by_hand() {
    let pool = database().await;
    let (shop, room) = shop_and_storeroom(&pool).await;
    let p = product(
        &pool,
        &form("MJO", "Mjölk", "each", "21.95", &ean13("731000100002")),
    )
    .await;
    stock::record_one(&pool, &movement(p, shop, MovementKind::Received, dec!(24)))
        .await
        .unwrap();
    for sql in [
        "update stock_movement set quantity = 100",
        "delete from stock_movement",
        "update stock_level set on_hand = 100",
        "delete from stock_level",
        "insert into stock_level (product_id, location_id, on_hand) select product_id, location_id, 5 from stock_movement",
    ] {
        assert!(sqlx::query(sql).execute(&pool).await.is_err(), "{sql}");
    }
    assert!(sqlx::query("truncate stock_movement")
        .execute(&pool)
        .await
        .is_err());

    // A transfer moves stock between locations; its value is unchanged.
    stock::transfer(&pool, p, shop, room, dec!(10), d(2026, 11, 30), None)
        .await
        .unwrap();
    let l = stock::levels(&pool, p).await.unwrap();
    let at = |code: &str| l.iter().find(|x| x.code == code).unwrap().on_hand;
    assert_eq!((at("shop"), at("storeroom")), (dec!(14), dec!(10)));
    let costs: Vec<(String, String)> = sqlx::query_as(
        "select payload->>'kind', payload->>'cost' from feed_event where kind = 'stock.moved' order by feed_event_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        costs,
        vec![
            ("received".into(), "240.00".into()),
            ("transferred".into(), "0".into())
        ],
        "the delivery at cost 10.00 each; the transfer at no value"
    );

    // Bad quantities, a transfer to where it is, an unknown product: refused, nothing written.
    let before = sqlx::query_scalar::<_, i64>("select count(*) from stock_movement")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(matches!(
        stock::record_one(&pool, &movement(p, shop, MovementKind::Received, dec!(1.5))).await,
        Err(StockError::Quantity(_))
    ));
    assert!(matches!(
        stock::record_one(
            &pool,
            &movement(p, shop, MovementKind::Received, dec!(2000000))
        )
        .await,
        Err(StockError::Quantity(_))
    ));
    assert!(matches!(
        stock::transfer(&pool, p, shop, shop, dec!(1), d(2026, 11, 30), None).await,
        Err(StockError::SameLocation)
    ));
    assert!(matches!(
        stock::transfer(&pool, p, shop, room, dec!(-1), d(2026, 11, 30), None).await,
        Err(StockError::Quantity(_))
    ));
    assert!(matches!(
        stock::record_one(
            &pool,
            &movement(Uuid::new_v4(), shop, MovementKind::Received, dec!(1))
        )
        .await,
        Err(StockError::NoProduct)
    ));
    // Shrink without a reason, or a sale that adds stock: the database says no.
    let mut m = movement(p, shop, MovementKind::Shrink, dec!(-1));
    m.reason = None;
    assert!(stock::record_one(&pool, &m).await.is_err());
    assert!(
        stock::record_one(&pool, &movement(p, shop, MovementKind::Sold, dec!(1)))
            .await
            .is_err()
    );
    let after = sqlx::query_scalar::<_, i64>("select count(*) from stock_movement")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(before, after);
}
