//! Splitting a price into its net amount and VAT.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::{VatError, VatRate};
use crate::money::{Money, MoneyError};

/// A price split into its parts; `net + vat == gross` always holds exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatSplit {
    pub net: Money,
    pub vat: Money,
    pub gross: Money,
}

/// Splits a VAT-inclusive price, as shelf prices are given: the VAT is
/// `gross × p / (100 + p)` rounded half up to minor units and the net is what is left.
pub fn split_gross(gross: Money, rate: VatRate) -> Result<VatSplit, VatError> {
    let divisor = Decimal::ONE_HUNDRED + rate.percent();
    let vat = vat_of(gross, rate.percent(), divisor)?;
    let net = gross.checked_sub(vat)?;
    Ok(VatSplit { net, vat, gross })
}

/// Adds VAT to a price without VAT (supplier prices, wholesale): the VAT is `net × p / 100`
/// rounded half up to minor units.
pub fn split_net(net: Money, rate: VatRate) -> Result<VatSplit, VatError> {
    let vat = vat_of(net, rate.percent(), Decimal::ONE_HUNDRED)?;
    let gross = net.checked_add(vat)?;
    Ok(VatSplit { net, vat, gross })
}

/// Multiplies before dividing so that a VAT amount lying exactly on a half minor unit (0.14 SEK
/// at 12 % has 0.015 VAT) is seen as exactly half and rounds up, as the tax office expects.
fn vat_of(base: Money, percent: Decimal, divisor: Decimal) -> Result<Money, VatError> {
    let exact = base
        .amount
        .checked_mul(percent)
        .and_then(|product| product.checked_div(divisor))
        .ok_or(MoneyError::Overflow)?;
    let rounded = exact.round_dp_with_strategy(
        base.currency.minor_units(),
        RoundingStrategy::MidpointAwayFromZero,
    );
    Ok(Money::new(rounded, base.currency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn sek(s: &str) -> Money {
        Money::parse(s, Currency::SEK).unwrap()
    }

    fn rate(s: &str) -> VatRate {
        VatRate::parse(s).unwrap()
    }

    fn parts(split: VatSplit) -> (String, String, String) {
        (
            split.net.amount.to_string(),
            split.vat.amount.to_string(),
            split.gross.amount.to_string(),
        )
    }

    #[test]
    fn gross_prices_split_like_a_receipt() {
        let check = |gross: &str, r: &str, net: &str, vat: &str| {
            let split = split_gross(sek(gross), rate(r)).unwrap();
            assert_eq!(
                parts(split),
                (net.into(), vat.into(), sek(gross).amount.to_string()),
                "{gross} at {r}%"
            );
        };
        check("125", "25", "100.00", "25.00");
        check("112", "12", "100.00", "12.00");
        check("106", "6", "100.00", "6.00");
        check("29.90", "12", "26.70", "3.20"); // 3.2036 -> 3.20
        check("0.14", "12", "0.12", "0.02"); // exactly 0.015 rounds up
        check("-0.14", "12", "-0.12", "-0.02"); // refunds mirror sales
        check("10", "0", "10.00", "0.00");
        check("0.01", "25", "0.01", "0.00");
    }

    #[test]
    fn net_prices_gain_vat() {
        let split = split_net(sek("100"), rate("12")).unwrap();
        assert_eq!(
            parts(split),
            ("100.00".into(), "12.00".into(), "112.00".into())
        );
        let split = split_net(sek("0.10"), rate("25")).unwrap();
        assert_eq!(parts(split), ("0.10".into(), "0.03".into(), "0.13".into())); // 0.025 rounds up
        let split = split_net(sek("19.99"), rate("6")).unwrap();
        assert_eq!(
            parts(split),
            ("19.99".into(), "1.20".into(), "21.19".into())
        );
    }

    #[test]
    fn enormous_amounts_fail_instead_of_panicking() {
        let huge = Money::new(Decimal::MAX, Currency::SEK);
        assert_eq!(
            split_net(huge, rate("25")),
            Err(VatError::Money(MoneyError::Overflow))
        );
        assert!(split_gross(huge, rate("25")).is_err());
        assert_eq!(
            split_gross(huge, rate("25")).unwrap_err().to_string(),
            "the amount is too large"
        );
    }
}
