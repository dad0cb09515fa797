//! A service's own access token for calling other services (OAuth 2.0 client credentials at
//! coop-sso), cached and renewed once 80 % of its lifetime has passed.

use crate::config::ExposeSecret as _;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use oauth2::basic::BasicClient;
use oauth2::{AccessToken, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse as _};

use super::provider::{error_chain, Provider, ProviderError};
use super::rp::read_client_secret;
use crate::config::{CoopConfig, Secret, ServiceConfig};

/// When coop-sso does not say how long a token lives, assume this (and renew at 80 % of it).
const ASSUMED_LIFETIME: Duration = Duration::seconds(60);
/// After a failed renewal, callers keep the old (still valid) token this long before retrying.
const RETRY_AFTER: Duration = Duration::seconds(5);

#[derive(Debug, thiserror::Error)]
pub enum ServiceTokenError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// coop-sso answered with an OAuth error (`invalid_client`, `invalid_scope`, …).
    #[error("coop-sso refused the client credentials: {0}")]
    Refused(String),
    #[error("token request failed: {0}")]
    Request(String),
}

#[derive(Debug, Clone)]
struct Cached {
    token: AccessToken,
    renew_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Inner {
    provider: Provider,
    client_id: ClientId,
    client_secret: ClientSecret,
    scopes: Vec<Scope>,
    cached: RwLock<Option<Cached>>,
    /// Held during a renewal so concurrent callers share it; remembers the last failure.
    renewing: tokio::sync::Mutex<Option<DateTime<Utc>>>,
}

/// Gets and caches this service's access token. Cheap to clone; share one per service.
#[derive(Debug, Clone)]
pub struct ServiceTokenClient(Arc<Inner>);

impl ServiceTokenClient {
    pub fn new(
        provider: Provider,
        client_id: &str,
        client_secret: &Secret,
        scopes: &[&str],
    ) -> Self {
        Self(Arc::new(Inner {
            provider,
            client_id: ClientId::new(client_id.to_owned()),
            client_secret: ClientSecret::new(client_secret.expose_secret().to_owned()),
            scopes: scopes.iter().map(|s| Scope::new((*s).to_owned())).collect(),
            cached: RwLock::new(None),
            renewing: tokio::sync::Mutex::new(None),
        }))
    }

    /// The service's client id and secret from the config; `provider` is usually
    /// `oidc.provider().clone()`, sharing its discovery.
    pub fn from_config(
        provider: Provider,
        service: &ServiceConfig,
        scopes: &[&str],
    ) -> anyhow::Result<Self> {
        let secret = read_client_secret(service)?;
        Ok(Self::new(
            provider,
            &service.name.client_id(),
            &secret,
            scopes,
        ))
    }

    /// Same, with its own provider handle.
    pub fn from_coop_config(
        coop: &CoopConfig,
        service: &ServiceConfig,
        scopes: &[&str],
    ) -> anyhow::Result<Self> {
        Self::from_config(Provider::from_config(coop)?, service, scopes)
    }

    fn cached(&self) -> Option<Cached> {
        self.0
            .cached
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A valid access token: the cached one until 80 % of its lifetime, then a new one. Callers
    /// arriving during a renewal wait for it instead of starting their own. If renewal fails
    /// while the old token is still valid, the old one is returned (and the failure logged).
    pub async fn access_token(&self) -> Result<AccessToken, ServiceTokenError> {
        let now = self.0.provider.now();
        if let Some(c) = self.cached().filter(|c| now < c.renew_at) {
            return Ok(c.token);
        }
        let mut failed_at = self.0.renewing.lock().await;
        let now = self.0.provider.now();
        let old = self.cached();
        if let Some(c) = old.as_ref().filter(|c| now < c.renew_at) {
            return Ok(c.token.clone());
        }
        let usable_old = old.filter(|c| now < c.expires_at);
        if let Some(c) = &usable_old {
            if failed_at.is_some_and(|t| now - t < RETRY_AFTER) {
                return Ok(c.token.clone());
            }
        }
        match self.request().await {
            Ok(fresh) => {
                *failed_at = None;
                let token = fresh.token.clone();
                *self
                    .0
                    .cached
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(fresh);
                Ok(token)
            }
            Err(e) => {
                *failed_at = Some(now);
                match usable_old {
                    Some(c) => {
                        tracing::warn!(
                            "renewing the service token failed, using the current one: {e}"
                        );
                        Ok(c.token)
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// The `Authorization` header value for a call to another service.
    pub async fn authorization(&self) -> Result<String, ServiceTokenError> {
        Ok(format!("Bearer {}", self.access_token().await?.secret()))
    }

    async fn request(&self) -> Result<Cached, ServiceTokenError> {
        let metadata = self.0.provider.metadata().await?;
        // client_secret_basic: the default auth type of the oauth2 client.
        let client = BasicClient::new(self.0.client_id.clone())
            .set_client_secret(self.0.client_secret.clone())
            .set_token_uri(metadata.token_endpoint.clone());
        let started = self.0.provider.now();
        let response = client
            .exchange_client_credentials()
            .add_scopes(self.0.scopes.iter().cloned())
            .request_async(self.0.provider.http())
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    ServiceTokenError::Refused(r.error().to_string())
                }
                other => ServiceTokenError::Request(error_chain(&other)),
            })?;
        let lifetime = response
            .expires_in()
            .and_then(|d| Duration::from_std(d).ok())
            .filter(|d| *d > Duration::zero())
            .unwrap_or(ASSUMED_LIFETIME);
        // Counted from when we asked, so network time eats into our margin, not past expiry.
        Ok(Cached {
            token: response.access_token().clone(),
            renew_at: started + lifetime * 4 / 5,
            expires_at: started + lifetime,
        })
    }
}
