//! OpenID Connect Back-Channel Logout 1.0, the relying party's side: coop-sso posts a logout
//! token to `<base>/auth/backchannel-logout` when a member's session there ends (sign-out,
//! suspension, password reset, a removed role), and the member's session here ends with it.
//!
//! Sessions live in encrypted cookies, so the server cannot delete one: it remembers which
//! coop-sso sessions (`sid`) and members (`sub`) were logged out, and the [`CurrentUser`]
//! extractor refuses a cookie whose sign-in came through one of them. The list is kept in memory
//! for as long as a sign-in lasts; after a restart, the five-minute re-check of every session
//! (a refresh at coop-sso, which fails for a revoked sign-in) ends such a session instead.
//!
//! [`CurrentUser`]: super::CurrentUser

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use serde_json::Value;

use super::provider::Provider;
use super::rp::OidcClient;
use super::user::CurrentUser;

/// The event a logout token must announce (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Clock skew tolerated on `iat` and `exp`.
const LEEWAY: Duration = Duration::seconds(60);
/// A logout token older than this is refused, whatever its `exp` says.
const MAX_AGE: Duration = Duration::minutes(5);
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What this service knows of sign-ins and logouts.
#[derive(Debug, Default)]
pub(crate) struct Logouts {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The coop-sso sessions members signed in here through, with when: a logout token must
    /// name one of them (or one of their members).
    sessions: HashMap<String, (String, DateTime<Utc>)>,
    /// Logged-out coop-sso sessions, and when.
    by_sid: HashMap<String, DateTime<Utc>>,
    /// Members logged out everywhere, and when: sign-ins before then are over.
    by_sub: HashMap<String, DateTime<Utc>>,
    /// Token ids already used, until their expiry: a replay is refused.
    seen: HashMap<String, DateTime<Utc>>,
}

impl State {
    /// Forgets what can no longer matter (sign-ins past their lifetime, used tokens past their
    /// expiry), so the lists stay as small as the sign-ins of the last hours.
    fn forget_old(&mut self, now: DateTime<Utc>, keep: Duration) {
        self.sessions.retain(|_, (_, at)| *at + keep > now);
        self.by_sid.retain(|_, at| *at + keep > now);
        self.by_sub.retain(|_, at| *at + keep > now);
        self.seen.retain(|_, exp| *exp + LEEWAY > now);
    }
}

impl Logouts {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A member signed in here through coop-sso session `sid`.
    pub(crate) fn signed_in(&self, user: &CurrentUser, keep: Duration) {
        if let Some(sid) = &user.sid {
            let mut s = self.lock();
            s.forget_old(user.signed_in_at, keep);
            s.sessions
                .insert(sid.clone(), (user.sub.clone(), user.signed_in_at));
        }
    }

    /// Whether this member's sign-in here has been logged out.
    pub(crate) fn is_logged_out(&self, user: &CurrentUser) -> bool {
        let s = self.lock();
        user.sid
            .as_ref()
            .is_some_and(|sid| s.by_sid.contains_key(sid))
            || s.by_sub
                .get(&user.sub)
                .is_some_and(|at| user.signed_in_at <= *at)
    }

    /// Applies a checked logout token; `false` when it names no session signed in here.
    fn apply(&self, claims: &LogoutClaims, now: DateTime<Utc>, keep: Duration) -> bool {
        let mut s = self.lock();
        s.forget_old(now, keep);
        let known = match (&claims.sid, &claims.sub) {
            (Some(sid), sub) => s
                .sessions
                .get(sid)
                .is_some_and(|(owner, _)| sub.as_ref().is_none_or(|sub| sub == owner)),
            (None, Some(sub)) => s.sessions.values().any(|(owner, _)| owner == sub),
            (None, None) => false,
        };
        if !known {
            return false;
        }
        match (&claims.sid, &claims.sub) {
            (Some(sid), _) => {
                s.by_sid.insert(sid.clone(), now);
            }
            (None, Some(sub)) => {
                s.by_sub.insert(sub.clone(), now);
            }
            (None, None) => {}
        }
        true
    }

    fn first_use(&self, jti: &str, exp: DateTime<Utc>) -> bool {
        self.lock().seen.insert(jti.to_owned(), exp).is_none()
    }
}

