//! Secrets at rest: the token signing keys and the members' TOTP secrets are stored sealed
//! (AES-256-GCM, aws-lc-rs) under a key that lives only in a credential file, never in the database.
//! A database backup alone then gives nobody the power to mint tokens or copy second factors.
//!
//! The key file holds 32 random bytes as 64 hex digits (what the NixOS module generates at
//! first boot); without `secrets_key_file` in the config, one is generated into the state
//! directory (the demo, the tests). Each sealed value is bound to what it is (the key id, the
//! member) as additional data, so a sealed secret moved to another row does not open.
//! Losing the key: see docs/operators.md (new signing keys, members enrol TOTP again).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};

/// What a sealed value starts with: tells it from a value stored before sealing existed.
pub const MAGIC: &[u8] = b"SEALv1";

pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(*****)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("not a sealed value")]
    NotSealed,
    #[error("the value does not open with this key (another key, another row, or altered)")]
    Open,
}

impl Sealer {
    pub fn from_key(bytes: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes make an AES-256 key");
        Self {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
        }
    }

    /// The key from `file` (64 hex digits), or when there is none configured, from
    /// `<state>/secrets-key`, made there at first start.
    pub fn load(file: Option<&Path>, state_directory: &Path) -> anyhow::Result<Self> {
        let path = if let Some(f) = file {
            f.to_path_buf()
        } else {
            let path = state_directory.join("secrets-key");
            if !path.exists() {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| anyhow::anyhow!("no randomness for the secrets key"))?;
                std::fs::create_dir_all(state_directory)?;
                coop_web::session::write_private_file(&path, hex(&bytes).as_bytes())?;
                tracing::info!(path = %path.display(), "made the key that seals secrets at rest");
            }
            path
        };
        Ok(Self::from_key(&read_key(&path)?))
    }

    /// `MAGIC || nonce || ciphertext+tag`, bound to `context`.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the system has randomness");
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut body,
            )
            .expect("sealing a small value cannot fail");
        [MAGIC, &nonce, &body].concat()
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(MAGIC).ok_or(SealError::NotSealed)?;
        if rest.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }

    /// For text columns: `MAGIC` then base64url of the rest.
    pub fn seal_text(&self, context: &str, plain: &str) -> String {
        let sealed = self.seal(context, plain.as_bytes());
        format!(
            "{}{}",
            String::from_utf8_lossy(MAGIC),
            crate::secrets::b64url(&sealed[MAGIC.len()..])
        )
    }

    pub fn open_text(&self, context: &str, stored: &str) -> Result<String, SealError> {
        use base64::Engine as _;
        let rest = stored
            .strip_prefix(std::str::from_utf8(MAGIC).unwrap_or_default())
            .ok_or(SealError::NotSealed)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(rest)
            .map_err(|_| SealError::Open)?;
        let plain = self.open(context, &[MAGIC, &bytes].concat())?;
        String::from_utf8(plain).map_err(|_| SealError::Open)
    }
}

pub fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn read_key(path: &PathBuf) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("services.sso.secrets_key_file: reading {}", path.display()))?;
    let text = text.trim();
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "services.sso.secrets_key_file: {} must hold 32 bytes as 64 hex digits",
            path.display()
        );
    }
    let bytes = data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes())?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the secrets key is not 32 bytes"))
}

/// The context a signing key is sealed under.
pub fn signing_key_context(kid: &str) -> String {
    format!("coop-sso signing key {kid}")
}

/// The context a member's TOTP secret is sealed under.
pub fn totp_context(member_id: uuid::Uuid) -> String {
    format!("coop-sso totp {member_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let a = Sealer::from_key(&[7; 32]);
        let b = Sealer::from_key(&[8; 32]);
        let sealed = a.seal("member 1", b"JBSWY3DPEHPK3PXP");
        assert!(is_sealed(&sealed));
        assert_eq!(a.open("member 1", &sealed).unwrap(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(a.open("member 2", &sealed), Err(SealError::Open));
        assert_eq!(b.open("member 1", &sealed), Err(SealError::Open));
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(a.open("member 1", &altered), Err(SealError::Open));
        assert_eq!(
            a.open("member 1", b"plain secret"),
            Err(SealError::NotSealed)
        );
        assert_eq!(a.open("member 1", MAGIC), Err(SealError::Open));
        // The same secret sealed twice looks different (a fresh nonce each time).
        assert_ne!(a.seal("member 1", b"x"), a.seal("member 1", b"x"));
        let text = a.seal_text("k", "-----BEGIN RSA PRIVATE KEY-----");
        assert!(text.starts_with("SEALv1") && !text.contains("BEGIN"));
        assert_eq!(
            a.open_text("k", &text).unwrap(),
            "-----BEGIN RSA PRIVATE KEY-----"
        );
    }

    #[test]
    fn the_key_file_is_made_once_and_must_be_64_hex_digits() {
        let dir = tempfile::tempdir().unwrap();
        let first = Sealer::load(None, dir.path()).unwrap();
        let sealed = first.seal("c", b"v");
        let again = Sealer::load(None, dir.path()).unwrap();
        assert_eq!(again.open("c", &sealed).unwrap(), b"v");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "not hex").unwrap();
        let err = Sealer::load(Some(&bad), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("64 hex digits"), "{err}");
    }
}
