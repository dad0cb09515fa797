//! Sign-in throttling: too many failures for one account, or from one address, in a window
//! lock further attempts until the window has passed. Counted in the database, so restarts and
//! several instances agree.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

pub const WINDOW: Duration = Duration::minutes(15);
pub const MAX_PER_ACCOUNT: i64 = 5;
pub const MAX_PER_ADDRESS: i64 = 30;

/// Whether a sign-in for `email` from `ip` may be tried now.
pub async fn allowed(
    db: &PgPool,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let since = now - WINDOW;
    let (by_account, by_address): (i64, i64) = sqlx::query_as(
        "select
            (select count(*) from login_failure where email = $1 and occurred_at > $3),
            (select count(*) from login_failure where client_ip = $2 and occurred_at > $3)",
    )
    .bind(email)
    .bind(ip)
    .bind(since)
    .fetch_one(db)
    .await?;
    Ok(by_account < MAX_PER_ACCOUNT && by_address < MAX_PER_ADDRESS)
}

pub async fn record_failure(
    db: &PgPool,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into login_failure (email, client_ip, occurred_at) values ($1, $2, $3)")
        .bind(email)
        .bind(ip)
        .bind(now)
        .execute(db)
        .await?;
    // Keep the table small; old failures say nothing any more.
    sqlx::query("delete from login_failure where occurred_at < $1")
        .bind(now - WINDOW * 4)
        .execute(db)
        .await?;
    Ok(())
}

/// A successful sign-in clears the account's failures.
pub async fn clear(db: &PgPool, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from login_failure where email = $1")
        .bind(email)
        .execute(db)
        .await?;
    Ok(())
}
