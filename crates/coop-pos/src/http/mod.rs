//! coop-pos central's web side: the managers' view of the tills and their sync state, the
//! upload API for paired tills and the sales feed. No SQL here beyond the store modules'.

pub mod api;
pub mod cashiers;
pub mod hours;
pub mod sales;
pub mod tills;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use coop_web::auth::{AccessTokenVerifier, OidcClient};
use coop_web::Kit;

use crate::Settings;

/// What every handler gets.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub kit: Kit,
    pub oidc: OidcClient,
    pub tokens: AccessTokenVerifier,
    pub settings: std::sync::Arc<Settings>,
    /// coop-finance's wallet API, when the co-op runs coop-finance.
    pub finance: Option<crate::wallet::Finance>,
    /// For receipts a member asks to have mailed.
    pub mailer: std::sync::Arc<coop_web::mail::Mailer>,
}

/// The largest upload a till may send: [`crate::ingest::MAX_BATCH`] sales of a few KiB.
pub const UPLOAD_LIMIT: usize = 8 << 20;

/// The service's routes.
pub fn router(state: AppState) -> Router {
    let oidc = state.oidc.clone();
    let access = crate::feed::FeedAccess {
        tokens: state.tokens.clone(),
        clients: std::sync::Arc::new(state.settings.feed_clients.clone()),
    };
    Router::new()
        .route("/", get(tills::list))
        .route("/tills/{id}/clear", post(tills::clear))
        .route("/sales", get(sales::list))
        .route("/sales/{id}", get(sales::show))
        .route("/sales/{id}/email", post(sales::email))
        .route("/days", get(sales::day))
        .route("/mine", get(sales::mine))
        .route("/hours", get(hours::list))
        .route("/hours.csv", get(hours::csv))
        .route("/hours/{sub}", get(hours::person))
        .route("/hours/{sub}/events", post(hours::add))
        .route("/hours/events/{id}/void", post(hours::void))
        .route("/api/till/clock", post(hours::upload))
        .route("/pin", get(cashiers::show).post(cashiers::set))
        .route("/cashiers/{sub}/remove", post(cashiers::remove))
        .route("/api/till/cashiers", get(cashiers::for_tills))
        .route(
            "/api/sales",
            post(api::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/api/till/settings", get(api::till_settings))
        .route("/api/till/wallet/holds", post(crate::wallet::hold))
        .route(
            "/api/till/wallet/holds/{sale_id}/release",
            post(crate::wallet::release),
        )
        .merge(coop_web::feed::routes(state.kit.db.clone(), access))
        .merge(oidc.routes())
        .with_state(state)
}

/// A form with nothing but its CSRF token: a button that does one thing.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoFields {}

/// One error type: the kit's (pages, sign-in, CSRF) and the database's (never shown).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kit(#[from] coop_web::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Kit(e) => e.into_response(),
            Error::Database(e) => coop_web::Error::Database(e).into_response(),
        }
    }
}
