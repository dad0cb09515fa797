//! Signing in through coop-sso, and service-to-service tokens: the relying-party side of the
//! suite's OpenID Connect contract (docs/architecture.md, "Sign-in").
//!
//! - [`OidcClient`] (`rp`): the code flow with PKCE S256, `state` and `nonce`; its routes
//!   `GET /auth/login?return_to=/path`, `GET /auth/callback`, `POST /auth/logout`.
//! - [`CurrentUser`] (`user`): the signed-in member, an extractor; `user.require(Role::Manager)`.
//! - [`AccessTokenVerifier`] and the [`Bearer`] extractor (`access`): RFC 9068 access tokens from
//!   other services and tills, checked against coop-sso's JWKS.
//! - [`ServiceTokenClient`] (`service_token`): this service's own token (client credentials).
//! - [`Provider`]: coop-sso's discovery and keys, fetched lazily and shared by all of the above.
//!
//! Wiring, in a service's `Service::routes` (the state must give out `Kit` and `OidcClient`
//! through `FromRef`, and `AccessTokenVerifier` for `Bearer` routes):
//!
//! ```ignore
//! #[derive(Clone, axum::extract::FromRef)]
//! struct AppState { kit: Kit, oidc: OidcClient, tokens: AccessTokenVerifier }
//!
//! let oidc = OidcClient::start(&loaded.coop, &loaded.service).await?;
//! let tokens = AccessTokenVerifier::for_service(oidc.provider().clone(), &loaded.service);
//! let feed = ServiceTokenClient::from_config(oidc.provider().clone(), &loaded.service, &["feed:read"])?;
//! let state = AppState { kit, oidc: oidc.clone(), tokens };
//! Ok(Router::new()
//!     .route("/", get(home))          // async fn home(user: CurrentUser, page: Page)
//!     .route("/admin", get(admin))    // ... user.require(Role::Manager)?; ...
//!     .route("/api/feed", get(feed))  // async fn feed(Bearer(claims): Bearer)
//!     .merge(oidc.routes())
//!     .with_state(state))
//! ```
//!
//! A sign-out button is a form posting the page's CSRF token to `<base>/auth/logout`; a sign-in
//! link is `oidc.login_location(&ReturnTo::parse("/here").unwrap_or_else(ReturnTo::home))`.

mod access;
pub mod backchannel;

mod failure;
mod id_token;
mod pending;
mod provider;
mod return_to;
mod rp;
mod service_token;
pub(crate) mod user;

pub use crate::clock::{Clock, SharedClock, SystemClock, TestClock};
pub use access::{AccessTokenVerifier, Bearer, BearerRejection, TokenClaims, TokenError};
pub use provider::{
    http_client, Provider, ProviderError, DISCOVERY_RETRY_AFTER, KEY_REFETCH_INTERVAL,
};
pub use return_to::ReturnTo;
pub use rp::{OidcClient, OidcSettings};
pub use service_token::{ServiceTokenClient, ServiceTokenError};
pub use user::{AuthRejection, CurrentUser, RECHECK_AFTER};
