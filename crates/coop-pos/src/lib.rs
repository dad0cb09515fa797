//! coop-pos central (`coop-pos serve`): the tills and the sales they upload. A paired till
//! uploads its hash-chained journal to `/api/sales`; each sale is stored once whatever the
//! retries, its chain verified (a gap or a changed record is flagged, not stored), and published
//! as `sale.completed` for coop-ims (stock) and coop-finance (books). Managers see every till's
//! sync state. The till itself (`coop-pos till`) is the `coop-pos-till` crate.

pub mod feed;
pub mod hours;
pub mod http;
pub mod ingest;
pub mod recovery;
pub mod wallet;

use std::sync::{Arc, LazyLock};

use axum::Router;
use coop_pos_till::tender::{TenderKind, TenderType};
use coop_web::auth::{AccessTokenVerifier, OidcClient};
use coop_web::cli::Service;
use coop_web::config::Loaded;
use coop_web::{FtlSource, Kit, Lang, ServiceName, TemplateSource};
use rust_decimal::Decimal;
use sqlx::migrate::Migrator;

/// coop-pos's migrations, after the kit's (the feed tables, the jobs).
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));

pub const TRANSLATIONS: &[FtlSource] = &[
    FtlSource {
        lang: Lang::En,
        name: "coop-pos/en/pos.ftl",
        text: include_str!("../locales/en/pos.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-pos/sv/pos.ftl",
        text: include_str!("../locales/sv/pos.ftl"),
    },
];

pub const TEMPLATES: &[TemplateSource] = &[
    TemplateSource {
        name: "tills.html",
        text: include_str!("../templates/tills.html"),
    },
    TemplateSource {
        name: "sales.html",
        text: include_str!("../templates/sales.html"),
    },
    TemplateSource {
        name: "receipt.html",
        text: include_str!("../templates/receipt.html"),
    },
    TemplateSource {
        name: "mine.html",
        text: include_str!("../templates/mine.html"),
    },
    TemplateSource {
        name: "days.html",
        text: include_str!("../templates/days.html"),
    },
    TemplateSource {
        name: "pos_nav.html",
        text: include_str!("../templates/pos_nav.html"),
    },
    TemplateSource {
        name: "hours.html",
        text: include_str!("../templates/hours.html"),
    },
    TemplateSource {
        name: "hours_person.html",
        text: include_str!("../templates/hours_person.html"),
    },
    TemplateSource {
        name: "pin.html",
        text: include_str!("../templates/pin.html"),
    },
];

/// coop-pos's own keys in `services.pos`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Shelf prices include VAT (a shop); else VAT is added per rate at the till.
    pub prices_include_vat: bool,
    /// The in-store barcode layouts the shop's scales print (GS1 prefixes 20-29), the same as
    /// coop-ims's `variable_measure`: the till reads labels offline with these.
    pub variable_measure: Vec<coop_domain::VariableMeasureRule>,
    /// The tenders the tills take, in the order their buttons show.
    pub tenders: Vec<TenderType>,
    /// How much a member may spend from their wallet while the till cannot reach coop-finance.
    pub offline_wallet_limit: Decimal,
    /// The coop-ims location the tills sell from (default: coop-ims's first shop).
    pub location: Option<String>,
    /// Clients that may read the sales feed.
    pub feed_clients: Vec<String>,
    /// A return paying back more than this needs a manager's PIN at the till (0: every return).
    pub return_pin_above: Decimal,
}

impl Default for Settings {
    fn default() -> Self {
        let t = |id: &str, kind| TenderType {
            id: id.into(),
            kind,
        };
        Self {
            prices_include_vat: true,
            variable_measure: coop_ims_default_rules(),
            tenders: vec![
                t("cash", TenderKind::Cash),
                t("card", TenderKind::Card),
                t("wallet", TenderKind::Wallet),
            ],
            offline_wallet_limit: Decimal::from(200),
            location: None,
            feed_clients: vec![
                ServiceName::Ims.client_id(),
                ServiceName::Finance.client_id(),
            ],
            return_pin_above: Decimal::from(300),
        }
    }
}

/// Sweden's common layouts, as coop-ims's default: 2 prefix digits, a 5-digit item (the PLU),
/// a 5-digit price in öre (20) or weight in grams (23), the check digit.
fn coop_ims_default_rules() -> Vec<coop_domain::VariableMeasureRule> {
    use coop_domain::{ValueKind, VariableMeasureRule, VariableMeasureRuleConfig};
    [
        ("20", ValueKind::PriceMinorUnits),
        ("23", ValueKind::WeightGrams),
    ]
    .into_iter()
    .map(|(prefix, value_kind)| {
        VariableMeasureRule::new(VariableMeasureRuleConfig {
            prefix: vec![prefix.to_owned()],
            item_start: 3,
            item_len: 5,
            value_start: 8,
            value_len: 5,
            value_kind,
            price_check_digit: None,
            value_multiplier: 1,
        })
        .expect("a valid layout")
    })
    .collect()
}

