//! coop-finance's integration tests, in one binary.

mod bank;
mod http;
mod ledger;
mod sie;
mod topup;
mod wallet;
