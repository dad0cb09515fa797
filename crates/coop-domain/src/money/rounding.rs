//! Rounding to minor units and to the smallest cash coin.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::{Money, MoneyError};

/// How a value exactly between two candidates, or any value for the directed modes, is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Halves go away from zero: 12.50 -> 13, -12.50 -> -13. What Swedish cash rounding and
    /// VAT on receipts use.
    HalfUp,
    /// Halves go to the even neighbour (banker's rounding), unbiased over many roundings.
    HalfEven,
    /// Truncates: never gives more than the exact value's magnitude.
    TowardZero,
    /// Anything past a whole unit goes up in magnitude.
    AwayFromZero,
}

impl RoundingMode {
    pub(super) fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingMode::TowardZero => RoundingStrategy::ToZero,
            RoundingMode::AwayFromZero => RoundingStrategy::AwayFromZero,
        }
    }
}

/// The outcome of rounding a cash total: what the customer pays and what that adds to the
/// exact amount. `rounded - original == difference` holds exactly, so the difference can be
/// booked (öresavrundning) without the books drifting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashRounding {
    pub rounded: Money,
    pub difference: Money,
}

impl Money {
    /// Rounds to a multiple of `coin`, the smallest coin accepted in cash (see
    /// [`super::Currency::default_cash_coin`]). In Sweden, 12.49 SEK is paid as 12 and 12.50 as
    /// 13 with [`RoundingMode::HalfUp`].
    pub fn cash_round(
        &self,
        coin: Decimal,
        mode: RoundingMode,
    ) -> Result<CashRounding, MoneyError> {
        let currency = self.currency;
        if coin <= Decimal::ZERO || coin.normalize().scale() > currency.minor_units() {
            return Err(MoneyError::InvalidCoin { coin, currency });
        }
        let rounded = round_to_multiple(self.amount, coin, mode).ok_or(MoneyError::Overflow)?;
        let difference = rounded
            .checked_sub(self.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(CashRounding {
            rounded: Money::new(rounded, currency),
            difference: Money::new(difference, currency),
        })
    }
}

/// Works on the exact remainder rather than on `amount / coin`, because a division can come out
/// a hair below a true half and round the wrong way.
fn round_to_multiple(amount: Decimal, coin: Decimal, mode: RoundingMode) -> Option<Decimal> {
    // The remainder takes the sign of the amount, so this moves toward zero.
    let remainder = amount.checked_rem(coin)?;
    if remainder.is_zero() {
        return Some(amount);
    }
    let toward_zero = amount.checked_sub(remainder)?;
    let away = if amount.is_sign_negative() {
        toward_zero.checked_sub(coin)?
    } else {
        toward_zero.checked_add(coin)?
    };
    let twice_remainder = remainder.abs().checked_mul(Decimal::TWO)?;
    let rounded = match (mode, twice_remainder.cmp(&coin)) {
        (RoundingMode::TowardZero, _)
        | (RoundingMode::HalfUp | RoundingMode::HalfEven, Ordering::Less) => toward_zero,
        (RoundingMode::AwayFromZero, _)
        | (RoundingMode::HalfUp, Ordering::Equal | Ordering::Greater)
        | (RoundingMode::HalfEven, Ordering::Greater) => away,
        (RoundingMode::HalfEven, Ordering::Equal) => {
            let quotient = toward_zero.checked_div(coin)?;
            if quotient.checked_rem(Decimal::TWO)?.is_zero() {
                toward_zero
            } else {
                away
            }
        }
    };
    Some(rounded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn cash(amount: &str, currency: Currency, coin: &str, mode: RoundingMode) -> (String, String) {
        let rounding = Money::parse(amount, currency)
            .unwrap()
            .cash_round(dec(coin), mode)
            .unwrap();
        (
            rounding.rounded.to_string(),
            rounding.difference.to_string(),
        )
    }

    #[test]
    fn swedish_oresavrundning() {
        let up = RoundingMode::HalfUp;
        assert_eq!(
            cash("12.49", Currency::SEK, "1", up),
            ("12.00 SEK".into(), "-0.49 SEK".into())
        );
        assert_eq!(
            cash("12.50", Currency::SEK, "1", up),
            ("13.00 SEK".into(), "0.50 SEK".into())
        );
        assert_eq!(
            cash("12.00", Currency::SEK, "1", up),
            ("12.00 SEK".into(), "0.00 SEK".into())
        );
        assert_eq!(
            cash("-12.50", Currency::SEK, "1", up),
            ("-13.00 SEK".into(), "-0.50 SEK".into())
        );
        assert_eq!(
            cash("-12.49", Currency::SEK, "1", up),
            ("-12.00 SEK".into(), "0.49 SEK".into())
        );
    }

    #[test]
    fn other_coins_and_modes() {
        assert_eq!(
            cash("10.24", Currency::DKK, "0.50", RoundingMode::HalfUp).0,
            "10.00 DKK"
        );
        assert_eq!(
            cash("10.25", Currency::DKK, "0.50", RoundingMode::HalfUp).0,
            "10.50 DKK"
        );
        assert_eq!(
            cash("10.74", Currency::DKK, "0.50", RoundingMode::HalfUp).0,
            "10.50 DKK"
        );
        assert_eq!(
            cash("1.02", Currency::EUR, "0.05", RoundingMode::HalfUp).0,
            "1.00 EUR"
        );
        assert_eq!(
            cash("1.03", Currency::EUR, "0.05", RoundingMode::HalfUp).0,
            "1.05 EUR"
        );
        assert_eq!(
            cash("12.50", Currency::SEK, "1", RoundingMode::HalfEven).0,
            "12.00 SEK"
        );
        assert_eq!(
            cash("13.50", Currency::SEK, "1", RoundingMode::HalfEven).0,
            "14.00 SEK"
        );
        assert_eq!(
            cash("-13.50", Currency::SEK, "1", RoundingMode::HalfEven).0,
            "-14.00 SEK"
        );
        assert_eq!(
            cash("12.99", Currency::SEK, "1", RoundingMode::TowardZero).0,
            "12.00 SEK"
        );
        assert_eq!(
            cash("12.01", Currency::SEK, "1", RoundingMode::AwayFromZero).0,
            "13.00 SEK"
        );
        assert_eq!(
            cash("-12.01", Currency::SEK, "1", RoundingMode::AwayFromZero).0,
            "-13.00 SEK"
        );
    }

    #[test]
    fn rejects_coins_that_cannot_exist() {
        let m = Money::parse("1", Currency::SEK).unwrap();
        for coin in ["0", "-1", "0.001"] {
            assert_eq!(
                m.cash_round(dec(coin), RoundingMode::HalfUp),
                Err(MoneyError::InvalidCoin {
                    coin: dec(coin),
                    currency: Currency::SEK
                })
            );
        }
        assert_eq!(
            m.cash_round(dec("0.001"), RoundingMode::HalfUp)
                .unwrap_err()
                .to_string(),
            "cash coin 0.001 cannot be used for SEK: it must be positive and a whole number of minor units"
        );
        // Trailing zeros do not make a coin finer than the minor unit.
        assert!(m.cash_round(dec("0.500"), RoundingMode::HalfUp).is_ok());
    }

    #[test]
    fn modes_are_snake_case_in_config() {
        let mode: RoundingMode = serde_json::from_str("\"half_even\"").unwrap();
        assert_eq!(mode, RoundingMode::HalfEven);
        assert_eq!(
            serde_json::to_string(&RoundingMode::HalfUp).unwrap(),
            "\"half_up\""
        );
    }
}
