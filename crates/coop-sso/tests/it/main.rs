//! coop-sso's integration tests, in one binary: one build, one link, one PostgreSQL
//! cluster for all of them. Tests that need software from npm or PyPI (installed by
//! `tests/interop/setup.sh`) are behind the `interop` feature, which `cargo xtask test` turns
//! on; plain `cargo test` runs the rest on a machine without them.

mod admin;
#[cfg(feature = "interop")]
mod binary;
#[cfg(feature = "interop")]
mod browser;
mod check_config;
mod common;
mod device;
mod feed;
mod hardening;
#[cfg(feature = "interop")]
mod interop;
mod invite;
mod keys;
mod oidc;
mod schema;
