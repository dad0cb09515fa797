//! Cashier PINs: 4 to 8 digits, hashed with argon2id (central hashes them; the till only
//! verifies), always on a blocking thread. A PIN is short, so the till locks a cashier out for
//! a minute after five wrong tries: guessing 10,000 PINs takes a day and a half at the till.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Wrong tries before a lock-out.
pub const MAX_TRIES: u32 = 5;
/// How long a lock-out lasts.
pub const LOCKOUT: Duration = Duration::from_secs(60);

fn argon2() -> Argon2<'static> {
    // Lighter than a password's: a Pi 4 verifies in well under a second, and the lock-out,
    // not the hash, is what stops guessing at the till.
    let params = Params::new(8 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Whether `pin` is a PIN: 4 to 8 digits.
pub fn is_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Hashes a PIN (on a blocking thread).
pub async fn hash(pin: String) -> String {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(pin.as_bytes(), &salt)
            .expect("argon2 hashes")
            .to_string()
    })
    .await
    .expect("the hashing thread")
}

/// Verifies a PIN against its hash (on a blocking thread); a malformed hash never matches.
pub async fn verify(pin: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| argon2().verify_password(pin.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Wrong tries per cashier, in memory (a restart of the till forgets them, which an attacker
/// at the till cannot cause without the power cord being noticed).
#[derive(Debug, Default)]
pub struct Throttle(Mutex<HashMap<String, (u32, Option<Instant>)>>);

impl Throttle {
    /// When the cashier is locked out, how long is left.
    pub fn locked(&self, cashier: &str) -> Option<Duration> {
        let map = self.0.lock().expect("throttle lock");
        let (_, until) = map.get(cashier)?;
        until.and_then(|u| u.checked_duration_since(Instant::now()))
    }

    /// A wrong try; answers whether it locked the cashier out.
    pub fn failed(&self, cashier: &str) -> bool {
        let mut map = self.0.lock().expect("throttle lock");
        let e = map.entry(cashier.to_owned()).or_insert((0, None));
        if e.1.is_some_and(|u| u <= Instant::now()) {
            *e = (0, None);
        }
        e.0 += 1;
        if e.0 >= MAX_TRIES {
            e.1 = Some(Instant::now() + LOCKOUT);
            return true;
        }
        false
    }

    pub fn succeeded(&self, cashier: &str) {
        self.0.lock().expect("throttle lock").remove(cashier);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pin_verifies_and_a_wrong_one_does_not() {
        let h = hash("4711".into()).await;
        assert!(verify("4711".into(), h.clone()).await);
        assert!(!verify("4712".into(), h.clone()).await);
        assert!(!verify("4711".into(), "not a hash".into()).await);
        assert!(!h.contains("4711"));
    }

    #[test]
    fn pins_are_four_to_eight_digits() {
        for ok in ["0000", "12345678"] {
            assert!(is_pin(ok), "{ok}");
        }
        for bad in ["123", "123456789", "12a4", "", "１２３４"] {
            assert!(!is_pin(bad), "{bad}");
        }
    }

    #[test]
    fn five_wrong_tries_lock_a_cashier_out_and_not_another() {
        let t = Throttle::default();
        for _ in 0..4 {
            assert!(!t.failed("kim"));
        }
        assert!(t.locked("kim").is_none());
        assert!(t.failed("kim"));
        assert!(t.locked("kim").is_some_and(|d| d <= LOCKOUT));
        assert!(t.locked("sam").is_none());
        t.succeeded("kim");
        assert!(t.locked("kim").is_none());
    }
}
