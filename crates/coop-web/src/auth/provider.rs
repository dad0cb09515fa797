//! coop-sso as a relying party sees it: its discovery document and its signing keys, fetched
//! lazily and cached. One [`Provider`] is shared by the sign-in routes, the access-token verifier
//! and the service-token client, so a service fetches discovery and the JWKS once.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeySet, CoreJsonWebKeyType};
use openidconnect::{
    AuthUrl, EndSessionUrl, IssuerUrl, JsonWebKey as _, JsonWebKeySet, JsonWebKeySetUrl,
    ProviderMetadataWithLogout, TokenUrl,
};

use crate::clock::{SharedClock, SystemClock};
use crate::config::CoopConfig;

/// An unknown `kid` refetches the JWKS at most this often, so forged tokens cannot make us
/// hammer coop-sso.
pub const KEY_REFETCH_INTERVAL: Duration = Duration::seconds(30);

/// After a failed discovery, requests wait this long before trying again.
pub const DISCOVERY_RETRY_AFTER: Duration = Duration::seconds(2);

/// Why coop-sso could not be asked. The text is for the log, never for a client.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("coop-sso discovery failed: {0}")]
    Discovery(String),
    #[error("coop-sso discovery failed moments ago; not retrying yet")]
    RecentlyFailed,
    #[error("fetching coop-sso's signing keys failed: {0}")]
    Keys(String),
}

/// What the suite needs from the discovery document.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub authorization_endpoint: AuthUrl,
    pub token_endpoint: TokenUrl,
    pub jwks_uri: JsonWebKeySetUrl,
    pub end_session_endpoint: Option<EndSessionUrl>,
}

#[derive(Debug, Default)]
struct Keys {
    set: Arc<CoreJsonWebKeySet>,
    loaded: bool,
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    issuer_url: IssuerUrl,
    http: reqwest::Client,
    clock: SharedClock,
    metadata: RwLock<Option<Arc<Metadata>>>,
    /// Held while discovering; remembers when the last attempt failed.
    discovering: tokio::sync::Mutex<Option<DateTime<Utc>>>,
    keys: RwLock<Keys>,
    /// Held while fetching keys; remembers when they were last fetched (or tried).
    fetching_keys: tokio::sync::Mutex<Option<DateTime<Utc>>>,
}

/// coop-sso, the OpenID provider: issuer, discovery and signing keys. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Provider(Arc<Inner>);

/// The HTTP client for calls to coop-sso: no redirects (a redirect could point a token request
/// anywhere), bounded time.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(StdDuration::from_secs(5))
        .timeout(StdDuration::from_secs(10))
        .build()
        .expect("building the HTTP client for coop-sso")
}

impl Provider {
    /// A provider at `issuer` (no trailing slash), with the wall clock and the default client.
    pub fn new(issuer: &str) -> anyhow::Result<Self> {
        Self::with_parts(issuer, http_client(), Arc::new(SystemClock))
    }

    /// The issuer from the co-op config: coop-sso's public URL.
    pub fn from_config(coop: &CoopConfig) -> anyhow::Result<Self> {
        let issuer = coop.issuer().ok_or_else(|| {
            anyhow::anyhow!(
                "config key `services.sso`: missing; sign-in needs coop-sso's public URL (the issuer)"
            )
        })?;
        Self::new(&issuer)
    }

