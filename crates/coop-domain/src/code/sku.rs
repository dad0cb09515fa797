//! The shop's own stock-keeping units.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::CodeError;

/// A stock-keeping unit: whatever text the shop or a supplier uses (`OAT-1KG`, `Havre 1 kg`),
/// 1 to 64 characters without control characters. Surrounding whitespace is dropped so that
/// `"OAT "` and `"OAT"` are the same SKU.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

const MAX_SKU_CHARS: usize = 64;

impl Sku {
    pub fn parse(input: &str) -> Result<Sku, CodeError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(CodeError::SkuEmpty);
        }
        let len = trimmed.chars().count();
        if len > MAX_SKU_CHARS {
            return Err(CodeError::SkuTooLong { len });
        }
        if let Some(index) = trimmed.chars().position(char::is_control) {
            return Err(CodeError::SkuControlCharacter {
                position: index + 1,
            });
        }
        Ok(Sku(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Sku {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sku::parse(s)
    }
}

impl TryFrom<String> for Sku {
    type Error = CodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sku::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(value: Sku) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_free_text_trimmed() {
        assert_eq!(Sku::parse("  OAT-1KG ").unwrap().as_str(), "OAT-1KG");
        assert_eq!(
            Sku::parse("Havregryn 1 kg").unwrap().as_str(),
            "Havregryn 1 kg"
        );
        assert_eq!(
            Sku::parse(&"å".repeat(64))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            64
        );
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        let err = |s: &str| Sku::parse(s).unwrap_err().to_string();
        assert_eq!(err(" \t "), "an SKU cannot be empty");
        assert_eq!(
            err(&"x".repeat(65)),
            "an SKU has at most 64 characters, this one has 65"
        );
        assert_eq!(
            err("OAT\u{7}1"),
            "an SKU cannot contain control characters (one is at position 4)"
        );
        assert_eq!(
            err("A\nB"),
            "an SKU cannot contain control characters (one is at position 2)"
        );
        assert!(serde_json::from_str::<Sku>("\"\"").is_err());
        assert_eq!(
            serde_json::from_str::<Sku>("\" X \"").unwrap().as_str(),
            "X"
        );
    }
}
