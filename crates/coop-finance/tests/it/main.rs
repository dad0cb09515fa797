//! coop-finance's integration tests, in one binary.

mod ledger;
mod wallet;
