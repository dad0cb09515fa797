//! coop-sso: the co-op's OpenID Connect provider and member directory.

pub mod cli;
pub mod config;
pub mod domain;
pub mod members;
pub mod password;

use axum::Router;
use coop_web::cli::Service;
use coop_web::config::Loaded;
use coop_web::{FtlSource, Kit, Lang, ServiceName, TemplateSource};
use sqlx::migrate::Migrator;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub const TRANSLATIONS: &[FtlSource] = &[
    FtlSource {
        lang: Lang::En,
        name: "coop-sso/en/sso.ftl",
        text: include_str!("../locales/en/sso.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-sso/sv/sso.ftl",
        text: include_str!("../locales/sv/sso.ftl"),
    },
];

pub const TEMPLATES: &[TemplateSource] = &[];

/// The service as the kit sees it.
#[derive(Debug)]
pub struct Sso;

impl Service for Sso {
    const NAME: ServiceName = ServiceName::Sso;
    type Extra = config::SsoSettings;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn translations() -> &'static [FtlSource] {
        TRANSLATIONS
    }

    fn templates() -> &'static [TemplateSource] {
        TEMPLATES
    }

    async fn routes(kit: Kit, _loaded: Loaded<Self::Extra>) -> anyhow::Result<Router> {
        Ok(coop_web::landing::routes(&kit))
    }
}