impl Settings {
    /// Checked at start: tender ids are unique and simple, rates positive, one cash tender.
    pub fn check(&self) -> anyhow::Result<()> {
        let mut ids = std::collections::BTreeSet::new();
        for t in &self.tenders {
            anyhow::ensure!(
                !t.id.is_empty()
                    && t.id.len() <= 20
                    && t.id
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "services.pos.tenders: id `{}` must be 1 to 20 lowercase letters, digits or -",
                t.id
            );
            anyhow::ensure!(
                ids.insert(t.id.clone()),
                "services.pos.tenders: `{}` is listed twice",
                t.id
            );
            if let TenderKind::ForeignCash { currency, rate } = &t.kind {
                coop_domain::Currency::parse(currency)
                    .map_err(|e| anyhow::anyhow!("services.pos.tenders.{}: currency: {e}", t.id))?;
                anyhow::ensure!(
                    *rate > Decimal::ZERO,
                    "services.pos.tenders.{}: rate must be above zero",
                    t.id
                );
            }
        }
        anyhow::ensure!(
            self.tenders
                .iter()
                .any(|t| matches!(t.kind, TenderKind::Cash)),
            "services.pos.tenders: a `cash` tender in the home currency is needed (change is given in it)"
        );
        anyhow::ensure!(
            !self.offline_wallet_limit.is_sign_negative(),
            "services.pos.offline_wallet_limit cannot be negative"
        );
        anyhow::ensure!(
            !self.return_pin_above.is_sign_negative(),
            "services.pos.return_pin_above cannot be negative"
        );
        Ok(())
    }
}

#[derive(Debug)]
pub struct Pos;

impl Service for Pos {
    const NAME: ServiceName = ServiceName::Pos;
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
        loaded.extra.check()?;
        let oidc = OidcClient::start(&loaded.coop, &loaded.service).await?;
        let tokens = AccessTokenVerifier::for_service(oidc.provider().clone(), &loaded.service);
        coop_web::feed::spawn_compaction(kit.db.clone());
        // The member wallet online, through coop-finance, when the co-op runs it.
        let finance = match loaded.coop.service(ServiceName::Finance) {
            Some(f) => Some(wallet::Finance::new(
                &f.url(""),
                coop_web::auth::ServiceTokenClient::from_config(
                    oidc.provider().clone(),
                    &loaded.service,
                    &[],
                )?,
            )),
            None => None,
        };
        let mailer = coop_web::mail::Mailer::from_config(loaded.coop.mail.as_ref())?;
        Ok(http::router(http::AppState {
            kit,
            oidc,
            tokens,
            settings: Arc::new(loaded.extra),
            finance,
            mailer: Arc::new(mailer),
        }))
    }
}

pub mod cli {
    use anyhow::Context as _;
    use coop_web::cli::{ConfigArg, KitCommand};

