//! VAT rates and the names of VAT classes.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::VatError;
use crate::number::parse_decimal;
use crate::text::excerpt;

/// A VAT percentage, at least 0 and below 100: `12` means 12 %. Written without the percent
/// sign on the wire ("12", "12.5"); kept normalized, so "12.0" and "12" are the same rate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VatRate(Decimal);

/// No real VAT rate is finer than this; more decimals are a typo.
const MAX_RATE_DECIMALS: u32 = 4;

impl VatRate {
    pub const ZERO: VatRate = VatRate(Decimal::ZERO);

    pub fn new(percent: Decimal) -> Result<VatRate, VatError> {
        let percent = percent.normalize();
        if percent < Decimal::ZERO || percent >= Decimal::ONE_HUNDRED {
            return Err(VatError::RateOutOfRange { percent });
        }
        if percent.scale() > MAX_RATE_DECIMALS {
            return Err(VatError::RateTooPrecise { percent });
        }
        Ok(VatRate(percent))
    }

    /// Reads "25", "12,5" or "6 %".
    pub fn parse(input: &str) -> Result<VatRate, VatError> {
        let trimmed = input.trim();
        let number = trimmed.strip_suffix('%').unwrap_or(trimmed);
        let parsed = parse_decimal(number, true).map_err(|reason| VatError::InvalidRate {
            input: excerpt(trimmed),
            reason,
        })?;
        VatRate::new(parsed.value)
    }

    /// The rate as a percentage: 12 for 12 %.
    pub fn percent(self) -> Decimal {
        self.0
    }

    /// The rate as a fraction: 0.12 for 12 %.
    pub fn fraction(self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }
}

impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VatRate({}%)", self.0)
    }
}

impl FromStr for VatRate {
    type Err = VatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VatRate::parse(s)
    }
}

impl TryFrom<String> for VatRate {
    type Error = VatError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        VatRate::parse(&value)
    }
}

impl From<VatRate> for String {
    fn from(value: VatRate) -> Self {
        value.to_string()
    }
}

/// The name of a VAT class as used in config and on products: `food`, `standard`, `books`.
/// Lowercase ASCII letters, digits, `-` and `_`, starting with a letter, at most 32 long.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VatClassId(String);

const MAX_CLASS_LEN: usize = 32;

impl VatClassId {
    pub fn parse(input: &str) -> Result<VatClassId, VatError> {
        let invalid = |reason| VatError::InvalidClassId {
            id: excerpt(input),
            reason,
        };
        let Some(first) = input.chars().next() else {
            return Err(invalid("it is empty"));
        };
        if input.chars().count() > MAX_CLASS_LEN {
            return Err(invalid("it is longer than 32 characters"));
        }
        if input.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(invalid("it must be lowercase"));
        }
        if !first.is_ascii_lowercase() {
            return Err(invalid("it must start with a letter a-z"));
        }
        if !input
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(invalid("only a-z, 0-9, '-' and '_' are allowed"));
        }
        if input.ends_with(['-', '_']) {
            return Err(invalid("it must not end with '-' or '_'"));
        }
        Ok(VatClassId(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VatClassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for VatClassId {
    type Err = VatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VatClassId::parse(s)
    }
}

impl TryFrom<String> for VatClassId {
    type Error = VatError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        VatClassId::parse(&value)
    }
}

impl From<VatClassId> for String {
    fn from(value: VatClassId) -> Self {
        value.0
    }
}

impl AsRef<str> for VatClassId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn parses_swedish_rates() {
        for (text, percent) in [
            ("25", "25"),
            ("12", "12"),
            ("6", "6"),
            ("12.5", "12.5"),
            ("12,50", "12.5"),
            ("0", "0"),
            (" 6 % ", "6"),
        ] {
            assert_eq!(
                VatRate::parse(text).unwrap().percent(),
                dec(percent),
                "{text}"
            );
        }
        assert_eq!(VatRate::parse("25").unwrap().fraction(), dec("0.25"));
        assert_eq!(
            VatRate::parse("12.0").unwrap(),
            VatRate::parse("12").unwrap()
        );
        assert_eq!(VatRate::parse("12.50").unwrap().to_string(), "12.5");
    }

    #[test]
    fn rejects_impossible_rates() {
        let err = |s: &str| VatRate::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("100"),
            "VAT rate 100% is out of range: it must be at least 0 and below 100"
        );
        assert_eq!(
            err("-1"),
            "VAT rate -1% is out of range: it must be at least 0 and below 100"
        );
        assert_eq!(
            err("12.00001"),
            "VAT rate 12.00001% has more than 4 decimals"
        );
        assert_eq!(
            err("twelve"),
            "VAT rate 'twelve' is not valid: 't' at position 1 is not allowed"
        );
        assert_eq!(err(""), "VAT rate '' is not valid: it is empty");
        assert_eq!(
            VatRate::new(dec("99.9999")).unwrap().percent(),
            dec("99.9999")
        );
    }

    #[test]
    fn rate_is_a_string_on_the_wire() {
        let rate: VatRate = serde_json::from_str("\"12.5\"").unwrap();
        assert_eq!(serde_json::to_string(&rate).unwrap(), "\"12.5\"");
        assert!(serde_json::from_str::<VatRate>("\"120\"").is_err());
        assert!(serde_json::from_str::<VatRate>("12").is_err());
    }

    #[test]
    fn class_ids_are_slugs() {
        assert_eq!(VatClassId::parse("food").unwrap().as_str(), "food");
        assert!(VatClassId::parse("reduced-2").is_ok());
        assert!(VatClassId::parse("take_away").is_ok());
        let err = |s: &str| VatClassId::parse(s).unwrap_err().to_string();
        assert_eq!(err(""), "VAT class '' is not valid: it is empty");
        assert_eq!(
            err("Food"),
            "VAT class 'Food' is not valid: it must be lowercase"
        );
        assert_eq!(
            err("2food"),
            "VAT class '2food' is not valid: it must start with a letter a-z"
        );
        assert_eq!(
            err("matvaror åäö"),
            "VAT class 'matvaror åäö' is not valid: only a-z, 0-9, '-' and '_' are allowed"
        );
        assert_eq!(
            err("food-"),
            "VAT class 'food-' is not valid: it must not end with '-' or '_'"
        );
        assert_eq!(
            err(&"a".repeat(33)),
            format!(
                "VAT class '{}' is not valid: it is longer than 32 characters",
                "a".repeat(33)
            )
        );
        assert!(serde_json::from_str::<VatClassId>("\"Food\"").is_err());
    }
}
