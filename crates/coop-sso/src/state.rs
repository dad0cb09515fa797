//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use coop_web::mail::Mailer;
use coop_web::Kit;
use sqlx::PgPool;

use crate::clients::ClientRegistry;
use crate::clock::SharedClock;
use crate::config::SsoSettings;
use crate::keys::KeyStore;

#[derive(Debug, Clone)]
pub struct AppState {
    pub kit: Kit,
    pub settings: Arc<SsoSettings>,
    pub clients: Arc<ClientRegistry>,
    pub keys: KeyStore,
    pub clock: SharedClock,
    pub mailer: Arc<Mailer>,
    pub issuer: Arc<str>,
    /// Signs the re-authentication marker of `prompt=login`/`max_age` (see `oidc::authorize`);
    /// made at start, so a restart only asks a member mid-flow to sign in once more.
    pub marker_key: Arc<[u8; 32]>,
    /// Seals signing keys and TOTP secrets in the database.
    pub sealer: Arc<crate::sealing::Sealer>,
    /// The absolute lifetime of a refresh-token family.
    pub refresh_max: chrono::Duration,
}

impl AppState {
    pub fn db(&self) -> &PgPool {
        &self.kit.db
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// An absolute URL of coop-sso.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

impl FromRef<AppState> for Kit {
    fn from_ref(s: &AppState) -> Kit {
        s.kit.clone()
    }
}
