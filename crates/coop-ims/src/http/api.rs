//! The look-up a till makes for what was scanned or typed: one call, any code (GTIN,
//! variable-measure code, PLU, SKU), the product and its prices on the day. A paired till's
//! token or a suite service listed in `lookup_clients` may call it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coop_web::auth::Bearer;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::catalogue::{self, LookupError};

#[derive(Debug, Default, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    lang: Option<String>,
}

fn refuse(status: StatusCode, code: &'static str, message: String) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

/// `GET /api/lookup?code=`: `{"product": …}`, 404 for an unknown code, 422 for a code that
/// cannot be one (a wrong check digit names the digit expected).
pub async fn lookup(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Query(q): Query<LookupQuery>,
) -> Response {
    let till = claims.client_id == coop_web::config::TILL_CLIENT_ID && claims.has_scope("till");
    let service = claims.is_service() && state.settings.lookup_clients.contains(&claims.client_id);
    if !(till || service) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this client may not look codes up".into(),
        );
    }
    if q.code.trim().is_empty() || q.code.len() > 64 {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_code",
            "a code of 1 to 64 characters".into(),
        );
    }
    let lang = match q.lang.as_deref() {
        Some("sv") => "sv",
        Some("en") => "en",
        _ => state.default_lang(),
    };
    match catalogue::lookup(
        &state.kit.db,
        &q.code,
        &state.settings.variable_measure,
        lang,
        state.today(),
        state.minor_units(),
    )
    .await
    {
        Ok(Ok(found)) => Json(json!({ "product": found })).into_response(),
        Ok(Err(LookupError::Unknown)) => refuse(
            StatusCode::NOT_FOUND,
            "unknown_code",
            LookupError::Unknown.to_string(),
        ),
        Ok(Err(e)) => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_code",
            e.to_string(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "look-up");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong; try again".into(),
            )
        }
    }
}
