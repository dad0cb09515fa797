//! coop-ims's feed: `product.changed` (keyed by product, the whole product: a till's catalogue
//! copy) and `stock.moved` (unkeyed, the value at cost of each movement: coop-finance's cost of
//! goods sold and shrink). A paired till sees the catalogue; a suite service listed in
//! `feed_clients` sees everything; anyone else is refused.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use coop_web::auth::AccessTokenVerifier;
use coop_web::feed::{bearer, refusal};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ProductChanged,
    StockMoved,
}

impl coop_web::feed::EventKind for Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::ProductChanged => "product.changed",
            Self::StockMoved => "stock.moved",
        }
    }
}

/// What a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// A till: the catalogue, not the stock's value.
    Till,
    /// A suite service (coop-finance): everything.
    Service,
}

impl coop_web::feed::View for View {
    fn show(&self, kind: &str, payload: &Value) -> Option<Value> {
        match (self, kind) {
            (View::Till, "product.changed") => {
                // A till needs no cost price.
                let mut p = payload.clone();
                if let Some(o) = p.as_object_mut() {
                    o.remove("cost");
                }
                Some(p)
            }
            (View::Till, _) => None,
            (View::Service, _) => Some(payload.clone()),
        }
    }
}

/// Who may read the feed.
#[derive(Debug, Clone)]
pub struct FeedAccess {
    pub tokens: AccessTokenVerifier,
    pub clients: std::sync::Arc<Vec<String>>,
}

impl coop_web::feed::Access for FeedAccess {
    type View = View;

    async fn authorise(&self, headers: &HeaderMap) -> Result<View, Response> {
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
        if claims.client_id == coop_web::config::TILL_CLIENT_ID && claims.has_scope("till") {
            Ok(View::Till)
        } else if claims.is_service() && self.clients.contains(&claims.client_id) {
            Ok(View::Service)
        } else {
            Err(refusal(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "Bearer error=\"insufficient_scope\"",
            ))
        }
    }
}
