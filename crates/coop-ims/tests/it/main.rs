//! coop-ims's integration tests, in one binary.

mod audit;
#[cfg(feature = "interop")]
mod browser;
mod catalogue;
mod check_config;
mod http;
mod orders;
mod price_list;
mod reports;
mod requests;
mod sales;
mod stock;
