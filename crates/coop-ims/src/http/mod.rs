//! coop-ims's web side: the catalogue pages for managers, the stock form and valuation report,
//! the members' product finder, the look-up API for tills and the feed. No SQL here: handlers
//! call the store modules.

pub mod api;
pub mod audits;
pub mod find;
pub mod orders;
pub mod products;
pub mod reports;
pub mod requests;
pub mod suppliers;

use axum::extract::FromRef;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use coop_web::auth::{AccessTokenVerifier, CurrentUser, OidcClient};
use coop_web::Kit;
use serde::Serialize;
use uuid::Uuid;

use crate::catalogue::CatalogueError;
use crate::stock::StockError;
use crate::Settings;

/// What every handler gets.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub kit: Kit,
    pub oidc: OidcClient,
    pub tokens: AccessTokenVerifier,
    pub settings: std::sync::Arc<Settings>,
    pub mailer: std::sync::Arc<coop_web::mail::Mailer>,
    pub jobs: coop_web::jobs::Jobs,
}

impl AppState {
    pub fn minor_units(&self) -> u32 {
        self.kit.coop.currency.minor_units()
    }

    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.kit.coop.time_zone)
            .date_naive()
    }

    /// The co-op's VAT classes, for the product form.
    pub fn vat_classes(&self) -> Vec<String> {
        self.kit
            .coop
            .vat
            .classes()
            .map(|(id, _)| id.to_string())
            .collect()
    }

    pub fn default_lang(&self) -> &'static str {
        self.kit.coop.default_lang.code()
    }
}

/// The signed-in member's id, if it is one.
pub fn member_id(user: &CurrentUser) -> Option<Uuid> {
    Uuid::parse_str(&user.sub).ok()
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    let oidc = state.oidc.clone();
    let access = crate::feed::FeedAccess {
        tokens: state.tokens.clone(),
        clients: std::sync::Arc::new(state.settings.feed_clients.clone()),
    };
    Router::new()
        .route("/", get(find::find))
        .route("/products", get(products::list).post(products::create))
        .route("/products/new", get(products::new))
        .route("/products/{id}", get(products::show).post(products::update))
        .route("/products/{id}/codes", post(products::add_code))
        .route("/products/{id}/codes/remove", post(products::remove_code))
        .route("/products/{id}/packs", post(products::add_pack))
        .route(
            "/products/{id}/packs/{pack}/retire",
            post(products::retire_pack),
        )
        .route("/products/{id}/prices", post(products::schedule_price))
        .route("/products/{id}/prices/cancel", post(products::cancel_price))
        .route("/products/{id}/stock", post(products::move_stock))
        .route("/audits", get(audits::list).post(audits::start))
        .route("/audits/{id}", get(audits::show))
        .route("/audits/{id}/counts", post(audits::counts))
        .route("/audits/{id}/submit", post(audits::submit))
        .route("/audits/{id}/approve", post(audits::approve))
        .route("/audits/{id}/cancel", post(audits::cancel))
        .route("/requests", get(requests::list).post(requests::create))
        .route("/requests/{id}/vote", post(requests::vote))
        .route("/requests/{id}/decide", post(requests::decide))
        .route("/suppliers", get(suppliers::list).post(suppliers::create))
        .route("/suppliers/{id}", get(suppliers::show))
        .route(
            "/suppliers/{id}/price-list",
            post(suppliers::price_list).layer(suppliers::limit()),
        )
        .route("/orders", get(orders::list).post(orders::create))
        .route("/orders/{id}", get(orders::show))
        .route("/orders/{id}/csv", get(orders::csv))
        .route("/orders/{id}/pdf", get(orders::pdf))
        .route("/orders/{id}/lines", post(orders::lines))
        .route("/orders/{id}/send", post(orders::send))
        .route("/orders/{id}/mail", post(orders::mail))
        .route("/orders/{id}/receive", post(orders::receive))
        .route("/reports/velocity", get(reports::velocity))
        .route("/reports/velocity.csv", get(reports::velocity_csv))
        .route("/reports/reorder", get(reports::reorder))
        .route("/reports/reorder.csv", get(reports::reorder_csv))
        .route("/reports/shrink", get(reports::shrink))
        .route("/reports/shrink.csv", get(reports::shrink_csv))
        .route("/reports/stock", get(reports::valuation))
        .route("/reports/stock.csv", get(reports::valuation_csv))
        .route("/reports/{report}/export", post(reports::export))
        .route("/api/lookup", get(api::lookup))
        .merge(coop_web::jobs::routes())
        .merge(coop_web::feed::routes(state.kit.db.clone(), access))
        .merge(oidc.routes())
        .with_state(state)
}

/// One error type: the kit's (pages, sign-in, CSRF), the domain's refusals (each a clear
/// reason), and the database's (never shown).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kit(#[from] coop_web::Error),
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    Stock(#[from] StockError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let kit = match self {
            Error::Kit(e) => e,
            Error::Database(e)
            | Error::Catalogue(CatalogueError::Database(e))
            | Error::Stock(StockError::Database(e)) => coop_web::Error::Database(e),
            Error::Catalogue(CatalogueError::NoProduct) | Error::Stock(StockError::NoProduct) => {
                coop_web::Error::NotFound
            }
            other => coop_web::Error::BadRequest(other.to_string()),
        };
        kit.into_response()
    }
}

/// A page that may carry refusals: 422 when it does, so a refused form is never taken for done.
pub fn form_page(errors: &[FormError], html: axum::response::Html<String>) -> Response {
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, html).into_response()
}

/// A form with nothing but its CSRF token: a button that does one thing.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoFields {}

/// An error as the page's summary lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    pub fn from_catalogue(e: &CatalogueError) -> Option<Self> {
        Some(match e {
            CatalogueError::Invalid { field, message } => Self {
                field: Some((*field).to_owned()),
                message: message.clone(),
            },
            CatalogueError::DuplicateCode(_) => Self {
                field: Some("codes".into()),
                message: e.to_string(),
            },
            CatalogueError::DuplicateSku(_) => Self {
                field: Some("sku".into()),
                message: e.to_string(),
            },
            CatalogueError::DuplicateChange => Self {
                field: Some("effective_on".into()),
                message: e.to_string(),
            },
            CatalogueError::NoProduct | CatalogueError::Database(_) => return None,
        })
    }
}

/// The field errors as a map for the templates (`field_errors.name`).
pub fn field_errors(errors: &[FormError]) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for e in errors {
        if let Some(f) = &e.field {
            m.entry(f.clone())
                .or_insert_with(|| serde_json::json!(e.message));
        }
    }
    m
}
