//! ISO 4217 currencies the shop can keep its books in.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::MoneyError;
use crate::text::excerpt;

/// A currency from a built-in table, so every currency in use has a known minor-unit exponent
/// and a known smallest cash coin. Compares and sorts by its code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(&'static CurrencyInfo);

#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CurrencyInfo {
    code: &'static str,
    minor_units: u32,
    /// The smallest coin in circulation for cash payments, in minor units. Several countries
    /// round cash totals even though card payments are exact (SEK to whole kronor since 2010,
    /// EUR to 0.05 in Finland and the Netherlands, CHF to 0.05).
    cash_coin_minor: i64,
}

macro_rules! currencies {
    ($($name:ident = $minor:literal, $coin:literal;)*) => {
        impl Currency {
            $(
                pub const $name: Currency = Currency(&CurrencyInfo {
                    code: stringify!($name),
                    minor_units: $minor,
                    cash_coin_minor: $coin,
                });
            )*

            /// Every currency in the built-in table.
            pub const ALL: &'static [Currency] = &[$(Currency::$name),*];
        }
    };
}

currencies! {
    SEK = 2, 100;
    NOK = 2, 100;
    DKK = 2, 50;
    ISK = 0, 1;
    EUR = 2, 5;
    GBP = 2, 1;
    USD = 2, 1;
    CAD = 2, 5;
    AUD = 2, 5;
    NZD = 2, 10;
    CHF = 2, 5;
    PLN = 2, 1;
    CZK = 2, 100;
    HUF = 2, 500;
    RON = 2, 1;
    JPY = 0, 1;
}

impl Currency {
    /// Looks a code up in the table; `sek` is accepted as `SEK`.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let trimmed = code.trim();
        if trimmed.len() != 3 || !trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(MoneyError::InvalidCurrencyCode {
                code: excerpt(trimmed),
            });
        }
        let upper = trimmed.to_ascii_uppercase();
        Currency::ALL
            .iter()
            .copied()
            .find(|currency| currency.code() == upper)
            .ok_or(MoneyError::UnknownCurrency { code: upper })
    }

    pub fn code(self) -> &'static str {
        self.0.code
    }

    /// Decimal places of the minor unit: 2 for SEK (öre), 0 for JPY and ISK.
    pub fn minor_units(self) -> u32 {
        self.0.minor_units
    }

    /// The value of one minor unit, e.g. 0.01 for SEK.
    pub fn minor_unit(self) -> Decimal {
        Decimal::new(1, self.0.minor_units)
    }

    /// The smallest coin a cash payment can be settled in, e.g. 1 for SEK and 0.05 for EUR.
    pub fn default_cash_coin(self) -> Decimal {
        Decimal::new(self.0.cash_coin_minor, self.0.minor_units)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl std::str::FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn parses_known_codes_in_any_case() {
        assert_eq!(Currency::parse("SEK").unwrap(), Currency::SEK);
        assert_eq!(Currency::parse(" eur ").unwrap(), Currency::EUR);
        assert_eq!(Currency::parse("jpy").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("ISK").unwrap().minor_units(), 0);
    }

    #[test]
    fn rejects_unknown_and_malformed_codes() {
        assert_eq!(
            Currency::parse("XYZ").unwrap_err().to_string(),
            "currency XYZ is not supported"
        );
        assert_eq!(
            Currency::parse("SE").unwrap_err().to_string(),
            "'SE' is not a currency code: expected three letters such as SEK"
        );
        assert!(Currency::parse("S€K").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn cash_coins_match_circulating_coins() {
        let coin = |c: Currency| c.default_cash_coin();
        assert_eq!(coin(Currency::SEK), Decimal::from_str("1").unwrap());
        assert_eq!(coin(Currency::NOK), Decimal::from_str("1").unwrap());
        assert_eq!(coin(Currency::DKK), Decimal::from_str("0.50").unwrap());
        assert_eq!(coin(Currency::EUR), Decimal::from_str("0.05").unwrap());
        assert_eq!(coin(Currency::USD), Decimal::from_str("0.01").unwrap());
        assert_eq!(coin(Currency::JPY), Decimal::from_str("1").unwrap());
        assert_eq!(
            Currency::SEK.minor_unit(),
            Decimal::from_str("0.01").unwrap()
        );
    }

    #[test]
    fn every_code_in_the_table_parses_to_itself() {
        for currency in Currency::ALL {
            assert_eq!(Currency::parse(currency.code()).unwrap(), *currency);
        }
    }

    #[test]
    fn is_a_string_on_the_wire() {
        assert_eq!(serde_json::to_string(&Currency::SEK).unwrap(), "\"SEK\"");
        let parsed: Currency = serde_json::from_str("\"nok\"").unwrap();
        assert_eq!(parsed, Currency::NOK);
        let error = serde_json::from_str::<Currency>("\"ABC\"").unwrap_err();
        assert!(error.to_string().contains("currency ABC is not supported"));
        assert_eq!(format!("{:?}", Currency::SEK), "Currency(SEK)");
    }
}
