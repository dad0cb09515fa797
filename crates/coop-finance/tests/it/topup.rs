//! Top-up claims: only a bookkeeper's confirmation puts money in a wallet, nobody confirms their
//! own, and above the threshold two different bookkeepers must; bad input changes nothing.

use chrono::NaiveDate;
use coop_finance::ledger::{chart, store, AccountNumber};
use coop_finance::topup::{self, ClaimStatus, Confirmed, NewClaim, Policy, TopUpError};
use coop_finance::wallet::{self, WalletError};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;
use uuid::Uuid;

pub(crate) async fn setup() -> PgPool {
    let (_db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    store::seed_chart(&pool, &chart::bas_default())
        .await
        .unwrap();
    store::open_fiscal_year(&pool, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .await
        .unwrap();
    pool
}

pub(crate) const POLICY: Policy = Policy {
    second_bookkeeper_above: Some(Decimal::from_parts(2000, 0, 0, false, 0)),
    minor_units: 2,
};

pub(crate) fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

async fn counts(pool: &PgPool) -> (i64, i64, i64) {
    let r = sqlx::query!(
        r#"select (select count(*) from top_up_claim) as "claims!",
                  (select count(*) from journal_entry) as "entries!",
                  (select count(*) from wallet_movement) as "moves!""#
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (r.claims, r.entries, r.moves)
}

#[tokio::test]
async fn a_claim_is_money_only_after_a_bookkeeper_confirms_it() {
    let pool = setup().await;
    let (member, bookkeeper) = (Uuid::new_v4(), Uuid::new_v4());
    let w = wallet::wallet_of(&pool, member).await.unwrap();
    let reference = wallet::payment_reference(&pool, w).await.unwrap();
    assert!(coop_finance::reference::OcrReference::parse(&reference).is_ok());

    let c = topup::claim(
        &pool,
        &NewClaim {
            wallet: w,
            member,
            amount: dec!(500),
            paid_on: day(2),
            bank_reference: &reference,
        },
        day(3),
        &POLICY,
    )
    .await
    .unwrap();
    assert_eq!(c.status, ClaimStatus::Claimed);
    // Claimed is not spendable.
    assert!(matches!(
        wallet::hold(&pool, w, "coop-pos", "s1", dec!(1), 2).await,
        Err(WalletError::Insufficient)
    ));
    // The member cannot confirm their own claim (nor reject it), and nothing changes.
    let before = counts(&pool).await;
    assert!(matches!(
        topup::confirm(&pool, c.top_up_claim_id, member, &POLICY).await,
        Err(TopUpError::OwnClaim)
    ));
    assert!(matches!(
        topup::reject(&pool, c.top_up_claim_id, member, "no").await,
        Err(TopUpError::OwnClaim)
    ));
    assert_eq!(counts(&pool).await, before);

    let done = topup::confirm(&pool, c.top_up_claim_id, bookkeeper, &POLICY)
        .await
        .unwrap();
    let Confirmed::Credited { journal_entry_id } = done else {
        panic!("{done:?}")
    };
    assert_eq!(
        wallet::balance(&pool, w).await.unwrap().available,
        dec!(500)
    );
    // Confirming again is refused: the claim is settled.
    assert!(matches!(
        topup::confirm(&pool, c.top_up_claim_id, Uuid::new_v4(), &POLICY).await,
        Err(TopUpError::Settled(ClaimStatus::Confirmed))
    ));
    // The ledger has it: bank up, wallets' liability up, dated the day it was paid.
    let entry = sqlx::query!(
        "select entry_date, series, created_by from journal_entry where journal_entry_id = $1",
        journal_entry_id
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (entry.entry_date, entry.series.as_str(), entry.created_by),
        (day(2), "W", Some(bookkeeper))
    );
    let balances = store::balances(&pool, day(30)).await.unwrap();
    let of = |n| {
        balances
            .iter()
            .find(|(a, _)| *a == AccountNumber::new(n).unwrap())
            .map(|(_, b)| *b)
    };
    assert_eq!(of(1930), Some(dec!(500)));
    assert_eq!(of(2420), Some(dec!(-500)));
}

#[tokio::test]
async fn above_the_threshold_two_different_bookkeepers_confirm() {
    let pool = setup().await;
    let member = Uuid::new_v4();
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let w = wallet::wallet_of(&pool, member).await.unwrap();
    let c = topup::claim(
        &pool,
        &NewClaim {
            wallet: w,
            member,
            amount: dec!(2500),
            paid_on: day(2),
            bank_reference: "Transfer from savings",
        },
        day(3),
        &POLICY,
    )
    .await
    .unwrap();
    assert_eq!(
        topup::confirm(&pool, c.top_up_claim_id, first, &POLICY)
            .await
            .unwrap(),
        Confirmed::AwaitingSecond
    );
    assert_eq!(wallet::balance(&pool, w).await.unwrap().balance, dec!(0));
    assert!(matches!(
        topup::confirm(&pool, c.top_up_claim_id, first, &POLICY).await,
        Err(TopUpError::SameBookkeeper)
    ));
    assert!(matches!(
        topup::confirm(&pool, c.top_up_claim_id, member, &POLICY).await,
        Err(TopUpError::OwnClaim)
    ));
    assert!(matches!(
        topup::confirm(&pool, c.top_up_claim_id, second, &POLICY)
            .await
            .unwrap(),
        Confirmed::Credited { .. }
    ));
    assert_eq!(wallet::balance(&pool, w).await.unwrap().balance, dec!(2500));

    // The database holds the rule too: no path around the module confirms twice with one pair
    // of eyes.
    let bypass = sqlx::query!(
        "update top_up_claim set confirmed_by = first_by where top_up_claim_id = $1",
        c.top_up_claim_id
    )
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(
        bypass.to_string().contains("top_up_second_eyes"),
        "{bypass}"
    );
}

#[tokio::test]
async fn two_bookkeepers_confirming_at_once_credit_once() {
    let pool = setup().await;
    let member = Uuid::new_v4();
    let w = wallet::wallet_of(&pool, member).await.unwrap();
    let c = topup::claim(
        &pool,
        &NewClaim {
            wallet: w,
            member,
            amount: dec!(300),
            paid_on: day(2),
            bank_reference: "x",
        },
        day(3),
        &POLICY,
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                topup::confirm(&pool, c.top_up_claim_id, Uuid::new_v4(), &POLICY).await
            })
        })
        .collect();
    let mut credited = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Confirmed::Credited { .. }) => credited += 1,
            Err(TopUpError::Settled(ClaimStatus::Confirmed)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(credited, 1);
    assert_eq!(wallet::balance(&pool, w).await.unwrap().balance, dec!(300));
}

