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

/// The kit's own migrations (the feed tables), versions 1000000 and up.
static KIT: Migrator = sqlx::migrate!("./migrations");

/// A service's migrations with the kit's in front: a service's migrations may use the kit's
/// tables. Kit versions start at 1000000, so they never meet a service's.
///
/// ```ignore
/// pub static MIGRATOR: LazyLock<Migrator> =
///     LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));
/// ```
pub fn with_kit_migrations(service: Migrator) -> Migrator {
    debug_assert!(
        service.iter().all(|m| m.version < 1_000_000),
        "versions from 1000000 up belong to the kit"
    );
    let mut all: Vec<_> = KIT.iter().cloned().collect();
    all.extend(service.iter().cloned());
    Migrator {
        migrations: all.into(),
        ..service
    }
}

pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> anyhow::Result<()> {
    migrator
        .run(pool)
        .await
        .context("applying database migrations")
}

/// Whether the database answers and every embedded migration is applied.
pub async fn ready(pool: &PgPool, migrator: &Migrator) -> Result<(), String> {
    let embedded: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    if embedded.is_empty() {
        return Ok(());
    }
    let missing: Vec<i64> = sqlx::query_scalar(
        "select v from unnest($1::bigint[]) v
         where not exists (select 1 from _sqlx_migrations m where m.version = v and m.success)
         order by v",
    )
    .bind(&embedded)
    .fetch_all(pool)
    .await
    .map_err(|e| format!("database not reachable or not migrated: {e}"))?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("migrations not applied: {missing:?}"))
    }
}

/// A `like`/`ilike` pattern that finds `q` anywhere, with `q`'s own `%`, `_` and `\` taken
/// literally (PostgreSQL's default escape character is `\`).
pub fn contains_pattern(q: &str) -> String {
    format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

#[cfg(test)]
mod pattern_tests {
    #[test]
    fn wildcards_in_the_query_are_literal() {
        assert_eq!(super::contains_pattern("5%_a\\b"), "%5\\%\\_a\\\\b%");
        assert_eq!(super::contains_pattern(""), "%%");
    }
}
