//! The store of device pairings (OAuth 2.0 device authorization grant, RFC 8628) and of the
//! tills they pair. The grant logic is in `http::oidc::device`.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Deletes pairing requests that expired before `before`.
pub async fn delete_expired(db: &PgPool, before: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from device_authorization where expires_at < $1",
        before
    )
    .execute(db)
    .await?;
    Ok(())
}

/// How many pairings `client_ip` started since `since`.
pub async fn started_from(
    db: &PgPool,
    client_ip: &str,
    since: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from device_authorization where client_ip = $1 and created_at > $2"#,
        client_ip,
        since
    )
    .fetch_one(db)
    .await
}

/// A new pairing request.
#[derive(Debug)]
pub struct NewRequest<'a> {
    pub device_code_hash: &'a [u8],
    pub user_code: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_ip: &'a str,
    pub device_name: Option<&'a str>,
}

/// Stores the request; false when its user code is taken (the caller picks another).
pub async fn insert_request(db: &PgPool, r: &NewRequest<'_>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "insert into device_authorization
            (device_code_hash, user_code, client_id, scope, created_at, expires_at, client_ip, device_name)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (user_code) do nothing",
        r.device_code_hash,
        r.user_code,
        r.client_id,
        r.scope,
        r.created_at,
        r.expires_at,
        r.client_ip,
        r.device_name
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A pairing request as the polling till's grant sees it.
#[derive(Debug)]
pub struct RequestRow {
    pub device_code_hash: Vec<u8>,
    pub client_id: String,
    pub scope: String,
    pub expires_at: DateTime<Utc>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub till_device_id: Option<Uuid>,
    pub denied_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
    pub interval_seconds: i32,
}

/// The request of a device code, locked.
pub async fn lock_by_device_code(
    tx: &mut PgConnection,
    device_code_hash: &[u8],
) -> Result<Option<RequestRow>, sqlx::Error> {
    sqlx::query_as!(
        RequestRow,
        "select device_code_hash, client_id, scope, expires_at, last_polled_at, till_device_id, denied_at, used_at,
                interval_seconds
         from device_authorization where device_code_hash = $1 for update",
        device_code_hash
    )
    .fetch_optional(tx)
    .await
}

pub async fn mark_polled(
    tx: &mut PgConnection,
    device_code_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update device_authorization set last_polled_at = $2 where device_code_hash = $1",
        device_code_hash,
        now
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Asks the till to poll `step` seconds less often (at most every 300 s).
pub async fn slow_down(
    tx: &mut PgConnection,
    device_code_hash: &[u8],
    step: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update device_authorization set interval_seconds = least(interval_seconds + $2, 300)
         where device_code_hash = $1",
        device_code_hash,
        step
    )
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn mark_used(
    tx: &mut PgConnection,
    device_code_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update device_authorization set used_at = $2 where device_code_hash = $1",
        device_code_hash,
        now
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// A request a manager is about to decide on.
#[derive(Debug)]
pub struct Pending {
    pub device_code_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub client_ip: String,
    pub device_name: Option<String>,
}

/// The undecided, unexpired request with this user code, locked.
pub async fn lock_pending(
    tx: &mut PgConnection,
    user_code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Pending>, sqlx::Error> {
    sqlx::query_as!(
        Pending,
        "select device_code_hash, created_at, client_ip, device_name from device_authorization
         where user_code = $1 and expires_at > $2 and till_device_id is null and denied_at is null
         for update",
        user_code,
        now
    )
    .fetch_optional(tx)
    .await
}

/// A manager approves (or, with no manager, the operator at the server's console): the till
/// exists from now on, and the request points at it.
pub async fn approve(
    tx: &mut PgConnection,
    device_code_hash: &[u8],
    till: Uuid,
    name: &str,
    manager: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into till_device (till_device_id, name, paired_by, paired_at) values ($1, $2, $3, $4)",
        till,
        name,
        manager,
        now
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update device_authorization set approved_by = $2, approved_at = $3, till_device_id = $4
         where device_code_hash = $1",
        device_code_hash,
        manager,
        now,
        till
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn deny(
    tx: &mut PgConnection,
    device_code_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update device_authorization set denied_at = $2 where device_code_hash = $1",
        device_code_hash,
        now
    )
    .execute(tx)
    .await?;
    Ok(())
}
