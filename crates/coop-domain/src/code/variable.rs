//! In-store variable-measure codes: EAN-13 codes with a prefix in 20-29 that carry an item
//! number and a weight, price or count printed by the shop's scale. The layout is national and
//! differs between retailers, so it is configured as rules rather than built in.

use std::fmt;

use rust_decimal::Decimal;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::price_check::price_check_digit;
use super::{CodeError, Gtin, GtinKind};
use crate::quantity::{Quantity, Unit};

/// What the value digits of a variable-measure code mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    WeightGrams,
    PriceMinorUnits,
    Count,
}

/// One layout as written in config. Positions count from 1 at the leftmost of the 13 digits, as
/// layouts are drawn in GS1 and national documents; position 13 is the code's own check digit.
///
/// ```json
/// {"prefix": ["23"], "item_start": 3, "item_len": 6, "value_start": 9, "value_len": 4,
///  "value_kind": "weight_grams"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableMeasureRuleConfig {
    /// One prefix (`"23"`) or several (`["20", "21"]`).
    #[serde(deserialize_with = "one_or_many")]
    pub prefix: Vec<String>,
    pub item_start: u8,
    pub item_len: u8,
    pub value_start: u8,
    pub value_len: u8,
    pub value_kind: ValueKind,
    /// Position of the GS1 price/weight verifier digit over the value digits, if the layout has
    /// one (only defined for 4- and 5-digit values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_check_digit: Option<u8>,
    /// What one step of the value is worth in the kind's unit, for layouts with an implied
    /// decimal point: Sweden's prefix 24 carries kilograms with two decimals, i.e. steps of
    /// 10 g; prefix 22 carries whole kronor, i.e. steps of 100 öre.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub value_multiplier: u32,
}

fn one() -> u32 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_one(value: &u32) -> bool {
    *value == 1
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct PrefixVisitor;

    impl<'de> Visitor<'de> for PrefixVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a prefix such as \"23\" or a list of prefixes")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Vec<String>, E> {
            Ok(vec![value.to_owned()])
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut prefixes = Vec::new();
            while let Some(prefix) = seq.next_element::<String>()? {
                prefixes.push(prefix);
            }
            Ok(prefixes)
        }
    }

    deserializer.deserialize_any(PrefixVisitor)
}

/// A validated layout. Deserializes from [`VariableMeasureRuleConfig`]'s JSON and reports a
/// layout that cannot work (overlapping fields, positions past the code) when loaded, not when
/// the first item is scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "VariableMeasureRuleConfig",
    into = "VariableMeasureRuleConfig"
)]
pub struct VariableMeasureRule {
    config: VariableMeasureRuleConfig,
}

/// The last position a field may use; 13 is the EAN-13 check digit.
const LAST_FIELD_POSITION: u8 = 12;

