//! Product codes as they reach the till: scanned barcodes (GTINs and in-store variable-measure
//! codes), typed PLU codes, and the shop's own SKUs.

mod gtin;
mod plu;
mod price_check;
mod sku;
mod variable;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use gtin::{Gtin, GtinKind};
pub use plu::Plu;
pub use sku::Sku;
pub use variable::{
    MeasuredValue, ValueKind, VariableMeasureCode, VariableMeasureRule, VariableMeasureRuleConfig,
};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    #[error("the code is empty")]
    Empty,
    #[error("'{found}' at position {position} is not a digit")]
    NotADigit { found: char, position: usize },
    #[error("a GTIN has 8, 12, 13 or 14 digits, this one has {len}")]
    GtinLength { len: usize },
    #[error("a GTIN without its check digit has 7, 11, 12 or 13 digits, this one has {len}")]
    GtinBodyLength { len: usize },
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { found: u8, expected: u8 },
    #[error("a PLU has 3 to 5 digits, this one has {len}")]
    PluLength { len: usize },
    #[error("a scanned code of {len} digits is neither a GTIN (8, 12, 13 or 14 digits) nor a PLU (3 to 5 digits)")]
    ScanLength { len: usize },
    #[error("price check digit is {found}, expected {expected}")]
    PriceCheckDigit { found: u8, expected: u8 },
    #[error("the embedded value {digits} is too large")]
    ValueTooLarge { digits: String },
    #[error("an SKU cannot be empty")]
    SkuEmpty,
    #[error("an SKU has at most 64 characters, this one has {len}")]
    SkuTooLong { len: usize },
    #[error("an SKU cannot contain control characters (one is at position {position})")]
    SkuControlCharacter { position: usize },
    #[error("variable-measure rule is not valid: {reason}")]
    InvalidRule { reason: String },
}

/// Trims the input (scanners often send a trailing newline) and checks it is ASCII digits.
fn digits_only(input: &str) -> Result<&str, CodeError> {
    let leading = input.chars().take_while(|c| c.is_whitespace()).count();
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(CodeError::Empty);
    }
    if let Some((index, found)) = trimmed
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_digit())
    {
        return Err(CodeError::NotADigit {
            found,
            position: leading + index + 1,
        });
    }
    Ok(trimmed)
}

/// Anything that identifies a product at the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductCode {
    Gtin(Gtin),
    Plu(Plu),
    Sku(Sku),
    VariableMeasure(VariableMeasureCode),
}

impl ProductCode {
    /// Classifies what the scanner or the keypad produced: a 13-digit code whose prefix matches
    /// one of `rules` is a variable-measure code (the first matching rule wins), other 8-, 12-,
    /// 13- and 14-digit codes are GTINs, 3 to 5 digits are a PLU. Check digits are verified.
    /// Text that is not all digits is refused; look it up with [`ProductCode::parse_sku`].
    pub fn parse_scan(
        input: &str,
        rules: &[VariableMeasureRule],
    ) -> Result<ProductCode, CodeError> {
        let digits = digits_only(input)?;
        match digits.len() {
            13 => {
                let gtin = Gtin::parse(digits)?;
                for rule in rules {
                    if let Some(code) = rule.decode(&gtin)? {
                        return Ok(ProductCode::VariableMeasure(code));
                    }
                }
                Ok(ProductCode::Gtin(gtin))
            }
            8 | 12 | 14 => Gtin::parse(digits).map(ProductCode::Gtin),
            3..=5 => Plu::parse(digits).map(ProductCode::Plu),
            len => Err(CodeError::ScanLength { len }),
        }
    }

    /// The caller has asked for an SKU (a search box, a supplier's order line).
    pub fn parse_sku(input: &str) -> Result<ProductCode, CodeError> {
        Sku::parse(input).map(ProductCode::Sku)
    }

    /// The code as scanned or typed.
    pub fn as_str(&self) -> &str {
        match self {
            ProductCode::Gtin(gtin) => gtin.as_str(),
            ProductCode::Plu(plu) => plu.as_str(),
            ProductCode::Sku(sku) => sku.as_str(),
            ProductCode::VariableMeasure(code) => code.gtin.as_str(),
        }
    }
}

impl std::fmt::Display for ProductCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
