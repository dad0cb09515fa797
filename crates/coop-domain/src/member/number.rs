//! Member numbers as printed on member cards: an optional letter prefix and zero-padded digits,
//! e.g. `M00042`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::text::excerpt;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MemberNumberError {
    #[error("member number prefix '{prefix}' must be 0 to 4 letters A-Z")]
    InvalidPrefix { prefix: String },
    #[error("member numbers must have 3 to 9 digits, not {digits}")]
    InvalidDigitCount { digits: u8 },
    #[error("the member number is empty")]
    Empty,
    #[error("member number '{input}' must start with '{prefix}'")]
    MissingPrefix { input: String, prefix: String },
    #[error("member number '{input}' must have exactly {expected} digits after the prefix")]
    WrongDigitCount { input: String, expected: u8 },
    #[error("member number '{input}' is not valid: expected letters followed by 3 to 9 digits")]
    Malformed { input: String },
    #[error("member number 0 does not exist; numbers start at 1")]
    Zero,
    #[error("member number {value} does not fit in {digits} digits")]
    TooLarge { value: u32, digits: u8 },
}

/// How this co-op writes member numbers. In config: `{"prefix": "M", "digits": 5}`; both keys
/// may be left out (no prefix, 5 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "FormatRepr", into = "FormatRepr")]
pub struct MemberNumberFormat {
    prefix: String,
    digits: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FormatRepr {
    prefix: String,
    digits: u8,
}

impl Default for FormatRepr {
    fn default() -> Self {
        let format = MemberNumberFormat::default();
        FormatRepr {
            prefix: format.prefix,
            digits: format.digits,
        }
    }
}

impl Default for MemberNumberFormat {
    fn default() -> Self {
        MemberNumberFormat {
            prefix: String::new(),
            digits: 5,
        }
    }
}

impl MemberNumberFormat {
    pub fn new(prefix: &str, digits: u8) -> Result<MemberNumberFormat, MemberNumberError> {
        if prefix.len() > 4 || !prefix.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(MemberNumberError::InvalidPrefix {
                prefix: excerpt(prefix),
            });
        }
        if !(3..=9).contains(&digits) {
            return Err(MemberNumberError::InvalidDigitCount { digits });
        }
        Ok(MemberNumberFormat {
            prefix: prefix.to_owned(),
            digits,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// Reads a member number as typed or scanned from a card: `M00042`, ` m00042 `.
    pub fn parse(&self, input: &str) -> Result<MemberNumber, MemberNumberError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(MemberNumberError::Empty);
        }
        let prefix_len = self.prefix.len();
        let head = trimmed.get(..prefix_len);
        if !head.is_some_and(|head| head.eq_ignore_ascii_case(&self.prefix)) {
            return Err(MemberNumberError::MissingPrefix {
                input: excerpt(trimmed),
                prefix: self.prefix.clone(),
            });
        }
        let digits = trimmed.get(prefix_len..).unwrap_or_default();
        if digits.len() != usize::from(self.digits) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MemberNumberError::WrongDigitCount {
                input: excerpt(trimmed),
                expected: self.digits,
            });
        }
        // At most 9 digits, so this always fits in a u32.
        let value: u32 = digits.parse().map_err(|_| MemberNumberError::Malformed {
            input: excerpt(trimmed),
        })?;
        self.number(value)
    }

    /// The member number `n` in this format: `number(42)` is `M00042`.
    pub fn number(&self, value: u32) -> Result<MemberNumber, MemberNumberError> {
        if value == 0 {
            return Err(MemberNumberError::Zero);
        }
        if u64::from(value) >= 10_u64.pow(u32::from(self.digits)) {
            return Err(MemberNumberError::TooLarge {
                value,
                digits: self.digits,
            });
        }
        Ok(MemberNumber {
            format: self.clone(),
            value,
        })
    }
}

impl TryFrom<FormatRepr> for MemberNumberFormat {
    type Error = MemberNumberError;

    fn try_from(value: FormatRepr) -> Result<Self, Self::Error> {
        MemberNumberFormat::new(&value.prefix, value.digits)
    }
}

impl From<MemberNumberFormat> for FormatRepr {
    fn from(value: MemberNumberFormat) -> Self {
        FormatRepr {
            prefix: value.prefix,
            digits: value.digits,
        }
    }
}

/// A member's number, kept with the format it was written in so it prints the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberNumber {
    format: MemberNumberFormat,
    value: u32,
}

impl MemberNumber {
    /// Reads a member number without knowing the co-op's format, taking the format from the
    /// text itself (up to 4 letters, then 3 to 9 digits). Used where a number arrives on the
    /// wire; input from people goes through [`MemberNumberFormat::parse`], which is stricter.
    pub fn parse_any(input: &str) -> Result<MemberNumber, MemberNumberError> {
        let trimmed = input.trim();
        let letters = trimmed.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (prefix, digits) = trimmed.split_at(letters);
        let malformed = || MemberNumberError::Malformed {
            input: excerpt(trimmed),
        };
        if trimmed.is_empty() {
            return Err(MemberNumberError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let digit_count = u8::try_from(digits.len()).map_err(|_| malformed())?;
        let format = MemberNumberFormat::new(&prefix.to_ascii_uppercase(), digit_count)
            .map_err(|_| malformed())?;
        format.parse(trimmed)
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    pub fn format(&self) -> &MemberNumberFormat {
        &self.format
    }
}

impl fmt::Display for MemberNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = usize::from(self.format.digits);
        write!(f, "{}{:0width$}", self.format.prefix, self.value)
    }
}

impl FromStr for MemberNumber {
    type Err = MemberNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MemberNumber::parse_any(s)
    }
}

