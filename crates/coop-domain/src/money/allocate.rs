//! Splitting an amount into shares that add up to exactly the whole.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::{Money, MoneyError};

impl Money {
    /// Splits this amount in proportion to `weights` (a discount over receipt lines, a shared
    /// delivery cost over buyers-club orders). The parts are whole minor units and always sum to
    /// the whole: each part gets the rounded-down share, then the minor units left over go one
    /// each to the parts with the largest remainders (earlier parts win ties). A zero weight
    /// always gets zero.
    pub fn allocate(&self, weights: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        if weights.is_empty() {
            return Err(MoneyError::NoWeights);
        }
        if let Some(&weight) = weights
            .iter()
            .find(|w| w.is_sign_negative() && !w.is_zero())
        {
            return Err(MoneyError::NegativeWeight { weight });
        }
        let total_weight = weights
            .iter()
            .try_fold(Decimal::ZERO, |sum, w| sum.checked_add(*w))
            .ok_or(MoneyError::Overflow)?;
        if total_weight.is_zero() {
            return Err(MoneyError::ZeroWeights);
        }

        let whole = i128::from(self.to_minor()?);
        let magnitude = whole.unsigned_abs();
        let magnitude_dec = Decimal::from(magnitude);

        let mut parts = Vec::with_capacity(weights.len());
        let mut remainders = Vec::with_capacity(weights.len());
        for (index, weight) in weights.iter().enumerate() {
            // weight / total is at most 1, so the product never exceeds the whole.
            let share = weight
                .checked_div(total_weight)
                .and_then(|ratio| magnitude_dec.checked_mul(ratio))
                .ok_or(MoneyError::Overflow)?;
            let floor = share.floor();
            parts.push(floor.to_u128().ok_or(MoneyError::Overflow)?);
            if !weight.is_zero() {
                remainders.push((share - floor, index));
            }
        }
        // Largest remainder first; the stable sort keeps earlier parts first among equals.
        remainders.sort_by_key(|&(remainder, _)| std::cmp::Reverse(remainder));

        let allocated: u128 = parts.iter().sum();
        if allocated <= magnitude {
            let mut leftover = magnitude - allocated;
            // Exact arithmetic leaves fewer units than there are parts; the loop also copes if
            // the ratios' rounding ever left more.
            while leftover > 0 {
                for &(_, index) in &remainders {
                    if leftover == 0 {
                        break;
                    }
                    parts[index] += 1;
                    leftover -= 1;
                }
            }
        } else {
            let mut excess = allocated - magnitude;
            while excess > 0 {
                for &(_, index) in remainders.iter().rev() {
                    if excess == 0 {
                        break;
                    }
                    if parts[index] > 0 {
                        parts[index] -= 1;
                        excess -= 1;
                    }
                }
            }
        }

        parts
            .into_iter()
            .map(|part| {
                let part = i128::try_from(part).map_err(|_| MoneyError::Overflow)?;
                let signed = if whole < 0 { -part } else { part };
                let minor = i64::try_from(signed).map_err(|_| MoneyError::Overflow)?;
                Ok(Money::from_minor(minor, self.currency))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn sek(s: &str) -> Money {
        Money::parse(s, Currency::SEK).unwrap()
    }

    fn split(amount: &str, weights: &[&str]) -> Vec<String> {
        let weights: Vec<Decimal> = weights.iter().map(|w| dec(w)).collect();
        sek(amount)
            .allocate(&weights)
            .unwrap()
            .iter()
            .map(|m| m.amount.to_string())
            .collect()
    }

    #[test]
    fn equal_shares_give_the_extra_unit_to_the_first() {
        assert_eq!(split("100", &["1", "1", "1"]), ["33.34", "33.33", "33.33"]);
        assert_eq!(split("0.05", &["1", "1"]), ["0.03", "0.02"]);
    }

    #[test]
    fn shares_follow_weights_and_largest_remainders() {
        // 10.00 by 3:7 is exact.
        assert_eq!(split("10", &["3", "7"]), ["3.00", "7.00"]);
        // 1.00 by 0.2 / 0.3 / 0.5 of a delivery.
        assert_eq!(split("1", &["0.2", "0.3", "0.5"]), ["0.20", "0.30", "0.50"]);
        // 0.10 by 1:2: exact shares 0.0333 and 0.0667; the larger remainder takes the unit.
        assert_eq!(split("0.10", &["1", "2"]), ["0.03", "0.07"]);
    }

    #[test]
    fn negative_amounts_split_symmetrically() {
        assert_eq!(
            split("-100", &["1", "1", "1"]),
            ["-33.34", "-33.33", "-33.33"]
        );
    }

    #[test]
    fn zero_weights_get_nothing() {
        assert_eq!(split("0.03", &["0", "1", "1"]), ["0.00", "0.02", "0.01"]);
    }

    #[test]
    fn rejects_weights_that_say_nothing() {
        assert_eq!(sek("1").allocate(&[]), Err(MoneyError::NoWeights));
        assert_eq!(
            sek("1").allocate(&[Decimal::ZERO, Decimal::ZERO]),
            Err(MoneyError::ZeroWeights)
        );
        assert_eq!(
            sek("1")
                .allocate(&[dec("-1"), dec("2")])
                .unwrap_err()
                .to_string(),
            "cannot split an amount by a negative share (-1)"
        );
        assert!(Money::new(dec("0.005"), Currency::SEK)
            .allocate(&[Decimal::ONE])
            .is_err());
    }

    #[test]
    fn extreme_amounts_do_not_panic() {
        let min = Money::from_minor(i64::MIN, Currency::SEK);
        let parts = min.allocate(&[Decimal::ONE, Decimal::ONE]).unwrap();
        assert_eq!(Money::sum(Currency::SEK, &parts), Ok(min));
        let max = Money::from_minor(i64::MAX, Currency::SEK);
        let parts = max.allocate(&[Decimal::ONE; 7]).unwrap();
        assert_eq!(Money::sum(Currency::SEK, &parts), Ok(max));
    }
}
