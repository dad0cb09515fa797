//! Test support shared by every service's tests.
//!
//! - [`postgres`]: one private PostgreSQL cluster per test binary (started on first use, removed
//!   when the process exits, even after a panic) and a fresh database per test.
//! - [`http`]: serve a router on `127.0.0.1:0` and a client with cookies and no redirects.
//! - [`bench`]: figures recorded for `cargo xtask bench`.
//! - [`binary`]: a service's real binary on a socket handed over as systemd would.
//! - [`browser`]: the browser pass (Chromium, axe-core, screenshots) over a plan of steps.
//! - [`html`]: reading pages with `scraper`.
//! - [`repo`]: the checkout, and the npm/PyPI harnesses' setup.
//! - [`smtp`]: a real SMTP server (aiosmtpd) and its messages decoded by Python's `email`.
//! - [`child`]: re-run the test binary as a child process, to kill it mid-work.
//! - [`config`]: a complete co-op config for tests, pointing at a test database.

pub mod bench;
pub mod binary;
pub mod browser;
pub mod child;
pub mod config;
pub mod html;
pub mod http;
pub mod issuer;
pub mod postgres;
pub mod repo;
pub mod smtp;
pub mod synapse;

pub use postgres::{fresh_database, migrated_database, TestDb};
