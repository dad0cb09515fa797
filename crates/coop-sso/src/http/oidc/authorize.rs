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

/// Our own query parameter on the way back from a forced sign-in: `<unix time>.<mac>`.
const REAUTH_PARAM: &str = "coop_reauth";
/// How long a forced sign-in may take before the member has to start again.
const REAUTH_WINDOW_SECONDS: i64 = 15 * 60;

fn marker_mac(state: &AppState, request: &str, at: i64) -> Vec<u8> {
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&state.marker_key[..])
        .expect("HMAC takes any key length");
    mac.update(format!("reauth\n{at}\n{request}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sign_marker(state: &AppState, request: &str) -> String {
    let at = state.now().timestamp();
    format!(
        "{at}.{}",
        crate::secrets::b64url(&marker_mac(state, request, at))
    )
}

/// The time from which a sign-in answers this request's prompt=login or max_age, if the marker
/// is ours, for this very request, and recent.
fn verify_marker(
    state: &AppState,
    request: &str,
    marker: &str,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use subtle::ConstantTimeEq as _;
    let (at, mac) = marker.split_once('.')?;
    let at: i64 = at.parse().ok()?;
    let expected = crate::secrets::b64url(&marker_mac(state, request, at));
    if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
        return None;
    }
    let at = chrono::DateTime::from_timestamp(at, 0)?;
    let age = (state.now() - at).num_seconds();
    (0..=REAUTH_WINDOW_SECONDS).contains(&age).then_some(at)
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

pub async fn authorize(
    page: Page,
    State(state): State<AppState>,
    signin::MaybeSignedIn(signed_in): signin::MaybeSignedIn,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let raw = raw.unwrap_or_default();
    // Parameters given twice are an error (RFC 6749 §3.1), not "last one wins". Our own
    // re-authentication marker is kept apart from the client's parameters.
    let mut params: HashMap<String, String> = HashMap::new();
    let mut client_pairs: Vec<(String, String)> = Vec::new();
    let mut marker = None;
    let mut duplicated = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if k == REAUTH_PARAM {
            marker = Some(v.into_owned());
            continue;
        }
        client_pairs.push((k.clone().into_owned(), v.clone().into_owned()));
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            duplicated = true;
        }
    }
    // The request as the client sent it, in one canonical spelling: what the marker signs.
    let request = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&client_pairs)
        .finish();
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
    // What the client may have of what it asked for: `roles`, `member` and `offline_access`
    // only for clients whose config allows them; unknown scopes are dropped.
    let scope = client.grantable(scope);
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

    let max_age = match get("max_age") {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(m) if m >= 0 => Some(m),
            _ => return fail("invalid_request", "max_age must be a number of seconds"),
        },
    };
    let wants_login = prompt.split(' ').any(|p| p == "login");

    // OpenID Connect Core §3.1.2.1: with prompt=login the member signs in again, and with
    // max_age the sign-in must be younger than that. Nobody is signed out for it (a cross-site
    // link with prompt=login must not end a session): the member proves themselves once more,
    // and a marker signed by us says from when a sign-in counts as fresh for this request.
    let fresh_since = marker
        .as_deref()
        .and_then(|m| verify_marker(&state, &request, m));

    let fresh = |s: &signin::SignedIn| {
        let answered = fresh_since.is_some_and(|t| s.auth_time >= t);
        // max_age=0 asks for a sign-in now, like prompt=login (Core §3.1.2.1).
        let too_old =
            max_age.is_some_and(|m| m == 0 || (state.now() - s.auth_time).num_seconds() > m);
        answered || !(wants_login || too_old)
    };
    let me = match signed_in {
        Some(s) if fresh(&s) => s,
        signed_in => {
            if prompt == "none" {
                return fail("login_required", "the member must sign in");
            }
            // Back here after signing in, with the same request (and, when a fresh sign-in is
            // asked for, a marker that says so).
            let mut return_to = format!("/authorize?{request}");
            if wants_login || max_age.is_some() {
                return_to.push('&');
                return_to.push_str(
                    &url::form_urlencoded::Serializer::new(String::new())
                        .append_pair(REAUTH_PARAM, &sign_marker(&state, &request))
                        .finish(),
                );
            }
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("return_to", &return_to);
            if signed_in.is_some() {
                q.append_pair("reauth", "1");
            }
            return Ok(Redirect::to(&format!("/login?{}", q.finish())).into_response());
        }
    };

    let code = crate::secrets::new_token();
    let now = state.now();
    crate::grants::insert_code(
        state.db(),
        &crate::grants::NewCode {
            code_hash: &crate::secrets::hash(&code),
            client_id: &client.client_id,
            member_id: me.member.member_id,
            web_session_id: me.web_session_id,
            redirect_uri,
            scope: &scope,
            nonce,
            code_challenge: challenge,
            auth_time: me.auth_time,
            created_at: now,
            expires_at: now + CODE_TTL,
        },
    )
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
