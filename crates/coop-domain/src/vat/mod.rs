//! VAT: rates that change by date, per VAT class, and the arithmetic on VAT-inclusive prices.

mod rate;
mod schedule;
mod split;
mod summary;

#[cfg(test)]
mod proptests;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use thiserror::Error;

use crate::money::MoneyError;
use crate::number::NumberError;

pub use rate::{VatClassId, VatRate};
pub use schedule::{EffectiveRate, VatSchedule, VatTable};
pub use split::{split_gross, split_net, VatSplit};
pub use summary::{VatRateTotal, VatSummary, VatTotals};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VatError {
    #[error("VAT rate '{input}' is not valid: {reason}")]
    InvalidRate { input: String, reason: NumberError },
    #[error("VAT rate {percent}% is out of range: it must be at least 0 and below 100")]
    RateOutOfRange { percent: Decimal },
    #[error("VAT rate {percent}% has more than 4 decimals")]
    RateTooPrecise { percent: Decimal },
    #[error("VAT class '{id}' is not valid: {reason}")]
    InvalidClassId { id: String, reason: &'static str },
    #[error("a VAT schedule needs at least one rate")]
    EmptySchedule,
    #[error("two VAT rates start on {date}")]
    DuplicateDate { date: NaiveDate },
    #[error("VAT rates must be listed oldest first, but {next} comes after {previous}")]
    UnsortedDates {
        previous: NaiveDate,
        next: NaiveDate,
    },
    #[error("the VAT table needs at least one VAT class")]
    EmptyTable,
    #[error("VAT class '{class}' is listed twice")]
    DuplicateClass { class: VatClassId },
    #[error("there is no VAT class '{class}'")]
    UnknownClass { class: VatClassId },
    #[error("VAT class '{class}' has no rate on {date}: its first rate starts on {first}")]
    NoRateYet {
        class: VatClassId,
        date: NaiveDate,
        first: NaiveDate,
    },
    #[error(transparent)]
    Money(#[from] MoneyError),
}
