//! Wallets under concurrency and retries: never below zero, every call idempotent by its key,
//! and the wallets' total matches the ledger.

use chrono::NaiveDate;
use coop_finance::ledger::{chart, store, AccountNumber};
use coop_finance::wallet::{self, HoldStatus, WalletError};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;

async fn setup() -> (PgPool, uuid::Uuid) {
    let (_db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    store::seed_chart(&pool, &chart::bas_default())
        .await
        .unwrap();
    store::open_fiscal_year(&pool, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .await
        .unwrap();
    let w = wallet::wallet_of(&pool, uuid::Uuid::new_v4())
        .await
        .unwrap();
    (pool, w)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

#[tokio::test]
async fn thirty_two_clients_holding_and_capturing_at_once_never_overspend() {
    let (pool, w) = setup().await;
    wallet::credit_top_up(&pool, w, dec!(1000), day(), "OCR 1234", 2)
        .await
        .unwrap();
    let clients: Vec<_> = (0..32_i64)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let key = format!("sale-{i}");
                let amount = Decimal::new(1_000 + i * 617 % 9_000, 2); // 10.00 .. 99.99
                match wallet::hold(&pool, w, "coop-pos", &key, amount, 2).await {
                    Ok(_) if i % 4 == 0 => {
                        wallet::release(&pool, "coop-pos", &key).await.unwrap();
                        Decimal::ZERO
                    }
                    Ok(_) => {
                        // A weighed item came out a little lighter.
                        let final_amount = amount - Decimal::new(i % 7, 2);
                        wallet::capture(&pool, "coop-pos", &key, final_amount, false, 2)
                            .await
                            .unwrap();
                        // A retry of the same capture changes nothing.
                        wallet::capture(&pool, "coop-pos", &key, final_amount, false, 2)
                            .await
                            .unwrap();
                        final_amount
                    }
                    Err(WalletError::Insufficient) => Decimal::ZERO,
                    Err(e) => panic!("{e}"),
                }
            })
        })
        .collect();
    let mut spent = Decimal::ZERO;
    for c in clients {
        spent += c.await.unwrap();
    }
    let b = wallet::balance(&pool, w).await.unwrap();
    assert_eq!(b.held, Decimal::ZERO, "every hold settled");
    assert_eq!(b.balance, dec!(1000) - spent);
    assert!(b.available >= Decimal::ZERO);
    assert!(spent > Decimal::ZERO);
    let movements: Decimal =
        sqlx::query_scalar::<_, Decimal>("select coalesce(sum(amount), 0) from wallet_movement")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        movements, b.balance,
        "the balance is the sum of the movements"
    );
    // The ledger carries the top-up on the wallets' account and balances.
    let balances = store::balances(&pool, day()).await.unwrap();
    let wallets = balances
        .iter()
        .find(|(a, _)| *a == AccountNumber::new(wallet::WALLETS_ACCOUNT).unwrap())
        .map(|(_, b)| *b);
    assert_eq!(wallets, Some(dec!(-1000)));
    assert_eq!(
        balances.iter().map(|(_, b)| *b).sum::<Decimal>(),
        Decimal::ZERO
    );
}

