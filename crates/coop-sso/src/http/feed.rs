//! The member feed (`GET /api/feed?after=&limit=&wait=`): member created, changed and
//! suspended events for the suite's services, such as the till's offline member list.
//!
//! Only a suite service's own access token (client credentials) may read it: the feed names
//! every member. Ids only grow, and writers take turns (see migration 0003), so a consumer that
//! keeps the last id it applied never misses an event. An empty answer waits up to `wait`
//! seconds for new events by polling the table, which is cheap for the handful of consumers a
//! co-op has.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use coop_web::config::ServiceName;

use crate::clients::ClientKind;
use crate::directory;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/feed", get(feed))
}

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;
pub const MAX_WAIT_SECONDS: u64 = 30;
/// The kit times a request out after 30 s; a long poll answers before that.
const LONGEST_POLL: Duration = Duration::from_secs(28);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Deserialize)]
struct FeedQuery {
    after: Option<i64>,
    limit: Option<i64>,
    wait: Option<u64>,
}

fn refusal(status: StatusCode, error: &'static str, challenge: &str) -> Response {
    let mut res = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// What a consumer of the feed sees of each member.
#[derive(Debug, Clone, Copy)]
struct View {
    roles: bool,
    households: bool,
}

impl View {
    /// Every consumer gets the member's id, number, name and status, and whether member prices
    /// apply (an active member); roles and households only where its scopes allow.
    fn show(self, payload: &serde_json::Value) -> serde_json::Value {
        let mut out = json!({
            "sub": payload["sub"],
            "member_number": payload["member_number"],
            "name": payload["name"],
            "status": payload["status"],
            "member_prices": payload["status"] == "active",
        });
        if self.roles {
            out["roles"] = payload["roles"].clone();
        }
        if self.households {
            out["household"] = payload["household"].clone();
        }
        out
    }
}

/// The consumer's view for a live access token that a suite service holds for itself (with
/// `members.feed`) or a paired till holds; 401 for anything that is not a valid token of ours,
/// 403 for one that acts for a member or a client outside the suite.
async fn authorise(state: &AppState, headers: &HeaderMap) -> Result<View, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(refusal(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "Bearer",
        ));
    };
    let claims = match super::oidc::verify_access_token(state, token).await {
        Ok(Some(claims)) => claims,
        Ok(None) => {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Bearer error=\"invalid_token\"",
            ));
        }
        Err(e) => return Err(crate::Error::from(e).into_response()),
    };
    let client_id = claims["client_id"].as_str().unwrap_or_default();
    let kind = state.clients.get(client_id).map(|c| c.kind);
    let sub = claims["sub"].as_str().unwrap_or_default();
    let has_scope = |want: &str| {
        claims["scope"]
            .as_str()
            .is_some_and(|s| s.split(' ').any(|x| x == want))
    };
    let for_us = match &claims["aud"] {
        serde_json::Value::String(a) => *a == ServiceName::Sso.client_id(),
        serde_json::Value::Array(all) => all
            .iter()
            .any(|a| a.as_str() == Some(ServiceName::Sso.client_id().as_str())),
        _ => false,
    };
    // A suite service's own token with the `members.feed` scope, or a paired till (its offline
    // member list); either addressed to coop-sso.
    let allowed = for_us
        && match kind {
            Some(ClientKind::Suite(_)) => sub == client_id && has_scope("members.feed"),
            Some(ClientKind::Till) => sub.starts_with("till:") && has_scope("till"),
            _ => false,
        };
    if allowed {
        Ok(View {
            roles: kind != Some(ClientKind::Till) && has_scope("members.roles"),
            households: kind != Some(ClientKind::Till) && has_scope("members.households"),
        })
    } else {
        Err(refusal(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Bearer error=\"insufficient_scope\"",
        ))
    }
}

async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    // Who asks comes first: a stranger learns nothing, not even which parameters are wrong.
    let view = match authorise(&state, &headers).await {
        Ok(view) => view,
        Err(refused) => return refused,
    };
    let bad = |what: &'static str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_request", "error_description": what })),
        )
            .into_response()
    };
    let Ok(q) = serde_urlencoded::from_str::<FeedQuery>(raw.as_deref().unwrap_or("")) else {
        return bad("after, limit and wait must be whole numbers");
    };
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return bad("after must not be negative");
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS)).min(LONGEST_POLL);
    let deadline = Instant::now() + wait;
    loop {
        let events = match directory::feed_after(state.db(), after, limit).await {
            Ok(events) => events,
            Err(e) => return crate::Error::from(e).into_response(),
        };
        let now = Instant::now();
        if !events.is_empty() || now >= deadline {
            let next_after = events.last().map_or(after, |e| e.id);
            let events: Vec<_> = events
                .into_iter()
                .map(|mut e| {
                    e.payload = view.show(&e.payload);
                    e
                })
                .collect();
            let body = json!({ "events": events, "next_after": next_after });
            return ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response();
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}
