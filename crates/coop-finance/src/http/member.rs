//! The member's wallet: balance, pending holds, history, their payment reference, and the form to
//! claim a top-up.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike as _, NaiveDate};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::{CsrfForm, Page};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use super::{top_up_message, AppState, Error, FormError};
use crate::{topup, wallet};

#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    #[serde(default)]
    claimed: Option<String>,
}

/// What the claim form sent, kept as typed so a refused form shows it again.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct ClaimForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    paid_on: String,
    #[serde(default)]
    bank_reference: String,
}

async fn render(
    state: &AppState,
    page: &Page,
    user: &CurrentUser,
    form: &ClaimForm,
    errors: &[FormError],
    claimed: bool,
) -> Result<axum::response::Html<String>, Error> {
    let w = state.wallet_of(user).await?;
    let db = &state.kit.db;
    let balance = wallet::balance(db, w).await?;
    let reference = wallet::payment_reference(db, w).await?;
    let holds = wallet::open_holds(db, w).await?;
    let movements = wallet::movements(db, w, 50).await?;
    let claims = topup::of_wallet(db, w).await?;
    let field_errors: serde_json::Map<String, serde_json::Value> = errors
        .iter()
        .filter_map(|e| e.field.map(|f| (f.to_owned(), json!(e.message))))
        .collect();
    Ok(page.render(
        "wallet.html",
        &json!({
            "overdrawn": balance.available < rust_decimal::Decimal::ZERO,
            "balance": balance,
            "reference": reference,
            "holds": holds,
            "movements": movements,
            "claims": claims,
            "form": form,
            "errors": errors,
            "field_errors": field_errors,
            "claimed": claimed,
            "today": state.today(),
            "statement_from": state.today().with_day(1).unwrap_or_else(|| state.today()),
            "is_bookkeeper": user.has(Role::Bookkeeper),
            "household": state.settings.wallet_per == crate::WalletPer::Household
                && user.household.is_some(),
        }),
    )?)
}

/// `GET /`: the member's own wallet.
pub async fn wallet(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(flash): Query<Flash>,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    let form = ClaimForm {
        paid_on: state.today().to_string(),
        ..ClaimForm::default()
    };
    Ok(
        render(&state, &page, &user, &form, &[], flash.claimed.is_some())
            .await?
            .into_response(),
    )
}

fn parse_amount(s: &str) -> Option<Decimal> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    t.replace(',', ".").parse().ok()
}

/// `POST /top-ups/claim`: the member says what they paid in.
pub async fn claim(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<ClaimForm>,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    let mut errors = Vec::new();
    let amount = parse_amount(&form.amount);
    if amount.is_none() {
        errors.push(FormError {
            field: Some("amount"),
            message: page.t("finance-error-amount"),
        });
    }
    let paid_on = NaiveDate::parse_from_str(form.paid_on.trim(), "%Y-%m-%d").ok();
    if paid_on.is_none() {
        errors.push(FormError {
            field: Some("paid_on"),
            message: page.t("finance-error-date"),
        });
    }
    if let (Some(amount), Some(paid_on), true) = (amount, paid_on, errors.is_empty()) {
        let w = state.wallet_of(&user).await?;
        let member = super::member_id(&user)?;
        let new = topup::NewClaim {
            wallet: w,
            member,
            amount,
            paid_on,
            bank_reference: &form.bank_reference,
        };
        match topup::claim(&state.kit.db, &new, state.today(), &state.policy()).await {
            Ok(_) => return Ok(Redirect::to(&url(&state, "/?claimed=1")).into_response()),
            Err(e) => match top_up_message(&e) {
                Some((key, field)) => errors.push(FormError {
                    field,
                    message: page.t(key),
                }),
                None => return Err(e.into()),
            },
        }
    }
    let html = render(&state, &page, &user, &form, &errors, false).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
}

/// A path of this service as the browser reaches it (`/` is the service's root, which the kit
/// serves without a trailing slash under a prefix).
pub(crate) fn url(state: &AppState, path: &str) -> String {
    let base = state.kit.service.base_path();
    let base = base.trim_end_matches('/');
    match path.strip_prefix('/') {
        Some(rest) if rest.is_empty() || rest.starts_with('?') => {
            if base.is_empty() {
                format!("/{rest}")
            } else {
                format!("{base}{rest}")
            }
        }
        _ => format!("{base}{path}"),
    }
}

/// `GET /statement?from&to`: the member's own statement for the period, as a PDF.
pub async fn statement(
    State(state): State<AppState>,
    page: Page,
    user: CurrentUser,
    Query(q): Query<super::books::Period>,
) -> Result<Response, Error> {
    user.require(Role::Member)?;
    let w = state.wallet_of(&user).await?;
    super::books::statement_pdf(&state, &page, w, &q).await
}
