//! Errors as the client sees them. A handler's error becomes a response that carries an
//! [`ErrorReport`]; one middleware ([`crate::app`]) logs the internal detail and renders the page
//! in the member's language. The response never contains internal text.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::templates::TemplateError;

/// What kind of failure, as far as the client may know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Csrf,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden | ErrorKind::Csrf => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The Fluent ids of the page's title and message.
    pub fn message_keys(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::BadRequest => ("error-bad-request-title", "error-bad-request"),
            ErrorKind::Unauthorized => ("error-unauthorized-title", "error-unauthorized"),
            ErrorKind::Forbidden => ("error-forbidden-title", "error-forbidden"),
            ErrorKind::NotFound => ("error-not-found-title", "error-not-found"),
            ErrorKind::Csrf => ("error-csrf-title", "error-csrf"),
            ErrorKind::PayloadTooLarge => ("error-too-large-title", "error-too-large"),
            ErrorKind::TooManyRequests => ("error-too-many-title", "error-too-many"),
            ErrorKind::Unavailable => ("error-unavailable-title", "error-unavailable"),
            ErrorKind::Internal => ("error-internal-title", "error-internal"),
        }
    }

    /// A stable machine-readable code for JSON clients.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Csrf => "csrf",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::TooManyRequests => "too_many_requests",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    pub fn from_status(status: StatusCode) -> Option<Self> {
        Some(match status {
            StatusCode::BAD_REQUEST
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::BadRequest,
            StatusCode::UNAUTHORIZED => ErrorKind::Unauthorized,
            StatusCode::FORBIDDEN => ErrorKind::Forbidden,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => ErrorKind::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
            StatusCode::TOO_MANY_REQUESTS => ErrorKind::TooManyRequests,
            StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::REQUEST_TIMEOUT
            | StatusCode::GATEWAY_TIMEOUT => ErrorKind::Unavailable,
            s if s.is_server_error() => ErrorKind::Internal,
            _ => return None,
        })
    }
}

/// Carried in the response extensions from the handler to the error middleware.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub kind: ErrorKind,
    /// For the log only.
    pub detail: Option<String>,
}

/// Builds the response for an error; the body is replaced by the error middleware.
pub fn error_response(kind: ErrorKind, detail: Option<String>) -> Response {
    let mut res = (kind.status(), kind.code()).into_response();
    res.extensions_mut().insert(ErrorReport { kind, detail });
    res
}

/// The kit's own error type; services wrap it in theirs (`#[from] coop_web::Error`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("sign-in required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("CSRF check failed: {0}")]
    Csrf(&'static str),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("too many requests")]
    TooManyRequests,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound => ErrorKind::NotFound,
            Error::Unauthorized => ErrorKind::Unauthorized,
            Error::Forbidden => ErrorKind::Forbidden,
            Error::BadRequest(_) => ErrorKind::BadRequest,
            Error::Csrf(_) => ErrorKind::Csrf,
            Error::PayloadTooLarge => ErrorKind::PayloadTooLarge,
            Error::TooManyRequests => ErrorKind::TooManyRequests,
            Error::Database(sqlx::Error::PoolTimedOut) => ErrorKind::Unavailable,
            Error::Database(_) | Error::Template(_) | Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let detail = match &self {
            Error::Internal(e) => Some(format!("{e:#}")),
            other => Some(other.to_string()),
        };
        error_response(self.kind(), detail)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns a violated named constraint into a domain error instead of a 500, so uniqueness lives
/// in the database rather than in check-then-insert races.
pub trait ResultExt<T> {
    fn on_constraint<E>(self, name: &str, f: impl FnOnce() -> E) -> std::result::Result<T, E>
    where
        E: From<sqlx::Error>;
}

impl<T> ResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn on_constraint<E>(self, name: &str, f: impl FnOnce() -> E) -> std::result::Result<T, E>
    where
        E: From<sqlx::Error>,
    {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => f(),
            _ => E::from(e),
        })
    }
}
