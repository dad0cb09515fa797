//! Reports over the demo month: every figure is a sum of the journal, and they agree with each
//! other (the result, the balance sheet, the VAT owed).

use chrono::NaiveDate;
use coop_finance::reports;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

#[tokio::test]
async fn the_reports_agree_with_the_journal_and_each_other() {
    let (_db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    coop_finance::demo::seed(&pool).await.unwrap();

    let income = reports::income_statement(&pool, d(1, 1), d(12, 31))
        .await
        .unwrap();
    let sum = |accounts: &[i32]| {
        let pool = pool.clone();
        let accounts = accounts.to_vec();
        async move {
            sqlx::query_scalar!(
                r#"select coalesce(sum(amount), 0) as "s!" from journal_line
                   where account_number = any($1)"#,
                &accounts
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(income.total_revenue, -sum(&[3001, 3002, 3003, 3740]).await);
    assert_eq!(
        income.total_expenses,
        sum(&[4010, 4990, 5010, 6570, 7960]).await
    );
    assert_eq!(income.result, income.total_revenue - income.total_expenses);
    assert!(income.revenue.iter().all(|r| r.amount > Decimal::ZERO));

    // The balance sheet balances once the year's result is counted.
    let balance = reports::balance_sheet(&pool, d(12, 31)).await.unwrap();
    assert_eq!(balance.result, income.result);
    assert_eq!(
        balance.total_assets,
        balance.total_liabilities + balance.result
    );

    // VAT: output per rate from the sales accounts, input from 2641.
    let vat = reports::vat_report(&pool, d(11, 1), d(11, 30))
        .await
        .unwrap();
    let rates: Vec<Decimal> = vat.rates.iter().map(|r| r.percent).collect();
    assert_eq!(rates, vec![dec!(25), dec!(6)]);
    assert_eq!(vat.output_vat, -sum(&[2611, 2621, 2631]).await);
    assert_eq!(vat.input_vat, sum(&[2641]).await);
    assert_eq!(vat.to_pay, vat.output_vat - vat.input_vat);
    for r in &vat.rates {
        // Each rate's VAT is its rate of the net sales, to within the öre of each day's rounding.
        let expected = r.sales * r.percent / dec!(100);
        assert!((expected - r.output_vat).abs() < dec!(0.30), "{r:?}");
    }
    // October had nothing.
    let october = reports::vat_report(&pool, d(10, 1), d(10, 31))
        .await
        .unwrap();
    assert!(october.rates.is_empty() && october.to_pay.is_zero());

    let months = reports::months(&pool, d(1, 1), d(12, 31)).await.unwrap();
    assert_eq!(months.len(), 1);
    assert_eq!(months[0].revenue, income.total_revenue);

    let csv = reports::income_statement_csv(&income);
    assert!(csv.starts_with("section;account;name;amount\n"));
    assert!(
        csv.contains("expenses;5010;\"Lokalhyra\";8500.00\n"),
        "{csv}"
    );
    assert!(csv.ends_with(&format!("result;;;{:.2}\n", income.result)));

    let members = reports::member_money(&pool, d(1, 1), d(12, 31))
        .await
        .unwrap();
    assert_eq!(members.len(), 4);
    for m in &members {
        assert_eq!(m.paid_in - m.spent, m.balance, "{m:?}");
    }
}

#[tokio::test]
async fn the_budget_sets_actuals_and_a_forecast_beside_each_account() {
    use coop_finance::budget;
    let (_db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    coop_finance::demo::seed(&pool).await.unwrap();
    let year: i32 = sqlx::query_scalar!(
        "select fiscal_year_id from fiscal_year where starts_on = '2026-01-01'"
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let by = uuid::Uuid::new_v4();
    budget::set(&pool, year, 3003, &[dec!(50000); 12], by, 2)
        .await
        .unwrap();
    // Not a result account, a negative or too precise amount: refused, nothing set.
    assert!(matches!(
        budget::set(&pool, year, 1930, &[dec!(1); 12], by, 2).await,
        Err(budget::BudgetError::Account)
    ));
    let mut bad = [dec!(1); 12];
    bad[5] = dec!(-1);
    assert!(matches!(
        budget::set(&pool, year, 3001, &bad, by, 2).await,
        Err(budget::BudgetError::Amount)
    ));
    bad[5] = dec!(0.001);
    assert!(matches!(
        budget::set(&pool, year, 3001, &bad, by, 2).await,
        Err(budget::BudgetError::Amount)
    ));
    assert!(matches!(
        budget::set(&pool, 9999, 3001, &[dec!(1); 12], by, 2).await,
        Err(budget::BudgetError::NoYear)
    ));

    // In mid-December: November is complete, December is forecast from the trailing months.
    let rows = budget::year(&pool, year, d(12, 15)).await.unwrap();
    let food = rows.iter().find(|r| r.account_number == 3003).unwrap();
    assert_eq!(food.budget_total, dec!(600000));
    let nov = &food.months[10];
    let income = reports::income_statement(&pool, d(11, 1), d(11, 30))
        .await
        .unwrap();
    let food_sales = income
        .revenue
        .iter()
        .find(|r| r.account == 3003)
        .unwrap()
        .amount;
    assert_eq!((nov.actual, nov.forecast), (Some(food_sales), None));
    let dec_ = &food.months[11];
    assert_eq!(dec_.forecast, Some((food_sales / dec!(3)).round_dp(2)));
    assert_eq!(
        food.outlook_total,
        food_sales + dec_.forecast.unwrap().max(dec_.actual.unwrap())
    );
    // Accounts with actuals and no budget are there too.
    assert!(rows
        .iter()
        .any(|r| r.account_number == 5010 && r.budget_total.is_zero()));
}
