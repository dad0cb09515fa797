//! coop-sso: the co-op's OpenID Connect provider and member directory.

pub mod backchannel;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod devices;
pub mod directory;
pub mod domain;
mod error;
pub mod grants;
pub mod http;
pub mod jwt;
pub mod keys;
pub mod members;
pub mod password;
pub mod sealing;
pub mod secrets;
pub mod signin;
pub mod state;
pub mod throttle;
pub mod tokens;
pub mod totp;

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use coop_web::cli::Service;
use coop_web::config::Loaded;
use coop_web::{FtlSource, Kit, Lang, ServiceName, TemplateSource};
use sqlx::migrate::Migrator;

pub use error::{Error, Result};

use crate::clock::SharedClock;
use crate::state::AppState;

/// coop-sso's migrations, after the kit's (the feed tables).
pub static MIGRATOR: std::sync::LazyLock<Migrator> =
    std::sync::LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));

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
    FtlSource {
        lang: Lang::En,
        name: "coop-sso/en/admin.ftl",
        text: include_str!("../locales/en/admin.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-sso/sv/admin.ftl",
        text: include_str!("../locales/sv/admin.ftl"),
    },
];

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(TemplateSource { name: $name, text: include_str!(concat!("../templates/", $name)) }),*]
    };
}

pub const TEMPLATES: &[TemplateSource] = templates![
    "login.html",
    "totp.html",
    "account.html",
    "oauth_error.html",
    "logout.html",
    "device.html",
    "admin_nav.html",
    "admin_pages.html",
    "admin_audit_table.html",
    "admin_members.html",
    "admin_member.html",
    "admin_invite.html",
    "admin_invite_sent.html",
    "admin_audit.html",
    "admin_appoint_bookkeeper.html",
    "invite.html",
    "forgot.html",
    "reset.html",
];

/// The sealer of secrets at rest, from `secrets_key_file` (a credential) or the state directory.
pub fn load_sealer(loaded: &Loaded<config::SsoSettings>) -> anyhow::Result<sealing::Sealer> {
    let file = loaded
        .extra
        .secrets_key_file
        .as_deref()
        .map(|f| loaded.secret_file("services.sso.secrets_key_file", f));
    sealing::Sealer::load(
        file.as_ref().map(coop_web::config::SecretFile::path),
        &loaded.service.state_directory,
    )
}

/// Seals TOTP secrets that a version before sealing stored in the clear.
async fn sealing_upgrade_totp(db: &sqlx::PgPool, sealer: &sealing::Sealer) -> anyhow::Result<()> {
    let plain: Vec<(uuid::Uuid, Vec<u8>)> = sqlx::query!(
        r#"select member_id, totp_secret as "totp_secret!" from member where totp_secret is not null"#
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.member_id, r.totp_secret))
    .collect();
    for (member_id, secret) in plain.into_iter().filter(|(_, s)| !sealing::is_sealed(s)) {
        sqlx::query!(
            "update member set totp_secret = $2 where member_id = $1",
            member_id,
            sealer.seal(&sealing::totp_context(member_id), &secret)
        )
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Builds the state: clients, signing keys (created at first start), mail.
pub async fn build_state(
    kit: Kit,
    loaded: &Loaded<config::SsoSettings>,
    clock: SharedClock,
) -> anyhow::Result<AppState> {
    let issuer = loaded.coop.issuer().context("no sso section")?;
    let clients = clients::ClientRegistry::from_config(loaded, &issuer)?;
    let sealer = Arc::new(load_sealer(loaded)?);
    let keys = keys::KeyStore::load(&kit.db, clock.now(), sealer.clone()).await?;
    sealing_upgrade_totp(&kit.db, &sealer).await?;
    if let Some(file) = &loaded.extra.signing_key_file {
        let file = loaded.secret_file("services.sso.signing_key_file", file);
        let pem = file.read()?;
        let pem = coop_web::config::ExposeSecret::expose_secret(&pem);
        keys.import(&kit.db, pem, clock.now()).await?;
    }
    let mailer = coop_web::mail::Mailer::from_config(loaded.coop.mail.as_ref())?;
    Ok(AppState {
        kit,
        settings: Arc::new(loaded.extra.clone()),
        clients: Arc::new(clients),
        keys,
        clock,
        mailer: Arc::new(mailer),
        issuer: issuer.into(),
        marker_key: Arc::new(rand::random()),
        sealer,
        refresh_max: chrono::Duration::days(i64::from(
            loaded.extra.refresh_token_max_days.unwrap_or(30).max(1),
        )),
    })
}

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

    async fn routes(kit: Kit, loaded: Loaded<Self::Extra>) -> anyhow::Result<Router> {
        let state = build_state(kit, &loaded, Arc::new(clock::SystemClock)).await?;
        backchannel::spawn_worker(state.clone());
        coop_web::feed::spawn_compaction(state.db().clone());
        Ok(http::routes(state))
    }
}
