//! coop-finance's integration tests, in one binary.

mod bank;
#[cfg(feature = "interop")]
mod browser;
mod check_config;
mod demo;
mod http;
mod ledger;
mod members;
mod postings;
mod reports;
mod sie;
mod statement;
mod topup;
mod wallet;
