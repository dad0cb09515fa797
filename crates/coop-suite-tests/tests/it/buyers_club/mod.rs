//! coop-buyers-club against a real coop-finance (its wallet API over HTTP, in-process) and a
//! real PostgreSQL: the order's whole flow, every rule of the spec's validation section, and
//! the wallet holds.

#[cfg(feature = "interop")]
mod browser;
mod common;
mod exports;
mod flow;
pub mod http;
#[cfg(feature = "interop")]
mod notify;
mod rules;
mod settle;
mod wallet;