    pub fn with_parts(
        issuer: &str,
        http: reqwest::Client,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let issuer_url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| anyhow::anyhow!("the OIDC issuer `{issuer}` is not a URL: {e}"))?;
        Ok(Self(Arc::new(Inner {
            issuer: issuer.to_owned(),
            issuer_url,
            http,
            clock,
            metadata: RwLock::new(None),
            discovering: tokio::sync::Mutex::new(None),
            keys: RwLock::new(Keys::default()),
            fetching_keys: tokio::sync::Mutex::new(None),
        })))
    }

    /// Replaces the clock (tests).
    #[must_use]
    pub fn with_clock(self, clock: SharedClock) -> Self {
        let inner = &self.0;
        Self::with_parts(&inner.issuer, inner.http.clone(), clock)
            .expect("the issuer was valid before")
    }

    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    pub(crate) fn issuer_url(&self) -> &IssuerUrl {
        &self.0.issuer_url
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    pub(crate) fn clock(&self) -> SharedClock {
        self.0.clock.clone()
    }

    /// Whether discovery has succeeded.
    pub fn is_discovered(&self) -> bool {
        self.0
            .metadata
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Tries discovery until it succeeds or `budget` has passed, backing off between attempts.
    /// Never fails: a service whose coop-sso starts later still comes up, and discovery is
    /// retried when a request needs it.
    pub async fn discover_at_start(&self, budget: StdDuration) -> bool {
        let deadline = tokio::time::Instant::now() + budget;
        let mut pause = StdDuration::from_millis(250);
        loop {
            match self.fetch_metadata().await {
                Ok(_) => return true,
                Err(e) => {
                    let now = tokio::time::Instant::now();
                    if now + pause >= deadline {
                        tracing::warn!(
                            issuer = %self.0.issuer,
                            "{e}; starting anyway, sign-in will retry when needed"
                        );
                        return false;
                    }
                    tracing::info!(issuer = %self.0.issuer, "{e}; retrying in {pause:?}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(StdDuration::from_secs(4));
                }
            }
        }
    }

    fn cached_metadata(&self) -> Option<Arc<Metadata>> {
        self.0
            .metadata
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The discovery document, fetched on first need; a failure is retried at most every
    /// [`DISCOVERY_RETRY_AFTER`].
    pub(crate) async fn metadata(&self) -> Result<Arc<Metadata>, ProviderError> {
        if let Some(m) = self.cached_metadata() {
            return Ok(m);
        }
        let mut failed_at = self.0.discovering.lock().await;
        // Another request may have discovered while this one waited.
        if let Some(m) = self.cached_metadata() {
            return Ok(m);
        }
        if failed_at.is_some_and(|t| self.now() - t < DISCOVERY_RETRY_AFTER) {
            return Err(ProviderError::RecentlyFailed);
        }
        match self.discover_once().await {
            Ok(m) => Ok(m),
            Err(e) => {
                *failed_at = Some(self.now());
                Err(e)
            }
        }
    }

    async fn fetch_metadata(&self) -> Result<Arc<Metadata>, ProviderError> {
        let _held = self.0.discovering.lock().await;
        if let Some(m) = self.cached_metadata() {
            return Ok(m);
        }
        self.discover_once().await
    }

    /// One discovery round trip (the crate checks that the document's issuer is ours, byte for
    /// byte); the JWKS it fetches along seeds the key cache. Callers hold `discovering`.
    async fn discover_once(&self) -> Result<Arc<Metadata>, ProviderError> {
        let doc =
            ProviderMetadataWithLogout::discover_async(self.0.issuer_url.clone(), &self.0.http)
                .await
                .map_err(|e| ProviderError::Discovery(error_chain(&e)))?;
        let token_endpoint = doc
            .token_endpoint()
            .cloned()
            .ok_or_else(|| ProviderError::Discovery("no token_endpoint".into()))?;
        let metadata = Arc::new(Metadata {
            authorization_endpoint: doc.authorization_endpoint().clone(),
            token_endpoint,
            jwks_uri: doc.jwks_uri().clone(),
            end_session_endpoint: doc.additional_metadata().end_session_endpoint.clone(),
        });
        {
            let mut fetched_at = self.0.fetching_keys.lock().await;
            self.store_keys(doc.jwks().clone());
            *fetched_at = Some(self.now());
        }
        *self
            .0
            .metadata
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(metadata.clone());
        tracing::info!(issuer = %self.0.issuer, "coop-sso discovered");
        Ok(metadata)
    }

    fn store_keys(&self, set: CoreJsonWebKeySet) {
        let mut keys = self.0.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.set = Arc::new(set);
        keys.loaded = true;
    }

    fn cached_keys(&self) -> Option<Arc<CoreJsonWebKeySet>> {
        let keys = self.0.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.loaded.then(|| keys.set.clone())
    }

    /// The signing keys as last fetched, discovering first if need be.
    pub(crate) async fn keys(&self) -> Result<Arc<CoreJsonWebKeySet>, ProviderError> {
        if let Some(k) = self.cached_keys() {
            return Ok(k);
        }
        self.metadata().await?;
        if let Some(k) = self.cached_keys() {
            return Ok(k);
        }
        self.refresh_keys().await?;
        self.cached_keys()
            .ok_or_else(|| ProviderError::Keys("no key set loaded".into()))
    }

    /// Refetches the JWKS unless it was fetched within [`KEY_REFETCH_INTERVAL`]; concurrent
    /// callers share one fetch. Returns whether a fetch happened.
    pub(crate) async fn refresh_keys(&self) -> Result<bool, ProviderError> {
        let metadata = self.metadata().await?;
        let mut fetched_at = self.0.fetching_keys.lock().await;
        if fetched_at.is_some_and(|t| self.now() - t < KEY_REFETCH_INTERVAL) {
            return Ok(false);
        }
        *fetched_at = Some(self.now());
        let set = JsonWebKeySet::fetch_async(&metadata.jwks_uri, &self.0.http)
            .await
            .map_err(|e| ProviderError::Keys(error_chain(&e)))?;
        tracing::info!(keys = set.keys().len(), "coop-sso signing keys refetched");
        self.store_keys(set);
        Ok(true)
    }

    /// The key with id `kid` that verifies `alg` (RS256: an RSA key, ES256: a P-256 key), as
    /// jsonwebtoken's verification key; an unknown id refetches the key set (rate limited), as
    /// a new key appears there when coop-sso rotates.
    pub(crate) async fn verification_key(
        &self,
        kid: &str,
        alg: jsonwebtoken::Algorithm,
    ) -> Result<Option<jsonwebtoken::DecodingKey>, ProviderError> {
        let want = match alg {
            jsonwebtoken::Algorithm::RS256 => CoreJsonWebKeyType::RSA,
            jsonwebtoken::Algorithm::ES256 => CoreJsonWebKeyType::EllipticCurve,
            _ => return Ok(None),
        };
        let find = |set: &CoreJsonWebKeySet| {
            set.keys()
                .iter()
                .find(|k| k.key_id().is_some_and(|id| id.as_str() == kid) && *k.key_type() == want)
                .and_then(decoding_key)
        };
        let set = self.keys().await?;
        if let Some(k) = find(&set) {
            return Ok(Some(k));
        }
        if let Err(e) = self.refresh_keys().await {
            tracing::warn!("{e}");
        }
        Ok(self.cached_keys().and_then(|set| find(&set)))
    }
}

/// A published key as jsonwebtoken reads it (through its JWK form).
fn decoding_key(jwk: &CoreJsonWebKey) -> Option<jsonwebtoken::DecodingKey> {
    let value = serde_json::to_value(jwk).ok()?;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(value).ok()?;
    jsonwebtoken::DecodingKey::from_jwk(&jwk).ok()
}

/// An error with its sources, for the log.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
