//! Budgets per result account and month, with the year's actuals and a forecast for the months
//! still to come: the trailing trend (the mean of the last three complete months), scaled by last
//! year's season where the books have last year (the same month then, times how this year's last
//! three months compare with the same three months last year).

use std::collections::BTreeMap;

use chrono::{Datelike as _, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ledger::AccountKind;

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("no such fiscal year")]
    NoYear,
    #[error("budgets are for revenue and expense accounts (3000 and up) of the chart")]
    Account,
    #[error("a budget amount is zero or more, in whole minor units")]
    Amount,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// One account's month: the budget, what happened, and (for months to come) the forecast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthFigures {
    pub month: NaiveDate,
    pub budget: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub forecast: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBudget {
    pub account_number: i32,
    pub name: String,
    pub kind: AccountKind,
    pub months: Vec<MonthFigures>,
    pub budget_total: Decimal,
    /// Actuals so far plus the forecast for the rest of the year.
    pub outlook_total: Decimal,
}

/// Sets one account's budget for the twelve months of a year (`amounts[0]` is the first month).
pub async fn set(
    db: &PgPool,
    year: i32,
    account: i32,
    amounts: &[Decimal; 12],
    by: Uuid,
    minor_units: u32,
) -> Result<(), BudgetError> {
    if amounts
        .iter()
        .any(|a| *a < Decimal::ZERO || a.normalize().scale() > minor_units)
    {
        return Err(BudgetError::Amount);
    }
    let starts_on = sqlx::query_scalar!(
        "select starts_on from fiscal_year where fiscal_year_id = $1",
        year
    )
    .fetch_optional(db)
    .await?
    .ok_or(BudgetError::NoYear)?;
    let result_account = sqlx::query_scalar!(
        r#"select exists (select 1 from account where account_number = $1
                          and kind in ('revenue', 'expense') and account_number <> 8999) as "x!""#,
        account
    )
    .fetch_one(db)
    .await?;
    if !result_account {
        return Err(BudgetError::Account);
    }
    let mut tx = db.begin().await?;
    for (i, amount) in amounts.iter().enumerate() {
        let month = starts_on + Months::new(u32::try_from(i).expect("under 12"));
        sqlx::query!(
            "insert into budget (fiscal_year_id, account_number, month, amount, updated_by)
             values ($1, $2, $3, $4, $5)
             on conflict (fiscal_year_id, account_number, month)
             do update set amount = $4, updated_by = $5, updated_at = now()",
            year,
            account,
            month,
            amount,
            by
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The forecast of one month from the actuals by month (`history`, reader's sign), for a month
/// after `last_complete`: last year's same month scaled by how the last three complete months
/// compare with the same months a year earlier, else the mean of the last three complete months.
pub fn forecast(
    history: &BTreeMap<NaiveDate, Decimal>,
    month: NaiveDate,
    last_complete: NaiveDate,
) -> Decimal {
    let trailing: Vec<NaiveDate> = (0..3).map(|i| last_complete - Months::new(i)).collect();
    let recent: Decimal = trailing
        .iter()
        .map(|m| history.get(m).copied().unwrap_or_default())
        .sum();
    let a_year_before = |m: &NaiveDate| *m - Months::new(12);
    let then: Decimal = trailing
        .iter()
        .map(|m| history.get(&a_year_before(m)).copied().unwrap_or_default())
        .sum();
    let f = match history.get(&a_year_before(&month)) {
        Some(same_month_last_year) if !then.is_zero() => *same_month_last_year * recent / then,
        _ => recent / Decimal::from(3),
    };
    f.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Budget, actuals and forecast for each result account with a budget or an actual in the year.
pub async fn year(
    db: &PgPool,
    year: i32,
    today: NaiveDate,
) -> Result<Vec<AccountBudget>, BudgetError> {
    let y = sqlx::query!(
        "select starts_on, ends_on from fiscal_year where fiscal_year_id = $1",
        year
    )
    .fetch_optional(db)
    .await?
    .ok_or(BudgetError::NoYear)?;
    // Actuals by account and month, from a year before this one (for the season) to today.
    let actuals = sqlx::query!(
        r#"select l.account_number, a.name, a.kind as "kind: AccountKind",
                  date_trunc('month', e.entry_date)::date as "month!",
                  sum(l.amount) as "sum!"
           from journal_line l join journal_entry e using (journal_entry_id)
           join account a using (account_number)
           where a.kind in ('revenue', 'expense') and l.account_number <> 8999
             and e.entry_date >= ($1::date - interval '12 months') and e.entry_date <= $2
           group by 1, 2, 3, 4"#,
        y.starts_on,
        y.ends_on
    )
    .fetch_all(db)
    .await?;
    let budgets = sqlx::query!(
        r#"select b.account_number, a.name, a.kind as "kind: AccountKind", b.month, b.amount
           from budget b join account a using (account_number) where b.fiscal_year_id = $1"#,
        year
    )
    .fetch_all(db)
    .await?;
    let mut accounts: BTreeMap<i32, (String, AccountKind)> = BTreeMap::new();
    let mut history: BTreeMap<i32, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
    for r in &actuals {
        let shown = if r.kind == AccountKind::Revenue {
            -r.sum
        } else {
            r.sum
        };
        accounts.insert(r.account_number, (r.name.clone(), r.kind));
        history
            .entry(r.account_number)
            .or_default()
            .insert(r.month, shown);
    }
    let mut budget: BTreeMap<(i32, NaiveDate), Decimal> = BTreeMap::new();
    for b in &budgets {
        accounts.insert(b.account_number, (b.name.clone(), b.kind));
        budget.insert((b.account_number, b.month), b.amount);
    }
    // The last complete month: the one before today's.
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).expect("a month");
    let last_complete = this_month - Months::new(1);
    let months: Vec<NaiveDate> = (0..12).map(|i| y.starts_on + Months::new(i)).collect();
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for (account, (name, kind)) in accounts {
        let h = history.get(&account).unwrap_or(&empty);
        let figures: Vec<MonthFigures> = months
            .iter()
            .map(|m| {
                let done = *m <= last_complete;
                let current = *m == this_month;
                MonthFigures {
                    month: *m,
                    budget: budget.get(&(account, *m)).copied(),
                    actual: (done || current).then(|| h.get(m).copied().unwrap_or_default()),
                    forecast: (!done).then(|| forecast(h, *m, last_complete)),
                }
            })
            .collect();
        let budget_total = figures.iter().filter_map(|f| f.budget).sum();
        let outlook_total = figures
            .iter()
            .map(|f| match (f.actual, f.forecast) {
                // This month: what happened so far, or the forecast if that is more.
                (Some(a), Some(fc)) => a.max(fc),
                (Some(a), None) => a,
                (None, Some(fc)) => fc,
                (None, None) => Decimal::ZERO,
            })
            .sum();
        out.push(AccountBudget {
            account_number: account,
            name,
            kind,
            months: figures,
            budget_total,
            outlook_total,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn m(y: i32, mo: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, 1).unwrap()
    }

    #[test]
    fn without_last_year_the_forecast_is_the_trailing_mean() {
        let h: BTreeMap<_, _> = [
            (m(2026, 8), dec!(100)),
            (m(2026, 9), dec!(200)),
            (m(2026, 10), dec!(300)),
        ]
        .into_iter()
        .collect();
        assert_eq!(forecast(&h, m(2026, 12), m(2026, 10)), dec!(200));
        // A month with nothing counts as nothing.
        let h: BTreeMap<_, _> = [(m(2026, 10), dec!(90))].into_iter().collect();
        assert_eq!(forecast(&h, m(2026, 11), m(2026, 10)), dec!(30));
    }

    #[test]
    fn with_last_year_the_season_is_scaled_by_this_years_trend() {
        // Last year: 100 a month in Aug-Oct, and a December rush of 400. This year runs 10 % up.
        let mut h: BTreeMap<_, _> = [
            (m(2025, 8), dec!(100)),
            (m(2025, 9), dec!(100)),
            (m(2025, 10), dec!(100)),
            (m(2025, 12), dec!(400)),
        ]
        .into_iter()
        .collect();
        for mo in 8..=10 {
            h.insert(m(2026, mo), dec!(110));
        }
        assert_eq!(forecast(&h, m(2026, 12), m(2026, 10)), dec!(440.00));
        // No December last year: the trailing mean.
        h.remove(&m(2025, 12));
        assert_eq!(forecast(&h, m(2026, 12), m(2026, 10)), dec!(110));
    }
}
