//! Price look-up codes typed at the till for loose produce.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{digits_only, CodeError};

/// A PLU code of 3 to 5 digits. IFPS produce codes have 4 digits (4011 is bananas); the same
/// code with a leading 9 marks the organic variant (94011).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plu(String);

impl Plu {
    pub fn parse(input: &str) -> Result<Plu, CodeError> {
        let digits = digits_only(input)?;
        if !(3..=5).contains(&digits.len()) {
            return Err(CodeError::PluLength { len: digits.len() });
        }
        Ok(Plu(digits.to_owned()))
    }

    pub fn is_organic(&self) -> bool {
        self.0.len() == 5 && self.0.starts_with('9')
    }

    /// The conventional produce code: 4011 for both 4011 and 94011.
    pub fn base_code(&self) -> &str {
        if self.is_organic() {
            &self.0[1..]
        } else {
            &self.0
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Plu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Plu {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plu::parse(s)
    }
}

impl TryFrom<String> for Plu {
    type Error = CodeError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Plu::parse(&value)
    }
}

impl From<Plu> for String {
    fn from(value: Plu) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_to_five_digits() {
        assert_eq!(Plu::parse("4011").unwrap().as_str(), "4011");
        assert_eq!(Plu::parse("042").unwrap().as_str(), "042");
        assert!(!Plu::parse("4011").unwrap().is_organic());
        let organic = Plu::parse("94011").unwrap();
        assert!(organic.is_organic());
        assert_eq!(organic.base_code(), "4011");
        assert!(!Plu::parse("84011").unwrap().is_organic());
    }

    #[test]
    fn rejects_other_lengths_and_letters() {
        let err = |s: &str| Plu::parse(s).unwrap_err().to_string();
        assert_eq!(err("12"), "a PLU has 3 to 5 digits, this one has 2");
        assert_eq!(err("123456"), "a PLU has 3 to 5 digits, this one has 6");
        assert_eq!(err("40a1"), "'a' at position 3 is not a digit");
        assert!(serde_json::from_str::<Plu>("\"12\"").is_err());
        assert_eq!(
            serde_json::to_string(&Plu::parse("4011").unwrap()).unwrap(),
            "\"4011\""
        );
    }
}
