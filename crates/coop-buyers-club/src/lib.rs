//! coop-buyers-club: pooled orders from suppliers, as a co-op's buyers club runs them each week
//! (`../shared/seeds/plenty-buyers-club.md`). Any member keeps the suppliers and their products
//! and starts an order from one supplier; the members add purchases while it is open, each
//! covered by a hold on their wallet at coop-finance; the supplier's cases are filled from the
//! members' tolerances; after delivery the manager asks for changes that the members approve;
//! completing the order captures each member's part and publishes it on this service's feed,
//! from which coop-finance books the sale.

pub mod demo;
pub mod domain;
pub mod exports;
pub mod http;
pub mod members;
pub mod price_list;
pub mod store;
pub mod wallet;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use coop_web::auth::{AccessTokenVerifier, OidcClient};
use coop_web::cli::Service;
use coop_web::config::Loaded;
use coop_web::{FtlSource, Kit, Lang, ServiceName, TemplateSource};
use sqlx::migrate::Migrator;

/// The buyers club's migrations, after the kit's (the feed tables).
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));

pub const TRANSLATIONS: &[FtlSource] = &[
    FtlSource {
        lang: Lang::En,
        name: "coop-buyers-club/en/club.ftl",
        text: include_str!("../locales/en/club.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-buyers-club/sv/club.ftl",
        text: include_str!("../locales/sv/club.ftl"),
    },
];

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(TemplateSource { name: $name, text: include_str!(concat!("../templates/", $name)) }),*]
    };
}

pub const TEMPLATES: &[TemplateSource] = templates!(
    "club_nav.html",
    "orders.html",
    "order_new.html",
    "order.html",
    "sorting.html",
    "part.html",
    "suppliers.html",
    "supplier.html",
    "supplier_fields.html",
    "product.html",
);

/// coop-buyers-club's own keys in `services.buyers_club`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Clients that may read the order feed (coop-finance books it).
    pub feed_clients: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            feed_clients: vec![ServiceName::Finance.client_id()],
        }
    }
}

#[derive(Debug)]
pub struct BuyersClub;

impl Service for BuyersClub {
    const NAME: ServiceName = ServiceName::BuyersClub;
    type Extra = Settings;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }
    fn translations() -> &'static [FtlSource] {
        TRANSLATIONS
    }
    fn templates() -> &'static [TemplateSource] {
        TEMPLATES
    }

    async fn routes(kit: Kit, loaded: Loaded<Settings>) -> anyhow::Result<Router> {
        let Some(finance) = loaded.coop.service(ServiceName::Finance) else {
            anyhow::bail!(
                "the buyers club settles with the members' wallets at coop-finance: the co-op's config needs services.finance"
            );
        };
        let oidc = OidcClient::start(&loaded.coop, &loaded.service).await?;
        let tokens = AccessTokenVerifier::for_service(oidc.provider().clone(), &loaded.service);
        let token = coop_web::auth::ServiceTokenClient::from_config(
            oidc.provider().clone(),
            &loaded.service,
            &[],
        )?;
        let wallet: Arc<dyn wallet::Wallet> =
            Arc::new(wallet::Finance::new(&finance.url(""), token.clone()));
        // The members' names and standing, from coop-sso.
        if let Some(sso) = loaded.coop.service(ServiceName::Sso) {
            use coop_web::feed::consumer::{Consumer, Credentials};
            let consumer = Consumer::new(
                ServiceName::Sso.binary(),
                sso.url("/api/feed").parse()?,
                Credentials::Service(token),
                kit.db.clone(),
                members::MemberFeed,
            );
            tokio::spawn(consumer.run(coop_web::app::shutdown_signal()));
        }
        coop_web::feed::spawn_compaction(kit.db.clone());
        spawn_closer(kit.db.clone());
        Ok(http::router(http::AppState {
            kit,
            oidc,
            tokens,
            settings: Arc::new(loaded.extra),
            wallet,
        }))
    }
}

/// Closes the orders whose end date has passed, every half minute (the pages check the end date
/// themselves, so a purchase after it is refused even before this runs).
fn spawn_closer(db: sqlx::PgPool) {
    tokio::spawn(async move {
        loop {
            match store::close_ended(&db, chrono::Utc::now()).await {
                Ok(closed) if !closed.is_empty() => {
                    tracing::info!(count = closed.len(), "orders closed at their end date");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "closing ended orders"),
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
}

pub mod cli {
    use coop_web::cli::{ConfigArg, KitCommand};

    /// `coop-buyers-club serve | migrate | check-config | demo-seed`.
    #[derive(Debug, clap::Parser)]
    #[command(
        name = "coop-buyers-club",
        version,
        about = "The co-op's buyers club: pooled orders from suppliers"
    )]
    pub struct Cli {
        #[command(subcommand)]
        pub command: Command,
    }

    #[derive(Debug, clap::Subcommand)]
    pub enum Command {
        #[command(flatten)]
        Kit(KitCommand),
        /// Add the demo co-op's suppliers and their products. Only for `cargo xtask demo`;
        /// never on a real co-op's server.
        DemoSeed(ConfigArg),
    }

    pub async fn run(cli: Cli) -> anyhow::Result<()> {
        match cli.command {
            Command::Kit(k) => coop_web::cli::run::<super::BuyersClub>(k).await,
            Command::DemoSeed(arg) => {
                let loaded = coop_web::cli::load::<super::BuyersClub>(&arg.config)?;
                let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
                coop_web::db::migrate(&db, &super::MIGRATOR).await?;
                let classes: Vec<String> = loaded
                    .coop
                    .vat
                    .classes()
                    .map(|(id, _)| id.as_str().to_owned())
                    .collect();
                if super::demo::seed(&db, &classes).await? {
                    eprintln!("coop-buyers-club: demo suppliers and products seeded");
                } else {
                    eprintln!("coop-buyers-club: demo data present already");
                }
                Ok(())
            }
        }
    }
}
