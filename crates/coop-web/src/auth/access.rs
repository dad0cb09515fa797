//! Verifying the access tokens other services and tills send (RFC 9068 JWTs from coop-sso),
//! against coop-sso's JWKS, and the `Bearer` extractor for API routes.

use std::collections::BTreeSet;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use coop_domain::Role;
use serde::Deserialize;
use serde_json::Value;

use super::id_token::parse_roles;
use super::provider::{Provider, ProviderError};
use crate::error::{error_response, Error, ErrorKind};

/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY: Duration = Duration::seconds(60);
/// Longer tokens are refused unread.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The member id, or for a client-credentials token the client id.
    pub sub: String,
    pub client_id: String,
    pub scope: Vec<String>,
    /// The member's roles; empty for service tokens.
    pub roles: BTreeSet<Role>,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

impl TokenClaims {
    /// A service's own token (client credentials) rather than one acting for a member.
    pub fn is_service(&self) -> bool {
        self.sub == self.client_id
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }

    /// `Ok` when the token carries `scope`, else 403.
    pub fn require_scope(&self, scope: &str) -> Result<(), Error> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// `Ok` when the token's member holds `role`, else 403.
    pub fn require_role(&self, role: Role) -> Result<(), Error> {
        if self.roles.contains(&role) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// Why a token was refused. For the log; the client only learns `invalid_token`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("algorithm {0:?} refused; only ES256 and RS256")]
    Algorithm(String),
    #[error("token type {0:?} refused; only at+jwt")]
    Type(Option<String>),
    #[error("no signing key {0:?} at coop-sso")]
    UnknownKey(String),
    #[error("bad signature")]
    Signature,
    #[error("issuer {0:?} is not coop-sso")]
    Issuer(String),
    #[error("the token is not addressed to this service")]
    Audience,
    #[error("client {0:?} is not trusted here")]
    UntrustedClient(String),
    #[error("expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("not valid yet")]
    NotYetValid,
    #[error("claim {0} missing or malformed")]
    Claim(&'static str),
    #[error(transparent)]
    Unavailable(#[from] ProviderError),
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct RawClaims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

fn b64(part: &str) -> Result<Vec<u8>, TokenError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed("not base64url"))
}

fn numeric_date(
    v: Option<&Value>,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, TokenError> {
    let Some(v) = v else { return Ok(None) };
    let secs = v
        .as_i64()
        .or_else(|| {
            #[allow(clippy::cast_possible_truncation)]
            v.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        })
        .ok_or(TokenError::Claim(name))?;
    Utc.timestamp_opt(secs, 0)
        .single()
        .map(Some)
        .ok_or(TokenError::Claim(name))
}

/// `at+jwt` or `application/at+jwt`, any case (RFC 9068 §2.1, RFC 7515 §4.1.9).
fn is_access_token_type(typ: &str) -> bool {
    let t = typ.to_ascii_lowercase();
    t == "at+jwt" || t == "application/at+jwt"
}

/// Verifies coop-sso's JWT access tokens: RS256 only (never `none` or HS*), `typ` at+jwt, a
/// known `kid`, `iss`, an `aud` that names this service, a `client_id` this service trusts,
/// `exp`/`iat`/`nbf` with 60 s leeway. Keys are cached; an unknown `kid` refetches them at
/// most every 30 s. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessTokenVerifier {
    provider: Provider,
    audience: String,
    trusted: std::sync::Arc<BTreeSet<String>>,
}

impl AccessTokenVerifier {
    /// Accepts tokens whose `aud` includes `audience` from the clients in `trusted`.
    pub fn new(
        provider: Provider,
        audience: impl Into<String>,
        trusted: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            provider,
            audience: audience.into(),
            trusted: std::sync::Arc::new(trusted.into_iter().collect()),
        }
    }

    /// The verifier of a suite service: tokens addressed to its client id, from the clients
    /// its config trusts (`trusted_clients`).
    pub fn for_service(provider: Provider, service: &crate::config::ServiceConfig) -> Self {
        Self::new(
            provider,
            service.name.client_id(),
            service.trusted_clients.iter().cloned(),
        )
    }

    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    pub async fn verify(&self, token: &str) -> Result<TokenClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("too long"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("not a compact JWS"));
        };
        let header: Header = serde_json::from_slice(&b64(h)?)
            .map_err(|_| TokenError::Malformed("header is not JSON"))?;
        // Decided by our policy, never by the header: anything but ES256 (coop-sso's access
        // tokens) and RS256 is refused before a key is even looked up.
        let alg = match header.alg.as_str() {
            "ES256" => jsonwebtoken::Algorithm::ES256,
            "RS256" => jsonwebtoken::Algorithm::RS256,
            _ => return Err(TokenError::Algorithm(header.alg)),
        };
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(TokenError::Type(header.typ));
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed("crit header"));
        }
        let kid = header.kid.ok_or(TokenError::Malformed("no kid"))?;
        let key = self
            .provider
            .verification_key(&kid, alg)
            .await?
            .ok_or(TokenError::UnknownKey(kid))?;
        let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
        // jsonwebtoken (aws-lc-rs) checks the signature; the claims are ours to check below.
        if !jsonwebtoken::crypto::verify(s, signing_input, &key, alg).unwrap_or(false) {
            return Err(TokenError::Signature);
        }
        let claims: RawClaims = serde_json::from_slice(&b64(p)?)
            .map_err(|_| TokenError::Malformed("claims are not a JSON object"))?;
        self.check_claims(claims)
    }

    fn check_claims(&self, c: RawClaims) -> Result<TokenClaims, TokenError> {
        let now = self.provider.now();
        let iss = c.iss.ok_or(TokenError::Claim("iss"))?;
        if iss != self.provider.issuer() {
            return Err(TokenError::Issuer(iss));
        }
        let aud_ok = match &c.aud {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(TokenError::Audience);
        }
        let exp = numeric_date(c.exp.as_ref(), "exp")?.ok_or(TokenError::Claim("exp"))?;
        if now > exp + LEEWAY {
            return Err(TokenError::Expired(exp));
        }
        let iat = numeric_date(c.iat.as_ref(), "iat")?.ok_or(TokenError::Claim("iat"))?;
        if iat > now + LEEWAY {
            return Err(TokenError::NotYetValid);
        }
        if numeric_date(c.nbf.as_ref(), "nbf")?.is_some_and(|nbf| nbf > now + LEEWAY) {
            return Err(TokenError::NotYetValid);
        }
        let non_empty =
            |v: Option<String>, name| v.filter(|s| !s.is_empty()).ok_or(TokenError::Claim(name));
        let client_id = non_empty(c.client_id, "client_id")?;
        if !self.trusted.contains(&client_id) {
            return Err(TokenError::UntrustedClient(client_id));
        }
        Ok(TokenClaims {
            sub: non_empty(c.sub, "sub")?,
            client_id,
            jti: non_empty(c.jti, "jti")?,
            scope: c
                .scope
                .unwrap_or_default()
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect(),
            roles: parse_roles(&c.roles.unwrap_or_default()),
            expires_at: exp,
        })
    }
}

