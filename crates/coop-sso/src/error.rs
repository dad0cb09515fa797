//! coop-sso's error type. Everything the client sees goes through the kit's error pages; the
//! OAuth endpoints answer with RFC 6749 error objects of their own (`oidc::OAuthError`).

use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kit(#[from] coop_web::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Kit(e) => e.into_response(),
            Error::Database(e) => coop_web::Error::Database(e).into_response(),
            Error::Internal(e) => coop_web::Error::Internal(e).into_response(),
        }
    }
}

impl From<coop_web::templates::TemplateError> for Error {
    fn from(e: coop_web::templates::TemplateError) -> Self {
        Error::Kit(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
