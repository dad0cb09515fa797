//! Sign-in throttling, counted in the database so restarts and several instances agree.
//!
//! Three limits, chosen so that nobody can lock a member (an admin, say) out by typing wrong
//! passwords from somewhere else:
//! - per (account, address) pair: after [`MAX_PER_PAIR`] failures in [`WINDOW`], that address
//!   may not try that account again until the window has passed (a hard lock);
//! - per account, from anywhere: after [`FREE_PER_ACCOUNT`] failures of the account, an address
//!   waits after its own last failure on it a delay that doubles with every failure of the
//!   account, capped at [`MAX_DELAY`]. Guessing from many addresses slows down, while an address
//!   that has not failed (the member's own) is never made to wait by the others;
//! - per address: [`MAX_PER_ADDRESS`] failures in the window, whatever the accounts.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

pub const WINDOW: Duration = Duration::minutes(15);
pub const MAX_PER_PAIR: i64 = 5;
pub const FREE_PER_ACCOUNT: i64 = 5;
pub const MAX_DELAY: Duration = Duration::seconds(30);
pub const MAX_PER_ADDRESS: i64 = 30;

/// Whether a sign-in may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Too many failures on this account lately: try again after this many seconds.
    Wait(i64),
    /// This address has used up its tries (for this account, or for all of them).
    Locked,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Decision::Allowed
    }
}

/// The delay after `failures` failures on an account: none for the first few, then 1 s, 2 s,
/// 4 s, … up to [`MAX_DELAY`].
pub fn delay_after(failures: i64) -> Duration {
    if failures < FREE_PER_ACCOUNT {
        return Duration::zero();
    }
    let doublings = u32::try_from(failures - FREE_PER_ACCOUNT)
        .unwrap_or(u32::MAX)
        .min(16);
    Duration::seconds(1_i64 << doublings).min(MAX_DELAY)
}

pub async fn check(
    db: &PgPool,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<Decision, sqlx::Error> {
    let since = now - WINDOW;
    let row = sqlx::query!(
        r#"select
            count(*) filter (where email = $1 and client_ip = $2) as "pair!",
            count(*) filter (where email = $1) as "account!",
            count(*) filter (where client_ip = $2) as "address!",
            max(occurred_at) filter (where email = $1 and client_ip = $2) as last
         from login_failure
         where occurred_at > $3 and (email = $1 or client_ip = $2)"#,
        email,
        ip,
        since
    )
    .fetch_one(db)
    .await?;
    let (pair, account, address, last) = (row.pair, row.account, row.address, row.last);
    if pair >= MAX_PER_PAIR || address >= MAX_PER_ADDRESS {
        return Ok(Decision::Locked);
    }
    if let Some(last) = last {
        let ready = last + delay_after(account);
        if ready > now {
            // Whole seconds, rounded up: "wait 0 seconds" would read as a bug.
            let ms = (ready - now).num_milliseconds();
            return Ok(Decision::Wait((ms + 999) / 1000));
        }
    }
    Ok(Decision::Allowed)
}

pub async fn record_failure(
    db: &PgPool,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into login_failure (email, client_ip, occurred_at) values ($1, $2, $3)",
        email,
        ip,
        now
    )
    .execute(db)
    .await?;
    // Keep the table small; old failures say nothing any more.
    sqlx::query!(
        "delete from login_failure where occurred_at < $1",
        now - WINDOW * 4
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A successful sign-in clears the failures of this account from this address; the others
/// stay, so an attacker elsewhere is not let off by the member signing in.
pub async fn clear(db: &PgPool, email: &str, ip: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from login_failure where email = $1 and client_ip = $2",
        email,
        ip
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A new password by a mailed link proves the member: every failure on the account goes.
pub async fn clear_account(db: &PgPool, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from login_failure where email = $1", email)
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let secs = |n| delay_after(n).num_seconds();
        assert_eq!(
            (0..=12).map(secs).collect::<Vec<_>>(),
            [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 30, 30, 30]
        );
        assert_eq!(secs(i64::MAX), 30);
    }
}
