//! Userinfo (the claims for a member's access token) and token revocation (RFC 7009).

use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, TimeZone as _, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{authenticate_client, OAuthError};
use crate::domain::MemberStatus;
use crate::signin;
use crate::state::AppState;
use crate::tokens::{self, ClaimSet};

fn bearer_error(error: &'static str) -> Response {
    let mut res = (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "error": error })),
    )
        .into_response();
    let v = format!("Bearer error=\"{error}\"");
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// Checks one of our access tokens: signature, type, issuer, audience, expiry, early revocation
/// and the state of its refresh-token family. Returns its claims.
pub async fn verify_access_token(
    state: &AppState,
    token: &str,
) -> Result<Option<Value>, sqlx::Error> {
    let Ok((header, claims)) = crate::jwt::verify(&state.keys, token) else {
        return Ok(None);
    };
    let now = state.now().timestamp();
    // Any of our access tokens is good at userinfo (that is what a token for an outside client
    // is for); where else it is good, its `aud` says, and the caller checks.
    let valid = header["typ"] == "at+jwt"
        && claims["iss"].as_str() == Some(&*state.issuer)
        && claims["exp"].as_i64().is_some_and(|e| e > now);
    if !valid {
        return Ok(None);
    }
    let Some(jti) = claims["jti"].as_str().and_then(|j| Uuid::parse_str(j).ok()) else {
        return Ok(None);
    };
    let family = claims["fam"].as_str().and_then(|f| Uuid::parse_str(f).ok());
    let revoked = crate::grants::access_token_revoked(state.db(), jti, family).await?;
    Ok((!revoked).then_some(claims))
}

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return bearer_error("invalid_request");
    };
    let claims = match verify_access_token(&state, token).await {
        Ok(Some(c)) => c,
        Ok(None) => return bearer_error("invalid_token"),
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let Some(member_id) = claims["sub"].as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
        // A client-credentials token has no member behind it.
        return bearer_error("invalid_token");
    };
    let scope = claims["scope"].as_str().unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return bearer_error("insufficient_scope");
    }
    match signin::load_member(state.db(), member_id).await {
        Ok(Some(m)) if m.status == MemberStatus::Active => {
            let body = tokens::userinfo_claims(&state, &m, ClaimSet::from_scope(scope));
            ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
        }
        Ok(_) => bearer_error("invalid_token"),
        Err(e) => OAuthError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// RFC 7009: answers 200 whether or not the token was known, so it reveals nothing; only the
/// client a token was issued to can revoke it.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<RevokeForm>(&body) else {
        return OAuthError::new("invalid_request", "the form could not be read").into_response();
    };
    let client = match authenticate_client(
        &state,
        &headers,
        form.client_id.as_deref(),
        form.client_secret.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(token) = form.token.as_deref().filter(|t| !t.is_empty()) else {
        return OAuthError::new("invalid_request", "token is missing").into_response();
    };
    let now = state.now();
    let result: Result<(), sqlx::Error> = async {
        // A refresh token: its whole family goes.
        let hash = crate::secrets::hash(token);
        if crate::grants::revoke_by_refresh_token(state.db(), &hash, &client.client_id, now).await?
        {
            return Ok(());
        }
        // An access token of ours issued to this client: remember its id until it expires.
        if let Ok((_, claims)) = crate::jwt::verify(&state.keys, token) {
            let mine = claims["client_id"].as_str() == Some(client.client_id.as_str());
            let jti = claims["jti"].as_str().and_then(|j| Uuid::parse_str(j).ok());
            let exp: Option<DateTime<Utc>> = claims["exp"]
                .as_i64()
                .and_then(|e| Utc.timestamp_opt(e, 0).single());
            if let (true, Some(jti), Some(exp)) = (mine, jti, exp) {
                crate::grants::revoke_access_token(state.db(), jti, exp).await?;
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => ([(header::CACHE_CONTROL, "no-store")], StatusCode::OK).into_response(),
        Err(e) => OAuthError::from(e).into_response(),
    }
}
