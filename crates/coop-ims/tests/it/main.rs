//! coop-ims's integration tests, in one binary.

mod catalogue;
mod check_config;
mod http;
mod sales;
mod stock;
