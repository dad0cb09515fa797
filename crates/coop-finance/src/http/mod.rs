//! coop-finance's web side: the member's wallet page, the bookkeeper's pages (top-ups, bank
//! import, the books and their SIE export) and the wallet API other services call with their
//! own token. No SQL here: handlers call the store modules.

pub mod api;
pub mod books;
pub mod budget;
pub mod journal;
pub mod member;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use coop_web::auth::{AccessTokenVerifier, CurrentUser, OidcClient};
use coop_web::Kit;
use serde::Serialize;
use uuid::Uuid;

use crate::bank::BankError;
use crate::sie::ExportError;
use crate::topup::{Policy, TopUpError};
use crate::wallet::WalletError;
use crate::Settings;

/// What every handler gets.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub kit: Kit,
    pub oidc: OidcClient,
    pub tokens: AccessTokenVerifier,
    pub settings: std::sync::Arc<Settings>,
}

impl AppState {
    pub fn minor_units(&self) -> u32 {
        self.kit.coop.currency.minor_units()
    }

    pub fn policy(&self) -> Policy {
        Policy {
            second_bookkeeper_above: self.settings.second_bookkeeper_above,
            minor_units: self.minor_units(),
        }
    }

    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.kit.coop.time_zone)
            .date_naive()
    }

    /// The wallet a signed-in member spends from: theirs, or their household's when the co-op
    /// keeps one wallet per household.
    pub async fn wallet_of(&self, user: &CurrentUser) -> Result<Uuid, Error> {
        let owner = owner_of(&self.settings, user)?;
        if owner == member_id(user)? {
            return Ok(crate::wallet::for_member(&self.kit.db, owner, &user.name).await?);
        }
        // A household's wallet: the member feed names it after its members; a new one starts
        // with the name of the member who opened it.
        if let Some(w) = crate::wallet::find(&self.kit.db, owner).await? {
            return Ok(w);
        }
        let w = crate::wallet::wallet_of(&self.kit.db, owner).await?;
        crate::wallet::set_owner_name(&self.kit.db, w, &user.name).await?;
        Ok(w)
    }
}

/// The wallet owner's id for a member.
pub fn owner_of(settings: &Settings, user: &CurrentUser) -> Result<Uuid, Error> {
    let id = match (settings.wallet_per, user.household.as_deref()) {
        (crate::WalletPer::Household, Some(h)) => h,
        _ => user.sub.as_str(),
    };
    Uuid::parse_str(id).map_err(|_| {
        Error::Kit(coop_web::Error::Internal(anyhow::anyhow!(
            "the member id is not a UUID"
        )))
    })
}

/// The signed-in member's own id.
pub fn member_id(user: &CurrentUser) -> Result<Uuid, Error> {
    Uuid::parse_str(&user.sub).map_err(|_| {
        Error::Kit(coop_web::Error::Internal(anyhow::anyhow!(
            "the member id is not a UUID"
        )))
    })
}

/// The largest bank statement a bookkeeper may upload.
pub const STATEMENT_LIMIT: usize = 8 * 1024 * 1024;

/// The service's routes.
pub fn router(state: AppState) -> Router {
    let oidc = state.oidc.clone();
    Router::new()
        .route("/", get(member::wallet))
        .route("/top-ups/claim", post(member::claim))
        .route("/top-ups", get(books::top_ups))
        .route("/top-ups/{id}/confirm", post(books::confirm))
        .route("/top-ups/{id}/reject", post(books::reject))
        .route("/bank", get(books::bank))
        .route(
            "/bank/import",
            post(books::import).layer(DefaultBodyLimit::max(STATEMENT_LIMIT)),
        )
        .route("/bank/lines/{id}/set-aside", post(books::set_aside))
        .route("/bank/lines/{id}/credit", post(books::credit))
        .route("/bank/lines/{id}/match", post(books::match_claim))
        .route(
            "/entries",
            get(journal::list)
                .post(journal::create)
                .layer(DefaultBodyLimit::max(journal::ENTRY_FORM_LIMIT)),
        )
        .route("/entries/new", get(journal::new))
        .route("/entries/{id}", get(journal::show))
        .route("/entries/{id}/reverse", post(journal::reverse))
        .route(
            "/entries/{id}/attachments/{attachment}",
            get(journal::attachment),
        )
        .route("/budget", get(budget::show).post(budget::save))
        .route("/statement", get(member::statement))
        .route("/wallets", get(books::wallets))
        .route("/wallets/{id}/statement", get(books::statement))
        .route("/books", get(books::books))
        .route("/reports", get(books::reports))
        .route("/reports/income.csv", get(books::income_csv))
        .route("/reports/members.csv", get(books::members_csv))
        .route("/books/{year}/sie", get(books::sie_export))
        .route("/books/{year}/periods", get(books::periods))
        .route(
            "/books/{year}/periods/{starts_on}/close",
            post(books::close_period),
        )
        .route("/api/wallets/{owner}", get(api::balance))
        .route("/api/holds", post(api::hold))
        .route("/api/holds/{key}/adjust", post(api::adjust))
        .route("/api/holds/{key}/capture", post(api::capture))
        .route("/api/holds/{key}/release", post(api::release))
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
    Wallet(#[from] WalletError),
    #[error(transparent)]
    TopUp(#[from] TopUpError),
    #[error(transparent)]
    Bank(#[from] BankError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let kit = match self {
            Error::Kit(e) => e,
            Error::Database(e)
            | Error::Wallet(WalletError::Database(e))
            | Error::TopUp(
                TopUpError::Database(e) | TopUpError::Wallet(WalletError::Database(e)),
            )
            | Error::Bank(BankError::Database(e)) => coop_web::Error::Database(e),
            Error::Export(ExportError::NoYear) => coop_web::Error::NotFound,
            Error::Export(e) => coop_web::Error::Internal(anyhow::anyhow!(e)),
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

/// An error as the page's summary lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FormError {
    pub field: Option<&'static str>,
    pub message: String,
}

/// The Fluent id that tells a member or bookkeeper why a top-up was refused.
pub fn top_up_message(e: &TopUpError) -> Option<(&'static str, Option<&'static str>)> {
    Some(match e {
        TopUpError::Amount | TopUpError::Wallet(WalletError::Amount) => {
            ("finance-error-amount", Some("amount"))
        }
        TopUpError::FutureDate => ("finance-error-future-date", Some("paid_on")),
        TopUpError::Reference => ("finance-error-reference", Some("bank_reference")),
        TopUpError::NoClaim => ("finance-error-no-claim", None),
        TopUpError::Settled(_) => ("finance-error-settled", None),
        TopUpError::OwnClaim => ("finance-error-own-claim", None),
        TopUpError::SameBookkeeper => ("finance-error-same-bookkeeper", None),
        TopUpError::Reason => ("finance-error-reason", Some("reason")),
        TopUpError::TooManyOpen => ("finance-error-too-many-claims", None),
        TopUpError::Wallet(WalletError::Ledger(
            crate::ledger::store::StoreError::ClosedPeriod(_),
        )) => ("finance-error-closed-period", None),
        _ => return None,
    })
}
