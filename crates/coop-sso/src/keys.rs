//! The keys that sign coop-sso's tokens, kept in the database (sealed, see `sealing`) so a
//! restart keeps them: an RSA key for ID tokens and logout tokens (RS256, which every relying
//! party understands) and a P-256 key for access tokens (ES256, cheap to sign and to verify).
//! Both are published in the JWKS. `rotate` makes new ones current; the old ones stay published
//! until every token they signed has expired. Signing and verifying go through jsonwebtoken,
//! on aws-lc-rs.

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
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
    /// RS256 or ES256.
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// For verifying our own tokens (userinfo, the feed, `id_token_hint`).
    pub decoding: DecodingKey,
    /// The public half, for the JWKS.
    public: CoreJsonWebKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

const PKCS8_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PKCS8_END: &str = "-----END PRIVATE KEY-----";

impl SigningKey {
    /// An RSA key from PKCS#1 PEM.
    fn rsa(kid: &str, pem: &str) -> anyhow::Result<Self> {
        let oidc = CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.to_owned())))
            .map_err(|e| anyhow::anyhow!("signing key {kid}: {e}"))?;
        let der = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
            .and_then(|k| k.to_pkcs1_der())
            .map_err(|e| anyhow::anyhow!("signing key {kid}: {e}"))?;
        let public = oidc.as_verification_key();
        let jwk = serde_json::to_value(&public)?;
        let n = jwk["n"].as_str().context("RSA JWK without n")?;
        let e = jwk["e"].as_str().context("RSA JWK without e")?;
        Ok(Self {
            kid: kid.to_owned(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            decoding: DecodingKey::from_rsa_components(n, e)?,
            public,
        })
    }

    /// A P-256 key from PKCS#8 PEM.
    fn ec(kid: &str, pem: &str) -> anyhow::Result<Self> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .with_context(|| format!("signing key {kid}: not PKCS#8 PEM"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|e| anyhow::anyhow!("signing key {kid}: {e}"))?;
        // The uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        anyhow::ensure!(point.len() == 65, "signing key {kid}: not a P-256 point");
        let (x, y) = (b64url(&point[1..33]), b64url(&point[33..65]));
        let public: CoreJsonWebKey = serde_json::from_value(serde_json::json!({
            "kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": kid, "x": x, "y": y,
        }))?;
        Ok(Self {
            kid: kid.to_owned(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(&der),
            decoding: DecodingKey::from_ec_components(&x, &y)?,
            public,
        })
    }

    fn from_stored(kid: &str, alg: &str, pem: &str) -> anyhow::Result<Self> {
        match alg {
            "ES256" => Self::ec(kid, pem),
            _ => Self::rsa(kid, pem),
        }
    }

    /// The signature of `message` (the JWS signing input) with this key's algorithm.
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let sig = jsonwebtoken::crypto::sign(message, &self.encoding, self.alg)
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig)?)
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    fn public(&self) -> CoreJsonWebKey {
        self.public.clone()
    }
}

/// ID tokens are built by the `openidconnect` crate and signed through this (RS256 only).
impl PrivateSigningKey for SigningKey {
    type VerificationKey = CoreJsonWebKey;

    fn sign(&self, alg: &CoreJwsSigningAlgorithm, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        match (alg, self.alg) {
            (CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, Algorithm::RS256) => {
                SigningKey::sign(self, message).map_err(|_| SigningError::CryptoError)
            }
            (other, _) => Err(SigningError::UnsupportedAlg(format!("{other:?}"))),
        }
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.public()
    }
}

#[derive(Debug, Default)]
struct Keys {
    /// Signs ID tokens and logout tokens.
    current: Option<Arc<SigningKey>>,
    /// Signs access tokens.
    current_access: Option<Arc<SigningKey>>,
    published: Vec<Arc<SigningKey>>,
}

/// The signing keys, and the sealer their private halves are stored under.
#[derive(Debug, Clone)]
pub struct KeyStore(Arc<RwLock<Keys>>, Arc<crate::sealing::Sealer>);

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    private_key_pem: String,
    retired_at: Option<DateTime<Utc>>,
}

