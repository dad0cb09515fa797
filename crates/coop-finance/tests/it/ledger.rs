//! The ledger against a real PostgreSQL: entries balance, numbers have no gaps, closed periods
//! and the past stay as they are, and balances are the sums of the entries.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use coop_finance::ledger::store::{self, StoreError};
use coop_finance::ledger::{chart, AccountNumber, Entry, Line, Series};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;

fn a(n: i32) -> AccountNumber {
    AccountNumber::new(n).unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

async fn ledger() -> PgPool {
    let (_db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    store::seed_chart(&pool, &chart::bas_default())
        .await
        .unwrap();
    store::open_fiscal_year(&pool, d(2026, 1, 1)).await.unwrap();
    pool
}

fn sale(date: NaiveDate, gross: Decimal) -> Entry {
    let vat = (gross * dec!(0.2)).round_dp(2);
    Entry::new(
        Series::parse("S").unwrap(),
        date,
        "Cash sale",
        vec![
            Line {
                account: a(1910),
                amount: gross,
            },
            Line {
                account: a(3001),
                amount: -(gross - vat),
            },
            Line {
                account: a(2611),
                amount: -vat,
            },
        ],
        2,
    )
    .unwrap()
}

#[tokio::test]
async fn entries_are_numbered_without_gaps_per_series_even_when_posted_at_once() {
    let pool = ledger().await;
    let posts: Vec<_> = (0..16)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                store::post(&pool, &sale(d(2026, 3, 2), Decimal::from(10 + i)), None).await
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for p in posts {
        numbers.push(p.await.unwrap().unwrap().number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=16).collect::<Vec<_>>());
    // Another series counts on its own.
    let manual = Entry::new(
        Series::parse("A").unwrap(),
        d(2026, 3, 3),
        "Rent",
        vec![
            Line {
                account: a(5010),
                amount: dec!(5000),
            },
            Line {
                account: a(1930),
                amount: dec!(-5000),
            },
        ],
        2,
    )
    .unwrap();
    assert_eq!(store::post(&pool, &manual, None).await.unwrap().number, 1);
}

#[tokio::test]
async fn the_database_refuses_what_the_types_refuse_and_the_past_does_not_change() {
    let pool = ledger().await;
    let posted = store::post(&pool, &sale(d(2026, 2, 10), dec!(125)), None)
        .await
        .unwrap();
    let id = posted.journal_entry_id;
    // An entry that does not balance, written around the store, fails at commit.
    let mut tx = pool.begin().await.unwrap();
    let bad: i64 = sqlx::query_scalar(
        "insert into journal_entry (fiscal_year_id, series, number, entry_date, text)
         select fiscal_year_id, 'S', 99, '2026-02-11', 'x' from fiscal_year returning journal_entry_id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    for (n, amount) in [(1_i16, dec!(10)), (2, dec!(-9))] {
        sqlx::query("insert into journal_line (journal_entry_id, line_no, account_number, amount) values ($1, $2, 1910, $3)")
            .bind(bad)
            .bind(n)
            .bind(amount)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let err = tx.commit().await.unwrap_err().to_string();
    assert!(err.contains("does not balance"), "{err}");
    // Nothing is changed or deleted, not even by hand.
    for sql in [
        "update journal_line set amount = amount * 2 where journal_entry_id = $1",
        "delete from journal_line where journal_entry_id = $1",
        "update journal_entry set text = 'changed' where journal_entry_id = $1",
        "delete from journal_entry where journal_entry_id = $1",
    ] {
        let err = sqlx::query(sql)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    let truncate = sqlx::query("truncate journal_line").execute(&pool).await;
    assert!(truncate.is_err());
    // An unknown or inactive account.
    let to_nowhere = Entry::new(
        Series::parse("A").unwrap(),
        d(2026, 2, 12),
        "x",
        vec![
            Line {
                account: a(8990),
                amount: dec!(1),
            },
            Line {
                account: a(1930),
                amount: dec!(-1),
            },
        ],
        2,
    )
    .unwrap();
    assert!(
        matches!(store::post(&pool, &to_nowhere, None).await, Err(StoreError::UnknownAccount(n)) if n == a(8990))
    );
    // Outside any fiscal year.
    assert!(matches!(
        store::post(&pool, &sale(d(2027, 1, 5), dec!(10)), None).await,
        Err(StoreError::NoFiscalYear(_))
    ));
    let balances = store::balances(&pool, d(2026, 12, 31)).await.unwrap();
    assert_eq!(balances.len(), 3, "only the one good entry: {balances:?}");
}

#[tokio::test]
async fn a_closed_period_takes_no_more_entries_and_a_mistake_is_reversed_once() {
    let pool = ledger().await;
    let first = store::post(&pool, &sale(d(2026, 4, 30), dec!(250)), None)
        .await
        .unwrap();
    let bookkeeper = uuid::Uuid::new_v4();
    store::close_period(&pool, d(2026, 4, 15), bookkeeper, Utc::now())
        .await
        .unwrap();
    assert!(matches!(
        store::post(&pool, &sale(d(2026, 4, 1), dec!(10)), None).await,
        Err(StoreError::ClosedPeriod(_))
    ));
    // Closing twice is refused; the next period is open.
    assert!(
        store::close_period(&pool, d(2026, 4, 1), bookkeeper, Utc::now())
            .await
            .is_err()
    );
    store::post(&pool, &sale(d(2026, 5, 1), dec!(10)), None)
        .await
        .unwrap();
    // The April sale is reversed in May (its own period is closed).
    let reversal = store::reverse(&pool, first.journal_entry_id, d(2026, 5, 2), None, 2)
        .await
        .unwrap();
    assert_eq!(reversal.series, "S");
    assert!(matches!(
        store::reverse(&pool, first.journal_entry_id, d(2026, 5, 3), None, 2).await,
        Err(StoreError::AlreadyReversed(_))
    ));
    // Only the May sale remains in the balances.
    let balances: BTreeMap<_, _> = store::balances(&pool, d(2026, 12, 31))
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(balances[&a(1910)], dec!(10));
    assert_eq!(balances.values().copied().sum::<Decimal>(), Decimal::ZERO);
}

#[tokio::test]
async fn an_entry_from_another_service_is_taken_once() {
    let pool = ledger().await;
    let e = sale(d(2026, 6, 1), dec!(99)).from_source("coop-pos:sale:42");
    let first = store::post(&pool, &e, None).await.unwrap();
    match store::post(&pool, &e, None).await {
        Err(StoreError::AlreadyPosted(id)) => assert_eq!(id, first.journal_entry_id),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random balanced entries over the chart: afterwards every account's balance is the sum of
    /// its lines, and all balances together are zero.
    #[test]
    fn balances_are_the_sums_of_the_entries(
        entries in prop::collection::vec(
            (1_u32..=28, prop::collection::vec((0_usize..24, 1_i64..1_000_000), 1..6)),
            1..12,
        )
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async {
            let pool = ledger().await;
            let accounts: Vec<AccountNumber> = chart::bas_default().into_iter().map(|t| t.number).collect();
            let mut model: BTreeMap<AccountNumber, Decimal> = BTreeMap::new();
            for (day, debits) in &entries {
                // Debits in öre on random accounts, one credit line on the bank account that
                // balances them.
                let mut lines: Vec<Line> = debits
                    .iter()
                    .map(|(acc, ore)| Line { account: accounts[*acc], amount: Decimal::new(*ore, 2) })
                    .collect();
                let total: Decimal = lines.iter().map(|l| l.amount).sum();
                lines.push(Line { account: a(1930), amount: -total });
                let entry = Entry::new(Series::parse("A").unwrap(), d(2026, 7, *day), "Random", lines, 2).unwrap();
                for (acc, amount) in entry.per_account() {
                    *model.entry(acc).or_insert(Decimal::ZERO) += amount;
                }
                store::post(&pool, &entry, None).await.unwrap();
            }
            let got = store::balances(&pool, d(2026, 12, 31)).await.unwrap();
            let got: BTreeMap<_, _> = got.into_iter().filter(|(_, b)| !b.is_zero()).collect();
            model.retain(|_, b| !b.is_zero());
            assert_eq!(got, model);
            assert_eq!(got.values().copied().sum::<Decimal>(), Decimal::ZERO);
        });
    }
}

#[tokio::test]
async fn closing_the_last_month_closes_the_year_and_books_its_result_to_equity() {
    use coop_finance::ledger::store::CloseRefusal;
    let pool = ledger().await;
    let year = store::years(&pool).await.unwrap()[0].fiscal_year_id;
    let bookkeeper = uuid::Uuid::new_v4();
    store::post(&pool, &sale(d(2026, 3, 10), dec!(1000)), None)
        .await
        .unwrap();
    let rent = Entry::new(
        Series::parse("A").unwrap(),
        d(2026, 6, 1),
        "Rent",
        vec![
            Line {
                account: a(5010),
                amount: dec!(300),
            },
            Line {
                account: a(1930),
                amount: dec!(-300),
            },
        ],
        2,
    )
    .unwrap();
    store::post(&pool, &rent, None).await.unwrap();
    let today = d(2027, 1, 15);
    // December cannot close before the eleven months before it.
    assert_eq!(
        store::close_month(&pool, year, d(2026, 12, 1), today, bookkeeper)
            .await
            .unwrap(),
        Err(CloseRefusal::EarlierOpen)
    );
    for m in 1..=11 {
        store::close_month(&pool, year, d(2026, m, 1), today, bookkeeper)
            .await
            .unwrap()
            .unwrap();
    }
    assert!(store::years(&pool).await.unwrap()[0].closed_at.is_none());
    store::close_month(&pool, year, d(2026, 12, 1), today, bookkeeper)
        .await
        .unwrap()
        .unwrap();
    assert!(store::years(&pool).await.unwrap()[0].closed_at.is_some());
    // The result (800 sales without VAT less 300 rent = 500) stands in 2099 as equity (credit),
    // and every revenue and expense account, 8999 included, sums to zero over the year.
    let balances: BTreeMap<i32, Decimal> = store::balances(&pool, d(2026, 12, 31))
        .await
        .unwrap()
        .into_iter()
        .map(|(acc, sum)| (acc.get(), sum))
        .collect();
    assert_eq!(balances.get(&2099), Some(&dec!(-500)), "{balances:?}");
    let result_side: Decimal = balances
        .iter()
        .filter(|(n, _)| **n >= 3000)
        .map(|(_, s)| *s)
        .sum();
    assert_eq!(result_side, Decimal::ZERO);
    // The income statement still shows what the year earned.
    let statement = coop_finance::reports::income_statement(&pool, d(2026, 1, 1), d(2026, 12, 31))
        .await
        .unwrap();
    assert_eq!(statement.result, dec!(500));
    assert!(statement.expenses.iter().all(|r| r.account != 8999));
    // Nothing goes into the closed year, and it closes once.
    assert!(matches!(
        store::post(&pool, &sale(d(2026, 12, 31), dec!(10)), None).await,
        Err(StoreError::ClosedPeriod(_))
    ));
    assert_eq!(
        store::close_month(&pool, year, d(2026, 12, 1), today, bookkeeper)
            .await
            .unwrap(),
        Err(CloseRefusal::NotOpen)
    );
}
