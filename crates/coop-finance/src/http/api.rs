//! The wallet API for the till and the buyers club: balance, hold, adjust, capture, release. A
//! caller is a suite service with its own token (client credentials) carrying the `wallet`
//! scope, from a client the config lists in `wallet_clients`; it only ever sees and settles its
//! own holds (a hold's key is the caller's), and every call is idempotent by that key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coop_web::auth::Bearer;
use coop_web::auth::TokenClaims;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use crate::wallet::{self, WalletError};

/// A refusal the caller can act on: a status, a stable code and a sentence.
#[derive(Debug)]
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1, "message": self.2 }))).into_response()
    }
}

impl From<WalletError> for ApiError {
    fn from(e: WalletError) -> Self {
        let (status, code) = match &e {
            WalletError::Amount => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount"),
            WalletError::Insufficient => (StatusCode::CONFLICT, "insufficient_funds"),
            WalletError::NoWallet => (StatusCode::NOT_FOUND, "no_wallet"),
            WalletError::NoHold => (StatusCode::NOT_FOUND, "no_hold"),
            WalletError::Settled(_) => (StatusCode::CONFLICT, "hold_settled"),
            WalletError::KeyReused => (StatusCode::CONFLICT, "key_reused"),
            WalletError::OverCapture => (StatusCode::CONFLICT, "capture_above_hold"),
            WalletError::Ledger(_) | WalletError::Database(_) => {
                tracing::error!(error = %e, "wallet API");
                return Self(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong; retry with the same key".into(),
                );
            }
        };
        Self(status, code, e.to_string())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        WalletError::Database(e).into()
    }
}

/// The caller's name, if it may use the wallet API.
fn caller(state: &AppState, claims: &TokenClaims) -> Result<String, ApiError> {
    let allowed = claims.is_service()
        && claims.has_scope("wallet")
        && state.settings.wallet_clients.contains(&claims.client_id);
    if allowed {
        Ok(claims.client_id.clone())
    } else {
        Err(ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this client may not use the wallet API".into(),
        ))
    }
}

fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty()
        || key.len() > 200
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_key",
            "a key has 1 to 200 letters, digits and - _ . :".into(),
        ));
    }
    Ok(())
}

/// The wallet owner a caller's id names: a member's id is taken to the wallet they spend from
/// (their household's, when the co-op keeps one per household); a member who is suspended or
/// has left may not spend.
async fn owner(state: &AppState, id: Uuid) -> Result<Uuid, ApiError> {
    let mut conn = state.kit.db.acquire().await?;
    let (owner, member) =
        crate::members::wallet_owner(&mut conn, state.settings.wallet_per, id).await?;
    match member {
        Some(m) if !m.status.may_spend() => Err(ApiError(
            StatusCode::FORBIDDEN,
            "member_inactive",
            "the member is not active: their wallet cannot be spent from".into(),
        )),
        _ => Ok(owner),
    }
}

/// `GET /api/wallets/{owner}`: the balance of a member's wallet (their household's, when the
/// co-op keeps one per household), or of a household's by its own id.
pub async fn balance(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(id): Path<Uuid>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller(&state, &claims)?;
    let owner = owner(&state, id).await?;
    // A member who never paid in has no wallet yet: nothing available, and nothing is made.
    let b = if let Some(w) = wallet::find(&state.kit.db, owner).await? {
        wallet::balance(&state.kit.db, w).await?
    } else {
        // Zero in the currency's minor units, as a stored balance reads ("0.00").
        let zero = Decimal::new(0, state.minor_units());
        wallet::Balance {
            balance: zero,
            held: zero,
            available: zero,
        }
    };
    Ok(Json(json!({ "owner": owner, "balance": b })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// A member's id (or a household's).
    owner: Uuid,
    key: String,
    amount: Decimal,
}

/// `POST /api/holds`: reserve an amount; refused if it would take the available balance below
/// zero. The same key again answers the same hold.
pub async fn hold(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Json(req): Json<HoldRequest>,
) -> Result<Response, ApiError> {
    let who = caller(&state, &claims)?;
    check_key(&req.key)?;
    let owner = owner(&state, req.owner).await?;
    // No wallet: nothing to hold from (the wallet is made when its member first opens it).
    let w = wallet::find(&state.kit.db, owner)
        .await?
        .ok_or(WalletError::Insufficient)?;
    let h = wallet::hold(
        &state.kit.db,
        w,
        &who,
        &req.key,
        req.amount,
        state.minor_units(),
    )
    .await?;
    Ok((StatusCode::OK, Json(json!({ "key": req.key, "hold": h }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountRequest {
    amount: Decimal,
    /// Capture more than the hold (a weighed item came out heavier): only if the co-op allows.
    #[serde(default)]
    allow_more: bool,
}

/// `POST /api/holds/{key}/adjust`: a new total for an open hold.
pub async fn adjust(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(key): Path<String>,
    Json(req): Json<AmountRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = caller(&state, &claims)?;
    check_key(&key)?;
    let h = wallet::adjust(&state.kit.db, &who, &key, req.amount, state.minor_units()).await?;
    Ok(Json(json!({ "key": key, "hold": h })))
}

/// `POST /api/holds/{key}/capture`: the final amount.
pub async fn capture(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(key): Path<String>,
    Json(req): Json<AmountRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = caller(&state, &claims)?;
    check_key(&key)?;
    let allow_more = req.allow_more && state.settings.allow_capture_above_hold;
    let h = wallet::capture(
        &state.kit.db,
        &who,
        &key,
        req.amount,
        allow_more,
        state.minor_units(),
    )
    .await?;
    Ok(Json(json!({ "key": key, "hold": h })))
}

/// `POST /api/holds/{key}/release`: give the hold back.
pub async fn release(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = caller(&state, &claims)?;
    check_key(&key)?;
    let h = wallet::release(&state.kit.db, &who, &key).await?;
    Ok(Json(json!({ "key": key, "hold": h })))
}
