//! coop-finance: the co-op's money in one place. The ledger (a chart of accounts, the Swedish
//! BAS accounts by default; fiscal years with monthly periods that can be closed; a double-entry
//! journal whose entries always balance and are never changed, only reversed), member wallets
//! (holds, adjustments, captures and releases for the till and the buyers club; top-ups that a
//! bookkeeper confirms, two above a threshold), the bank-statement import that matches top-ups,
//! postings from the other services' feeds (till sales charged to members' wallets, buyers-club
//! orders, stock movements), the members as coop-sso's feed tells them, reports with budgets and
//! forecasts, member statements as PDF, and the SIE 4 export and import (see docs/finance.md).

pub mod bank;
pub mod budget;
pub mod demo;
pub mod entries;
pub mod http;
pub mod ledger;
pub mod members;
pub mod postings;
pub mod reference;
pub mod reports;
pub mod sie;
pub mod statement;
pub mod topup;
pub mod wallet;

use std::sync::{Arc, LazyLock};

use axum::Router;
use coop_web::auth::{AccessTokenVerifier, OidcClient};
use coop_web::cli::Service;
use coop_web::config::Loaded;
use coop_web::{FtlSource, Kit, Lang, ServiceName, TemplateSource};
use rust_decimal::Decimal;
use sqlx::migrate::Migrator;

/// coop-finance's migrations, after the kit's (the feed tables).
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));

pub const TRANSLATIONS: &[FtlSource] = &[
    FtlSource {
        lang: Lang::En,
        name: "coop-finance/en/finance.ftl",
        text: include_str!("../locales/en/finance.ftl"),
    },
    FtlSource {
        lang: Lang::Sv,
        name: "coop-finance/sv/finance.ftl",
        text: include_str!("../locales/sv/finance.ftl"),
    },
];

pub const TEMPLATES: &[TemplateSource] = &[
    TemplateSource {
        name: "wallet.html",
        text: include_str!("../templates/wallet.html"),
    },
    TemplateSource {
        name: "top_ups.html",
        text: include_str!("../templates/top_ups.html"),
    },
    TemplateSource {
        name: "wallets.html",
        text: include_str!("../templates/wallets.html"),
    },
    TemplateSource {
        name: "bank.html",
        text: include_str!("../templates/bank.html"),
    },
    TemplateSource {
        name: "books.html",
        text: include_str!("../templates/books.html"),
    },
    TemplateSource {
        name: "reports.html",
        text: include_str!("../templates/reports.html"),
    },
    TemplateSource {
        name: "journal.html",
        text: include_str!("../templates/journal.html"),
    },
    TemplateSource {
        name: "entry_new.html",
        text: include_str!("../templates/entry_new.html"),
    },
    TemplateSource {
        name: "entry.html",
        text: include_str!("../templates/entry.html"),
    },
    TemplateSource {
        name: "budget.html",
        text: include_str!("../templates/budget.html"),
    },
    TemplateSource {
        name: "periods.html",
        text: include_str!("../templates/periods.html"),
    },
    TemplateSource {
        name: "finance_nav.html",
        text: include_str!("../templates/finance_nav.html"),
    },
];

/// Whose wallet a member spends from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WalletPer {
    /// Each member their own.
    #[default]
    Member,
    /// One per household (members coop-sso groups in a household share it).
    Household,
}

/// coop-finance's own keys in `services.finance`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Above this amount a top-up needs a second, different bookkeeper; none: one is enough.
    pub second_bookkeeper_above: Option<Decimal>,
    pub wallet_per: WalletPer,
    /// Whether a caller may capture more than it held (when it asks to).
    pub allow_capture_above_hold: bool,
    /// The clients that may use the wallet API (with the `wallet` scope).
    pub wallet_clients: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            second_bookkeeper_above: None,
            wallet_per: WalletPer::Member,
            allow_capture_above_hold: false,
            wallet_clients: vec![
                ServiceName::Pos.client_id(),
                ServiceName::BuyersClub.client_id(),
            ],
        }
    }
}