impl KeyStore {
    /// Loads the keys, creating the first ones if there are none. Keys stored before sealing
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
            store
                .install(db, "RS256", new_rsa_pem().await?, now)
                .await?;
        }
        if store.current_access().is_err() {
            store.install(db, "ES256", new_ec_pem()?, now).await?;
        }
        Ok(store)
    }

    pub async fn reload(&self, db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<()> {
        let rows: Vec<KeyRow> = sqlx::query_as!(
            KeyRow,
            "select kid, alg, private_key_pem, retired_at from signing_key
             where retired_at is null or publish_until > $1
             order by alg desc, created_at desc",
            now
        )
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
            let key = Arc::new(SigningKey::from_stored(&row.kid, &row.alg, &pem)?);
            if row.retired_at.is_none() {
                let slot = match key.alg {
                    Algorithm::ES256 => &mut keys.current_access,
                    _ => &mut keys.current,
                };
                if slot.is_none() {
                    *slot = Some(key.clone());
                }
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
        let plain: Vec<(String, String)> = sqlx::query!(
            "select kid, private_key_pem from signing_key where private_key_pem not like 'SEALv1%'",
        )
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|r| (r.kid, r.private_key_pem))
        .collect();
        for (kid, pem) in plain {
            let sealed = self
                .1
                .seal_text(&crate::sealing::signing_key_context(&kid), &pem);
            sqlx::query!(
                "update signing_key set private_key_pem = $2 where kid = $1",
                &kid,
                sealed
            )
            .execute(db)
            .await?;
            tracing::info!(kid, "sealed a signing key stored in the clear");
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The RSA key that signs ID tokens and logout tokens.
    pub fn current(&self) -> anyhow::Result<Arc<SigningKey>> {
        self.read()
            .current
            .clone()
            .context("no current RSA signing key")
    }

    /// The P-256 key that signs access tokens.
    pub fn current_access(&self) -> anyhow::Result<Arc<SigningKey>> {
        self.read()
            .current_access
            .clone()
            .context("no current access-token signing key")
    }

    /// The published key with this id (current or retired, still in the JWKS).
    pub fn published(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.read().published.iter().find(|k| k.kid == kid).cloned()
    }

    /// Every published key: the RSA keys first (what ID-token verifiers look for), then P-256.
    pub fn jwks(&self) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(self.read().published.iter().map(|k| k.public()).collect())
    }

    /// Makes the operator's own RSA key (PEM, PKCS#1) current unless it already is.
    pub async fn import(&self, db: &PgPool, pem: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        let kid = crate::secrets::b64url(&crate::secrets::hash(pem.trim()))[..16].to_owned();
        SigningKey::rsa(&kid, pem.trim())?;
        if self.current().is_ok_and(|k| k.kid == kid) {
            return Ok(());
        }
        self.install_as(db, kid, "RS256", pem.trim().to_owned(), now)
            .await
    }

    /// Makes new keys current (RSA and P-256) and retires the others (still published for a
    /// while). Returns the new RSA key's id.
    pub async fn rotate(&self, db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<String> {
        let kid = self.install(db, "RS256", new_rsa_pem().await?, now).await?;
        self.install(db, "ES256", new_ec_pem()?, now).await?;
        Ok(kid)
    }

    async fn install(
        &self,
        db: &PgPool,
        alg: &str,
        pem: String,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let kid = crate::secrets::new_token()[..16].to_owned();
        self.install_as(db, kid.clone(), alg, pem, now).await?;
        Ok(kid)
    }

    async fn install_as(
        &self,
        db: &PgPool,
        kid: String,
        alg: &str,
        pem: String,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sealed = self
            .1
            .seal_text(&crate::sealing::signing_key_context(&kid), &pem);
        let mut tx = db.begin().await?;
        sqlx::query!(
            "update signing_key set retired_at = $1, publish_until = $2
             where retired_at is null and alg = $3",
            now,
            now + PUBLISH_AFTER_RETIREMENT,
            alg
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
"insert into signing_key (kid, alg, private_key_pem, created_at) values ($1, $2, $3, $4)
             on conflict (kid) do update set retired_at = null, publish_until = null",
&kid,
alg,
&sealed,
now
)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.reload(db, now).await?;
        tracing::info!(kid, alg, "new signing key is current");
        Ok(())
    }
}

async fn new_rsa_pem() -> anyhow::Result<String> {
    tokio::task::spawn_blocking(|| -> anyhow::Result<String> {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .context("generating an RSA key")?;
        Ok(key
            .to_pkcs1_pem(LineEnding::LF)
            .context("encoding the key")?
            .to_string())
    })
    .await?
}

fn new_ec_pem() -> anyhow::Result<String> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| anyhow::anyhow!("generating a P-256 key"))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
    let mut pem = String::from(PKCS8_BEGIN);
    for chunk in b64.as_bytes().chunks(64) {
        pem.push('\n');
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    pem.push('\n');
    pem.push_str(PKCS8_END);
    Ok(pem)
}
