//! Domain primitives every Cooperage service shares: money and cash rounding, VAT by date,
//! quantities, product codes as scanned at the till, member numbers and email addresses.
//!
//! Every parser here returns a precise error value that can be shown to a cashier or a
//! sysadmin, and none of them panics on any input.

pub mod code;
pub mod member;
pub mod money;
pub mod number;
pub mod quantity;
pub mod role;
mod text;
pub mod vat;

pub use code::{
    CodeError, Gtin, GtinKind, MeasuredValue, Plu, ProductCode, Sku, ValueKind,
    VariableMeasureCode, VariableMeasureRule, VariableMeasureRuleConfig,
};
pub use member::{EmailAddress, EmailError, MemberNumber, MemberNumberError, MemberNumberFormat};
pub use money::{CashRounding, Currency, Money, MoneyError, RoundingMode};
pub use number::NumberError;
pub use quantity::{Dimension, Quantity, QuantityError, Unit};
pub use role::{Role, RoleError};
pub use vat::{
    split_gross, split_net, EffectiveRate, VatClassId, VatError, VatRate, VatRateTotal,
    VatSchedule, VatSplit, VatSummary, VatTable, VatTotals,
};
