//! The subcommands every binary shares: `serve`, `migrate`, `check-config`. A service's
//! `main.rs` parses its own clap enum, flattens [`KitCommand`] into it, and calls [`run`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::migrate::Migrator;

use crate::app::{self, Kit, Listener};
use crate::config::{self, Loaded, ProcessEnv, ServiceName};
use crate::i18n::{FtlSource, Translations};
use crate::metrics::Metrics;
use crate::session::{self, SessionConfig};
use crate::templates::{TemplateSource, Templates};

#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArg {
    /// The co-op config file (JSON).
    #[arg(
        long,
        env = "COOPERAGE_CONFIG",
        default_value = "/etc/cooperage/cooperage.json"
    )]
    pub config: PathBuf,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum KitCommand {
    /// Apply migrations and serve HTTP until SIGTERM.
    Serve(ConfigArg),
    /// Apply the database migrations and exit.
    Migrate(ConfigArg),
    /// Validate the config file and print the resolved view (secrets masked).
    CheckConfig(ConfigArg),
}

/// What a service tells the kit about itself.
pub trait Service: Send + Sync + 'static {
    const NAME: ServiceName;
    /// The service's own keys in its `services.<name>` section.
    type Extra: DeserializeOwned + Serialize + Clone + Send + Sync + std::fmt::Debug + 'static;

    fn migrator() -> &'static Migrator;
    fn translations() -> &'static [FtlSource];
    fn templates() -> &'static [TemplateSource];
    /// Checks the service's own keys against the rest of the config, beyond what parsing
    /// checks (`check-config`, `migrate` and `serve` all refuse a config this refuses).
    ///
    /// # Errors
    /// What is wrong, naming the key.
    fn check(_loaded: &Loaded<Self::Extra>) -> anyhow::Result<()> {
        Ok(())
    }
    /// The service's routes, given the kit and its config.
    fn routes(
        kit: Kit,
        loaded: Loaded<Self::Extra>,
    ) -> impl Future<Output = anyhow::Result<Router>> + Send;
}

pub fn load<S: Service>(path: &Path) -> anyhow::Result<Loaded<S::Extra>> {
    let loaded = config::load::<S::Extra>(path, S::NAME, &ProcessEnv)?;
    S::check(&loaded)?;
    Ok(loaded)
}

/// Builds the kit: templates and translations, the session key (created in the state directory
/// at first start), the database pool.
pub async fn kit<S: Service>(loaded: &Loaded<S::Extra>) -> anyhow::Result<Kit> {
    let translations = Translations::new(S::translations(), loaded.coop.default_lang)?;
    let templates = Templates::new(S::templates(), translations)?
        .localised(loaded.coop.time_zone, loaded.coop.currency);
    let logo = match &loaded.coop.organisation.logo_file {
        Some(path) => Some(crate::branding::Logo::load(path).context("organisation.logo_file")?),
        None => None,
    };
    let key = session::load_or_create_key(&loaded.service.state_directory)?;
    let origin = loaded.service.public_url.origin().ascii_serialization();
    let session = SessionConfig::new(key, S::NAME.key(), loaded.service.secure_cookies(), origin);
    let db = crate::db::connect(&loaded.service.database_url, 16).await?;
    Ok(Kit {
        coop: Arc::new(loaded.coop.clone()),
        service: Arc::new(loaded.service.clone()),
        templates,
        metrics: Metrics::new(S::NAME.binary()),
        session: Arc::new(session),
        db,
        migrator: S::migrator(),
        logo,
    })
}

/// Builds the whole app for a loaded config: the kit, migrations, the service's routes.
pub async fn app<S: Service>(loaded: Loaded<S::Extra>) -> anyhow::Result<(Kit, Router)> {
    let kit = kit::<S>(&loaded).await?;
    crate::db::migrate(&kit.db, kit.migrator).await?;
    let routes = S::routes(kit.clone(), loaded).await?;
    Ok((kit.clone(), app::build(&kit, routes)))
}

/// Runs one of the shared subcommands. Returns the process exit code.
pub async fn run<S: Service>(cmd: KitCommand) -> anyhow::Result<()> {
    match cmd {
        KitCommand::CheckConfig(arg) => {
            let loaded = load::<S>(&arg.config)?;
            let view = config::resolved_view(&loaded);
            println!("{}", serde_json::to_string_pretty(&view)?);
            Ok(())
        }
        KitCommand::Migrate(arg) => {
            let loaded = load::<S>(&arg.config)?;
            crate::logging::init(S::NAME.binary(), &loaded.service.log_filter);
            let db = crate::db::connect(&loaded.service.database_url, 2).await?;
            crate::db::migrate(&db, S::migrator()).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        KitCommand::Serve(arg) => {
            let loaded = load::<S>(&arg.config)?;
            crate::logging::init(S::NAME.binary(), &loaded.service.log_filter);
            let listen = loaded.service.listen.clone();
            let public = loaded.service.public_url.clone();
            let (_kit, router) = app::<S>(loaded).await.context("starting")?;
            let listener = Listener::inherited_or_bind(&listen).await?;
            tracing::info!(listen = %listener.local_addr(), public_url = %public, "{} serving", S::NAME.binary());
            app::serve(listener, router, app::shutdown_signal()).await?;
            tracing::info!("stopped");
            Ok(())
        }
    }
}
