//! coop-ims: the co-op's catalogue and stock. Products with their codes (GTINs, PLUs, SKUs,
//! variable-measure codes), packs and scheduled prices; stock as a ledger of movements per
//! location; the look-up a till makes for a scanned code; a product finder for members; the
//! stock valuation; the catalogue and stock feed for tills and coop-finance; and the sales feed
//! of coop-pos applied once per sale.

pub mod audit;
pub mod catalogue;
pub mod chart;
pub mod demo;
pub mod export;
pub mod feed;
pub mod http;
pub mod price_list;
pub mod purchase;
pub mod reports;
pub mod request;
pub mod stock;

use std::sync::{Arc, LazyLock};

use axum::Router;
use coop_domain::code::VariableMeasureRule;
use coop_web::auth::{AccessTokenVerifier, OidcClient};
use coop_web::cli::Service;
use coop_web::config::Loaded;
use coop_web::{FtlSource, Kit, Lang, ServiceName, TemplateSource};
use sqlx::migrate::Migrator;

/// coop-ims's migrations, after the kit's (the feed tables).
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));

pub const TRANSLATIONS: &[FtlSource] = &[
    FtlSource {
        lang: Lang::En,
        name: "coop-ims/en/ims.ftl",
        text: include_str!("../locales/en/ims.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-ims/sv/ims.ftl",
        text: include_str!("../locales/sv/ims.ftl"),
    },
];

pub const TEMPLATES: &[TemplateSource] = &[
    TemplateSource {
        name: "ims_nav.html",
        text: include_str!("../templates/ims_nav.html"),
    },
    TemplateSource {
        name: "products.html",
        text: include_str!("../templates/products.html"),
    },
    TemplateSource {
        name: "product.html",
        text: include_str!("../templates/product.html"),
    },
    TemplateSource {
        name: "find.html",
        text: include_str!("../templates/find.html"),
    },
    TemplateSource {
        name: "audits.html",
        text: include_str!("../templates/audits.html"),
    },
    TemplateSource {
        name: "audit.html",
        text: include_str!("../templates/audit.html"),
    },
    TemplateSource {
        name: "requests.html",
        text: include_str!("../templates/requests.html"),
    },
    TemplateSource {
        name: "reports_nav.html",
        text: include_str!("../templates/reports_nav.html"),
    },
    TemplateSource {
        name: "velocity.html",
        text: include_str!("../templates/velocity.html"),
    },
    TemplateSource {
        name: "reorder.html",
        text: include_str!("../templates/reorder.html"),
    },
    TemplateSource {
        name: "shrink.html",
        text: include_str!("../templates/shrink.html"),
    },
    TemplateSource {
        name: "orders.html",
        text: include_str!("../templates/orders.html"),
    },
    TemplateSource {
        name: "order.html",
        text: include_str!("../templates/order.html"),
    },
    TemplateSource {
        name: "suppliers.html",
        text: include_str!("../templates/suppliers.html"),
    },
    TemplateSource {
        name: "supplier.html",
        text: include_str!("../templates/supplier.html"),
    },
    TemplateSource {
        name: "valuation.html",
        text: include_str!("../templates/valuation.html"),
    },
];

/// coop-ims's own keys in `services.ims`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The in-store barcode layouts the shop's scales print (GS1 prefixes 20-29).
    pub variable_measure: Vec<VariableMeasureRule>,
    /// Whether members' product finder shows aisle and shelf.
    pub show_locations: bool,
    /// Where stock is kept; the first shop is where tills sell from unless a sale says.
    pub locations: Vec<stock::LocationConfig>,
    /// Clients that may read the whole feed (stock values included).
    pub feed_clients: Vec<String>,
    /// Clients that may look codes up (besides paired tills).
    pub lookup_clients: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        use coop_domain::code::{ValueKind, VariableMeasureRuleConfig};
        let rule = |prefix: &str, value_kind| {
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
        };
        Self {
            // Sweden's common layouts: 2 prefix digits, a 5-digit item (the PLU), a 5-digit
            // weight in grams (23) or price in öre (20), the check digit.
            variable_measure: vec![
                rule("20", ValueKind::PriceMinorUnits),
                rule("23", ValueKind::WeightGrams),
            ],
            show_locations: false,
            locations: vec![
                stock::LocationConfig {
                    code: "shop".into(),
                    name: "Shop".into(),
                    kind: "shop".into(),
                },
                stock::LocationConfig {
                    code: "storeroom".into(),
                    name: "Storeroom".into(),
                    kind: "storeroom".into(),
                },
            ],
            feed_clients: vec![ServiceName::Finance.client_id()],
            lookup_clients: vec![ServiceName::Pos.client_id()],
        }
    }
}

