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
pub mod matrix;
pub mod members;
pub mod notify;
pub mod places;
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
    "notifications.html",
    "places.html",
);

/// coop-buyers-club's own keys in `services.buyers_club`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Clients that may read the order feed (coop-finance books it).
    pub feed_clients: Vec<String>,
    /// The co-op's Matrix room for order news: an alias (`#orders:example.org`) on the co-op's
    /// homeserver, or a room id. With `matrix_token_file`; needs the co-op's `matrix` section.
    pub matrix_room: Option<String>,
    /// The bot's access token, as `coop-buyers-club matrix-setup` wrote it (a credential file).
    pub matrix_token_file: Option<String>,
    /// Where the bot reaches the homeserver; default: the co-op's `matrix.public_url`.
    pub matrix_url: Option<String>,
    /// The bot's user name (`@<it>:<server_name>`), for `matrix-setup`.
    pub matrix_bot: String,
    /// How many hours before an order's end its members are reminded (0: no reminder).
    pub remind_hours: u32,
    /// A tile server for the places page's map (`https://tile.example.org/{z}/{x}/{y}.png`);
    /// none: the places are a list only. Members' browsers fetch the tiles from it.
    pub map_tiles: Option<String>,
    /// The tile server's attribution, shown under the map.
    pub map_attribution: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            feed_clients: vec![ServiceName::Finance.client_id()],
            matrix_room: None,
            matrix_token_file: None,
            matrix_url: None,
            matrix_bot: "cooperage".into(),
            remind_hours: 24,
            map_tiles: None,
            map_attribution: "© OpenStreetMap contributors".into(),
        }
    }
}

