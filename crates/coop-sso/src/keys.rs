//! The RSA keys that sign ID tokens and access tokens, kept in the database so a restart keeps
//! them. `rotate` makes a new key current; the old one stays in the JWKS until every token it
//! signed has expired.

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{JsonWebKeyId, PrivateSigningKey, SigningError};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _, LineEnding};
use sqlx::PgPool;

/// How long a retired key stays published: longer than any token lives.
pub const PUBLISH_AFTER_RETIREMENT: Duration = Duration::hours(25);

pub struct SigningKey {
    pub kid: String,
    /// For the public half (JWKS) only.
    key: CoreRsaPrivateSigningKey,
    /// Signs: ring's RSA is about three times faster than the `rsa` crate's, and signing is most
    /// of the CPU a token costs.
    fast: ring::signature::RsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl SigningKey {
    /// Checks an RS256 signature made with this key (ring, like signing).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            self.fast.public().as_ref(),
        )
        .verify(message, signature)
        .is_ok()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_pem(kid: &str, pem: &str) -> anyhow::Result<Self> {
        let key = CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.to_owned())))
            .map_err(|e| anyhow::anyhow!("signing key {kid}: {e}"))?;
        let der = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
            .and_then(|k| k.to_pkcs1_der())
            .map_err(|e| anyhow::anyhow!("signing key {kid}: {e}"))?;
        let fast = ring::signature::RsaKeyPair::from_der(der.as_bytes())
            .map_err(|e| anyhow::anyhow!("signing key {kid}: {e}"))?;
        Ok(Self {
            kid: kid.to_owned(),
            key,
            fast,
            rng: ring::rand::SystemRandom::new(),
        })
    }

    /// RS256 over `message`.
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.rs256(message)
            .map_err(|e| anyhow::anyhow!("signing: {e}"))
    }

    fn rs256(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let mut sig = vec![0u8; self.fast.public().modulus_len()];
        self.fast
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &self.rng,
                message,
                &mut sig,
            )
            .map_err(|_| SigningError::CryptoError)?;
        Ok(sig)
    }

    fn public(&self) -> CoreJsonWebKey {
        self.key.as_verification_key()
    }
}

/// ID tokens are built by the `openidconnect` crate and signed through this.
impl PrivateSigningKey for SigningKey {
    type VerificationKey = CoreJsonWebKey;

    fn sign(&self, alg: &CoreJwsSigningAlgorithm, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        match alg {
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256 => self.rs256(message),
            other => Err(SigningError::UnsupportedAlg(format!("{other:?}"))),
        }
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.public()
    }
}

#[derive(Debug, Default)]
struct Keys {
    current: Option<Arc<SigningKey>>,
    published: Vec<Arc<SigningKey>>,
}

/// The signing keys, and the sealer their private halves are stored under.
#[derive(Debug, Clone)]
pub struct KeyStore(Arc<RwLock<Keys>>, Arc<crate::sealing::Sealer>);

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    private_key_pem: String,
    retired_at: Option<DateTime<Utc>>,
}

impl KeyStore {
    /// Loads the keys, creating the first one if there is none. Keys stored before sealing
    /// existed are sealed now.
    pub async fn load(
        db: &PgPool,
        now: DateTime<Utc>,
        sealer: Arc<crate::sealing::Sealer>,
    ) -> anyhow::Result<Self> {
        let store = Self(Arc::default(), sealer);
        store.seal_plain_keys(db).await?;
        store.reload(db, now).await?;
        if store.current().is_err() {
            store.rotate(db, now).await?;
        }
        Ok(store)
    }

    pub async fn reload(&self, db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<()> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "select kid, private_key_pem, retired_at from signing_key
             where retired_at is null or publish_until > $1
             order by created_at desc",
        )
        .bind(now)
        .fetch_all(db)
        .await?;
        let mut keys = Keys::default();
        for row in rows {
            let pem = self
                .1
                .open_text(&crate::sealing::signing_key_context(&row.kid), &row.private_key_pem)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "signing key {}: {e}; is services.sso.secrets_key_file the key these were sealed with? (docs/operators.md: key loss)",
                        row.kid
                    )
                })?;
            let key = Arc::new(SigningKey::from_pem(&row.kid, &pem)?);
            if row.retired_at.is_none() && keys.current.is_none() {
                keys.current = Some(key.clone());
            }
            keys.published.push(key);
        }
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
        Ok(())
    }

    /// Seals private keys that a version before sealing stored in the clear.
    async fn seal_plain_keys(&self, db: &PgPool) -> anyhow::Result<()> {
        let plain: Vec<(String, String)> = sqlx::query_as(
            "select kid, private_key_pem from signing_key where private_key_pem not like 'SEALv1%'",
        )
        .fetch_all(db)
        .await?;
        for (kid, pem) in plain {
            let sealed = self
                .1
                .seal_text(&crate::sealing::signing_key_context(&kid), &pem);
            sqlx::query("update signing_key set private_key_pem = $2 where kid = $1")
                .bind(&kid)
                .bind(sealed)
                .execute(db)
                .await?;
            tracing::info!(kid, "sealed a signing key stored in the clear");
        }
        Ok(())
    }

    pub fn current(&self) -> anyhow::Result<Arc<SigningKey>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .current
            .clone()
            .context("no current signing key")
    }

    /// The published key with this id (current or retired, still in the JWKS).
    pub fn published(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .published
            .iter()
            .find(|k| k.kid == kid)
            .cloned()
    }

    pub fn jwks(&self) -> CoreJsonWebKeySet {
        let keys = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        CoreJsonWebKeySet::new(keys.published.iter().map(|k| k.public()).collect())
    }

    /// Makes the operator's own key (PEM, PKCS#1) current unless it already is.
    pub async fn import(&self, db: &PgPool, pem: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        let kid = crate::secrets::b64url(&crate::secrets::hash(pem.trim()))[..16].to_owned();
        SigningKey::from_pem(&kid, pem.trim())?;
        if self.current().is_ok_and(|k| k.kid == kid) {
            return Ok(());
        }
        self.install(db, kid, pem.trim().to_owned(), now).await
    }

    /// Makes a new key current and retires the others (still published for a while).
    pub async fn rotate(&self, db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<String> {
        let pem = tokio::task::spawn_blocking(|| -> anyhow::Result<String> {
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .context("generating an RSA key")?;
            Ok(key
                .to_pkcs1_pem(LineEnding::LF)
                .context("encoding the key")?
                .to_string())
        })
        .await??;
        let kid = crate::secrets::new_token()[..16].to_owned();
        self.install(db, kid.clone(), pem, now).await?;
        Ok(kid)
    }

    async fn install(
        &self,
        db: &PgPool,
        kid: String,
        pem: String,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut tx = db.begin().await?;
        sqlx::query(
            "update signing_key set retired_at = $1, publish_until = $2 where retired_at is null",
        )
        .bind(now)
        .bind(now + PUBLISH_AFTER_RETIREMENT)
        .execute(&mut *tx)
        .await?;
        let sealed = self
            .1
            .seal_text(&crate::sealing::signing_key_context(&kid), &pem);
        sqlx::query(
            "insert into signing_key (kid, private_key_pem, created_at) values ($1, $2, $3)
             on conflict (kid) do update set retired_at = null, publish_until = null",
        )
        .bind(&kid)
        .bind(&sealed)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.reload(db, now).await?;
        tracing::info!(kid, "new signing key is current");
        Ok(())
    }
}
