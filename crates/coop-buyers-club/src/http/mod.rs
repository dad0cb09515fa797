//! coop-buyers-club's web side: the orders and the suppliers, for every member; the order feed
//! for coop-finance. No SQL here: handlers call [`crate::store`].

pub mod notices;
pub mod orders;
pub mod places;
pub mod suppliers;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use coop_domain::Role;
use coop_web::auth::{AccessTokenVerifier, CurrentUser, OidcClient};
use coop_web::feed::{bearer, refusal};
use coop_web::Kit;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::store::Refused;
use crate::wallet::Wallet;
use crate::Settings;

/// What every handler gets.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub kit: Kit,
    pub oidc: OidcClient,
    pub tokens: AccessTokenVerifier,
    pub settings: Arc<Settings>,
    pub wallet: Arc<dyn Wallet>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
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

    /// The co-op's VAT classes.
    pub fn vat_classes(&self) -> Vec<String> {
        self.kit
            .coop
            .vat
            .classes()
            .map(|(id, _)| id.as_str().to_owned())
            .collect()
    }

    /// A VAT class's rate today, in percent.
    pub fn vat_percent(&self, class: &str) -> Decimal {
        let today = self.today();
        self.kit
            .coop
            .vat
            .classes()
            .find(|(id, _)| id.as_str() == class)
            .and_then(|(_, c)| c.rate_on(today))
            .map_or(Decimal::ZERO, coop_domain::VatRate::percent)
    }

    pub fn url(&self, path: &str) -> String {
        self.kit.service.url(path)
    }
}

/// The signed-in member: every page is for members.
pub fn member(user: &CurrentUser) -> Result<Uuid, Error> {
    user.require(Role::Member)?;
    Uuid::parse_str(&user.sub).map_err(|_| coop_web::Error::Forbidden.into())
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    let oidc = state.oidc.clone();
    let access = FeedAccess {
        tokens: state.tokens.clone(),
        clients: Arc::new(state.settings.feed_clients.clone()),
    };
    Router::new()
        .route("/", get(orders::list))
        .route("/notifications", get(notices::show).post(notices::save))
        .route("/places", get(places::show))
        .route("/places/mine", post(places::save))
        .route("/orders", post(orders::create))
        .route("/orders/new", get(orders::new))
        .route("/orders/{id}", get(orders::show))
        .route("/orders/{id}/purchases", post(orders::purchases))
        .route("/orders/{id}/close", post(orders::close))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/orders/{id}/reopen", post(orders::reopen))
        .route("/orders/{id}/hand-over", post(orders::hand_over))
        .route("/orders/{id}/products", post(orders::add_products))
        .route(
            "/orders/{id}/products/{product}/remove",
            post(orders::remove_product),
        )
        .route("/orders/{id}/changes", post(orders::request_change))
        .route("/orders/{id}/complete", post(orders::complete))
        .route("/orders/{id}/sorting", get(orders::sorting))
        .route("/orders/{id}/part", get(orders::part))
        .route("/orders/{id}/export/{format}", get(orders::export))
        .route("/changes/{id}/answer", post(orders::answer))
        .route("/changes/{id}/withdraw", post(orders::withdraw))
        .route("/suppliers", get(suppliers::list).post(suppliers::create))
        .route(
            "/suppliers/{id}",
            get(suppliers::show).post(suppliers::update),
        )
        .route("/suppliers/{id}/delete", post(suppliers::delete))
        .route("/suppliers/{id}/products", post(suppliers::add_product))
        .route(
            "/suppliers/{id}/price-list",
            post(suppliers::price_list).layer(axum::extract::DefaultBodyLimit::max(
                suppliers::PRICE_LIST_LIMIT,
            )),
        )
        .route(
            "/products/{id}",
            get(suppliers::product).post(suppliers::update_product),
        )
        .route("/products/{id}/delete", post(suppliers::delete_product))
        .merge(coop_web::feed::routes(state.kit.db.clone(), access))
        .merge(oidc.routes())
        .with_state(state)
}

/// One error type: the kit's (pages, sign-in, CSRF), a refusal (its reason shown), the
/// database's (never shown).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kit(#[from] coop_web::Error),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let kit = match self {
            Error::Kit(e) => e,
            Error::Database(e) | Error::Refused(Refused::Database(e)) => {
                coop_web::Error::Database(e)
            }
            Error::Refused(Refused::NotFound) => coop_web::Error::NotFound,
            Error::Refused(Refused::NotManager) => coop_web::Error::Forbidden,
            Error::Refused(other) => coop_web::Error::BadRequest(other.to_string()),
        };
        kit.into_response()
    }
}

/// A refusal as a page's error summary shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    pub fn new(field: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// A page that may carry refusals: 422 when it does, so a refused form is never taken for done.
pub fn form_page(errors: &[FormError], html: axum::response::Html<String>) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, html).into_response()
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

/// A quantity as the page's language writes it, with the decimals it has (`2,5`, `6`).
pub fn qty(page: &coop_web::Page, tz: chrono_tz::Tz, d: Decimal) -> String {
    let d = d.normalize();
    coop_web::format::Format::new(page.lang(), tz).number(d, d.scale())
}

/// Members' names by id, for the templates (`names[id]`): "Name (number)".
pub fn name_map(members: &[crate::members::Member]) -> serde_json::Map<String, serde_json::Value> {
    members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                serde_json::json!(format!("{} ({})", m.name, m.member_number)),
            )
        })
        .collect()
}

/// A form with nothing but its CSRF token: a button that does one thing.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoFields {}

/// Who may read the order feed: the services in `feed_clients` (coop-finance), with their own
/// token.
#[derive(Debug, Clone)]
pub struct FeedAccess {
    pub tokens: AccessTokenVerifier,
    pub clients: Arc<Vec<String>>,
}

/// A service sees every event.
#[derive(Debug, Clone, Copy)]
pub struct Everything;

impl coop_web::feed::View for Everything {
    fn show(&self, _kind: &str, payload: &serde_json::Value) -> Option<serde_json::Value> {
        Some(payload.clone())
    }
}

impl coop_web::feed::Access for FeedAccess {
    type View = Everything;

    async fn authorise(&self, headers: &HeaderMap) -> Result<Everything, Response> {
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
            Ok(Everything)
        } else {
            Err(refusal(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "Bearer error=\"insufficient_scope\"",
            ))
        }
    }
}
