//! Password hashing with argon2id, always on a blocking thread so a sign-in burst cannot stall
//! the async workers. Unknown accounts are checked against a dummy hash so the answer takes as
//! long as for a real one.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's recommended argon2id minimum: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password must be at most {MAX_LENGTH} characters")]
    TooLong,
}

/// Checks a new password's length (passphrases are welcome, so no composition rules).
pub fn validate_new(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Err(PasswordError::TooShort)
    } else if n > MAX_LENGTH {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// At most one argon2 computation per core: each takes 19 MiB and a core's worth of time, so
/// more at once only adds memory (tokio's blocking pool would grow to hundreds of threads under a
/// burst of sign-ins) without finishing any sooner. Callers queue here instead.
fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = permits().acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"not a real password, only for timing", &salt)
            .expect("hashing the dummy password")
            .to_string()
    })
}

/// Verifies `password` against `stored`, or against a dummy hash when there is no account, so
/// the time taken does not tell whether the account exists.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let _permit = permits().acquire().await?;
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed =
            PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(real && ok)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let h = hash("correct horse battery staple".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify("correct horse battery staple".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("correct horse battery stapler".into(), Some(h))
            .await
            .unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn new_passwords_have_a_length_range() {
        assert_eq!(validate_new("short"), Err(PasswordError::TooShort));
        assert_eq!(validate_new("long enough pass"), Ok(()));
        assert_eq!(validate_new(&"x".repeat(2000)), Err(PasswordError::TooLong));
    }
}
