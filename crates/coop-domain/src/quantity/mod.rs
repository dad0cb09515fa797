//! Quantities of goods: pieces, weights and volumes.

mod unit;

#[cfg(test)]
mod proptests;

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::number::{parse_decimal, NumberError};
use crate::text::excerpt;

pub use unit::{Dimension, Unit};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    #[error("quantity '{input}' is not valid: {reason}")]
    InvalidNumber { input: String, reason: NumberError },
    #[error("quantity '{input}' needs a number before the unit")]
    MissingNumber { input: String },
    #[error("'{unit}' is not a unit: use st, pcs, g, kg, ml or l")]
    UnknownUnit { unit: String },
    #[error("a quantity cannot be negative ({value})")]
    Negative { value: Decimal },
    #[error("a number of pieces must be whole, not {value}")]
    FractionalPieces { value: Decimal },
    #[error("cannot convert {from} to {to}: they measure different things")]
    IncompatibleUnits { from: Unit, to: Unit },
    #[error("the quantity is too large")]
    Overflow,
    #[error("{value} {from} is too precise to express in {to}")]
    TooPrecise {
        value: Decimal,
        from: Unit,
        to: Unit,
    },
}

/// A non-negative amount of something; pieces are whole. Equality is as written: 1 kg and
/// 1000 g are different values (convert first to compare them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "QuantityRepr", into = "QuantityRepr")]
pub struct Quantity {
    value: Decimal,
    unit: Unit,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuantityRepr {
    value: Decimal,
    unit: Unit,
}

impl Quantity {
    pub fn new(value: Decimal, unit: Unit) -> Result<Quantity, QuantityError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(QuantityError::Negative { value });
        }
        if unit == Unit::Each && !value.fract().is_zero() {
            return Err(QuantityError::FractionalPieces { value });
        }
        // Drop the sign of a negative zero so that it prints as 0.
        Ok(Quantity {
            value: value.abs().normalize(),
            unit,
        })
    }

    pub fn each(count: u32) -> Quantity {
        Quantity {
            value: Decimal::from(count),
            unit: Unit::Each,
        }
    }

    pub fn zero(unit: Unit) -> Quantity {
        Quantity {
            value: Decimal::ZERO,
            unit,
        }
    }

    /// Reads `1.5 kg`, `250g`, `0,75 l`, or a bare number of pieces: `3`.
    pub fn parse(input: &str) -> Result<Quantity, QuantityError> {
        let trimmed = input.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',' || c == '-'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        if number.trim().is_empty() && !unit.is_empty() {
            return Err(QuantityError::MissingNumber {
                input: excerpt(trimmed),
            });
        }
        let parsed =
            parse_decimal(number, true).map_err(|reason| QuantityError::InvalidNumber {
                input: excerpt(trimmed),
                reason,
            })?;
        let unit = if unit.trim().is_empty() {
            Unit::Each
        } else {
            Unit::parse(unit)?
        };
        Quantity::new(parsed.value, unit)
    }

    pub fn value(&self) -> Decimal {
        self.value
    }

    pub fn unit(&self) -> Unit {
        self.unit
    }

    pub fn is_zero(&self) -> bool {
        self.value.is_zero()
    }

    /// The same amount in another unit of the same dimension (g <-> kg, ml <-> l).
    pub fn convert_to(&self, unit: Unit) -> Result<Quantity, QuantityError> {
        if self.unit.dimension() != unit.dimension() {
            return Err(QuantityError::IncompatibleUnits {
                from: self.unit,
                to: unit,
            });
        }
        if self.unit == unit {
            return Ok(*self);
        }
        let base = self
            .value
            .checked_mul(self.unit.base_factor())
            .ok_or(QuantityError::Overflow)?;
        let converted = base
            .checked_div(unit.base_factor())
            .ok_or(QuantityError::Overflow)?;
        // A division past 28 decimals rounds; refuse rather than lose the amount.
        if converted.checked_mul(unit.base_factor()) != Some(base) {
            return Err(QuantityError::TooPrecise {
                value: self.value,
                from: self.unit,
                to: unit,
            });
        }
        Quantity::new(converted, unit)
    }

    /// Adds another quantity, converted into this one's unit: 1 kg + 250 g = 1.25 kg.
    pub fn checked_add(&self, other: Quantity) -> Result<Quantity, QuantityError> {
        let other = other.convert_to(self.unit)?;
        let sum = self
            .value
            .checked_add(other.value)
            .ok_or(QuantityError::Overflow)?;
        Quantity::new(sum, self.unit)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl TryFrom<QuantityRepr> for Quantity {
    type Error = QuantityError;

    fn try_from(value: QuantityRepr) -> Result<Self, Self::Error> {
        Quantity::new(value.value, value.unit)
    }
}

impl From<Quantity> for QuantityRepr {
    fn from(value: Quantity) -> Self {
        QuantityRepr {
            value: value.value,
            unit: value.unit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn parses_the_ways_people_write_amounts() {
        assert_eq!(
            (q("1.5 kg").value(), q("1.5 kg").unit()),
            (dec("1.5"), Unit::Kilogram)
        );
        assert_eq!(
            (q("250g").value(), q("250g").unit()),
            (dec("250"), Unit::Gram)
        );
        assert_eq!((q("3").value(), q("3").unit()), (dec("3"), Unit::Each));
        assert_eq!(
            (q("0,75 l").value(), q("0,75 l").unit()),
            (dec("0.75"), Unit::Litre)
        );
        assert_eq!(q(" 500 ML ").unit(), Unit::Millilitre);
        assert_eq!(q("2 st"), Quantity::each(2));
        assert_eq!(q("2 pcs"), Quantity::each(2));
        assert_eq!(q("2 Each"), Quantity::each(2));
        assert_eq!(q("0 kg"), Quantity::zero(Unit::Kilogram));
    }

    #[test]
    fn rejects_what_cannot_be_weighed_or_counted() {
        let err = |s: &str| Quantity::parse(s).unwrap_err().to_string();
        assert_eq!(err("-1 kg"), "a quantity cannot be negative (-1)");
        assert_eq!(err("1.5"), "a number of pieces must be whole, not 1.5");
        assert_eq!(err("1.5 st"), "a number of pieces must be whole, not 1.5");
        assert_eq!(
            err("2 lb"),
            "'lb' is not a unit: use st, pcs, g, kg, ml or l"
        );
        assert_eq!(err("kg"), "quantity 'kg' needs a number before the unit");
        assert_eq!(err(""), "quantity '' is not valid: it is empty");
        assert_eq!(err("1,000.5 g"), "quantity '1,000.5 g' is not valid: it has more than one '.' or ','; thousands separators are not allowed");
        assert_eq!(
            err("1-2 kg"),
            "quantity '1-2 kg' is not valid: '-' at position 2 is not allowed"
        );
        assert!(Quantity::parse("1 k g").is_err());
    }

    #[test]
    fn converts_within_a_dimension() {
        assert_eq!(q("1.5 kg").convert_to(Unit::Gram), Ok(q("1500 g")));
        assert_eq!(q("250 g").convert_to(Unit::Kilogram), Ok(q("0.25 kg")));
        assert_eq!(q("750 ml").convert_to(Unit::Litre), Ok(q("0.75 l")));
        assert_eq!(q("2 l").convert_to(Unit::Millilitre), Ok(q("2000 ml")));
        assert_eq!(q("3").convert_to(Unit::Each), Ok(q("3")));
        assert_eq!(
            q("1 kg").convert_to(Unit::Litre).unwrap_err().to_string(),
            "cannot convert kg to l: they measure different things"
        );
        assert!(q("1 kg").convert_to(Unit::Each).is_err());
    }

    #[test]
    fn conversions_never_round() {
        let tiny = Quantity::new(Decimal::new(1, 28), Unit::Gram).unwrap();
        assert_eq!(
            tiny.convert_to(Unit::Kilogram),
            Err(QuantityError::TooPrecise {
                value: Decimal::new(1, 28),
                from: Unit::Gram,
                to: Unit::Kilogram
            })
        );
        let huge = Quantity::new(Decimal::MAX, Unit::Kilogram).unwrap();
        assert_eq!(huge.convert_to(Unit::Gram), Err(QuantityError::Overflow));
    }

    #[test]
    fn adds_with_conversion() {
        assert_eq!(q("1 kg").checked_add(q("250 g")), Ok(q("1.25 kg")));
        assert_eq!(q("250 g").checked_add(q("1 kg")), Ok(q("1250 g")));
        assert_eq!(q("2").checked_add(q("3 st")), Ok(q("5")));
        assert!(q("2").checked_add(q("3 kg")).is_err());
        let huge = Quantity::new(Decimal::MAX, Unit::Gram).unwrap();
        assert_eq!(huge.checked_add(q("1 g")), Err(QuantityError::Overflow));
    }

    #[test]
    fn displays_and_serializes() {
        assert_eq!(q("1.50 kg").to_string(), "1.5 kg");
        assert_eq!(q("3").to_string(), "3 pcs");
        assert_eq!(q("0,75 l").to_string(), "0.75 l");
        let json = serde_json::to_string(&q("1.5 kg")).unwrap();
        assert_eq!(json, r#"{"value":"1.5","unit":"kg"}"#);
        assert_eq!(
            serde_json::from_str::<Quantity>(&json).unwrap(),
            q("1.5 kg")
        );
        assert!(serde_json::from_str::<Quantity>(r#"{"value":"-1","unit":"kg"}"#).is_err());
        assert!(serde_json::from_str::<Quantity>(r#"{"value":"1.5","unit":"st"}"#).is_err());
        assert!(serde_json::from_str::<Quantity>(r#"{"value":"1","unit":"kg","x":0}"#).is_err());
        assert_eq!(serde_json::from_str::<Unit>("\"ST\"").unwrap(), Unit::Each);
    }
}
