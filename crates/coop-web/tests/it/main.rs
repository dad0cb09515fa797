//! coop-web's integration tests, in one binary: one build, one link, one PostgreSQL
//! cluster for all of them. Tests that need software from npm or PyPI (installed by
//! `tests/interop/setup.sh`) are behind the `interop` feature, which `cargo xtask test` turns
//! on; plain `cargo test` runs the rest on a machine without them.

#[cfg(feature = "interop")]
mod auth;
mod feed;
mod jobs;
mod kit;
#[cfg(feature = "interop")]
mod mail;
