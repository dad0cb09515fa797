//! GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{digits_only, CodeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GtinKind {
    Gtin8,
    Gtin12,
    Gtin13,
    Gtin14,
}

impl GtinKind {
    fn from_len(len: usize) -> Option<GtinKind> {
        match len {
            8 => Some(GtinKind::Gtin8),
            12 => Some(GtinKind::Gtin12),
            13 => Some(GtinKind::Gtin13),
            14 => Some(GtinKind::Gtin14),
            _ => None,
        }
    }

    /// How many digits a GTIN of this kind has.
    pub fn digits(self) -> usize {
        match self {
            GtinKind::Gtin8 => 8,
            GtinKind::Gtin12 => 12,
            GtinKind::Gtin13 => 13,
            GtinKind::Gtin14 => 14,
        }
    }
}

impl fmt::Display for GtinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GtinKind::Gtin8 => "GTIN-8 (EAN-8)",
            GtinKind::Gtin12 => "GTIN-12 (UPC-A)",
            GtinKind::Gtin13 => "GTIN-13 (EAN-13)",
            GtinKind::Gtin14 => "GTIN-14",
        })
    }
}

/// A Global Trade Item Number with a verified check digit, kept as scanned (leading zeros are
/// significant to the length; compare [`Gtin::to_gtin14`] to match across lengths).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    pub fn parse(input: &str) -> Result<Gtin, CodeError> {
        let digits = digits_only(input)?;
        if GtinKind::from_len(digits.len()).is_none() {
            return Err(CodeError::GtinLength { len: digits.len() });
        }
        let (body, check) = digits.split_at(digits.len() - 1);
        let expected = gs1_check_digit(body);
        let found = check.bytes().next().map_or(0, |b| b - b'0');
        if found != expected {
            return Err(CodeError::CheckDigit { found, expected });
        }
        Ok(Gtin(digits.to_owned()))
    }

    /// Completes a GTIN from its body (7, 11, 12 or 13 digits) by appending the check digit.
    pub fn with_check_digit(body: &str) -> Result<Gtin, CodeError> {
        let digits = digits_only(body)?;
        if GtinKind::from_len(digits.len() + 1).is_none() {
            return Err(CodeError::GtinBodyLength { len: digits.len() });
        }
        let check = gs1_check_digit(digits);
        Ok(Gtin(format!("{digits}{check}")))
    }

    pub fn kind(&self) -> GtinKind {
        GtinKind::from_len(self.0.len()).unwrap_or(GtinKind::Gtin14)
    }

    /// The same number padded to 14 digits, the form used to compare GTINs of different
    /// lengths. Leading zeros add nothing to the weighted sum, so the check digit still holds.
    #[must_use]
    pub fn to_gtin14(&self) -> Gtin {
        Gtin(format!("{:0>14}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn check_digit(&self) -> u8 {
        self.0.bytes().last().map_or(0, |b| b - b'0')
    }
}

/// The GS1 mod-10 check digit of a string of ASCII digits: weights 3 and 1 alternate from the
/// rightmost digit of the body, and the check digit tops the sum up to a multiple of ten.
pub(super) fn gs1_check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            if i % 2 == 0 {
                digit * 3
            } else {
                digit
            }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Gtin {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Gtin::parse(s)
    }
}

impl TryFrom<String> for Gtin {
    type Error = CodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Gtin::parse(&value)
    }
}

impl From<Gtin> for String {
    fn from(value: Gtin) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_codes_of_every_length() {
        let ean = Gtin::parse("4006381333931").unwrap();
        assert_eq!(ean.kind(), GtinKind::Gtin13);
        assert_eq!(ean.check_digit(), 1);
        assert_eq!(
            Gtin::parse("036000291452").unwrap().kind(),
            GtinKind::Gtin12
        );
        assert_eq!(Gtin::parse("96385074").unwrap().kind(), GtinKind::Gtin8);
        assert_eq!(
            Gtin::parse("10036000291459").unwrap().kind(),
            GtinKind::Gtin14
        );
        assert_eq!(
            Gtin::parse(" 4006381333931\r\n").unwrap().as_str(),
            "4006381333931"
        );
    }

    #[test]
    fn errors_name_the_length_or_the_expected_check_digit() {
        let err = |s: &str| Gtin::parse(s).unwrap_err().to_string();
        assert_eq!(err("4006381333932"), "check digit is 2, expected 1");
        assert_eq!(err("036000291453"), "check digit is 3, expected 2");
        assert_eq!(err("400638133393"), "check digit is 3, expected 0");
        assert_eq!(
            err("4006381333"),
            "a GTIN has 8, 12, 13 or 14 digits, this one has 10"
        );
        assert_eq!(err("40063813339X1"), "'X' at position 12 is not a digit");
        assert_eq!(err(""), "the code is empty");
        assert_eq!(
            err("４００６３８１３３３９３１"),
            "'４' at position 1 is not a digit"
        );
    }

    #[test]
    fn completes_bodies_with_their_check_digit() {
        assert_eq!(
            Gtin::with_check_digit("400638133393").unwrap().as_str(),
            "4006381333931"
        );
        assert_eq!(
            Gtin::with_check_digit("03600029145").unwrap().as_str(),
            "036000291452"
        );
        assert_eq!(
            Gtin::with_check_digit("9638507").unwrap().as_str(),
            "96385074"
        );
        assert_eq!(
            Gtin::with_check_digit("12345").unwrap_err().to_string(),
            "a GTIN without its check digit has 7, 11, 12 or 13 digits, this one has 5"
        );
    }

    #[test]
    fn pads_to_gtin14_keeping_the_check_digit() {
        let upc = Gtin::parse("036000291452").unwrap();
        assert_eq!(upc.to_gtin14().as_str(), "00036000291452");
        assert_eq!(
            Gtin::parse(upc.to_gtin14().as_str()).unwrap().kind(),
            GtinKind::Gtin14
        );
        assert_eq!(
            Gtin::parse("0036000291452").unwrap().to_gtin14(),
            upc.to_gtin14()
        );
    }

    #[test]
    fn is_a_string_on_the_wire() {
        let gtin: Gtin = serde_json::from_str("\"96385074\"").unwrap();
        assert_eq!(serde_json::to_string(&gtin).unwrap(), "\"96385074\"");
        let error = serde_json::from_str::<Gtin>("\"96385075\"").unwrap_err();
        assert!(error.to_string().contains("check digit is 5, expected 4"));
        assert_eq!(GtinKind::Gtin12.to_string(), "GTIN-12 (UPC-A)");
        assert_eq!(GtinKind::Gtin13.digits(), 13);
    }
}