#[tokio::test]
async fn holds_are_refused_beyond_the_balance_and_every_call_is_idempotent() {
    let (pool, w) = setup().await;
    wallet::credit_top_up(&pool, w, dec!(100), day(), "OCR 1", 2)
        .await
        .unwrap();
    // Beyond the available balance: refused, nothing held.
    assert!(matches!(
        wallet::hold(&pool, w, "coop-buyers-club", "order-1", dec!(100.01), 2).await,
        Err(WalletError::Insufficient)
    ));
    assert_eq!(wallet::balance(&pool, w).await.unwrap().held, Decimal::ZERO);
    // Bad amounts change nothing.
    for bad in [dec!(0), dec!(-5), dec!(1.005)] {
        assert!(matches!(
            wallet::hold(&pool, w, "coop-buyers-club", "order-x", bad, 2).await,
            Err(WalletError::Amount)
        ));
    }
    let h = wallet::hold(&pool, w, "coop-buyers-club", "order-1", dec!(60), 2)
        .await
        .unwrap();
    // The same request again: the same hold, not a second one.
    let again = wallet::hold(&pool, w, "coop-buyers-club", "order-1", dec!(60), 2)
        .await
        .unwrap();
    assert_eq!(h, again);
    assert_eq!(wallet::balance(&pool, w).await.unwrap().available, dec!(40));
    // The same key for another amount is a mistake, not a retry.
    assert!(matches!(
        wallet::hold(&pool, w, "coop-buyers-club", "order-1", dec!(61), 2).await,
        Err(WalletError::KeyReused)
    ));
    // Another caller's key space is its own.
    assert!(wallet::hold(&pool, w, "coop-pos", "order-1", dec!(40), 2)
        .await
        .is_ok());
    assert!(matches!(
        wallet::hold(&pool, w, "coop-pos", "order-2", dec!(0.01), 2).await,
        Err(WalletError::Insufficient)
    ));
    // More than the hold only when the caller says so, and never beyond what is available.
    assert!(matches!(
        wallet::capture(&pool, "coop-buyers-club", "order-1", dec!(61), false, 2).await,
        Err(WalletError::OverCapture)
    ));
    assert!(matches!(
        wallet::capture(&pool, "coop-buyers-club", "order-1", dec!(61), true, 2).await,
        Err(WalletError::Insufficient)
    ));
    let captured = wallet::capture(&pool, "coop-buyers-club", "order-1", dec!(58.50), false, 2)
        .await
        .unwrap();
    assert_eq!(captured.status, HoldStatus::Captured);
    // Captured with another amount, or released after: refused.
    assert!(matches!(
        wallet::capture(&pool, "coop-buyers-club", "order-1", dec!(50), false, 2).await,
        Err(WalletError::Settled(HoldStatus::Captured))
    ));
    assert!(matches!(
        wallet::release(&pool, "coop-buyers-club", "order-1").await,
        Err(WalletError::Settled(HoldStatus::Captured))
    ));
    // A capture without a hold.
    assert!(matches!(
        wallet::capture(&pool, "coop-pos", "never-held", dec!(1), false, 2).await,
        Err(WalletError::NoHold)
    ));
    // Releasing twice is the same release.
    wallet::release(&pool, "coop-pos", "order-1").await.unwrap();
    wallet::release(&pool, "coop-pos", "order-1").await.unwrap();
    let b = wallet::balance(&pool, w).await.unwrap();
    assert_eq!(
        (b.balance, b.held, b.available),
        (dec!(41.50), dec!(0), dec!(41.50))
    );
    // The same top-up reference is taken once.
    assert!(
        wallet::credit_top_up(&pool, w, dec!(100), day(), "OCR 1", 2)
            .await
            .is_err()
    );
    assert_eq!(
        wallet::balance(&pool, w).await.unwrap().balance,
        dec!(41.50)
    );
    // The database itself refuses a wallet below zero.
    let forced = sqlx::query("update wallet set balance = -1 where wallet_id = $1")
        .bind(w)
        .execute(&pool)
        .await;
    assert!(forced
        .unwrap_err()
        .to_string()
        .contains("wallet_available_not_negative"));
}

/// The figure, not a test: holds and captures per second with 32 clients on 32 wallets
/// for 10 s. `cargo test --release -p coop-finance --test it -- --ignored --nocapture wallet_throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run by hand"]
async fn wallet_throughput() {
    let (pool, _) = setup().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(32)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let mut wallets = Vec::new();
    for i in 0..32 {
        let w = wallet::wallet_of(&pool, uuid::Uuid::new_v4())
            .await
            .unwrap();
        wallet::credit_top_up(&pool, w, dec!(1000000), day(), &format!("bench {i}"), 2)
            .await
            .unwrap();
        wallets.push(w);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let started = std::time::Instant::now();
    let clients: Vec<_> = wallets
        .into_iter()
        .enumerate()
        .map(|(c, w)| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut n = 0_u64;
                while std::time::Instant::now() < deadline {
                    let key = format!("{c}-{n}");
                    wallet::hold(&pool, w, "bench", &key, dec!(12.50), 2)
                        .await
                        .unwrap();
                    wallet::capture(&pool, "bench", &key, dec!(12.25), false, 2)
                        .await
                        .unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for c in clients {
        total += c.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = total as f64 / secs;
    println!(
        "wallet: {total} hold+capture pairs in {secs:.1} s with 32 clients: {rate:.0} pairs/s"
    );
}
