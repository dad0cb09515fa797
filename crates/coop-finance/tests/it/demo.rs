//! The demo co-op's month: it balances, its wallets agree with the ledger, and
//! `docs/examples/demo-month.se` is exactly its SIE 4E export (rewrite it with
//! `UPDATE_EXAMPLES=1 cargo test -p coop-finance --test it demo::`).

use chrono::NaiveDate;
use coop_finance::sie::{self, Company, Kind};
use rust_decimal::Decimal;

fn company() -> Company {
    Company {
        name: "Röstånga Matkooperativ (demo)".into(),
        orgnr: Some("769600-0000".into()),
        currency: "SEK".into(),
        program_version: "0.1.0".into(),
        generated_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    }
}

#[tokio::test]
async fn the_demo_month_is_the_committed_sie_file() {
    let (_db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    assert!(coop_finance::demo::seed(&pool).await.unwrap());
    // Seeding again changes nothing.
    assert!(!coop_finance::demo::seed(&pool).await.unwrap());

    // The wallets hold what the ledger says members have paid in and not spent.
    let wallets: Decimal = sqlx::query_scalar!(r#"select sum(balance) as "s!" from wallet"#)
        .fetch_one(&pool)
        .await
        .unwrap();
    let ledger: Decimal = sqlx::query_scalar!(
        r#"select sum(amount) as "s!" from journal_line where account_number = 2420"#
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(wallets, -ledger);
    assert!(wallets > Decimal::ZERO);

    let year: i32 = sqlx::query_scalar!(
        "select fiscal_year_id from fiscal_year where starts_on = '2026-01-01'"
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (bytes, summary) = sie::export(&pool, year, Kind::E, &company(), Vec::new())
        .await
        .unwrap();
    let read = sie::validate(&bytes).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(read.checksum, Some(true));
    assert!(summary.vouchers > 40, "{summary:?}");
    // Revenue at both rates, VAT at both rates, and a result.
    for account in [3001, 3003, 2611, 2631, 2641, 4010, 5010] {
        assert!(read.per_account.contains_key(&account), "{account}");
    }

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/demo-month.se");
    if std::env::var_os("UPDATE_EXAMPLES").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    let committed = std::fs::read(&path).expect("docs/examples/demo-month.se");
    assert!(
        committed == bytes,
        "docs/examples/demo-month.se is not the demo month's export; rewrite it with \
         UPDATE_EXAMPLES=1 cargo test -p coop-finance --test it demo::"
    );
}
