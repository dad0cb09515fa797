//! `POST /api/sales`: a paired till uploads its journal. Only a till's own token (client
//! `coop-till`, scope `till`) may call it, and only for its own records; the answer says what
//! was stored, what was there already and, when a record is refused, which one and why.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coop_pos_till::journal::SaleRecord;
use coop_web::auth::Bearer;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::ingest::{self, Pending, MAX_BATCH};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    pub sales: Vec<SaleRecord>,
    #[serde(default)]
    pub pending: Pending,
}

fn refuse(status: StatusCode, code: &'static str, message: String) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

/// The till a token is, when it is a paired till's.
pub fn till_of(claims: &coop_web::auth::TokenClaims) -> Option<&str> {
    (claims.client_id == coop_web::config::TILL_CLIENT_ID && claims.has_scope("till"))
        .then(|| claims.sub.strip_prefix("till:"))
        .flatten()
        .filter(|id| !id.is_empty())
}

pub async fn upload(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    body: Bytes,
) -> Response {
    let Some(till) = till_of(&claims) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only a paired till uploads sales".into(),
        );
    };
    let upload: Upload = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed",
                format!("the upload is not a list of sale records: {e}"),
            )
        }
    };
    if upload.sales.len() > MAX_BATCH {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many",
            format!("at most {MAX_BATCH} sales an upload"),
        );
    }
    let currency = state.kit.coop.currency.code();
    match ingest::ingest(
        &state.kit.db,
        till,
        &upload.sales,
        upload.pending,
        currency,
        Some(&state.kit.coop.vat),
        state.settings.location.as_deref(),
    )
    .await
    {
        Ok(out) if out.refused.is_some() => (StatusCode::CONFLICT, Json(out)).into_response(),
        Ok(out) => Json(out).into_response(),
        Err(e) => {
            tracing::error!(error = %e, till, "storing a till's upload");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the sales could not be stored now; the till keeps them and tries again".into(),
            )
        }
    }
}

/// `GET /api/till/settings`: what a paired till needs to sell the co-op's way offline: its
/// currency, VAT classes and their rates by date, tenders, cash rounding, barcode layouts,
/// whether sales need a member, and the offline wallet limit.
pub async fn till_settings(State(state): State<AppState>, Bearer(claims): Bearer) -> Response {
    let Some(till) = till_of(&claims) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only a paired till reads its settings".into(),
        );
    };
    if let Err(e) = sqlx::query!(
        "insert into till (till_id) values ($1)
         on conflict (till_id) do update set last_seen_at = now()",
        till
    )
    .execute(&state.kit.db)
    .await
    {
        tracing::warn!(error = %e, till, "recording a till's visit");
    }
    let coop = &state.kit.coop;
    Json(coop_pos_till::checkout::TillSettings {
        org_name: coop.organisation.name.clone(),
        org_number: coop.organisation.org_number.clone(),
        currency: coop.currency.code().to_owned(),
        vat: coop.vat.clone(),
        prices_include_vat: state.settings.prices_include_vat,
        member_only: coop.member_only_shop,
        tenders: state.settings.tenders.clone(),
        cash_coin: coop.cash_rounding,
        variable_measure: state.settings.variable_measure.clone(),
        offline_wallet_limit: state.settings.offline_wallet_limit,
        time_zone: coop.time_zone.name().to_owned(),
        return_pin_above: state.settings.return_pin_above,
    })
    .into_response()
}