impl Settings {
    /// Checked at start: a threshold is a positive amount.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(t) = self.second_bookkeeper_above {
            anyhow::ensure!(
                t > Decimal::ZERO,
                "services.finance.second_bookkeeper_above must be a positive amount, got {t}"
            );
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct Finance;

impl Service for Finance {
    const NAME: ServiceName = ServiceName::Finance;
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
        // The chart and this year's periods, so a new co-op can take money on day one.
        ledger::store::seed_chart(&kit.db, &ledger::chart::bas_default()).await?;
        let today = chrono::Utc::now()
            .with_timezone(&kit.coop.time_zone)
            .date_naive();
        ledger::store::ensure_year(&kit.db, today).await?;
        let oidc = OidcClient::start(&loaded.coop, &loaded.service).await?;
        let tokens = AccessTokenVerifier::for_service(oidc.provider().clone(), &loaded.service);
        // Book what the other services publish, for those the co-op runs.
        let wallet_per = loaded.extra.wallet_per;
        follow(
            &kit,
            &oidc,
            &loaded,
            ServiceName::Sso,
            members::MemberFeed { wallet_per },
        )?;
        follow(
            &kit,
            &oidc,
            &loaded,
            ServiceName::Pos,
            postings::PosFeed { wallet_per },
        )?;
        follow(
            &kit,
            &oidc,
            &loaded,
            ServiceName::BuyersClub,
            postings::BuyersClubFeed,
        )?;
        follow(&kit, &oidc, &loaded, ServiceName::Ims, postings::ImsFeed)?;
        Ok(http::router(http::AppState {
            kit,
            oidc,
            tokens,
            settings: Arc::new(loaded.extra),
        }))
    }
}

/// Follows `producer`'s feed with coop-finance's own token, if the co-op's config has the
/// producer (a service not yet run is not followed).
fn follow<A: coop_web::feed::consumer::Apply>(
    kit: &Kit,
    oidc: &OidcClient,
    loaded: &Loaded<Settings>,
    producer: ServiceName,
    apply: A,
) -> anyhow::Result<()> {
    use coop_web::feed::consumer::{Consumer, Credentials};
    let Some(svc) = loaded.coop.service(producer) else {
        return Ok(());
    };
    let token = coop_web::auth::ServiceTokenClient::from_config(
        oidc.provider().clone(),
        &loaded.service,
        &[],
    )?;
    let consumer = Consumer::new(
        producer.binary(),
        svc.url("/api/feed").parse()?,
        Credentials::Service(token),
        kit.db.clone(),
        apply,
    );
    tokio::spawn(consumer.run(coop_web::app::shutdown_signal()));
    Ok(())
}

pub mod cli {
    use coop_web::cli::{ConfigArg, KitCommand};

