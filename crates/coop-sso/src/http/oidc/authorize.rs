//! The authorization endpoint: code flow only, PKCE S256 mandatory, exact redirect URIs.
//!
//! Errors about the client or its redirect URI are shown on our own page: redirecting to an
//! unverified URI would make us an open redirector (RFC 6749 §4.1.2.1). Every other error goes
//! back to the client's redirect URI with `error`, `state` and `iss`.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use coop_web::Page;
use url::Url;

use crate::signin;
use crate::state::AppState;
use crate::tokens::CODE_TTL;
use crate::Result;

fn error_page(page: &Page, message_key: &str) -> Result<Response> {
    let html = page.render(
        "oauth_error.html",
        &serde_json::json!({ "message_key": message_key }),
    )?;
    Ok((StatusCode::BAD_REQUEST, html).into_response())
}

fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    error: &str,
    description: &str,
    st: Option<&str>,
) -> Response {
    let mut url = Url::parse(redirect_uri).expect("registered redirect URIs are valid URLs");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", error)
            .append_pair("error_description", description);
        if let Some(s) = st {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &state.issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

pub async fn authorize(
    page: Page,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let raw = raw.unwrap_or_default();
    // Parameters given twice are an error (RFC 6749 §3.1), not "last one wins".
    let mut params: HashMap<String, String> = HashMap::new();
    let mut duplicated = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            duplicated = true;
        }
    }
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());

    let Some(client) = get("client_id").and_then(|id| state.clients.get(id)) else {
        return error_page(&page, "oauth-error-client");
    };
    let Some(redirect_uri) = get("redirect_uri").filter(|u| client.has_redirect_uri(u)) else {
        return error_page(&page, "oauth-error-redirect-uri");
    };
    let st = get("state");
    let fail = |error: &str, description: &str| {
        Ok(redirect_error(&state, redirect_uri, error, description, st))
    };

    if duplicated {
        return fail("invalid_request", "a parameter was given more than once");
    }
    if get("request").is_some() || get("request_uri").is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    if get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "only the authorization code flow is supported",
        );
    }
    if let Some(mode) = get("response_mode") {
        if mode != "query" {
            return fail("invalid_request", "only response_mode=query is supported");
        }
    }
    let scope = get("scope").unwrap_or("");
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if !scopes.contains(&"openid") {
        return fail("invalid_scope", "the openid scope is required");
    }
    let known = ["openid", "profile", "email", "roles", "offline_access"];
    let scope: String = scopes
        .iter()
        .filter(|s| known.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let Some(challenge) = get("code_challenge") else {
        return fail(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    };
    if get("code_challenge_method") != Some("S256") {
        return fail(
            "invalid_request",
            "only code_challenge_method=S256 is accepted",
        );
    }
    if !is_pkce_value(challenge) {
        return fail("invalid_request", "code_challenge is malformed");
    }
    let nonce = get("nonce");
    if nonce.is_some_and(|n| n.len() > 512) || st.is_some_and(|s| s.len() > 1024) {
        return fail("invalid_request", "state or nonce is too long");
    }
    let prompt = get("prompt").unwrap_or("");
    if prompt.split(' ').any(|p| p == "none") && prompt != "none" {
        return fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        );
    }

    let signed_in = signin::current(&state, &page.session).await?;
    let max_age = get("max_age").and_then(|m| m.parse::<i64>().ok());
    let fresh_enough = |s: &signin::SignedIn| {
        max_age.is_none_or(|m| (state.now() - s.auth_time).num_seconds() <= m)
    };
    let signed_in = match signed_in {
        Some(s)
            if prompt.split(' ').any(|p| p == "login")
                && !page.session.get::<bool>("sso_reauthed").unwrap_or(false) =>
        {
            // Force a fresh sign-in, once: the flag is cleared when the code is issued.
            signin::end(&state, &page.session).await?;
            drop(s);
            None
        }
        Some(s) if fresh_enough(&s) => Some(s),
        _ => None,
    };
    let Some(me) = signed_in else {
        if prompt == "none" {
            return fail("login_required", "the member is not signed in");
        }
        if prompt.split(' ').any(|p| p == "login") {
            page.session.insert("sso_reauthed", &true);
        }
        // Back here after signing in, with the same request.
        let return_to = format!("/authorize?{raw}");
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &return_to)
            .finish();
        return Ok(Redirect::to(&format!("/login?{q}")).into_response());
    };
    page.session.remove("sso_reauthed");

    let code = crate::secrets::new_token();
    let now = state.now();
    sqlx::query(
        "insert into authorization_code
            (code_hash, client_id, member_id, web_session_id, redirect_uri, scope, nonce, code_challenge,
             auth_time, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(crate::secrets::hash(&code))
    .bind(&client.client_id)
    .bind(me.member.member_id)
    .bind(me.web_session_id)
    .bind(redirect_uri)
    .bind(&scope)
    .bind(nonce)
    .bind(challenge)
    .bind(me.auth_time)
    .bind(now)
    .bind(now + CODE_TTL)
    .execute(state.db())
    .await?;
    let mut url =
        Url::parse(redirect_uri).map_err(|e| anyhow::anyhow!("registered redirect URI: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = st {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &state.issuer);
    }
    Ok(Redirect::to(url.as_str()).into_response())
}