    /// `coop-pos serve | migrate | check-config` (central) and `coop-pos till` (a till).
    #[derive(Debug, clap::Parser)]
    #[command(
        name = "coop-pos",
        version,
        about = "The co-op's tills and their sales"
    )]
    pub struct Cli {
        #[command(subcommand)]
        pub command: Command,
    }

    #[derive(Debug, clap::Subcommand)]
    pub enum Command {
        #[command(flatten)]
        Kit(KitCommand),
        /// Fill a demo till's journal with a few weeks of sales (the running till uploads
        /// them). Only for `cargo xtask demo`; never on a real co-op's till.
        TillDemoSales {
            /// The till's config file (JSON).
            #[arg(long)]
            config: std::path::PathBuf,
            /// How many days back.
            #[arg(long, default_value_t = 21)]
            days: u32,
        },
        /// Run a till: its UI for the kiosk browser, its store, its sync with the server.
        Till {
            /// The till's config file (JSON).
            #[arg(
                long,
                global = true,
                env = "COOPERAGE_TILL_CONFIG",
                default_value = "/etc/cooperage/till.json"
            )]
            config: std::path::PathBuf,
            #[command(subcommand)]
            command: Option<TillCommand>,
        },
        /// Run the payment bridge: the card terminal's driver, with a local HTTP API for the till
        /// (see docs/tills.md, "Card terminals").
        Bridge {
            /// The bridge's config file (JSON).
            #[arg(
                long,
                env = "COOPERAGE_BRIDGE_CONFIG",
                default_value = "/etc/cooperage/bridge.json"
            )]
            config: std::path::PathBuf,
            /// Only check the config file, and print it as the bridge reads it.
            #[arg(long)]
            check: bool,
        },
        /// Take the sales a broken till never uploaded, from the file `coop-pos till
        /// export-unsent` wrote (stdin, or --file): each is checked against the till's chain
        /// and stored once, however often this runs.
        ImportTillSales {
            #[command(flatten)]
            config: ConfigArg,
            /// The export (JSON); `-` or left out: stdin.
            #[arg(long)]
            file: Option<std::path::PathBuf>,
        },
    }

    /// What `coop-pos till` does besides running the till.
    #[derive(Debug, clap::Subcommand)]
    pub enum TillCommand {
        /// Check the till's config file, and print it as the till reads it.
        CheckConfig,
        /// Write, as JSON on stdout, the sales and clockings a till's store holds that central
        /// has not acknowledged: for a till that broke, from its SD card (the store is copied
        /// aside and never written). Take them at the server with `coop-pos import-till-sales`.
        ExportUnsent {
            /// The till's store: its state directory (`/var/lib/cooperage-till` on the card)
            /// or the `till.sqlite` in it.
            #[arg(long)]
            store: std::path::PathBuf,
            /// The till's id, for a till run from a token file (a paired till's store knows it).
            #[arg(long)]
            till: Option<String>,
        },
    }

    pub async fn run(cli: Cli) -> anyhow::Result<()> {
        match cli.command {
            Command::Kit(k) => coop_web::cli::run::<super::Pos>(k).await,
            Command::TillDemoSales { config, days } => {
                coop_pos_till::run::demo_sales(read_till_config(&config)?, days).await
            }
            Command::Till {
                config,
                command: None,
            } => {
                let cfg = read_till_config(&config)?;
                coop_web::logging::init("coop-pos-till", "info");
                coop_pos_till::run::run(cfg).await
            }
            Command::Till {
                config,
                command: Some(TillCommand::CheckConfig),
            } => {
                let cfg = read_till_config(&config)?;
                cfg.check()
                    .with_context(|| format!("{}", config.display()))?;
                println!("{}", serde_json::to_string_pretty(&cfg)?);
                Ok(())
            }
            Command::Till {
                command: Some(TillCommand::ExportUnsent { store, till }),
                ..
            } => {
                let unsent =
                    coop_pos_till::recovery::export_unsent(&store, till.as_deref()).await?;
                println!("{}", serde_json::to_string_pretty(&unsent)?);
                eprintln!(
                    "coop-pos till: {} unsent sales and {} clockings of till {}",
                    unsent.sales.len(),
                    unsent.clockings.len(),
                    unsent.till_id
                );
                Ok(())
            }
            Command::ImportTillSales { config, file } => import_till_sales(&config, file).await,
            Command::Bridge { config, check } => bridge(&config, check).await,
        }
    }

    async fn bridge(config: &std::path::Path, check: bool) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(config)
            .with_context(|| format!("reading {}", config.display()))?;
        let cfg: coop_pos_devices::bridge::BridgeConfig =
            serde_json::from_str(&text).with_context(|| format!("{}", config.display()))?;
        cfg.check()
            .with_context(|| format!("{}", config.display()))?;
        if check {
            println!("{}", serde_json::to_string_pretty(&cfg)?);
            return Ok(());
        }
        coop_web::logging::init("coop-pos-bridge", "info");
        std::fs::create_dir_all(&cfg.state_directory)?;
        let token = cfg.token()?;
        let bridge = coop_pos_devices::bridge::Bridge::open(&cfg.state_directory, cfg.driver())
            .await?
            .with_token(token);
        let listener = tokio::net::TcpListener::bind(&cfg.listen).await?;
        tracing::info!(listen = %cfg.listen, ready = bridge.is_ready(), "payment bridge serving");
        axum::serve(listener, bridge.router())
            .with_graceful_shutdown(coop_web::app::shutdown_signal())
            .await?;
        Ok(())
    }

    fn read_till_config(
        config: &std::path::Path,
    ) -> anyhow::Result<coop_pos_till::run::TillConfig> {
        let text = std::fs::read_to_string(config)
            .with_context(|| format!("reading {}", config.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}", config.display()))
    }

    async fn import_till_sales(
        config: &ConfigArg,
        file: Option<std::path::PathBuf>,
    ) -> anyhow::Result<()> {
        use std::io::Read as _;
        let text = match file {
            Some(f) if f.as_os_str() != "-" => {
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
            }
            _ => {
                let mut t = String::new();
                std::io::stdin()
                    .read_to_string(&mut t)
                    .context("reading the export from stdin")?;
                t
            }
        };
        let unsent = crate::recovery::parse(&text)?;
        let loaded = coop_web::cli::load::<super::Pos>(&config.config)?;
        let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
        let done = crate::recovery::import(
            &db,
            &unsent,
            loaded.coop.currency.code(),
            Some(&loaded.coop.vat),
            loaded.extra.location.as_deref(),
        )
        .await?;
        println!("{}", serde_json::to_string_pretty(&done)?);
        if let Some(r) = &done.refused {
            anyhow::bail!(
                "sale {} (number {}) was refused: {}; the sales after it were not taken",
                r.sale_id,
                r.seq,
                r.problem
            );
        }
        eprintln!(
            "coop-pos: {} sales taken, {} there already, {} clockings held, for till {}",
            done.accepted, done.duplicates, done.clockings, done.till_id
        );
        Ok(())
    }
}
