//! The ledger's domain: account numbers, journal entries that balance by construction, and the
//! store that keeps them (`store`).

pub mod chart;
pub mod store;

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Why an entry or an account number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("account numbers have four digits, 1000 to 8999; got {0}")]
    AccountNumber(String),
    #[error("an entry needs at least two lines")]
    TooFewLines,
    #[error("line {line}: an amount of zero says nothing")]
    ZeroAmount { line: usize },
    #[error("line {line}: {amount} has more decimals than the currency's {minor_units}")]
    TooPrecise {
        line: usize,
        amount: Decimal,
        minor_units: u32,
    },
    #[error("the entry does not balance: debits and credits differ by {0}")]
    Unbalanced(Decimal),
    #[error("an entry needs a text that says what it is (1 to 200 characters)")]
    Text,
    #[error("voucher series are one to three capital letters; got {0:?}")]
    Series(String),
}

/// A BAS account number: four digits, 1000 to 8999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct AccountNumber(i32);

impl AccountNumber {
    pub fn new(n: i32) -> Result<Self, LedgerError> {
        if (1000..=8999).contains(&n) {
            Ok(Self(n))
        } else {
            Err(LedgerError::AccountNumber(n.to_string()))
        }
    }

    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        let t = s.trim();
        if t.len() != 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LedgerError::AccountNumber(s.to_owned()));
        }
        t.parse()
            .map_err(|_| LedgerError::AccountNumber(s.to_owned()))
            .and_then(Self::new)
    }

    pub fn get(self) -> i32 {
        self.0
    }

    /// What BAS's first digit says the account is.
    pub fn kind(self) -> AccountKind {
        match self.0 / 1000 {
            1 => AccountKind::Asset,
            2 => AccountKind::Liability,
            3 => AccountKind::Revenue,
            _ => AccountKind::Expense,
        }
    }
}

impl TryFrom<i32> for AccountNumber {
    type Error = LedgerError;
    fn try_from(n: i32) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}

impl From<AccountNumber> for i32 {
    fn from(a: AccountNumber) -> i32 {
        a.0
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where an account's balance is reported: the balance sheet (assets; liabilities with equity)
/// or the income statement (revenue, expenses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum AccountKind {
    Asset,
    Liability,
    Revenue,
    Expense,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asset => "asset",
            Self::Liability => "liability",
            Self::Revenue => "revenue",
            Self::Expense => "expense",
        }
    }
}

/// A voucher series: `A` for manual entries, `S` for till sales, and so on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series(String);

