//! The till over its real SQLite store, in one binary: a scripted checkout of every line kind,
//! the rules a sale must pass, the journal's chain, and a reboot mid-sale.

#[cfg(feature = "interop")]
mod browser;
mod checkout;
mod devices;
mod returns;
mod web;