#[tokio::test]
async fn bad_claims_and_rejections_are_refused_and_change_nothing() {
    let pool = setup().await;
    let member = Uuid::new_v4();
    let w = wallet::wallet_of(&pool, member).await.unwrap();
    let claim = |amount: Decimal, paid_on: NaiveDate, reference: &'static str, wallet: Uuid| {
        let pool = pool.clone();
        async move {
            topup::claim(
                &pool,
                &NewClaim {
                    wallet,
                    member,
                    amount,
                    paid_on,
                    bank_reference: reference,
                },
                day(3),
                &POLICY,
            )
            .await
        }
    };
    assert!(matches!(
        claim(dec!(0), day(2), "x", w).await,
        Err(TopUpError::Amount)
    ));
    assert!(matches!(
        claim(dec!(-5), day(2), "x", w).await,
        Err(TopUpError::Amount)
    ));
    assert!(matches!(
        claim(dec!(1.005), day(2), "x", w).await,
        Err(TopUpError::Amount)
    ));
    assert!(matches!(
        claim(dec!(10), day(4), "x", w).await,
        Err(TopUpError::FutureDate)
    ));
    assert!(matches!(
        claim(dec!(10), day(2), "  ", w).await,
        Err(TopUpError::Reference)
    ));
    assert!(matches!(
        claim(dec!(10), day(2), "x", Uuid::new_v4()).await,
        Err(TopUpError::Wallet(WalletError::NoWallet))
    ));
    assert_eq!(counts(&pool).await, (0, 0, 0));

    let c = claim(dec!(10), day(2), "x", w).await.unwrap();
    // At most ten wait at once: a member cannot flood the bookkeepers' list.
    for _ in 1..topup::MAX_OPEN_CLAIMS {
        claim(dec!(1), day(2), "x", w).await.unwrap();
    }
    assert!(matches!(
        claim(dec!(1), day(2), "x", w).await,
        Err(TopUpError::TooManyOpen)
    ));
    let bookkeeper = Uuid::new_v4();
    assert!(matches!(
        topup::reject(&pool, c.top_up_claim_id, bookkeeper, " ").await,
        Err(TopUpError::Reason)
    ));
    let rejected = topup::reject(&pool, c.top_up_claim_id, bookkeeper, "Not on the statement")
        .await
        .unwrap();
    assert_eq!(rejected.status, ClaimStatus::Rejected);
    assert!(matches!(
        topup::confirm(&pool, c.top_up_claim_id, Uuid::new_v4(), &POLICY).await,
        Err(TopUpError::Settled(ClaimStatus::Rejected))
    ));
    assert_eq!(wallet::balance(&pool, w).await.unwrap().balance, dec!(0));
}

#[tokio::test]
async fn adjusting_a_hold_moves_only_the_difference() {
    let pool = setup().await;
    let w = wallet::wallet_of(&pool, Uuid::new_v4()).await.unwrap();
    wallet::credit_top_up(&pool, w, dec!(100), day(2), "t", 2)
        .await
        .unwrap();
    wallet::hold(&pool, w, "coop-buyers-club", "order-7", dec!(40), 2)
        .await
        .unwrap();
    let h = wallet::adjust(&pool, "coop-buyers-club", "order-7", dec!(90), 2)
        .await
        .unwrap();
    assert_eq!(h.amount, dec!(90));
    // A retry of the same adjustment changes nothing.
    wallet::adjust(&pool, "coop-buyers-club", "order-7", dec!(90), 2)
        .await
        .unwrap();
    assert_eq!(wallet::balance(&pool, w).await.unwrap().available, dec!(10));
    assert!(matches!(
        wallet::adjust(&pool, "coop-buyers-club", "order-7", dec!(100.01), 2).await,
        Err(WalletError::Insufficient)
    ));
    wallet::adjust(&pool, "coop-buyers-club", "order-7", dec!(25), 2)
        .await
        .unwrap();
    assert_eq!(wallet::balance(&pool, w).await.unwrap().available, dec!(75));
    assert!(matches!(
        wallet::adjust(&pool, "coop-buyers-club", "no-such", dec!(5), 2).await,
        Err(WalletError::NoHold)
    ));
    // Another caller's key is not ours: the till cannot adjust the buyers club's hold.
    assert!(matches!(
        wallet::adjust(&pool, "coop-pos", "order-7", dec!(5), 2).await,
        Err(WalletError::NoHold)
    ));
    wallet::capture(&pool, "coop-buyers-club", "order-7", dec!(25), false, 2)
        .await
        .unwrap();
    assert!(matches!(
        wallet::adjust(&pool, "coop-buyers-club", "order-7", dec!(5), 2).await,
        Err(WalletError::Settled(_))
    ));
    assert_eq!(wallet::balance(&pool, w).await.unwrap().balance, dec!(75));
}
