//! Amounts of money in one currency, exact to the minor unit.

mod allocate;
mod currency;
mod rounding;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::number::{parse_decimal, NumberError};
use crate::text::excerpt;

pub use currency::Currency;
pub use rounding::{CashRounding, RoundingMode};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("'{code}' is not a currency code: expected three letters such as SEK")]
    InvalidCurrencyCode { code: String },
    #[error("currency {code} is not supported")]
    UnknownCurrency { code: String },
    #[error("amount '{input}' is not valid: {reason}")]
    InvalidAmount { input: String, reason: NumberError },
    #[error("{currency} amounts have {}, '{input}' has {found}", decimals_phrase(*.max))]
    TooManyDecimals {
        input: String,
        currency: Currency,
        max: u32,
        found: u32,
    },
    #[error("'{input}' is not an amount with a currency, such as '12.50 SEK'")]
    MissingCurrency { input: String },
    #[error("cannot combine {left} and {right} amounts")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("the amount is too large")]
    Overflow,
    #[error("{amount} {currency} is not a whole number of minor units ({})", .currency.minor_unit())]
    NotWholeMinorUnits { amount: Decimal, currency: Currency },
    #[error("cash coin {coin} cannot be used for {currency}: it must be positive and a whole number of minor units")]
    InvalidCoin { coin: Decimal, currency: Currency },
    #[error("cannot split an amount without any shares")]
    NoWeights,
    #[error("cannot split an amount by a negative share ({weight})")]
    NegativeWeight { weight: Decimal },
    #[error("cannot split an amount when all shares are zero")]
    ZeroWeights,
}

fn decimals_phrase(max: u32) -> String {
    match max {
        0 => "no decimals".to_owned(),
        1 => "at most 1 decimal".to_owned(),
        n => format!("at most {n} decimals"),
    }
}

/// An amount in a currency. The amount may carry more precision than the minor unit (a unit
/// price times a weight, before rounding); `round`, `to_minor` and the cash helpers say where
/// whole minor units are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    /// Amounts with fewer decimals than the currency are padded (12.5 SEK is kept as 12.50) so
    /// they print and serialize the way a receipt shows them.
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        let mut amount = amount;
        if amount.scale() < currency.minor_units() {
            amount.rescale(currency.minor_units());
        }
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    /// Reads an amount as typed at a till: `12,50`, `12.50`, `-3`. At most as many decimals as
    /// the currency has; no thousands separators.
    pub fn parse(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        let parsed = parse_decimal(input, true).map_err(|reason| MoneyError::InvalidAmount {
            input: excerpt(input.trim()),
            reason,
        })?;
        if parsed.decimals > currency.minor_units() {
            return Err(MoneyError::TooManyDecimals {
                input: excerpt(input.trim()),
                currency,
                max: currency.minor_units(),
                found: parsed.decimals,
            });
        }
        Ok(Money::new(parsed.value, currency))
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money::new(Decimal::new(minor, currency.minor_units()), currency)
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (öre, cents), as stored in integer columns.
    pub fn to_minor(&self) -> Result<i64, MoneyError> {
        let scaled = self
            .amount
            .checked_mul(Decimal::from(10_i64.pow(self.currency.minor_units())))
            .ok_or(MoneyError::Overflow)?;
        if !scaled.fract().is_zero() {
            return Err(MoneyError::NotWholeMinorUnits {
                amount: self.amount,
                currency: self.currency,
            });
        }
        scaled.to_i64().ok_or(MoneyError::Overflow)
    }

    pub fn is_whole_minor_units(&self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_units()
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    #[must_use]
    pub fn abs(&self) -> Money {
        Money::new(self.amount.abs(), self.currency)
    }

    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Orders two amounts; amounts in different currencies have no order.
    pub fn compare(&self, other: Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Multiplies by a quantity, a unit price factor or a discount and rounds the result to
    /// minor units.
    pub fn mul_decimal(&self, factor: Decimal, mode: RoundingMode) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency).round(mode))
    }

    /// Rounds to whole minor units.
    #[must_use]
    pub fn round(&self, mode: RoundingMode) -> Money {
        let amount = self
            .amount
            .round_dp_with_strategy(self.currency.minor_units(), mode.strategy());
        Money::new(amount, self.currency)
    }

    /// Adds up amounts of one currency. The currency is given so that an empty list has a
    /// total too.
    pub fn sum<I>(currency: Currency, items: I) -> Result<Money, MoneyError>
    where
        I: IntoIterator,
        I::Item: Borrow<Money>,
    {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |total, item| {
                total.checked_add(*item.borrow())
            })
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl std::ops::Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        Money::new(-self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut amount = self.amount;
        if amount.scale() < self.currency.minor_units() {
            amount.rescale(self.currency.minor_units());
        }
        write!(f, "{amount} {}", self.currency)
    }
}

/// Reads what `Display` writes: `12.50 SEK`.
impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let Some((amount, code)) = trimmed.rsplit_once(char::is_whitespace) else {
            return Err(MoneyError::MissingCurrency {
                input: excerpt(trimmed),
            });
        };
        let currency = Currency::parse(code)?;
        Money::parse(amount, currency)
    }
}
