//! SIE export: what we write passes our strict validator, agrees with the ledger to the öre,
//! and the independent `sie4` crate reads the same sums.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use coop_finance::ledger::{store, AccountNumber, Entry, Line, Series};
use coop_finance::sie::{self, Company, Kind};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;

use crate::topup::setup;

fn company() -> Company {
    Company {
        name: "Matkooperativet \"Ekorren\" ek. för.".into(),
        orgnr: Some("769600-1234".into()),
        currency: "SEK".into(),
        program_version: "0.1.0".into(),
        generated_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    }
}

fn line(account: i32, amount: Decimal) -> Line {
    Line {
        account: AccountNumber::new(account).unwrap(),
        amount,
    }
}

/// A few months of a small shop: sales at two VAT rates, a supplier invoice, top-ups, one
/// reversed mistake, and an entry in the year before.
async fn trade(pool: &PgPool) {
    store::open_fiscal_year(pool, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())
        .await
        .unwrap();
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let post = |series: &str, date, text: &str, lines| {
        let e = Entry::new(Series::parse(series).unwrap(), date, text, lines, 2).unwrap();
        let pool = pool.clone();
        async move { store::post(&pool, &e, None).await.unwrap() }
    };
    post(
        "A",
        d(2025, 6, 1),
        "Insats från medlemmar",
        vec![line(1930, dec!(10000)), line(2081, dec!(-10000))],
    )
    .await;
    for day in 1..=20 {
        post(
            "S",
            d(2026, 3 + day % 6, day),
            &format!("Kassa {day}: åäö"),
            vec![
                line(1910, dec!(112.00) + Decimal::from(day)),
                line(3002, dec!(-100.00)),
                line(2621, dec!(-12.00)),
                line(3001, -Decimal::from(day) * dec!(0.8)),
                line(2611, -Decimal::from(day) * dec!(0.2)),
            ],
        )
        .await;
    }
    post(
        "L",
        d(2026, 4, 3),
        "Grossist \"Frukt & Grönt\" faktura 88812",
        vec![
            line(4010, dec!(3450.00)),
            line(2641, dec!(414.00)),
            line(2440, dec!(-3864.00)),
        ],
    )
    .await;
    let wrong = post(
        "A",
        d(2026, 5, 2),
        "Felbokning",
        vec![line(1930, dec!(99.99)), line(3002, dec!(-99.99))],
    )
    .await;
    store::reverse(pool, wrong.journal_entry_id, d(2026, 5, 3), None, 2)
        .await
        .unwrap();
}

async fn ledger_sums(pool: &PgPool, year: i32) -> BTreeMap<i32, Decimal> {
    sqlx::query!(
        r#"select l.account_number, sum(l.amount) as "sum!"
           from journal_line l join journal_entry e using (journal_entry_id)
           where e.fiscal_year_id = $1 group by l.account_number"#,
        year
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.account_number, r.sum))
    .collect()
}

