//! The budget page: each result account's budget for the year against its actuals and the
//! forecast for the months to come, revenue as a chart, and the form to set an account's budget.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::member::url;
use super::{member_id, AppState, Error, FormError};
use crate::budget::{self, BudgetError};
use crate::ledger::AccountKind;

#[derive(Debug, Default, Deserialize)]
pub struct YearQuery {
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    done: Option<String>,
}

async fn current_year(state: &AppState, asked: Option<i32>) -> Result<Option<i32>, Error> {
    if asked.is_some() {
        return Ok(asked);
    }
    let years = crate::ledger::store::years(&state.kit.db).await?;
    let today = state.today();
    Ok(years
        .iter()
        .find(|y| y.starts_on <= today && today <= y.ends_on)
        .or(years.first())
        .map(|y| y.fiscal_year_id))
}

async fn render(
    state: &AppState,
    page: &Page,
    year: Option<i32>,
    errors: &[FormError],
    notice: Option<&str>,
) -> Result<Html<String>, Error> {
    let years = crate::ledger::store::years(&state.kit.db).await?;
    let rows = match year {
        Some(y) => match budget::year(&state.kit.db, y, state.today()).await {
            Ok(r) => r,
            Err(BudgetError::NoYear) => return Err(coop_web::Error::NotFound.into()),
            Err(BudgetError::Database(e)) => return Err(e.into()),
            Err(e) => return Err(coop_web::Error::Internal(e.into()).into()),
        },
        None => Vec::new(),
    };
    // The chart: revenue per month, budget against actual or forecast, 100 units high.
    let revenue: Vec<&budget::AccountBudget> = rows
        .iter()
        .filter(|r| r.kind == AccountKind::Revenue)
        .collect();
    let per_month: Vec<(Decimal, Decimal, bool)> = (0..12)
        .map(|i| {
            let b: Decimal = revenue.iter().filter_map(|r| r.months[i].budget).sum();
            let (o, forecast) = revenue.iter().fold((Decimal::ZERO, false), |(sum, f), r| {
                let m = &r.months[i];
                match (m.actual, m.forecast) {
                    (Some(a), Some(fc)) => (sum + a.max(fc), true),
                    (Some(a), None) => (sum + a, f),
                    (None, Some(fc)) => (sum + fc, true),
                    (None, None) => (sum, f),
                }
            });
            (b, o, forecast)
        })
        .collect();
    let top = per_month
        .iter()
        .flat_map(|(b, o, _)| [*b, *o])
        .max()
        .unwrap_or_default()
        .max(Decimal::ONE);
    let h = |v: Decimal| {
        (v * Decimal::from(100) / top)
            .round_dp(1)
            .to_f64()
            .unwrap_or(0.0)
    };
    let bars: Vec<_> = per_month
        .iter()
        .enumerate()
        .map(|(i, (b, o, forecast))| {
            let month = rows.first().map(|r| r.months[i].month);
            json!({
                "month": month, "budget": b, "outlook": o, "forecast": forecast,
                "budget_x": i * 40 + 4, "outlook_x": i * 40 + 20,
                "budget_h": h(*b), "budget_y": 100.0 - h(*b),
                "outlook_h": h(*o), "outlook_y": 100.0 - h(*o),
            })
        })
        .collect();
    let accounts = crate::entries::accounts(&state.kit.db).await?;
    let result_accounts: Vec<_> = accounts
        .iter()
        .filter(|a| a.account_number >= 3000)
        .collect();
    let field_errors: serde_json::Map<String, serde_json::Value> = errors
        .iter()
        .filter_map(|e| e.field.map(|f| (f.to_owned(), json!(e.message))))
        .collect();
    Ok(page.render(
        "budget.html",
        &json!({
            "years": years, "year": year, "rows": rows, "bars": bars,
            "show_chart": !rows.is_empty(),
            "accounts": result_accounts, "errors": errors, "field_errors": field_errors,
            "notice": notice,
        }),
    )?)
}

/// `GET /budget?year=`: the year's budget, actuals and forecast.
pub async fn show(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<YearQuery>,
) -> Result<Html<String>, Error> {
    user.require(Role::Bookkeeper)?;
    let year = current_year(&state, q.year).await?;
    let notice = (q.done.as_deref() == Some("saved")).then_some("finance-done-budget");
    render(&state, &page, year, &[], notice).await
}

/// The budget form: a year, an account, and twelve monthly amounts.
#[derive(Debug, Default, Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    m1: String,
    #[serde(default)]
    m2: String,
    #[serde(default)]
    m3: String,
    #[serde(default)]
    m4: String,
    #[serde(default)]
    m5: String,
    #[serde(default)]
    m6: String,
    #[serde(default)]
    m7: String,
    #[serde(default)]
    m8: String,
    #[serde(default)]
    m9: String,
    #[serde(default)]
    m10: String,
    #[serde(default)]
    m11: String,
    #[serde(default)]
    m12: String,
}

/// `POST /budget`: sets one account's budget for the year.
pub async fn save(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<BudgetForm>,
) -> Result<Response, Error> {
    user.require(Role::Bookkeeper)?;
    let year: Option<i32> = form.year.trim().parse().ok();
    let raw = [
        &form.m1, &form.m2, &form.m3, &form.m4, &form.m5, &form.m6, &form.m7, &form.m8, &form.m9,
        &form.m10, &form.m11, &form.m12,
    ];
    let mut amounts = [Decimal::ZERO; 12];
    let mut bad_amount = false;
    for (i, r) in raw.iter().enumerate() {
        let t: String = r.chars().filter(|c| !c.is_whitespace()).collect();
        if t.is_empty() {
            continue;
        }
        match t.replace(',', ".").parse::<Decimal>() {
            Ok(d) => amounts[i] = d,
            Err(_) => bad_amount = true,
        }
    }
    let refused = |key: &str, field: &'static str| FormError {
        field: Some(field),
        message: page.t(key),
    };
    let error = match (year, form.account.trim().parse::<i32>(), bad_amount) {
        (None, _, _) => Some(refused("finance-error-no-year", "year")),
        (_, Err(_), _) => Some(refused("finance-error-budget-account", "account")),
        (_, _, true) => Some(refused("finance-error-budget-amount", "m1")),
        (Some(y), Ok(account), false) => {
            match budget::set(
                &state.kit.db,
                y,
                account,
                &amounts,
                member_id(&user)?,
                state.minor_units(),
            )
            .await
            {
                Ok(()) => {
                    return Ok(
                        Redirect::to(&url(&state, &format!("/budget?year={y}&done=saved")))
                            .into_response(),
                    )
                }
                Err(BudgetError::NoYear) => Some(refused("finance-error-no-year", "year")),
                Err(BudgetError::Account) => {
                    Some(refused("finance-error-budget-account", "account"))
                }
                Err(BudgetError::Amount) => Some(refused("finance-error-budget-amount", "m1")),
                Err(BudgetError::Database(e)) => return Err(e.into()),
            }
        }
    };
    let errors: Vec<FormError> = error.into_iter().collect();
    let html = render(&state, &page, year, &errors, None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}
