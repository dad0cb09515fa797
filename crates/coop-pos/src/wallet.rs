//! Members' wallets for the tills: a paired till asks central to hold part of a member's wallet
//! for a sale (`POST /api/till/wallet/holds`) and, if the sale does not happen, to give it back
//! (`POST /api/till/wallet/holds/{sale_id}/release`). Central calls coop-finance's wallet API
//! with its own service token (scope `wallet`); a till's token is never good there. The hold's key
//! at coop-finance is `sale:{sale_id}`: when the sale reaches the books through the sales feed,
//! coop-finance turns that hold into the charge. Only the till that held may release.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coop_web::auth::{Bearer, ServiceTokenClient};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::http::api::till_of;
use crate::http::AppState;

/// coop-finance's wallet API, as central calls it.
#[derive(Debug, Clone)]
pub struct Finance {
    client: reqwest::Client,
    /// coop-finance's base URL, e.g. `https://coop.example.org/finance`.
    base: String,
    token: ServiceTokenClient,
}

/// How long central waits for coop-finance before telling the till to sell offline.
const CALL_TIMEOUT: Duration = Duration::from_millis(2500);

impl Finance {
    pub fn new(base: &str, token: ServiceTokenClient) -> Self {
        Self {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(1))
                .timeout(CALL_TIMEOUT)
                .build()
                .expect("an HTTP client"),
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Option<(u16, Value)> {
        let auth = match self.token.authorization().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "no service token for coop-finance");
                return None;
            }
        };
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url),
        }
        .header(reqwest::header::AUTHORIZATION, auth);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                Some((status, res.json().await.unwrap_or(Value::Null)))
            }
            Err(e) => {
                tracing::info!(error = %e, "coop-finance could not be reached");
                None
            }
        }
    }
}

fn answer(status: StatusCode, code: &'static str, message: &str, extra: Value) -> Response {
    let mut body = json!({ "error": code, "message": message });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    (status, Json(body)).into_response()
}

fn offline(message: &str) -> Response {
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        message,
        Value::Null,
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    sale_id: Uuid,
    member: Uuid,
    amount: Decimal,
}

/// `POST /api/till/wallet/holds`: hold `amount` of `member`'s wallet for the till's sale.
/// 200 held; 409 `insufficient_funds` with what is `available`; 403 `member_inactive`; 503 when
/// coop-finance cannot answer (the till then sells offline within its limit).
pub async fn hold(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    body: axum::body::Bytes,
) -> Response {
    let Some(till) = till_of(&claims) else {
        return answer(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only a paired till holds on a wallet here",
            Value::Null,
        );
    };
    let req: HoldRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed",
                &format!("a hold is a sale_id, a member and an amount: {e}"),
                Value::Null,
            )
        }
    };
    if req.amount <= Decimal::ZERO || req.amount.normalize().scale() > 2 {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            "the amount must be positive, in whole öre",
            Value::Null,
        );
    }
    let Some(finance) = &state.finance else {
        return offline("this co-op runs no coop-finance: the wallet pays offline only");
    };
    // The sale is this till's: a sale id another till held is not this one's to hold again.
    match sqlx::query_scalar!(
        "with seen as (
             insert into till (till_id) values ($2)
             on conflict (till_id) do update set last_seen_at = now()
         )
         insert into wallet_hold (sale_id, till_id, member_id, amount) values ($1, $2, $3, $4)
         on conflict (sale_id) do update set sale_id = excluded.sale_id
         returning till_id = $2 and member_id = $3 and amount = $4 as \"same!\"",
        req.sale_id,
        till,
        req.member,
        req.amount
    )
    .fetch_one(&state.kit.db)
    .await
    {
        Ok(true) => {}
        Ok(false) => {
            return answer(
                StatusCode::CONFLICT,
                "key_reused",
                "this sale was held for before, differently",
                Value::Null,
            )
        }
        Err(e) => {
            tracing::error!(error = %e, till, "recording a wallet hold");
            return offline("central cannot record the hold now");
        }
    }
    let key = format!("sale:{}", req.sale_id);
    let Some((status, body)) = finance
        .call(
            "POST",
            "/api/holds",
            Some(json!({ "owner": req.member, "key": key, "amount": req.amount })),
        )
        .await
    else {
        return offline("coop-finance cannot be reached now");
    };
    match (status, body["error"].as_str()) {
        (200, _) => Json(json!({ "sale_id": req.sale_id, "status": "held" })).into_response(),
        (409, Some("insufficient_funds")) => {
            // Tell the cashier what the wallet can pay.
            let available = match finance
                .call("GET", &format!("/api/wallets/{}", req.member), None)
                .await
            {
                Some((200, b)) => b["balance"]["available"].clone(),
                _ => Value::Null,
            };
            forget(&state, req.sale_id).await;
            answer(
                StatusCode::CONFLICT,
                "insufficient_funds",
                "the wallet's available balance is too low",
                json!({ "available": available }),
            )
        }
        (403, Some("member_inactive")) => {
            forget(&state, req.sale_id).await;
            answer(
                StatusCode::FORBIDDEN,
                "member_inactive",
                "the member is not active: their wallet cannot pay",
                Value::Null,
            )
        }
        (s, code) => {
            tracing::warn!(status = s, code, till, "coop-finance refused a wallet hold");
            forget(&state, req.sale_id).await;
            offline("coop-finance could not hold now")
        }
    }
}

/// A hold coop-finance refused leaves no record: the till may ask again for the same sale.
async fn forget(state: &AppState, sale: Uuid) {
    if let Err(e) = sqlx::query!("delete from wallet_hold where sale_id = $1", sale)
        .execute(&state.kit.db)
        .await
    {
        tracing::warn!(error = %e, %sale, "forgetting a refused hold");
    }
}

/// `POST /api/till/wallet/holds/{sale_id}/release`: the sale did not happen; give the hold back.
/// Only the till that held it may; again is the same release.
pub async fn release(
    State(state): State<AppState>,
    Bearer(claims): Bearer,
    Path(sale): Path<Uuid>,
) -> Response {
    let Some(till) = till_of(&claims) else {
        return answer(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only a paired till releases its holds",
            Value::Null,
        );
    };
    let owner =
        match sqlx::query_scalar!("select till_id from wallet_hold where sale_id = $1", sale)
            .fetch_optional(&state.kit.db)
            .await
        {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, till, "reading a wallet hold");
                return offline("central cannot release now");
            }
        };
    if owner.as_deref() != Some(till) {
        // Another till's hold, or none: the same answer, so nothing is learnt of other tills.
        return answer(
            StatusCode::NOT_FOUND,
            "no_hold",
            "this till holds nothing for that sale",
            Value::Null,
        );
    }
    let Some(finance) = &state.finance else {
        return offline("this co-op runs no coop-finance");
    };
    match finance
        .call("POST", &format!("/api/holds/sale:{sale}/release"), None)
        .await
    {
        // Released now or before; or already captured (the sale reached the books after all):
        // either way there is nothing more to give back.
        Some((200 | 409 | 404, _)) => {
            if let Err(e) = sqlx::query!(
                "update wallet_hold set released_at = coalesce(released_at, now()) where sale_id = $1",
                sale
            )
            .execute(&state.kit.db)
            .await
            {
                tracing::warn!(error = %e, %sale, "marking a hold released");
            }
            Json(json!({ "sale_id": sale, "status": "released" })).into_response()
        }
        _ => offline("coop-finance cannot be reached now; the till tries again"),
    }
}
