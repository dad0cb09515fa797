//! Stock audits: a count posts nothing until a manager approves it; differences are measured
//! against what the books said when each count was entered (a sale between counting and
//! approval is not counted twice); counts for products not on the sheet, negative or
//! over-precise counts are refused whole; a cycle count's sample leans to valuable stock.

use coop_ims::audit::{self, AuditError, Scope};
use coop_ims::stock::{self, MovementKind, NewMovement};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;
use uuid::Uuid;

use crate::catalogue::{d, database, form, product};

async fn shop(pool: &PgPool) -> Uuid {
    stock::locations(pool)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.code == "shop")
        .unwrap()
        .location_id
}

async fn receive(pool: &PgPool, p: Uuid, at: Uuid, q: Decimal, kind: MovementKind) {
    stock::record_one(
        pool,
        &NewMovement {
            product_id: p,
            location_id: at,
            kind,
            reason: None,
            quantity: q,
            on: d(2026, 11, 30),
            source_key: None,
            transfer_id: None,
            note: None,
            by: None,
        },
    )
    .await
    .unwrap();
}

async fn on_hand(pool: &PgPool, p: Uuid) -> Decimal {
    stock::levels(pool, p)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.code == "shop")
        .unwrap()
        .on_hand
        .normalize()
}

async fn movements(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from stock_movement")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_count_posts_its_differences_only_when_a_manager_approves() {
    let pool = database().await;
    let at = shop(&pool).await;
    let oats = product(&pool, &form("HAV", "Havregryn", "each", "24.90", "")).await;
    let cheese = product(&pool, &form("OST", "Grevé", "kg", "139", "")).await;
    let milk = product(&pool, &form("MJO", "Mjölk", "each", "21.95", "")).await;
    receive(&pool, oats, at, dec!(24), MovementKind::Received).await;
    receive(&pool, cheese, at, dec!(3.5), MovementKind::Received).await;
    receive(&pool, milk, at, dec!(12), MovementKind::Received).await;

    let id = audit::start(&pool, at, Scope::Full, None).await.unwrap();
    // One open count per location.
    assert!(matches!(
        audit::start(&pool, at, Scope::Full, None).await,
        Err(AuditError::Open)
    ));
    // Bad counts refuse the whole batch.
    let before =
        sqlx::query_scalar::<_, i64>("select count(*) from audit_line where counted is not null")
            .fetch_one(&pool)
            .await
            .unwrap();
    for bad in [
        vec![(oats, dec!(20)), (Uuid::new_v4(), dec!(1))],
        vec![(oats, dec!(-1))],
        vec![(oats, dec!(1.5))],
        vec![(cheese, dec!(1.2345))],
    ] {
        assert!(
            audit::count(&pool, id, &bad, None).await.is_err(),
            "{bad:?}"
        );
    }
    let after =
        sqlx::query_scalar::<_, i64>("select count(*) from audit_line where counted is not null")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(before, after);
    // Not all counted: it cannot be submitted yet.
    audit::count(&pool, id, &[(oats, dec!(22)), (cheese, dec!(3.5))], None)
        .await
        .unwrap();
    assert!(matches!(
        audit::submit(&pool, id).await,
        Err(AuditError::Count(_))
    ));
    audit::count(&pool, id, &[(milk, dec!(12))], None)
        .await
        .unwrap();
    // A sale after counting and before approval is still the sale's, not the count's.
    receive(&pool, oats, at, dec!(-3), MovementKind::Sold).await;
    audit::submit(&pool, id).await.unwrap();
    assert!(matches!(
        audit::count(&pool, id, &[(oats, dec!(1))], None).await,
        Err(AuditError::WrongStatus(_))
    ));
    let n = movements(&pool).await;
    assert_eq!(
        on_hand(&pool, oats).await,
        dec!(21),
        "nothing posted before approval"
    );

    assert_eq!(
        audit::approve(&pool, id, None, d(2026, 11, 30))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        movements(&pool).await,
        n + 1,
        "one difference, one movement"
    );
    assert_eq!(
        on_hand(&pool, oats).await,
        dec!(19),
        "22 counted, 2 missing, then 3 sold"
    );
    assert_eq!(on_hand(&pool, cheese).await, dec!(3.5));
    let moved: (String, String) = sqlx::query_as(
        "select payload->>'kind', payload->>'cost' from feed_event where kind = 'stock.moved'
         order by feed_event_id desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        moved,
        ("counted".into(), "-20.00".into()),
        "two at 10.00 cost"
    );
    // Approved once only.
    assert!(matches!(
        audit::approve(&pool, id, None, d(2026, 11, 30)).await,
        Err(AuditError::WrongStatus(_))
    ));
    // A cancelled count posts nothing.
    let again = audit::start(&pool, at, Scope::Full, None).await.unwrap();
    audit::count(&pool, again, &[(oats, dec!(0))], None)
        .await
        .unwrap();
    audit::cancel(&pool, again, None).await.unwrap();
    assert_eq!(on_hand(&pool, oats).await, dec!(19));
}

#[tokio::test]
async fn a_cycle_count_leans_to_valuable_stock() {
    let pool = database().await;
    let at = shop(&pool).await;
    let mut cheap = Vec::new();
    for i in 0..30 {
        cheap.push(
            product(
                &pool,
                &form(&format!("C{i}"), &format!("Billig {i}"), "each", "2", ""),
            )
            .await,
        );
    }
    let dear = product(&pool, &form("DYR", "Saffran", "each", "99", "")).await;
    sqlx::query("update product set cost = 90 where product_id = $1")
        .bind(dear)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update product set cost = 0.10 where product_id <> $1")
        .bind(dear)
        .execute(&pool)
        .await
        .unwrap();
    for &p in &cheap {
        receive(&pool, p, at, dec!(1), MovementKind::Received).await;
    }
    receive(&pool, dear, at, dec!(50), MovementKind::Received).await;
    // Sample 3 of 31, twenty times: the saffron (worth 4,500 against 0.10 each) is in nearly all.
    let mut drawn = 0;
    for _ in 0..20 {
        let id = audit::start(&pool, at, Scope::Cycle(3), None)
            .await
            .unwrap();
        let lines = audit::lines(&pool, id).await.unwrap();
        assert_eq!(lines.len(), 3);
        if lines.iter().any(|l| l.product_id == dear) {
            drawn += 1;
        }
        audit::cancel(&pool, id, None).await.unwrap();
    }
    assert!(
        drawn >= 18,
        "the valuable product was drawn {drawn} times of 20"
    );
    assert!(matches!(
        audit::start(&pool, at, Scope::Cycle(0), None).await,
        Err(AuditError::SampleSize)
    ));
}