impl Settings {
    /// Checked at start: locations are unique and there is a shop.
    pub fn check(&self) -> anyhow::Result<()> {
        let mut codes = std::collections::BTreeSet::new();
        for l in &self.locations {
            anyhow::ensure!(
                !l.code.is_empty()
                    && l.code.len() <= 32
                    && l.code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "services.ims.locations: code `{}` must be 1 to 32 lowercase letters, digits or -",
                l.code
            );
            anyhow::ensure!(
                ["shop", "storeroom", "warehouse"].contains(&l.kind.as_str()),
                "services.ims.locations.{}: kind is shop, storeroom or warehouse, not `{}`",
                l.code,
                l.kind
            );
            anyhow::ensure!(
                codes.insert(l.code.clone()),
                "services.ims.locations: `{}` is listed twice",
                l.code
            );
        }
        anyhow::ensure!(
            self.locations.iter().any(|l| l.kind == "shop"),
            "services.ims.locations: at least one location of kind `shop` is needed"
        );
        Ok(())
    }

    /// Where tills sell from unless a sale says otherwise: the first shop.
    pub fn default_location(&self) -> String {
        self.locations
            .iter()
            .find(|l| l.kind == "shop")
            .map_or_else(|| "shop".into(), |l| l.code.clone())
    }
}

#[derive(Debug)]
pub struct Ims;

impl Service for Ims {
    const NAME: ServiceName = ServiceName::Ims;
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
        stock::sync_locations(&kit.db, &loaded.extra.locations).await?;
        let oidc = OidcClient::start(&loaded.coop, &loaded.service).await?;
        let tokens = AccessTokenVerifier::for_service(oidc.provider().clone(), &loaded.service);
        // Take the tills' sales off the stock, when the co-op runs tills.
        if let Some(pos) = loaded.coop.service(ServiceName::Pos) {
            use coop_web::feed::consumer::{Consumer, Credentials};
            let token = coop_web::auth::ServiceTokenClient::from_config(
                oidc.provider().clone(),
                &loaded.service,
                &[],
            )?;
            let consumer = Consumer::new(
                ServiceName::Pos.binary(),
                pos.url("/api/feed").parse()?,
                Credentials::Service(token),
                kit.db.clone(),
                stock::SalesFeed {
                    default_location: loaded.extra.default_location(),
                },
            );
            tokio::spawn(consumer.run(coop_web::app::shutdown_signal()));
        }
        coop_web::feed::spawn_compaction(kit.db.clone());
        let mailer = coop_web::mail::Mailer::from_config(loaded.coop.mail.as_ref())?;
        let db = kit.db.clone();
        let jobs = coop_web::jobs::Jobs::builder()
            .handler(export::REPORT_CSV, move |progress, params| {
                export::run(db.clone(), progress, params)
            })
            .build(kit.db.clone());
        jobs.spawn_worker(coop_web::app::shutdown_signal());
        Ok(http::router(http::AppState {
            kit,
            oidc,
            tokens,
            settings: Arc::new(loaded.extra),
            mailer: Arc::new(mailer),
            jobs,
        }))
    }
}

pub mod cli {
    use coop_web::cli::{ConfigArg, KitCommand};

    /// `coop-ims serve | migrate | check-config | demo-seed`.
    #[derive(Debug, clap::Parser)]
    #[command(name = "coop-ims", version, about = "The co-op's catalogue and stock")]
    pub struct Cli {
        #[command(subcommand)]
        pub command: Command,
    }

    #[derive(Debug, clap::Subcommand)]
    pub enum Command {
        #[command(flatten)]
        Kit(KitCommand),
        /// Fill the catalogue and stock with the demo co-op's products and a few weeks of
        /// deliveries, sales and shrink. Only for `cargo xtask demo`; never on a real co-op's
        /// server.
        DemoSeed(ConfigArg),
    }

    async fn demo_seed(arg: &ConfigArg) -> anyhow::Result<()> {
        let loaded = coop_web::cli::load::<super::Ims>(&arg.config)?;
        let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
        coop_web::db::migrate(&db, &super::MIGRATOR).await?;
        super::stock::sync_locations(&db, &loaded.extra.locations).await?;
        let today = chrono::Utc::now()
            .with_timezone(&loaded.coop.time_zone)
            .date_naive();
        if super::demo::seed(&db, today).await? {
            eprintln!("coop-ims: demo catalogue and stock seeded");
        } else {
            eprintln!("coop-ims: demo data present already");
        }
        Ok(())
    }

    pub async fn run(cli: Cli) -> anyhow::Result<()> {
        match cli.command {
            Command::Kit(k) => coop_web::cli::run::<super::Ims>(k).await,
            Command::DemoSeed(arg) => demo_seed(&arg).await,
        }
    }
}
