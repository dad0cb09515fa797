//! Test support shared by every service's tests.
//!
//! - [`postgres`]: one private PostgreSQL cluster per test binary (started on first use, removed
//!   when the process exits, even after a panic) and a fresh database per test.
//! - [`http`]: serve a router on `127.0.0.1:0` and a client with cookies and no redirects.
//! - [`child`]: re-run the test binary as a child process, to kill it mid-work.
//! - [`config`]: a complete co-op config for tests, pointing at a test database.

pub mod child;
pub mod config;
pub mod http;
pub mod postgres;

pub use postgres::{fresh_database, migrated_database, TestDb};