    /// `coop-finance serve | migrate | check-config | demo-seed | export-sie | validate-sie |
    /// income-statement`.
    #[derive(Debug, clap::Parser)]
    #[command(
        name = "coop-finance",
        version,
        about = "The co-op's ledger, member wallets and SIE export"
    )]
    pub struct Cli {
        #[command(subcommand)]
        pub command: Command,
    }

    #[derive(Debug, clap::Subcommand)]
    pub enum Command {
        #[command(flatten)]
        Kit(KitCommand),
        /// Book the demo co-op's November 2026 and leave some top-ups and a bank line waiting
        /// for a bookkeeper. Only for `cargo xtask demo`; never on a real co-op's server.
        DemoSeed(ConfigArg),
        /// Write a fiscal year as a SIE 4 file (4E: everything; 4I: the vouchers for import).
        ExportSie(ExportArgs),
        /// Check a SIE 4 file (ours or another program's) against the SIE 4B rules our
        /// validator knows; prints what it holds, or every problem with its line (exit 1).
        ValidateSie(ValidateArgs),
        /// Print the income statement of a period as CSV.
        IncomeStatement(PeriodArgs),
    }

    #[derive(Debug, Clone, clap::Args)]
    pub struct ExportArgs {
        #[command(flatten)]
        pub config: ConfigArg,
        /// The fiscal year, by the calendar year it starts in.
        #[arg(long)]
        pub year: i32,
        /// 4E or 4I.
        #[arg(long, default_value = "4E")]
        pub kind: String,
        /// Where to write the file.
        #[arg(long)]
        pub out: std::path::PathBuf,
    }

    #[derive(Debug, Clone, clap::Args)]
    pub struct ValidateArgs {
        /// The SIE file.
        pub file: std::path::PathBuf,
    }

    #[derive(Debug, Clone, clap::Args)]
    pub struct PeriodArgs {
        #[command(flatten)]
        pub config: ConfigArg,
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        pub from: chrono::NaiveDate,
        /// Last day (YYYY-MM-DD).
        #[arg(long)]
        pub to: chrono::NaiveDate,
    }

    async fn connect(
        arg: &ConfigArg,
    ) -> anyhow::Result<(coop_web::config::Loaded<super::Settings>, sqlx::PgPool)> {
        let loaded = coop_web::cli::load::<super::Finance>(&arg.config)?;
        let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
        Ok((loaded, db))
    }

    async fn export_sie(args: &ExportArgs) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let kind = match args.kind.as_str() {
            "4E" => super::sie::Kind::E,
            "4I" => super::sie::Kind::I,
            other => anyhow::bail!("--kind is 4E or 4I, not {other}"),
        };
        let (loaded, db) = connect(&args.config).await?;
        let year = sqlx::query_scalar!(
            "select fiscal_year_id from fiscal_year where extract(year from starts_on)::int = $1",
            args.year
        )
        .fetch_optional(&db)
        .await?
        .with_context(|| format!("no fiscal year starts in {}", args.year))?;
        let org = &loaded.coop.organisation;
        let company = super::sie::Company {
            name: org.name.clone(),
            orgnr: org.org_number.clone(),
            currency: loaded.coop.currency.code().to_owned(),
            program_version: env!("CARGO_PKG_VERSION").to_owned(),
            generated_on: chrono::Utc::now()
                .with_timezone(&loaded.coop.time_zone)
                .date_naive(),
        };
        let file = std::fs::File::create(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
        let out = std::io::BufWriter::with_capacity(1 << 16, file);
        let (out, summary) = super::sie::export(&db, year, kind, &company, out).await?;
        out.into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        eprintln!(
            "coop-finance: wrote {} ({} vouchers, {} transactions, {} bytes)",
            args.out.display(),
            summary.vouchers,
            summary.transactions,
            summary.bytes
        );
        Ok(())
    }

    fn validate_sie(args: &ValidateArgs) -> anyhow::Result<()> {
        let bytes = std::fs::read(&args.file)?;
        match super::sie::validate(&bytes) {
            Ok(s) => {
                println!(
                    "{}: valid SIE 4; {} vouchers, {} transactions, checksum {}",
                    args.file.display(),
                    s.vouchers,
                    s.transactions,
                    match s.checksum {
                        Some(true) => "correct",
                        Some(false) => "wrong",
                        None => "absent",
                    }
                );
                Ok(())
            }
            Err(problems) => {
                for p in &problems {
                    println!("{}:{}: {}", args.file.display(), p.line, p.message);
                }
                anyhow::bail!("{} problems", problems.len())
            }
        }
    }

    async fn income_statement(args: &PeriodArgs) -> anyhow::Result<()> {
        let (_, db) = connect(&args.config).await?;
        let s = super::reports::income_statement(&db, args.from, args.to).await?;
        print!("{}", super::reports::income_statement_csv(&s));
        Ok(())
    }

    pub async fn run(cli: Cli) -> anyhow::Result<()> {
        match cli.command {
            Command::Kit(cmd) => coop_web::cli::run::<super::Finance>(cmd).await,
            Command::DemoSeed(arg) => {
                let loaded = coop_web::cli::load::<super::Finance>(&arg.config)?;
                let db = coop_web::db::connect(&loaded.service.database_url, 2).await?;
                coop_web::db::migrate(&db, &super::MIGRATOR).await?;
                let today = chrono::Utc::now()
                    .with_timezone(&loaded.coop.time_zone)
                    .date_naive();
                super::demo::seed(&db).await?;
                super::demo::seed_waiting(&db, today).await?;
                Ok(())
            }
            Command::ExportSie(args) => export_sie(&args).await,
            Command::ValidateSie(args) => validate_sie(&args),
            Command::IncomeStatement(args) => income_statement(&args).await,
        }
    }
}
