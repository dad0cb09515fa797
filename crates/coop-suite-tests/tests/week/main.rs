//! The co-op's week, end to end, on the built binaries (see `suite`): an admin invites members,
//! who accept through the emailed link and sign in; a top-up claimed and confirmed; a
//! buyers-club order from open to completed with a weight correction; a till paired through the
//! device grant selling to a member (wallet) and a walk-in (cash), its shift closed; the stock
//! at coop-ims; balanced postings for all of it and a SIE file that validates; the member in
//! the co-op's Matrix room, signed in through coop-sso.
//!
//! Needs the interop harness (aiosmtpd and Synapse from PyPI): `cargo xtask test` runs it.
#![cfg(feature = "interop")]

mod authz;
mod browser;
mod faults;
mod people;
mod proxy;
mod suite;
mod week;
