//! Who members are: their member numbers and email addresses.

mod email;
mod number;

#[cfg(test)]
mod proptests;

pub use email::{EmailAddress, EmailError};
pub use number::{MemberNumber, MemberNumberError, MemberNumberFormat};