impl Settings {
    /// The Matrix settings, checked: both or neither of the room and the token; a room an
    /// alias or id on the co-op's homeserver; a bot name Synapse accepts.
    ///
    /// # Errors
    /// What is wrong, naming the key.
    pub fn matrix(
        &self,
        coop: &coop_web::config::CoopConfig,
    ) -> anyhow::Result<Option<(String, String, String)>> {
        let name_ok = !self.matrix_bot.is_empty()
            && self.matrix_bot.len() <= 100
            && self
                .matrix_bot
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._=-".contains(&b));
        anyhow::ensure!(
            name_ok,
            "services.buyers_club.matrix_bot is a Matrix user name: lowercase letters, digits and ._=-"
        );
        if let Some(t) = &self.map_tiles {
            places::check_tiles(t).map_err(anyhow::Error::msg)?;
        }
        anyhow::ensure!(
            self.map_attribution.chars().count() <= 300,
            "services.buyers_club.map_attribution has at most 300 characters"
        );
        anyhow::ensure!(
            self.remind_hours <= 24 * 14,
            "services.buyers_club.remind_hours is at most 336 (two weeks)"
        );
        let (room, token) = match (&self.matrix_room, &self.matrix_token_file) {
            (None, None) => return Ok(None),
            (Some(r), Some(t)) => (r, t),
            _ => anyhow::bail!(
                "services.buyers_club.matrix_room and matrix_token_file go together: set both, or neither"
            ),
        };
        let Some(m) = &coop.matrix else {
            anyhow::bail!(
                "services.buyers_club.matrix_room needs the co-op's matrix section (its homeserver)"
            );
        };
        let well_formed = (room.starts_with('#') || room.starts_with('!'))
            && room
                .split_once(':')
                .is_some_and(|(l, server)| l.len() > 1 && server == m.server_name);
        anyhow::ensure!(
            well_formed,
            "services.buyers_club.matrix_room is #name:{0} or !id:{0} (a room on the co-op's homeserver)",
            m.server_name
        );
        let url = self
            .matrix_url
            .clone()
            .unwrap_or_else(|| m.public_url.to_string());
        Ok(Some((url, room.clone(), token.clone())))
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
    fn check(loaded: &Loaded<Settings>) -> anyhow::Result<()> {
        loaded.extra.matrix(&loaded.coop).map(|_| ())
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
        let matrix = match loaded.extra.matrix(&loaded.coop)? {
            None => None,
            Some((url, room, token)) => {
                let file = loaded.secret_file("services.buyers_club.matrix_token_file", &token);
                // The bot's setup may not have run yet (the homeserver was down): orders go on,
                // and Matrix messages wait until its token is there.
                if let Err(e) = file.read() {
                    tracing::warn!(error = %e, "no Matrix bot token yet: Matrix messages wait for it");
                }
                Some(notify::MatrixOut {
                    client: matrix::Client::new(&url, None)?,
                    token_file: Some(file),
                    room,
                    server_name: loaded
                        .coop
                        .matrix
                        .as_ref()
                        .map(|m| m.server_name.clone())
                        .unwrap_or_default(),
                })
            }
        };
        notify::Sender {
            db: kit.db.clone(),
            mailer: coop_web::mail::Mailer::from_config(loaded.coop.mail.as_ref())?,
            matrix,
            texts: Arc::new(kit.templates.translations().clone()),
            default_lang: loaded.coop.default_lang,
            time_zone: loaded.coop.time_zone,
            currency: loaded.coop.currency,
            base_url: kit.service.url("").trim_end_matches('/').to_owned(),
            org_name: loaded.coop.organisation.name.clone(),
            give_up_after: Duration::from_secs(24 * 3600),
        }
        .spawn(Duration::from_secs(5));
        spawn_closer(
            kit.db.clone(),
            wallet.clone(),
            chrono::Duration::hours(i64::from(loaded.extra.remind_hours)),
        );
        Ok(http::router(http::AppState {
            kit,
            oidc,
            tokens,
            settings: Arc::new(loaded.extra),
            wallet,
        }))
    }
}

/// Every half minute: closes the orders whose end date has passed (the pages check the end
/// date themselves, so a purchase after it is refused even before this runs), and settles with
/// coop-finance what waited for it (orders left completing, holds of cancelled orders).
fn spawn_closer(db: sqlx::PgPool, wallet: Arc<dyn wallet::Wallet>, remind: chrono::Duration) {
    tokio::spawn(async move {
        loop {
            if remind > chrono::Duration::zero() {
                if let Err(e) = store::remind_closing(&db, chrono::Utc::now(), remind).await {
                    tracing::warn!(error = %e, "reminding of orders that close soon");
                }
            }
            match store::close_ended(&db, chrono::Utc::now()).await {
                Ok(closed) if !closed.is_empty() => {
                    tracing::info!(count = closed.len(), "orders closed at their end date");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "closing ended orders"),
            }
            match store::settle_pending(&db, wallet.as_ref(), chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(left) => tracing::info!(left, "orders wait for coop-finance"),
                Err(e) => tracing::warn!(error = %e, "settling with coop-finance"),
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
        /// Register the buyers club's Matrix bot with Synapse's registration shared secret
        /// (once: a token that still works is kept) and make the co-op's room. The NixOS
        /// module runs this before the service.
        MatrixSetup {
            #[command(flatten)]
            config: ConfigArg,
            /// A file holding Synapse's `registration_shared_secret`.
            #[arg(long)]
            shared_secret_file: std::path::PathBuf,
            /// Where the bot's access token is kept (written only by its owner).
            #[arg(long)]
            token_file: std::path::PathBuf,
        },
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
            Command::MatrixSetup {
                config,
                shared_secret_file,
                token_file,
            } => {
                let loaded = coop_web::cli::load::<super::BuyersClub>(&config.config)?;
                let Some((url, room, _)) = loaded.extra.matrix(&loaded.coop)? else {
                    anyhow::bail!(
                        "services.buyers_club.matrix_room is not set: there is no room to set up"
                    );
                };
                let server_name = loaded
                    .coop
                    .matrix
                    .as_ref()
                    .map(|m| m.server_name.clone())
                    .unwrap_or_default();
                let Some(alias) = room
                    .strip_prefix('#')
                    .and_then(|r| r.split_once(':'))
                    .map(|(l, _)| l.to_owned())
                else {
                    anyhow::bail!("matrix-setup makes a room by its alias: set matrix_room to #name:{server_name}");
                };
                let secret = coop_web::config::SecretFile::resolve(
                    "--shared-secret-file",
                    &shared_secret_file.to_string_lossy(),
                    None,
                )
                .read()?;
                let room_id = super::matrix::setup(
                    &url,
                    &server_name,
                    &secret,
                    &loaded.extra.matrix_bot,
                    &token_file,
                    &alias,
                    &loaded.coop.organisation.name,
                )
                .await?;
                eprintln!("coop-buyers-club: the bot writes in {room} ({room_id})");
                Ok(())
            }
        }
    }
}
