//! Time-based one-time passwords (RFC 6238) as every authenticator app expects them: HMAC-SHA1,
//! 30-second steps, 6 digits. Time is passed in as Unix seconds, so callers use their `Clock`
//! and tests never read the system clock.
//!
//! `verify` returns the step a code matched; the caller stores it and passes it back next time,
//! so a code that has been accepted once is never accepted again (RFC 6238 §5.2).

use std::fmt;

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per time step (RFC 6238's default X, and the only period apps handle reliably).
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Length of a generated secret: RFC 4226 §4 recommends 160 bits, the size of an SHA-1 output.
pub const SECRET_LEN: usize = 20;
/// RFC 4226 §4 requires at least 128 bits of shared secret.
const MIN_SECRET_LEN: usize = 16;
/// HMAC accepts longer keys, but a longer stored value is a sign of a mix-up, not a real secret.
const MAX_SECRET_LEN: usize = 64;
/// How many steps either side of the current one are accepted, for clock drift (RFC 6238 §6).
const DRIFT_STEPS: i64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error(
        "a TOTP secret must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes long, got {len} bytes"
    )]
    SecretLength { len: usize },
}

/// The shared secret of one member's authenticator. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A fresh secret of [`SECRET_LEN`] bytes from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0_u8; SECRET_LEN];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret as stored earlier (`as_bytes`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TotpError> {
        if (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            Ok(Self(bytes.to_vec()))
        } else {
            Err(TotpError::SecretLength { len: bytes.len() })
        }
    }

    /// The raw secret, for storing. Never log it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as members type it into an app by hand: RFC 4648 base32, uppercase, no
    /// padding (apps choke on `=`).
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(*****)")
    }
}

/// The `otpauth://` URI that the enrolment QR code carries (the Key URI format that Google
/// Authenticator defined and every other app follows). The issuer appears both as the label
/// prefix and as a parameter, since apps differ in which one they read.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = secret.to_base32(),
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `@` (legal in both a path
/// and a query, and kept so apps that do not decode still show a readable e-mail address).
/// Spaces become `%20`, never `+`, which apps would show literally in the label.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// The time step that `unix_seconds` falls in.
fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The 6-digit code an app shows at `unix_seconds`, zero-padded.
pub fn code_at(secret: &TotpSecret, unix_seconds: i64) -> String {
    hotp(secret.as_bytes(), step_of(unix_seconds), DIGITS)
}

/// HOTP (RFC 4226 §5.3) with the step as counter. A negative step (before 1970) is written as
/// its two's-complement bytes; `verify` never accepts one.
fn hotp(key: &[u8], counter: i64, digits: usize) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation: the low nibble of the last byte picks where 31 bits are read.
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    let modulus = 10_u64.pow(u32::try_from(digits).expect("a handful of digits"));
    format!("{:0digits$}", u64::from(binary) % modulus)
}

/// Checks a code the member typed at `unix_seconds`. Accepts the code of the current step or
/// of one step either side, ignores whitespace within it ("123 456"), and refuses any step at
/// or before `last_used_step`, so an accepted code cannot be replayed. Returns the step that
/// matched: store it and pass it as `last_used_step` next time.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_seconds: i64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let typed = normalise(code)?;
    let current = step_of(unix_seconds);
    let mut matched = None;
    // Every candidate is computed and compared, so the time taken says nothing about which
    // step (if any) matched. The latest matching step wins: should two steps share a code,
    // storing the later one leaves nothing to replay.
    for delta in -DRIFT_STEPS..=DRIFT_STEPS {
        let Some(step) = current.checked_add(delta) else {
            continue;
        };
        if step < 0 || last_used_step.is_some_and(|last| step <= last) {
            continue;
        }
        let expected = hotp(secret.as_bytes(), step, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(&typed)) {
            matched = Some(step);
        }
    }
    matched
}