impl TryFrom<String> for MemberNumber {
    type Error = MemberNumberError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        MemberNumber::parse_any(&value)
    }
}

impl From<MemberNumber> for String {
    fn from(value: MemberNumber) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m5() -> MemberNumberFormat {
        MemberNumberFormat::new("M", 5).unwrap()
    }

    #[test]
    fn parses_numbers_as_typed() {
        assert_eq!(m5().parse("M00042").unwrap().value(), 42);
        assert_eq!(m5().parse("  m00042\n").unwrap().to_string(), "M00042");
        let plain = MemberNumberFormat::default();
        assert_eq!(plain.parse("00007").unwrap().value(), 7);
        assert_eq!(plain.parse("99999").unwrap().value(), 99_999);
        let wide = MemberNumberFormat::new("COOP", 9).unwrap();
        assert_eq!(wide.parse("coop999999999").unwrap().value(), 999_999_999);
    }

    #[test]
    fn rejects_numbers_in_another_format() {
        let err = |s: &str| m5().parse(s).unwrap_err().to_string();
        assert_eq!(err("00042"), "member number '00042' must start with 'M'");
        assert_eq!(err("X00042"), "member number 'X00042' must start with 'M'");
        assert_eq!(
            err("M0042"),
            "member number 'M0042' must have exactly 5 digits after the prefix"
        );
        assert_eq!(
            err("M000042"),
            "member number 'M000042' must have exactly 5 digits after the prefix"
        );
        assert_eq!(
            err("M00 42"),
            "member number 'M00 42' must have exactly 5 digits after the prefix"
        );
        assert_eq!(
            err("M0004a"),
            "member number 'M0004a' must have exactly 5 digits after the prefix"
        );
        assert_eq!(
            err("M00000"),
            "member number 0 does not exist; numbers start at 1"
        );
        assert_eq!(err(" "), "the member number is empty");
        assert!(m5().parse("Ｍ00042").is_err());
        assert!(m5().parse("M０００４２").is_err());
    }

    #[test]
    fn numbers_are_zero_padded() {
        assert_eq!(m5().number(42).unwrap().to_string(), "M00042");
        assert_eq!(
            MemberNumberFormat::default().number(1).unwrap().to_string(),
            "00001"
        );
        assert_eq!(m5().number(0), Err(MemberNumberError::Zero));
        assert_eq!(
            m5().number(100_000).unwrap_err().to_string(),
            "member number 100000 does not fit in 5 digits"
        );
        assert_eq!(m5().number(99_999).unwrap().value(), 99_999);
        let nine = MemberNumberFormat::new("", 9).unwrap();
        assert!(nine.number(u32::MAX).is_err());
        assert!(nine.number(999_999_999).is_ok());
    }

    #[test]
    fn formats_are_validated() {
        let err = |p: &str, d: u8| MemberNumberFormat::new(p, d).unwrap_err().to_string();
        assert_eq!(
            err("m", 5),
            "member number prefix 'm' must be 0 to 4 letters A-Z"
        );
        assert_eq!(
            err("MEMBR", 5),
            "member number prefix 'MEMBR' must be 0 to 4 letters A-Z"
        );
        assert_eq!(
            err("M1", 5),
            "member number prefix 'M1' must be 0 to 4 letters A-Z"
        );
        assert_eq!(
            err("Ö", 5),
            "member number prefix 'Ö' must be 0 to 4 letters A-Z"
        );
        assert_eq!(err("M", 2), "member numbers must have 3 to 9 digits, not 2");
        assert_eq!(
            err("M", 10),
            "member numbers must have 3 to 9 digits, not 10"
        );
    }

    #[test]
    fn format_config_has_defaults_and_no_unknown_keys() {
        let format: MemberNumberFormat = serde_json::from_str("{}").unwrap();
        assert_eq!(format, MemberNumberFormat::default());
        assert_eq!((format.prefix(), format.digits()), ("", 5));
        let format: MemberNumberFormat = serde_json::from_str(r#"{"prefix": "M"}"#).unwrap();
        assert_eq!(format, m5());
        let err = |json: &str| {
            serde_json::from_str::<MemberNumberFormat>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"prefix": "M", "digit": 5}"#).contains("unknown field `digit`"));
        assert!(err(r#"{"digits": 12}"#).contains("member numbers must have 3 to 9 digits, not 12"));
        assert_eq!(
            serde_json::to_string(&m5()).unwrap(),
            r#"{"prefix":"M","digits":5}"#
        );
    }

    #[test]
    fn numbers_are_strings_on_the_wire() {
        let number = m5().number(42).unwrap();
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, "\"M00042\"");
        assert_eq!(serde_json::from_str::<MemberNumber>(&json).unwrap(), number);
        assert_eq!(
            MemberNumber::parse_any("00042").unwrap().format(),
            &MemberNumberFormat::default()
        );
        assert_eq!(
            MemberNumber::parse_any("M-42").unwrap_err().to_string(),
            "member number 'M-42' is not valid: expected letters followed by 3 to 9 digits"
        );
        assert!(serde_json::from_str::<MemberNumber>("\"M00000\"").is_err());
        assert!(serde_json::from_str::<MemberNumber>("\"ABCDE00001\"").is_err());
    }
}
