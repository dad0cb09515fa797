//! The shared web kit of the Cooperage services.
//!
//! A service supplies its routes, templates, translations and migrations ([`cli::Service`]); the
//! kit supplies the rest: config loading ([`config`]), PostgreSQL ([`db`]), error pages
//! ([`error`]), sessions and CSRF ([`session`]), templates and Fluent translations
//! ([`templates`], [`i18n`]), `/healthz` `/readyz` `/metrics`, request tracing, logging to
//! journald or stderr, and graceful shutdown ([`app`]).

pub mod app;
pub mod auth;
pub mod branding;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod feed;
pub mod format;
pub mod i18n;
pub mod jobs;
pub mod landing;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod pdf;
pub mod session;
pub mod systemd;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;

pub use app::{Kit, Page, RequestLang};
pub use config::{CoopConfig, Loaded, ServiceConfig, ServiceName};
pub use error::{Error, ErrorKind, Result, ResultExt};
pub use i18n::{FtlSource, Lang, Translations};
pub use session::{CsrfForm, CsrfMultipart, Session, UploadPart};
pub use templates::TemplateSource;