/// The claims of the request's valid bearer token. The verifier comes from the state
/// (`AccessTokenVerifier: FromRef<S>`). Refusals are 401 with
/// `WWW-Authenticate: Bearer error="invalid_token"` (plain `Bearer` when no token was sent,
/// RFC 6750 §3.1); 503 when coop-sso's keys cannot be had at all.
#[derive(Debug, Clone)]
pub struct Bearer(pub TokenClaims);

/// A refused bearer token.
#[derive(Debug)]
pub struct BearerRejection(pub TokenError);

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        let detail = format!("access token refused: {}", self.0);
        let challenge = match &self.0 {
            TokenError::Unavailable(_) => {
                return error_response(ErrorKind::Unavailable, Some(detail));
            }
            TokenError::Missing => "Bearer",
            _ => "Bearer error=\"invalid_token\"",
        };
        let mut res = error_response(ErrorKind::Unauthorized, Some(detail));
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        res
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, TokenError> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(TokenError::Missing);
    };
    let value = value
        .to_str()
        .map_err(|_| TokenError::Malformed("authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(TokenError::Malformed("authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    Ok(token)
}

impl<S> FromRequestParts<S> for Bearer
where
    S: Send + Sync,
    AccessTokenVerifier: FromRef<S>,
{
    type Rejection = BearerRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = AccessTokenVerifier::from_ref(state);
        let token = bearer_token(parts).map_err(BearerRejection)?;
        let claims = verifier.verify(token).await.map_err(BearerRejection)?;
        tracing::Span::current().record("client_id", claims.client_id.as_str());
        Ok(Bearer(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_types() {
        assert!(is_access_token_type("at+jwt"));
        assert!(is_access_token_type("application/AT+JWT"));
        assert!(!is_access_token_type("JWT"));
        assert!(!is_access_token_type("at+jwt; x"));
    }

    #[test]
    fn numeric_dates_take_integers_and_fractions() {
        let v = serde_json::json!(1_700_000_000);
        assert_eq!(
            numeric_date(Some(&v), "exp").unwrap().unwrap().timestamp(),
            1_700_000_000
        );
        let v = serde_json::json!(1_700_000_000.7);
        assert_eq!(
            numeric_date(Some(&v), "exp").unwrap().unwrap().timestamp(),
            1_700_000_000
        );
        assert!(numeric_date(Some(&serde_json::json!("soon")), "exp").is_err());
        assert!(numeric_date(None, "exp").unwrap().is_none());
    }

    #[test]
    fn bearer_header_parsing() {
        let parts = |h: Option<&str>| {
            let mut b = axum::http::Request::builder();
            if let Some(h) = h {
                b = b.header("authorization", h);
            }
            b.body(()).unwrap().into_parts().0
        };
        assert_eq!(bearer_token(&parts(Some("Bearer abc"))).unwrap(), "abc");
        assert_eq!(bearer_token(&parts(Some("bearer abc"))).unwrap(), "abc");
        assert!(matches!(
            bearer_token(&parts(None)),
            Err(TokenError::Missing)
        ));
        assert!(matches!(
            bearer_token(&parts(Some("Basic Zm9vOmJhcg=="))),
            Err(TokenError::Missing)
        ));
        assert!(matches!(
            bearer_token(&parts(Some("Bearer "))),
            Err(TokenError::Missing)
        ));
    }
}