impl VariableMeasureRule {
    pub fn new(config: VariableMeasureRuleConfig) -> Result<VariableMeasureRule, CodeError> {
        let invalid = |reason: String| Err(CodeError::InvalidRule { reason });
        if config.prefix.is_empty() {
            return invalid("it needs at least one prefix".into());
        }
        for prefix in &config.prefix {
            let digits = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit());
            if !digits || prefix.len() > usize::from(LAST_FIELD_POSITION) {
                return invalid(format!("prefix '{prefix}' must be 1 to 12 digits"));
            }
            if !(prefix.starts_with('2') || prefix.starts_with("02")) {
                return invalid(format!(
                    "prefix '{prefix}' is not an in-store prefix: variable-measure codes start with 20-29 (or 02 for UPC-A)"
                ));
            }
        }
        let item = Field::new("item", config.item_start, config.item_len)?;
        let value = Field::new("value", config.value_start, config.value_len)?;
        if value.len > 9 {
            return invalid(format!(
                "the value has {} digits; at most 9 are supported",
                value.len
            ));
        }
        if item.overlaps(&value) {
            return invalid(format!("{item} overlap {value}"));
        }
        let longest_prefix = config.prefix.iter().map(String::len).max().unwrap_or(0);
        let prefix_field = Field {
            name: "the prefix",
            start: 1,
            len: u8::try_from(longest_prefix).unwrap_or(LAST_FIELD_POSITION),
        };
        if value.overlaps(&prefix_field) {
            return invalid(format!("{value} overlap the prefix"));
        }
        if let Some(position) = config.price_check_digit {
            if !matches!(value.len, 4 | 5) {
                return invalid(format!(
                    "a price check digit needs a 4- or 5-digit value, not {} digits",
                    value.len
                ));
            }
            let check = Field {
                name: "price check",
                start: position,
                len: 1,
            };
            if position == 0
                || position > LAST_FIELD_POSITION
                || check.overlaps(&item)
                || check.overlaps(&value)
                || check.overlaps(&prefix_field)
            {
                return invalid(format!(
                    "the price check digit at position {position} must lie within positions 1-12, outside the prefix, item and value digits"
                ));
            }
        }
        if config.value_multiplier == 0 {
            return invalid("value_multiplier must be at least 1".into());
        }
        Ok(VariableMeasureRule { config })
    }

    pub fn config(&self) -> &VariableMeasureRuleConfig {
        &self.config
    }

    /// Reads `gtin` with this layout: `Ok(None)` when it is not an EAN-13 with one of this
    /// rule's prefixes, an error when it is but its price check digit is wrong.
    pub fn decode(&self, gtin: &Gtin) -> Result<Option<VariableMeasureCode>, CodeError> {
        let digits = gtin.as_str();
        if gtin.kind() != GtinKind::Gtin13 {
            return Ok(None);
        }
        let Some(prefix) = self
            .config
            .prefix
            .iter()
            .find(|prefix| digits.starts_with(prefix.as_str()))
        else {
            return Ok(None);
        };
        let config = &self.config;
        let item = field_digits(digits, config.item_start, config.item_len)?;
        let value_digits = field_digits(digits, config.value_start, config.value_len)?;
        if let Some(position) = config.price_check_digit {
            let field: Vec<u8> = value_digits.bytes().map(|b| b - b'0').collect();
            let found = field_digits(digits, position, 1)?
                .bytes()
                .next()
                .map_or(0, |b| b - b'0');
            if let Some(expected) = price_check_digit(&field) {
                if found != expected {
                    return Err(CodeError::PriceCheckDigit { found, expected });
                }
            }
        }
        let too_large = || CodeError::ValueTooLarge {
            digits: value_digits.to_owned(),
        };
        let raw: u64 = value_digits.parse().map_err(|_| too_large())?;
        let scaled = raw
            .checked_mul(u64::from(config.value_multiplier))
            .ok_or_else(too_large)?;
        let value = match config.value_kind {
            ValueKind::WeightGrams => MeasuredValue::Weight(
                Quantity::new(Decimal::from(scaled), Unit::Gram).map_err(|_| too_large())?,
            ),
            ValueKind::PriceMinorUnits => {
                MeasuredValue::Price(i64::try_from(scaled).map_err(|_| too_large())?)
            }
            ValueKind::Count => {
                MeasuredValue::Count(u32::try_from(scaled).map_err(|_| too_large())?)
            }
        };
        Ok(Some(VariableMeasureCode {
            prefix: prefix.clone(),
            item: item.to_owned(),
            value,
            gtin: gtin.clone(),
        }))
    }
}

impl TryFrom<VariableMeasureRuleConfig> for VariableMeasureRule {
    type Error = CodeError;

    fn try_from(config: VariableMeasureRuleConfig) -> Result<Self, Self::Error> {
        VariableMeasureRule::new(config)
    }
}

impl From<VariableMeasureRule> for VariableMeasureRuleConfig {
    fn from(rule: VariableMeasureRule) -> Self {
        rule.config
    }
}

fn field_digits(digits: &str, start: u8, len: u8) -> Result<&str, CodeError> {
    let from = usize::from(start).saturating_sub(1);
    digits
        .get(from..from + usize::from(len))
        .ok_or_else(|| CodeError::InvalidRule {
            reason: format!(
                "positions {start}-{} lie outside the code",
                from + usize::from(len)
            ),
        })
}

/// A run of digit positions, for validating layouts.
#[derive(Debug)]
struct Field {
    name: &'static str,
    start: u8,
    len: u8,
}

impl Field {
    fn new(name: &'static str, start: u8, len: u8) -> Result<Field, CodeError> {
        let end = u16::from(start) + u16::from(len);
        if start == 0 || len == 0 || end - 1 > u16::from(LAST_FIELD_POSITION) {
            return Err(CodeError::InvalidRule {
                reason: format!(
                    "{name} digits start at {start} and are {len} long; they must lie within positions 1-12"
                ),
            });
        }
        Ok(Field { name, start, len })
    }

    fn end(&self) -> u16 {
        u16::from(self.start) + u16::from(self.len) - 1
    }

    fn overlaps(&self, other: &Field) -> bool {
        other.len > 0
            && self.len > 0
            && u16::from(self.start) <= other.end()
            && u16::from(other.start) <= self.end()
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} digits {}-{}", self.name, self.start, self.end())
    }
}

/// The value carried by a variable-measure code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasuredValue {
    Weight(Quantity),
    /// In minor units of the shop's currency; the code itself does not say which currency.
    Price(i64),
    Count(u32),
}

/// A decoded variable-measure code: which item, and how much of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableMeasureCode {
    /// The rule prefix that matched.
    pub prefix: String,
    /// The item digits, as printed (leading zeros kept): look the item up by these.
    pub item: String,
    pub value: MeasuredValue,
    /// The whole scanned code.
    pub gtin: Gtin,
}
