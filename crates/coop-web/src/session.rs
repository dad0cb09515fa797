//! Cookie sessions and CSRF protection.
//!
//! The session lives in one encrypted, authenticated cookie (AES-256-GCM via the `cookie` crate)
//! with `HttpOnly`, `SameSite=Lax`, `Secure` and the `__Host-` prefix on https. It holds small
//! things only: the CSRF token, the signed-in member's claims, a pending OIDC login. Services that
//! need revocable sessions (coop-sso) keep a session id in it and the rest in their database.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use cookie::{Cookie, CookieJar, Key, SameSite};
use rand::RngCore as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq as _;

use crate::error::Error;

/// Session cookie settings of one service.
#[derive(Clone)]
pub struct SessionConfig {
    key: Key,
    pub cookie_name: String,
    pub secure: bool,
    /// The public origin (`https://coop.example.org`) that unsafe requests must come from.
    pub origin: String,
    pub lifetime: Duration,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("secure", &self.secure)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    pub fn new(key: Key, service: &str, secure: bool, origin: String) -> Self {
        // The __Host- prefix makes the browser refuse the cookie unless Secure, Path=/ and no
        // Domain: no sibling host can plant or overwrite it.
        let cookie_name = if secure {
            format!("__Host-coop-{service}")
        } else {
            format!("coop-{service}-session")
        };
        Self {
            key,
            cookie_name,
            secure,
            origin,
            lifetime: Duration::hours(12),
        }
    }
}

/// Loads the cookie key from `<state_directory>/cookie-key`, creating it (64 random bytes,
/// mode 0600) at first start.
pub fn load_or_create_key(state_directory: &Path) -> anyhow::Result<Key> {
    use anyhow::Context as _;
    let path = state_directory.join("cookie-key");
    match std::fs::read(&path) {
        Ok(bytes) => Key::try_from(bytes.as_slice())
            .map_err(|e| anyhow::anyhow!("{}: not a cookie key: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(state_directory).with_context(|| {
                format!("creating state directory {}", state_directory.display())
            })?;
            let mut bytes = [0u8; 64];
            rand::thread_rng().fill_bytes(&mut bytes);
            write_private_file(&path, &bytes)?;
            Ok(Key::from(&bytes))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes a file readable only by its owner, atomically (a temp file renamed into place).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SessionData {
    csrf: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    values: BTreeMap<String, Value>,
}

#[derive(Debug)]
struct Inner {
    data: SessionData,
    changed: bool,
    lifetime: Duration,
}

/// The request's session; cheap to clone, shared with the middleware that writes it back.
#[derive(Debug, Clone)]
pub struct Session(Arc<Mutex<Inner>>);

impl Session {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let inner = self.lock();
        inner
            .data
            .values
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    pub fn insert<T: Serialize>(&self, key: &str, value: &T) {
        let mut inner = self.lock();
        if let Ok(v) = serde_json::to_value(value) {
            inner.data.values.insert(key.to_owned(), v);
            touch(&mut inner);
        }
    }

    pub fn remove(&self, key: &str) {
        let mut inner = self.lock();
        if inner.data.values.remove(key).is_some() {
            inner.changed = true;
        }
    }

    /// Forgets everything and issues a new CSRF token: call on sign-in and sign-out, so a token
    /// seen before the privilege change is worthless after it.
    pub fn renew(&self) {
        let mut inner = self.lock();
        inner.data = SessionData {
            csrf: Some(random_token()),
            ..SessionData::default()
        };
        touch(&mut inner);
    }

    /// The CSRF token for forms on this page, created on first use.
    pub fn csrf_token(&self) -> String {
        let mut inner = self.lock();
        if let Some(t) = &inner.data.csrf {
            return t.clone();
        }
        let t = random_token();
        inner.data.csrf = Some(t.clone());
        touch(&mut inner);
        t
    }

    pub fn verify_csrf(&self, presented: Option<&str>) -> bool {
        let inner = self.lock();
        match (&inner.data.csrf, presented) {
            (Some(expected), Some(got)) => expected.as_bytes().ct_eq(got.as_bytes()).into(),
            _ => false,
        }
    }
}

fn touch(inner: &mut Inner) {
    inner.changed = true;
    if inner.data.expires_at.is_none() {
        inner.data.expires_at = Some(Utc::now() + inner.lifetime);
    }
}

/// 32 random bytes, URL-safe base64: for CSRF tokens, state, nonces and the like.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "the session layer is not installed on this route"
            ))
        })
    }
}

fn read_session(headers: &HeaderMap, config: &SessionConfig) -> SessionData {
    let mut jar = CookieJar::new();
    for value in headers.get_all(COOKIE) {
        let Ok(s) = value.to_str() else { continue };
        for c in Cookie::split_parse_encoded(s.to_owned()).flatten() {
            if c.name() == config.cookie_name {
                jar.add_original(c.into_owned());
            }
        }
    }
    jar.private(&config.key)
        .get(&config.cookie_name)
        .and_then(|c| serde_json::from_str::<SessionData>(c.value()).ok())
        .filter(|d| d.expires_at.is_none_or(|e| e > Utc::now()))
        .unwrap_or_default()
}