/// The claims of a logout token that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutClaims {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

fn b64(part: &str) -> Result<Vec<u8>, &'static str> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| "not base64url")
}

fn date(v: &Value, name: &'static str) -> Result<DateTime<Utc>, &'static str> {
    v.as_i64()
        .and_then(|s| Utc.timestamp_opt(s, 0).single())
        .ok_or(name)
}

/// Checks a logout token as §2.6 asks: RS256 signature with coop-sso's keys, `iss`, `aud`
/// naming this client, `iat` recent, `exp` not past, `jti`, the back-channel logout event, a
/// `sub` or `sid`, and no `nonce` (so an ID token cannot pass for one).
pub async fn verify_logout_token(
    provider: &Provider,
    client_id: &str,
    token: &str,
) -> Result<LogoutClaims, String> {
    if token.len() > MAX_TOKEN_LEN {
        return Err("too long".into());
    }
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS".into());
    };
    let header: Value = serde_json::from_slice(&b64(head)?).map_err(|_| "header is not JSON")?;
    let alg = match header["alg"].as_str() {
        Some("RS256") => jsonwebtoken::Algorithm::RS256,
        Some("ES256") => jsonwebtoken::Algorithm::ES256,
        _ => return Err(format!("algorithm {} refused", header["alg"])),
    };
    if header.get("typ").is_some_and(|t| {
        !t.as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("logout+jwt"))
    }) {
        return Err("typ is not logout+jwt".into());
    }
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let key = provider
        .verification_key(kid, alg)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("unknown signing key")?;
    let signed = &token.as_bytes()[..head.len() + 1 + body.len()];
    if !jsonwebtoken::crypto::verify(sig, signed, &key, alg).unwrap_or(false) {
        return Err("bad signature".into());
    }
    let c: Value = serde_json::from_slice(&b64(body)?).map_err(|_| "claims are not JSON")?;
    if c["iss"].as_str() != Some(provider.issuer()) {
        return Err("another issuer".into());
    }
    let for_us = match &c["aud"] {
        Value::String(a) => a == client_id,
        Value::Array(all) => all.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !for_us {
        return Err("not addressed to this client".into());
    }
    let now = provider.now();
    let iat = date(&c["iat"], "iat missing")?;
    if iat > now + LEEWAY || iat < now - MAX_AGE {
        return Err("iat is not recent".into());
    }
    let exp = date(&c["exp"], "exp missing")?;
    if exp + LEEWAY < now {
        return Err("expired".into());
    }
    if !c["events"].get(EVENT).is_some_and(Value::is_object) {
        return Err("no back-channel logout event".into());
    }
    if c.get("nonce").is_some() {
        return Err("a logout token has no nonce".into());
    }
    let text = |k: &str| c[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let (sub, sid) = (text("sub"), text("sid"));
    if sub.is_none() && sid.is_none() {
        return Err("neither sub nor sid".into());
    }
    let jti = text("jti").ok_or("jti missing")?;
    Ok(LogoutClaims {
        sub,
        sid,
        jti,
        expires_at: exp,
    })
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut res = (status, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `POST /auth/backchannel-logout` with the form field `logout_token`: 200 when the session is
/// over here, 400 (changing nothing) for a bad token, a replayed one, or one that names no
/// session signed in here.
pub(crate) async fn receive(Extension(oidc): Extension<OidcClient>, body: Bytes) -> Response {
    let refuse = |why: &str| {
        tracing::warn!(reason = why, "back-channel logout refused");
        answer(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": "invalid_request" }),
        )
    };
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    let Some(token) = token else {
        return refuse("no logout_token");
    };
    let claims = match verify_logout_token(oidc.provider(), oidc.client_id(), &token).await {
        Ok(c) => c,
        Err(why) => return refuse(&why),
    };
    let logouts = oidc.logouts();
    if !logouts.first_use(&claims.jti, claims.expires_at) {
        return refuse("replayed");
    }
    if !logouts.apply(&claims, oidc.now(), oidc.sign_in_lifetime()) {
        return refuse("no such session here");
    }
    tracing::info!(sub = ?claims.sub, sid = ?claims.sid, "logged out by coop-sso");
    answer(StatusCode::OK, serde_json::json!({}))
}
