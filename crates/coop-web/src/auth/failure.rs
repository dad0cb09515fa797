//! Failed sign-ins, shown as the kit's error page in the member's language.

use axum::extract::{FromRef, FromRequestParts, OriginalUri};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};

use super::provider::ProviderError;
use crate::app::{Kit, RequestLang};
use crate::error::{error_response, ErrorKind};
use crate::i18n::Lang;

/// A failure the member sees as the kit's error page; the text goes to the log only.
#[derive(Debug)]
pub(crate) enum Failure {
    BadRequest(String),
    Unavailable(String),
}

impl From<ProviderError> for Failure {
    fn from(e: ProviderError) -> Self {
        Failure::Unavailable(e.to_string())
    }
}

/// What the kit's error page needs, taken before the handler runs.
pub(crate) struct ErrorPage {
    kit: Kit,
    pub lang: Lang,
    /// The request path without its query: the callback's query holds the code, the state and
    /// whatever text the provider sent, and none of it goes back into a page (the kit's error
    /// layer would repeat the whole query in the language links).
    path: String,
    request_id: Option<String>,
}

impl<S> FromRequestParts<S> for ErrorPage
where
    S: Send + Sync,
    Kit: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let kit = Kit::from_ref(state);
        let lang = parts
            .extensions
            .get::<RequestLang>()
            .map_or(kit.coop.default_lang, |l| l.0);
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |o| &o.0)
            .path()
            .to_owned();
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Self {
            kit,
            lang,
            path,
            request_id,
        })
    }
}

impl Failure {
    /// The kit's error page in the member's language; the detail goes to the log only.
    pub(crate) fn render(self, page: &ErrorPage) -> Response {
        let (kind, detail) = match self {
            Failure::BadRequest(d) => (ErrorKind::BadRequest, d),
            Failure::Unavailable(d) => (ErrorKind::Unavailable, d),
        };
        let status = kind.status();
        if status.is_server_error() {
            tracing::warn!(%status, "sign-in: {detail}");
        } else {
            tracing::info!(%status, "sign-in: {detail}");
        }
        let (title_key, message_key) = kind.message_keys();
        let ctx = page.kit.page(page.lang, &page.path);
        let data = serde_json::json!({
            "title_key": title_key,
            "message_key": message_key,
            "request_id": if status.is_server_error() { page.request_id.clone() } else { None },
        });
        match page.kit.templates.render("error.html", &ctx, &data) {
            Ok(html) => {
                let mut res = (status, Html(html)).into_response();
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res
            }
            Err(e) => {
                tracing::error!("rendering the error page failed: {e}");
                error_response(kind, None)
            }
        }
    }
}