/// The typed code without whitespace, if what remains is exactly [`DIGITS`] ASCII digits.
fn normalise(code: &str) -> Option<[u8; DIGITS]> {
    // Nobody types a 6-digit code as a kilobyte of spaces; refuse before looking further.
    if code.len() > 64 {
        return None;
    }
    let mut digits = [0_u8; DIGITS];
    let mut count = 0;
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        if !c.is_ascii_digit() || count == DIGITS {
            return None;
        }
        // An ASCII digit is one byte.
        digits[count] = u8::try_from(c).ok()?;
        count += 1;
    }
    (count == DIGITS).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 6238 Appendix B (and RFC 4226 Appendix D) SHA-1 secret.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    /// RFC 6238 Appendix B, SHA1 rows: (time, 8-digit TOTP).
    const RFC6238_SHA1: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn matches_rfc6238_eight_digit_vectors() {
        let secret = rfc_secret();
        for (time, expected) in RFC6238_SHA1 {
            assert_eq!(
                hotp(secret.as_bytes(), step_of(time), 8),
                expected,
                "T = {time}"
            );
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_digits_of_the_rfc_vectors() {
        let secret = rfc_secret();
        for (time, expected) in RFC6238_SHA1 {
            assert_eq!(code_at(&secret, time), expected[2..], "T = {time}");
        }
    }

    #[test]
    fn matches_rfc4226_hotp_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in (0_i64..).zip(expected) {
            assert_eq!(
                hotp(rfc_secret().as_bytes(), counter, 6),
                code,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn codes_are_zero_padded() {
        // T = 1111111109 gives 07081804 in the RFC; the 6-digit code is 081804.
        let code = code_at(&rfc_secret(), 1_111_111_109);
        assert_eq!(code, "081804");
        // Over 2000 steps a random secret yields codes below 100000 too; all keep six digits.
        let secret = TotpSecret::generate();
        for step in 0..2000 {
            let code = code_at(&secret, step * STEP_SECONDS);
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn accepts_the_current_code_anywhere_within_its_step() {
        let secret = rfc_secret();
        // 1111111111 is in step 37037037, which runs from 1111111110 to 1111111139.
        let code = code_at(&secret, 1_111_111_111);
        for now in [1_111_111_110, 1_111_111_125, 1_111_111_139] {
            assert_eq!(verify(&secret, &code, now, None), Some(37_037_037));
        }
    }

    #[test]
    fn accepts_one_step_of_drift_either_way_and_no_more() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let current = step_of(now);
        for delta in [-1, 0, 1] {
            let code = code_at(&secret, now + delta * STEP_SECONDS);
            assert_eq!(
                verify(&secret, &code, now, None),
                Some(current + delta),
                "{delta:+} steps"
            );
        }
        for delta in [-2, 2] {
            let code = code_at(&secret, now + delta * STEP_SECONDS);
            assert_eq!(verify(&secret, &code, now, None), None, "{delta:+} steps");
        }
    }

    #[test]
    fn refuses_a_replayed_code() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let code = code_at(&secret, now);
        let step = verify(&secret, &code, now, None).expect("first use is accepted");
        assert_eq!(verify(&secret, &code, now, Some(step)), None);
        // Still refused a step later, while it is within the drift window.
        assert_eq!(verify(&secret, &code, now + STEP_SECONDS, Some(step)), None);
        // The next step's code is fine after it.
        let next = code_at(&secret, now + STEP_SECONDS);
        assert_eq!(
            verify(&secret, &next, now + STEP_SECONDS, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn refuses_an_older_code_once_a_newer_one_was_used() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let ahead = code_at(&secret, now + STEP_SECONDS);
        let used = verify(&secret, &ahead, now, None).expect("drift ahead accepted");
        let current = code_at(&secret, now);
        assert_eq!(verify(&secret, &current, now, Some(used)), None);
    }

    #[test]
    fn ignores_whitespace_inside_the_code() {
        let secret = rfc_secret();
        let now = 1_111_111_111;
        let code = code_at(&secret, now); // 050471
        let spaced = format!(" {} {}\t", &code[..3], &code[3..]);
        assert_eq!(verify(&secret, &spaced, now, None), Some(step_of(now)));
    }

    #[test]
    fn refuses_malformed_codes() {
        let secret = rfc_secret();
        let now = 1_111_111_111;
        let code = code_at(&secret, now);
        assert_eq!(code, "050471");
        for bad in [
            "",
            "   ",
            "50471",          // too short
            "0504710",        // too long
            "14050471",       // the 8-digit code
            "05047a",         // a letter
            "-50471",         // a sign
            "+050471",        // a sign
            "050-471",        // a separator that is not whitespace
            "０５０４７１",   // fullwidth digits
            "٠٥٠٤٧١",         // Arabic-Indic digits
            "050471\u{0}",    // a NUL
            &" ".repeat(100), // absurd length
            &format!("{code}{}", " ".repeat(100)),
        ] {
            assert_eq!(verify(&secret, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn refuses_another_secrets_code() {
        let now = 1_111_111_111;
        let code = code_at(&rfc_secret(), now);
        let other = TotpSecret::from_bytes(b"09876543210987654321").unwrap();
        assert_eq!(verify(&other, &code, now, None), None);
    }

    #[test]
    fn handles_the_edges_of_time() {
        let secret = rfc_secret();
        // Step 0: the step before it does not exist and is skipped.
        let code = code_at(&secret, 0);
        assert_eq!(verify(&secret, &code, 0, None), Some(0));
        assert_eq!(verify(&secret, &code, 0, Some(0)), None);
        // No overflow at the far end.
        let code = code_at(&secret, i64::MAX);
        assert_eq!(
            verify(&secret, &code, i64::MAX, None),
            Some(step_of(i64::MAX))
        );
    }

    #[test]
    fn base32_is_unpadded_uppercase_rfc4648() {
        // The RFC secret as every TOTP tool writes it.
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        // 16 bytes would need padding (`====`) in padded base32.
        let sixteen = TotpSecret::from_bytes(&[0xff; 16]).unwrap();
        assert_eq!(sixteen.to_base32(), "77777777777777777777777774");
    }

    #[test]
    fn generated_secrets_are_20_random_bytes() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_eq!(a.as_bytes().len(), SECRET_LEN);
        assert_eq!(a.to_base32().len(), 32);
        assert_ne!(a.as_bytes(), b.as_bytes());
        let again = TotpSecret::from_bytes(a.as_bytes()).unwrap();
        assert_eq!(again.as_bytes(), a.as_bytes());
    }

    #[test]
    fn refuses_secrets_of_the_wrong_size() {
        assert_eq!(
            TotpSecret::from_bytes(&[1; 15]).unwrap_err(),
            TotpError::SecretLength { len: 15 }
        );
        assert!(TotpSecret::from_bytes(&[1; 65]).is_err());
        assert!(TotpSecret::from_bytes(&[]).is_err());
        assert!(TotpSecret::from_bytes(&[1; 64]).is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let secret = rfc_secret();
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("1234"), "{shown}");
        assert!(!shown.contains(&secret.to_base32()), "{shown}");
        assert!(!shown.contains("49, 50"), "{shown}");
        assert!(shown.contains("TotpSecret(*****)"));
    }

    #[test]
    fn otpauth_uri_has_the_key_uri_format() {
        assert_eq!(
            otpauth_uri(&rfc_secret(), "Coop", "alice@example.org"),
            "otpauth://totp/Coop:alice@example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Coop&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn otpauth_uri_percent_encodes_issuer_and_account() {
        let uri = otpauth_uri(
            &rfc_secret(),
            "Röstånga Matkooperativ",
            "åsa+öberg@example.org",
        );
        assert_eq!(
            uri,
            "otpauth://totp/R%C3%B6st%C3%A5nga%20Matkooperativ:%C3%A5sa%2B%C3%B6berg@example.org\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=R%C3%B6st%C3%A5nga%20Matkooperativ\
             &algorithm=SHA1&digits=6&period=30"
        );
        // Characters that would split the label or the query are encoded, not passed through.
        let uri = otpauth_uri(&rfc_secret(), "A:B&C=D?#/", "x y");
        assert!(
            uri.starts_with("otpauth://totp/A%3AB%26C%3DD%3F%23%2F:x%20y?secret="),
            "{uri}"
        );
        assert_eq!(uri.matches('?').count(), 1);
        assert!(uri.contains("&issuer=A%3AB%26C%3DD%3F%23%2F&"));
    }
}