impl Series {
    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        if (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(LedgerError::Series(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One line as asked for: debit positive, credit negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub account: AccountNumber,
    pub amount: Decimal,
}

/// An entry that balances: built only through [`Entry::new`], so the store never sees one that
/// does not (and the database checks again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    series: Series,
    date: NaiveDate,
    text: String,
    lines: Vec<Line>,
    source_key: Option<String>,
}

impl Entry {
    /// Checks the lines: at least two, none zero, none finer than the currency's minor unit,
    /// summing to zero.
    pub fn new(
        series: Series,
        date: NaiveDate,
        text: &str,
        lines: Vec<Line>,
        minor_units: u32,
    ) -> Result<Self, LedgerError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 200 {
            return Err(LedgerError::Text);
        }
        if lines.len() < 2 {
            return Err(LedgerError::TooFewLines);
        }
        let mut total = Decimal::ZERO;
        for (i, l) in lines.iter().enumerate() {
            if l.amount.is_zero() {
                return Err(LedgerError::ZeroAmount { line: i + 1 });
            }
            if l.amount.normalize().scale() > minor_units {
                return Err(LedgerError::TooPrecise {
                    line: i + 1,
                    amount: l.amount,
                    minor_units,
                });
            }
            total += l.amount;
        }
        if !total.is_zero() {
            return Err(LedgerError::Unbalanced(total));
        }
        Ok(Self {
            series,
            date,
            text: text.to_owned(),
            lines,
            source_key: None,
        })
    }

    /// Marks where the entry came from (`coop-pos:sale:<id>`): the ledger takes it once.
    #[must_use]
    pub fn from_source(mut self, key: impl Into<String>) -> Self {
        self.source_key = Some(key.into());
        self
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// Where the entry came from, if another service sent it.
    pub fn source_key(&self) -> Option<&str> {
        self.source_key.as_deref()
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The entry's amounts summed per account.
    pub fn per_account(&self) -> BTreeMap<AccountNumber, Decimal> {
        let mut out = BTreeMap::new();
        for l in &self.lines {
            *out.entry(l.account).or_insert(Decimal::ZERO) += l.amount;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn a(n: i32) -> AccountNumber {
        AccountNumber::new(n).unwrap()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn account_numbers_have_four_digits_and_a_kind() {
        assert_eq!(
            AccountNumber::parse("1930").unwrap().kind(),
            AccountKind::Asset
        );
        assert_eq!(
            AccountNumber::parse("2611").unwrap().kind(),
            AccountKind::Liability
        );
        assert_eq!(
            AccountNumber::parse("3001").unwrap().kind(),
            AccountKind::Revenue
        );
        assert_eq!(
            AccountNumber::parse("4010").unwrap().kind(),
            AccountKind::Expense
        );
        for bad in ["999", "9000", "01930", "19a0", "", "-193", "+930"] {
            assert!(AccountNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_entry_must_balance_to_the_minor_unit() {
        let s = Series::parse("A").unwrap();
        let ok = Entry::new(
            s.clone(),
            day(),
            "Cash sale",
            vec![
                Line {
                    account: a(1910),
                    amount: dec!(125.00),
                },
                Line {
                    account: a(3001),
                    amount: dec!(-100.00),
                },
                Line {
                    account: a(2611),
                    amount: dec!(-25.00),
                },
            ],
            2,
        );
        assert!(ok.is_ok());
        let unbalanced = Entry::new(
            s.clone(),
            day(),
            "x",
            vec![
                Line {
                    account: a(1910),
                    amount: dec!(125.00),
                },
                Line {
                    account: a(3001),
                    amount: dec!(-100.01),
                },
            ],
            2,
        );
        assert_eq!(
            unbalanced.unwrap_err(),
            LedgerError::Unbalanced(dec!(24.99))
        );
        let fine = Entry::new(
            s.clone(),
            day(),
            "x",
            vec![
                Line {
                    account: a(1910),
                    amount: dec!(0.005),
                },
                Line {
                    account: a(3001),
                    amount: dec!(-0.005),
                },
            ],
            2,
        );
        assert!(matches!(fine, Err(LedgerError::TooPrecise { line: 1, .. })));
        let one = Entry::new(
            s.clone(),
            day(),
            "x",
            vec![Line {
                account: a(1910),
                amount: dec!(1),
            }],
            2,
        );
        assert_eq!(one.unwrap_err(), LedgerError::TooFewLines);
        let zero = Entry::new(
            s.clone(),
            day(),
            "x",
            vec![
                Line {
                    account: a(1910),
                    amount: dec!(0),
                },
                Line {
                    account: a(3001),
                    amount: dec!(0),
                },
            ],
            2,
        );
        assert_eq!(zero.unwrap_err(), LedgerError::ZeroAmount { line: 1 });
        let blank = Entry::new(
            s,
            day(),
            "  ",
            vec![
                Line {
                    account: a(1910),
                    amount: dec!(1),
                },
                Line {
                    account: a(3001),
                    amount: dec!(-1),
                },
            ],
            2,
        );
        assert_eq!(blank.unwrap_err(), LedgerError::Text);
        assert!(
            Series::parse("a").is_err()
                && Series::parse("ABCD").is_err()
                && Series::parse("S").is_ok()
        );
    }
}
