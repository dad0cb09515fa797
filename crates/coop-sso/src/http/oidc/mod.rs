//! The OpenID Provider's endpoints.

mod authorize;
pub(crate) mod device;
mod logout;
mod token;
mod userinfo;

use axum::extract::State;
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Serialize;
use serde_json::json;

pub use logout::{logout_page, logout_submit};
pub(crate) use userinfo::verify_access_token;

use crate::clients::Client;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/revoke", post(userinfo::revoke))
        .route("/device/authorize", post(device::device_authorization))
        .route(
            "/device",
            get(device::approve_page).post(device::approve_submit),
        )
}

async fn discovery(State(state): State<AppState>) -> Response {
    let i = &*state.issuer;
    let body = json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "revocation_endpoint": format!("{i}/revoke"),
        "device_authorization_endpoint": format!("{i}/device/authorize"),
        "end_session_endpoint": format!("{i}/logout"),
        "scopes_supported": ["openid", "profile", "email", "member", "roles", "offline_access", "members.feed", "till"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  "urn:ietf:params:oauth:grant-type:device_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name",
                             "preferred_username", "locale", "email", "email_verified",
                             "member_number", "household", "roles", "sid"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "ui_locales_supported": state.kit.coop.languages.iter().map(|l| l.code()).collect::<Vec<_>>(),
    });
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(body)).into_response()
}

async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys.jwks()),
    )
        .into_response()
}

/// An RFC 6749 §5.2 error answer of the token, revocation and userinfo endpoints.
#[derive(Debug, Serialize)]
pub struct OAuthError {
    error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'static str>,
    #[serde(skip)]
    status: StatusCode,
}

impl OAuthError {
    pub fn new(error: &'static str, description: &'static str) -> Self {
        let status = match error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            error,
            error_description: Some(description),
            status,
        }
    }

    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new("invalid_grant", description)
    }

    pub fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!("token endpoint: {e}");
        Self::new("server_error", "the server could not answer; try again")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(&self),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"coop-sso\""),
            );
        }
        res
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> Self {
        Self::server(e)
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(e: anyhow::Error) -> Self {
        Self::server(format!("{e:#}"))
    }
}

/// Client authentication (RFC 6749 §2.3.1): HTTP Basic with form-urlencoded id and secret, or
/// both in the body. Exactly one method; a wrong secret and an unknown client look the same.
pub fn authenticate_client<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<&'a Client, OAuthError> {
    let invalid = || OAuthError::new("invalid_client", "client authentication failed");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let (id, secret) = match (basic, form_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::new(
                "invalid_request",
                "use one client authentication method",
            ))
        }
        (Some(b64), None) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| invalid())?;
            let raw = String::from_utf8(raw).map_err(|_| invalid())?;
            let (id, secret) = raw.split_once(':').ok_or_else(invalid)?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            let id = decode(id).ok_or_else(invalid)?;
            if form_id.is_some_and(|f| f != id) {
                return Err(invalid());
            }
            (id, decode(secret).ok_or_else(invalid)?)
        }
        (None, Some(secret)) => (form_id.ok_or_else(invalid)?.to_owned(), secret.to_owned()),
        (None, None) => {
            // Only a public client may come without a secret.
            let id = form_id.ok_or_else(invalid)?;
            return state
                .clients
                .get(id)
                .filter(|c| c.is_public())
                .ok_or_else(invalid);
        }
    };
    let client = state.clients.get(&id).ok_or_else(invalid)?;
    if client.verify_secret(&secret) {
        Ok(client)
    } else {
        Err(invalid())
    }
}
