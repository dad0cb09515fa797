//! Units of measure and the dimension each one measures.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::QuantityError;
use crate::text::excerpt;

/// What a quantity measures; units convert only within one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Count,
    Mass,
    Volume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Unit {
    Each,
    Gram,
    Kilogram,
    Millilitre,
    Litre,
}

impl Unit {
    /// Reads a unit symbol in any case: `st`, `stk`, `pcs`, `pc`, `each`, `g`, `kg`, `ml`, `l`.
    pub fn parse(input: &str) -> Result<Unit, QuantityError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "st" | "stk" | "pcs" | "pc" | "each" => Ok(Unit::Each),
            "g" => Ok(Unit::Gram),
            "kg" => Ok(Unit::Kilogram),
            "ml" => Ok(Unit::Millilitre),
            "l" => Ok(Unit::Litre),
            _ => Err(QuantityError::UnknownUnit {
                unit: excerpt(input.trim()),
            }),
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Each => "pcs",
            Unit::Gram => "g",
            Unit::Kilogram => "kg",
            Unit::Millilitre => "ml",
            Unit::Litre => "l",
        }
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Unit::Each => Dimension::Count,
            Unit::Gram | Unit::Kilogram => Dimension::Mass,
            Unit::Millilitre | Unit::Litre => Dimension::Volume,
        }
    }

    /// How many of the dimension's smallest unit (piece, gram, millilitre) one of this is.
    pub(super) fn base_factor(self) -> Decimal {
        match self {
            Unit::Each | Unit::Gram | Unit::Millilitre => Decimal::ONE,
            Unit::Kilogram | Unit::Litre => Decimal::ONE_THOUSAND,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for Unit {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Unit::parse(s)
    }
}

impl TryFrom<String> for Unit {
    type Error = QuantityError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Unit::parse(&value)
    }
}

impl From<Unit> for String {
    fn from(value: Unit) -> Self {
        value.symbol().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_symbols_in_any_case() {
        for (text, unit) in [
            ("st", Unit::Each),
            ("STK", Unit::Each),
            ("pcs", Unit::Each),
            ("Each", Unit::Each),
            ("g", Unit::Gram),
            ("KG", Unit::Kilogram),
            ("ml", Unit::Millilitre),
            ("L", Unit::Litre),
        ] {
            assert_eq!(Unit::parse(text), Ok(unit), "{text}");
        }
        assert_eq!(
            Unit::parse("lb").unwrap_err().to_string(),
            "'lb' is not a unit: use st, pcs, g, kg, ml or l"
        );
    }

    #[test]
    fn dimensions_group_convertible_units() {
        assert_eq!(Unit::Gram.dimension(), Unit::Kilogram.dimension());
        assert_eq!(Unit::Millilitre.dimension(), Dimension::Volume);
        assert_ne!(Unit::Each.dimension(), Unit::Gram.dimension());
        assert_eq!(Unit::Litre.base_factor(), Decimal::ONE_THOUSAND);
    }
}
