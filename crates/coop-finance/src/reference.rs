//! Payment references: the number a member puts on a bank transfer so that the statement import
//! finds their wallet by itself. It is a Swedish OCR number as Bankgirot describes it: the
//! wallet's serial number, then a length digit (the whole number's length, modulo 10), then a
//! check digit by the Luhn (modulus 10) rule over everything before it. A bank with an OCR
//! agreement refuses a transfer whose reference fails the check, so a mistyped number never
//! reaches the statement; without an agreement the same digits still match as plain text.

use std::fmt;

/// A payment reference that passed its checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OcrReference(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("a payment reference has 2 to 25 digits")]
    Shape,
    #[error("the reference's length digit is wrong")]
    LengthDigit,
    #[error("the reference's check digit is wrong")]
    CheckDigit,
}

/// The Luhn check digit of `digits` (ASCII digits only).
fn luhn(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0');
            if i % 2 == 0 {
                let dbl = v * 2;
                dbl / 10 + dbl % 10
            } else {
                v
            }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).expect("a digit")
}

impl OcrReference {
    /// The reference of the wallet with this serial number.
    pub fn for_serial(serial: u64) -> Self {
        // At least three digits of serial, so no reference is shorter than five.
        let mut s = format!("{serial:03}").into_bytes();
        let len = s.len() + 2;
        s.push(b'0' + u8::try_from(len % 10).expect("a digit"));
        s.push(b'0' + luhn(&s));
        Self(String::from_utf8(s).expect("ASCII digits"))
    }

    /// Checks a reference as typed, ignoring spaces and dashes people put in long numbers.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let digits: Vec<u8> = s.bytes().filter(|b| !matches!(b, b' ' | b'-')).collect();
        if !(2..=25).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ReferenceError::Shape);
        }
        let (body, check) = digits.split_at(digits.len() - 1);
        if luhn(body) != check[0] - b'0' {
            return Err(ReferenceError::CheckDigit);
        }
        let length_digit = body[body.len() - 1] - b'0';
        if usize::from(length_digit) != digits.len() % 10 {
            return Err(ReferenceError::LengthDigit);
        }
        Ok(Self(String::from_utf8(digits).expect("ASCII digits")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OcrReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The digits of a free-text reference, for matching "OCR 1234 5" against `12345`.
pub fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_luhn_numbers() {
        // Bankgirot's worked example of the check digit: 123456789 → 7 (with no length digit).
        assert_eq!(luhn(b"123456789"), 7);
        // A Swedish personal number's well-known example, 811218-987 → 6.
        assert_eq!(luhn(b"811218987"), 6);
    }

    #[test]
    fn references_carry_their_length_and_check_digit() {
        let r = OcrReference::for_serial(1);
        assert_eq!(r.as_str().len(), 5);
        assert_eq!(&r.as_str()[..4], "0015");
        assert_eq!(OcrReference::parse(r.as_str()), Ok(r.clone()));
        assert_eq!(OcrReference::parse(&format!("{r} ")), Ok(r));
        assert_eq!(
            OcrReference::parse("12345678901234567890123456"),
            Err(ReferenceError::Shape)
        );
        assert_eq!(OcrReference::parse("12a4"), Err(ReferenceError::Shape));
    }

    proptest! {
        #[test]
        fn every_serial_round_trips_and_every_single_digit_typo_is_caught(
            serial in 0u64..10_000_000_000, pos in 0usize..25, delta in 1u8..10
        ) {
            let r = OcrReference::for_serial(serial);
            prop_assert_eq!(OcrReference::parse(r.as_str()), Ok(r.clone()));
            let mut typo = r.as_str().as_bytes().to_vec();
            let i = pos % typo.len();
            typo[i] = b'0' + (typo[i] - b'0' + delta) % 10;
            let typo = String::from_utf8(typo).unwrap();
            prop_assert!(OcrReference::parse(&typo).is_err(), "{} accepted", typo);
        }
    }
}