async fn year_of(pool: &PgPool, y: i32) -> i32 {
    sqlx::query_scalar!(
        "select fiscal_year_id from fiscal_year where starts_on = make_date($1, 1, 1)",
        y
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_4e_export_is_valid_and_agrees_with_the_ledger() {
    let pool = setup().await;
    trade(&pool).await;
    let year = year_of(&pool, 2026).await;
    let (bytes, summary) = sie::export(&pool, year, Kind::E, &company(), Vec::new())
        .await
        .unwrap();
    assert_eq!(summary.bytes, u64::try_from(bytes.len()).unwrap());
    let read = sie::validate(&bytes).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(read.checksum, Some(true));
    assert_eq!(read.company, "Matkooperativet \"Ekorren\" ek. för.");
    assert_eq!(read.vouchers, 23);
    assert_eq!(read.vouchers as u64, summary.vouchers);
    // Every account's sum in the file is the ledger's, to the öre.
    let ledger = ledger_sums(&pool, year).await;
    let file: BTreeMap<i32, Decimal> = read
        .per_account
        .iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| (*k, *v))
        .collect();
    let ledger: BTreeMap<i32, Decimal> = ledger.into_iter().filter(|(_, v)| !v.is_zero()).collect();
    assert_eq!(file, ledger);
    // Opening balances carry last year's money; closing balances add this year's balance-sheet
    // movements; results are this year's result accounts.
    assert_eq!(read.opening.get(&1930), Some(&dec!(10000.00)));
    assert_eq!(read.opening.get(&2081), Some(&dec!(-10000.00)));
    for (acc, ib) in &read.opening {
        let moved = file.get(acc).copied().unwrap_or_default();
        assert_eq!(
            read.closing.get(acc).copied().unwrap_or_default(),
            ib + moved,
            "{acc}"
        );
    }
    for (acc, res) in &read.results {
        assert_eq!(Some(res), file.get(acc), "{acc}");
    }
    // Code page 437, CRLF: "för" is 0x94 and no byte is UTF-8's.
    assert!(bytes.windows(4).any(|w| w == b"f\x94r."));
    assert!(!bytes.windows(2).any(|w| w == [0xc3, 0xb6]));

    // Changing one amount breaks the checksum (and the balance).
    let text =
        sie::from_cp437(&bytes).replacen("#TRANS 4010 {} 3450.00", "#TRANS 4010 {} 3450.01", 1);
    let problems = sie::validate(&sie::to_cp437(&text)).unwrap_err();
    assert!(
        problems.iter().any(|p| p.message.contains("#KSUMMA")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("does not balance")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn the_sie4_crate_reads_the_same_sums() {
    let pool = setup().await;
    trade(&pool).await;
    let year = year_of(&pool, 2026).await;
    let (bytes, _) = sie::export(&pool, year, Kind::E, &company(), Vec::new())
        .await
        .unwrap();
    // sie4 0.1 knows a subset of the labels: keep its records only (it has no #KSUMMA, #KTYP or
    // #PROSA), and hand it the same CP437 bytes otherwise.
    let subset: Vec<u8> = bytes
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| {
            !(l.starts_with(b"#KSUMMA") || l.starts_with(b"#KTYP") || l.starts_with(b"#PROSA"))
        })
        .flatten()
        .copied()
        .collect();
    let mut vouchers = 0;
    let mut per_account: BTreeMap<i32, Decimal> = BTreeMap::new();
    let mut opening: BTreeMap<i32, Decimal> = BTreeMap::new();
    let mut name = String::new();
    for item in sie4::Reader::new(subset.as_slice()) {
        match item.unwrap() {
            sie4::Item::Ver(v) => {
                vouchers += 1;
                let total: Decimal = v.transactions.0.iter().map(|t| t.amount).sum();
                assert!(total.is_zero(), "voucher {} {}", v.series, v.no);
                for t in v.transactions.0 {
                    *per_account
                        .entry(i32::try_from(t.account).unwrap())
                        .or_default() += t.amount;
                }
            }
            sie4::Item::Ib(ib) if ib.year == 0 => {
                opening.insert(i32::try_from(ib.account).unwrap(), ib.balance);
            }
            sie4::Item::FNamn(f) => name = f.name,
            _ => {}
        }
    }
    let ours = sie::validate(&bytes).unwrap();
    assert_eq!(vouchers, ours.vouchers);
    assert_eq!(per_account, ours.per_account);
    assert_eq!(opening, ours.opening);
    // sie4 0.1 keeps the backslash of an escaped quote (the specification's `\"`); otherwise it
    // reads the name we wrote, å, ä and ö included.
    assert_eq!(name.replace("\\\"", "\""), ours.company);
}

#[tokio::test]
async fn a_4i_file_holds_vouchers_and_no_balances() {
    let pool = setup().await;
    trade(&pool).await;
    let year = year_of(&pool, 2026).await;
    let (bytes, summary) = sie::export(&pool, year, Kind::I, &company(), Vec::new())
        .await
        .unwrap();
    let read = sie::validate(&bytes).unwrap_or_else(|p| panic!("{p:#?}"));
    assert!(read.opening.is_empty() && read.closing.is_empty() && read.results.is_empty());
    assert_eq!(read.vouchers as u64, summary.vouchers);
    assert_eq!(read.vouchers, 23);
    // The year before is not in it.
    let previous = year_of(&pool, 2025).await;
    let (old, _) = sie::export(&pool, previous, Kind::I, &company(), Vec::new())
        .await
        .unwrap();
    assert_eq!(sie::validate(&old).unwrap().vouchers, 1);
}