/// The middleware: decrypts the session before the handler, encrypts it after if it changed.
pub async fn session_layer(
    axum::extract::State(config): axum::extract::State<Arc<SessionConfig>>,
    mut req: Request,
    next: Next,
) -> Response {
    let data = read_session(req.headers(), &config);
    let session = Session(Arc::new(Mutex::new(Inner {
        data,
        changed: false,
        lifetime: config.lifetime,
    })));
    req.extensions_mut().insert(session.clone());
    req.extensions_mut().insert(config.clone());
    let mut res = next.run(req).await;
    let inner = session.lock();
    if inner.changed {
        if let Ok(json) = serde_json::to_string(&inner.data) {
            let mut jar = CookieJar::new();
            let cookie = Cookie::build((config.cookie_name.clone(), json))
                .path("/")
                .http_only(true)
                .secure(config.secure)
                .same_site(SameSite::Lax)
                .build();
            jar.private_mut(&config.key).add(cookie);
            for c in jar.delta() {
                if let Ok(v) = HeaderValue::from_str(&c.encoded().to_string()) {
                    res.headers_mut().append(SET_COOKIE, v);
                }
            }
        }
    }
    res
}

/// A form body whose `csrf_token` field matched the session's, from a same-origin page.
/// `T` must not deny unknown fields (the token is one of them).
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// The largest form body a page accepts unless a route sets its own limit.
pub const FORM_LIMIT: usize = 64 * 1024;

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = form_session(&req)?;
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(Error::BadRequest("expected a form body".into()));
        }
        let bytes = bytes::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::BadRequest(e.body_text())
            }
        })?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| Error::BadRequest(e.to_string()))?;
        let token = pairs
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str());
        if !session.verify_csrf(token) {
            return Err(Error::Csrf("token missing or wrong"));
        }
        let value =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| Error::BadRequest(e.to_string()))?;
        Ok(CsrfForm(value))
    }
}

/// One part of a multipart form: a field's text or an uploaded file.
#[derive(Debug, Clone)]
pub struct UploadPart {
    pub name: String,
    /// The file's name as the browser sent it, for a file field.
    pub file_name: Option<String>,
    pub bytes: bytes::Bytes,
}

/// A `multipart/form-data` body (a form with a file field) whose `csrf_token` field matched
/// the session's, from a same-origin page. The route sets the body limit
/// (`DefaultBodyLimit::max`); the kit's default is [`FORM_LIMIT`].
#[derive(Debug)]
pub struct CsrfMultipart(pub Vec<UploadPart>);

impl CsrfMultipart {
    /// The text of field `name`, if sent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|p| p.name == name && p.file_name.is_none())
            .map(|p| String::from_utf8_lossy(&p.bytes).into_owned())
    }

    /// The file of field `name`, if one was chosen.
    pub fn file(&self, name: &str) -> Option<&UploadPart> {
        self.0
            .iter()
            .find(|p| p.name == name && p.file_name.as_deref().is_some_and(|f| !f.is_empty()))
    }
}

impl<S> FromRequest<S> for CsrfMultipart
where
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = form_session(&req)?;
        let mut form = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| Error::BadRequest(e.body_text()))?;
        let mut parts = Vec::new();
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(Error::PayloadTooLarge)
                }
                Err(e) => return Err(Error::BadRequest(e.body_text())),
            };
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge
                } else {
                    Error::BadRequest(e.body_text())
                }
            })?;
            parts.push(UploadPart {
                name,
                file_name,
                bytes,
            });
        }
        let out = CsrfMultipart(parts);
        if !session.verify_csrf(out.text("csrf_token").as_deref()) {
            return Err(Error::Csrf("token missing or wrong"));
        }
        Ok(out)
    }
}

/// The session of a form post from one of our own pages: a cross-site post is refused before
/// its body is read.
fn form_session(req: &Request) -> Result<Session, Error> {
    let session = req.extensions().get::<Session>().cloned().ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "the session layer is not installed on this route"
        ))
    })?;
    let origin_ok = req
        .extensions()
        .get::<Arc<SessionConfig>>()
        .is_none_or(|c| same_origin(req.headers(), &c.origin));
    if !origin_ok {
        return Err(Error::Csrf("cross-site request"));
    }
    Ok(session)
}

/// Browsers say where a request comes from; a cross-site form post is refused even before the
/// token is looked at. Requests without these headers (older browsers, tools) rely on the token.
fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" {
            return false;
        }
    }
    match headers.get("origin").and_then(|v| v.to_str().ok()) {
        None | Some("null") => headers.get("origin").is_none(),
        Some(o) => o.trim_end_matches('/') == origin.trim_end_matches('/'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_checks() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "https://coop.example.org"));
        h.insert(
            "origin",
            HeaderValue::from_static("https://coop.example.org"),
        );
        assert!(same_origin(&h, "https://coop.example.org"));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h, "https://coop.example.org"));
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(!same_origin(&h, "https://coop.example.org"));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, "https://coop.example.org"));
    }

    #[test]
    fn cookie_key_is_created_once_and_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let k1 = load_or_create_key(dir.path()).unwrap();
        let k2 = load_or_create_key(dir.path()).unwrap();
        assert_eq!(k1.master(), k2.master());
        let mode = std::fs::metadata(dir.path().join("cookie-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn csrf_tokens_compare_exactly() {
        let s = Session(Arc::new(Mutex::new(Inner {
            data: SessionData::default(),
            changed: false,
            lifetime: Duration::hours(1),
        })));
        assert!(!s.verify_csrf(None));
        let t = s.csrf_token();
        assert!(s.verify_csrf(Some(&t)));
        assert!(!s.verify_csrf(Some(&t[1..])));
        assert!(!s.verify_csrf(None));
        s.renew();
        assert!(!s.verify_csrf(Some(&t)));
    }
}
