//! Test support shared by every service's tests.
//!
//! - [`postgres`]: one private PostgreSQL cluster per test binary (started on first use, removed
//!   when the process exits, even after a panic) and a fresh database per test.
//! - [`http`]: serve a router on `127.0.0.1:0` and a client with cookies and no redirects.
//! - [`config`]: a complete co-op config for tests, pointing at a test database.

pub mod config;
pub mod http;
pub mod postgres;

pub use postgres::{fresh_database, TestDb};
