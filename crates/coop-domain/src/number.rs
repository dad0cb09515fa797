//! The one way numbers are read from text, shared by money, VAT rates and quantities, so that a
//! cashier typing `12,50` and a config file saying `"12.5"` meet the same rules everywhere.

use rust_decimal::Decimal;
use thiserror::Error;

/// Why a piece of text is not a plain decimal number. The messages complete a sentence such as
/// "amount '1 234' is not valid: …".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumberError {
    #[error("it is empty")]
    Empty,
    #[error("'{found}' at position {position} is not allowed")]
    UnexpectedCharacter { found: char, position: usize },
    #[error("a minus sign is not allowed here")]
    NegativeNotAllowed,
    #[error("it has more than one '.' or ','; thousands separators are not allowed")]
    SeveralSeparators,
    #[error("it needs digits before and after the decimal separator")]
    MissingDigits,
    #[error("it has too many digits")]
    TooManyDigits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedNumber {
    pub value: Decimal,
    /// Digits written after the separator, trailing zeros included: `12.50` has 2.
    pub decimals: u32,
}

/// A plain non-negative number as a person types it (`2`, `2,85`, `0.5`), by the rules of
/// [`parse_decimal`]: for a quantity whose unit is known from elsewhere (a product sold by the
/// kilo), where [`crate::quantity::Quantity::parse`] would read a bare number as pieces.
pub fn parse_non_negative(input: &str) -> Result<Decimal, NumberError> {
    parse_decimal(input, false).map(|n| n.value)
}

/// Reads `[-]digits[(.|,)digits]` with surrounding whitespace. Nothing else is accepted: no
/// `+`, no exponent, no grouping, no bare `.5`, so a mistyped amount is never silently misread.
pub(crate) fn parse_decimal(
    input: &str,
    allow_negative: bool,
) -> Result<ParsedNumber, NumberError> {
    let leading = input.chars().take_while(|c| c.is_whitespace()).count();
    let text = input.trim();
    if text.is_empty() {
        return Err(NumberError::Empty);
    }
    let (negative, body, offset) = match text.strip_prefix('-') {
        Some(rest) => (true, rest, leading + 1),
        None => (false, text, leading),
    };
    if negative && !allow_negative {
        return Err(NumberError::NegativeNotAllowed);
    }
    let mut mantissa: i128 = 0;
    let mut integer_digits = 0_u32;
    let mut decimals = 0_u32;
    let mut seen_separator = false;
    for (index, ch) in body.chars().enumerate() {
        if let Some(digit) = ch.to_digit(10) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(digit)))
                .ok_or(NumberError::TooManyDigits)?;
            if seen_separator {
                decimals += 1;
            } else {
                integer_digits += 1;
            }
        } else if ch == '.' || ch == ',' {
            if seen_separator {
                return Err(NumberError::SeveralSeparators);
            }
            seen_separator = true;
        } else {
            return Err(NumberError::UnexpectedCharacter {
                found: ch,
                position: offset + index + 1,
            });
        }
    }
    if integer_digits == 0 || (seen_separator && decimals == 0) {
        return Err(NumberError::MissingDigits);
    }
    let signed = if negative { -mantissa } else { mantissa };
    let value = Decimal::try_from_i128_with_scale(signed, decimals)
        .map_err(|_| NumberError::TooManyDigits)?;
    Ok(ParsedNumber { value, decimals })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn a_weight_typed_as_a_plain_number_keeps_its_decimals() {
        // A delivery of apples weighed at 2,85 kg: not pieces, so its decimals are kept.
        assert_eq!(
            parse_non_negative(" 2,85 ").unwrap(),
            Decimal::from_str("2.85").unwrap()
        );
        assert_eq!(parse_non_negative("3").unwrap(), Decimal::from(3));
        assert_eq!(
            parse_non_negative("-1"),
            Err(NumberError::NegativeNotAllowed)
        );
        assert!(parse_non_negative("2 kg").is_err());
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn reads_both_separators_and_sign() {
        assert_eq!(parse_decimal("12,50", true).unwrap().value, dec("12.50"));
        assert_eq!(parse_decimal("12.50", true).unwrap().decimals, 2);
        assert_eq!(parse_decimal(" -3 ", true).unwrap().value, dec("-3"));
        assert_eq!(parse_decimal("007", false).unwrap().value, dec("7"));
    }

    #[test]
    fn rejects_everything_else_precisely() {
        assert_eq!(parse_decimal("  ", true), Err(NumberError::Empty));
        assert_eq!(
            parse_decimal("-1", false),
            Err(NumberError::NegativeNotAllowed)
        );
        assert_eq!(
            parse_decimal("1,234.50", true),
            Err(NumberError::SeveralSeparators)
        );
        assert_eq!(
            parse_decimal(" 1 234", true),
            Err(NumberError::UnexpectedCharacter {
                found: ' ',
                position: 3
            })
        );
        assert_eq!(
            parse_decimal("+1", true),
            Err(NumberError::UnexpectedCharacter {
                found: '+',
                position: 1
            })
        );
        assert_eq!(parse_decimal(".5", true), Err(NumberError::MissingDigits));
        assert_eq!(parse_decimal("5.", true), Err(NumberError::MissingDigits));
        assert_eq!(parse_decimal("-", true), Err(NumberError::MissingDigits));
        assert_eq!(
            parse_decimal(&"9".repeat(40), true),
            Err(NumberError::TooManyDigits)
        );
        assert_eq!(
            parse_decimal(&format!("0.{}", "1".repeat(29)), true),
            Err(NumberError::TooManyDigits)
        );
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            NumberError::SeveralSeparators.to_string(),
            "it has more than one '.' or ','; thousands separators are not allowed"
        );
        assert_eq!(
            NumberError::UnexpectedCharacter {
                found: 'x',
                position: 2
            }
            .to_string(),
            "'x' at position 2 is not allowed"
        );
    }
}
