//! The member feed (`GET /api/feed?after=&limit=&wait=`): member created, changed and
//! suspended events for the suite's services, such as the till's offline member list.
//!
//! The kit serves it ([`coop_web::feed`]); this module decides who may read it and what each
//! reader sees. Only a suite service's own access token (client credentials) or a paired till
//! may read it: the feed names every member.

use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;

use coop_web::config::ServiceName;
use coop_web::feed::{bearer, refusal};

use crate::clients::ClientKind;
use crate::state::AppState;

pub fn routes(state: &AppState) -> Router<AppState> {
    coop_web::feed::routes(state.db().clone(), MemberFeed(state.clone()))
}

/// What a consumer of the feed sees of each member.
#[derive(Debug, Clone, Copy)]
pub struct View {
    roles: bool,
    households: bool,
}

impl coop_web::feed::View for View {
    /// Every consumer gets the member's id, number, name and status, and whether member prices
    /// apply (an active member); roles and households only where its scopes allow.
    fn show(&self, _kind: &str, payload: &serde_json::Value) -> Option<serde_json::Value> {
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
        Some(out)
    }
}

#[derive(Debug, Clone)]
struct MemberFeed(AppState);

impl coop_web::feed::Access for MemberFeed {
    type View = View;

    async fn authorise(&self, headers: &HeaderMap) -> Result<View, Response> {
        authorise(&self.0, headers).await
    }
}

/// The consumer's view for a live access token that a suite service holds for itself (with
/// `members.feed`) or a paired till holds; 401 for anything that is not a valid token of ours,
/// 403 for one that acts for a member or a client outside the suite.
async fn authorise(state: &AppState, headers: &HeaderMap) -> Result<View, Response> {
    let Some(token) = bearer(headers) else {
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
