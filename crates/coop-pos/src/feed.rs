//! coop-pos's feed: `sale.completed` (unkeyed: a sale is never superseded), read by coop-ims
//! (the stock) and coop-finance (the books). Only the suite services in `feed_clients` may
//! read it; tills and members never do.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use coop_web::auth::AccessTokenVerifier;
use coop_web::feed::{bearer, refusal};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SaleCompleted,
}

impl coop_web::feed::EventKind for Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::SaleCompleted => "sale.completed",
        }
    }
}

/// A reader of the feed: a suite service, which sees every sale whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service;

impl coop_web::feed::View for Service {
    fn show(&self, _kind: &str, payload: &Value) -> Option<Value> {
        Some(payload.clone())
    }
}

/// Who may read the feed: the clients in `feed_clients`, with their own service token.
#[derive(Debug, Clone)]
pub struct FeedAccess {
    pub tokens: AccessTokenVerifier,
    pub clients: std::sync::Arc<Vec<String>>,
}

impl coop_web::feed::Access for FeedAccess {
    type View = Service;

    async fn authorise(&self, headers: &HeaderMap) -> Result<Service, Response> {
        let Some(token) = bearer(headers) else {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "invalid_request",
                "Bearer",
            ));
        };
        let Ok(claims) = self.tokens.verify(token).await else {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Bearer error=\"invalid_token\"",
            ));
        };
        if claims.is_service() && self.clients.contains(&claims.client_id) {
            Ok(Service)
        } else {
            Err(refusal(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "Bearer error=\"insufficient_scope\"",
            ))
        }
    }
}
