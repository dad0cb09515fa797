//! PostgreSQL: one pool per service, embedded migrations, and the readiness check.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, PgPool};

use crate::config::DatabaseUrl;

/// Connects lazily-checked: the pool is created and one connection is tried, so a wrong URL
/// fails at start with a clear message instead of at the first request.
pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url
        .expose()
        .parse()
        .with_context(|| format!("database_url {url} is not a valid PostgreSQL URL"))?;
    let options = options.log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500));
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to the database at {url}"))
}

pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> anyhow::Result<()> {
    migrator
        .run(pool)
        .await
        .context("applying database migrations")
}

/// Whether the database answers and every embedded migration is applied.
pub async fn ready(pool: &PgPool, migrator: &Migrator) -> Result<(), String> {
    let latest = migrator.iter().map(|m| m.version).max();
    let applied: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(pool)
            .await
            .map_err(|e| format!("database not reachable or not migrated: {e}"))?;
    match (latest, applied) {
        (None, _) => Ok(()),
        (Some(l), Some(a)) if a >= l => Ok(()),
        (Some(l), a) => Err(format!("migrations behind: applied {a:?}, embedded {l}")),
    }
}
