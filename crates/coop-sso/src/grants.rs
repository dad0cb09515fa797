//! The store of OAuth grants: authorization codes, token families (one sign-in of one client,
//! or one paired till), their refresh tokens, and access tokens revoked early. The grant logic
//! in `http::oidc` decides; these functions read and write, inside the caller's transaction
//! where one is given.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A new authorization code (stored as its hash).
#[derive(Debug)]
pub struct NewCode<'a> {
    pub code_hash: &'a [u8],
    pub client_id: &'a str,
    pub member_id: Uuid,
    pub web_session_id: Uuid,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: &'a str,
    pub auth_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_code(db: &PgPool, c: &NewCode<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into authorization_code
            (code_hash, client_id, member_id, web_session_id, redirect_uri, scope, nonce, code_challenge,
             auth_time, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        c.code_hash,
        c.client_id,
        c.member_id,
        c.web_session_id,
        c.redirect_uri,
        c.scope,
        c.nonce,
        c.code_challenge,
        c.auth_time,
        c.created_at,
        c.expires_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An authorization code as stored.
#[derive(Debug)]
pub struct CodeRow {
    pub client_id: String,
    pub member_id: Uuid,
    pub web_session_id: Option<Uuid>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub auth_time: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// The code with this hash, locked for the rest of the transaction.
pub async fn lock_code(
    tx: &mut PgConnection,
    code_hash: &[u8],
) -> Result<Option<CodeRow>, sqlx::Error> {
    sqlx::query_as!(
        CodeRow,
        "select client_id, member_id, web_session_id, redirect_uri, scope, nonce, code_challenge, auth_time,
                expires_at, used_at
         from authorization_code where code_hash = $1 for update",
        code_hash
    )
    .fetch_optional(tx)
    .await
}

pub async fn mark_code_used(
    tx: &mut PgConnection,
    code_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update authorization_code set used_at = $2 where code_hash = $1",
        code_hash,
        now
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Revokes whatever a (reused, so probably stolen) code gave out.
pub async fn revoke_families_of_code(
    tx: &mut PgConnection,
    code_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update token_family set revoked_at = $2, revoke_reason = 'authorization code reused'
         where code_hash = $1 and revoked_at is null",
        code_hash,
        now
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// A new token family: a member's sign-in at a client (from a code), or a paired till.
#[derive(Debug)]
pub struct NewFamily<'a> {
    pub token_family_id: Uuid,
    pub client_id: &'a str,
    pub member_id: Option<Uuid>,
    pub till_device_id: Option<Uuid>,
    pub web_session_id: Option<Uuid>,
    pub code_hash: Option<&'a [u8]>,
    pub scope: &'a str,
    pub auth_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_family(tx: &mut PgConnection, f: &NewFamily<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into token_family
            (token_family_id, client_id, member_id, till_device_id, web_session_id, code_hash, scope,
             auth_time, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        f.token_family_id,
        f.client_id,
        f.member_id,
        f.till_device_id,
        f.web_session_id,
        f.code_hash,
        f.scope,
        f.auth_time,
        f.created_at
    )
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn insert_refresh_token(
    tx: &mut PgConnection,
    token_hash: &[u8],
    family: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into refresh_token (token_hash, token_family_id, created_at, expires_at)
         values ($1, $2, $3, $4)",
        token_hash,
        family,
        now,
        expires_at
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// A refresh token with its family, as the refresh grant needs them.
#[derive(Debug)]
pub struct RefreshRow {
    pub token_family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub client_id: String,
    pub member_id: Option<Uuid>,
    pub till_device_id: Option<Uuid>,
    pub scope: String,
    pub auth_time: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub family_created_at: DateTime<Utc>,
    pub web_session_id: Option<Uuid>,
}

/// The refresh token with this hash and its family, both locked.
pub async fn lock_refresh(
    tx: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as!(
        RefreshRow,
        "select r.token_family_id, r.expires_at, r.used_at, f.client_id, f.member_id, f.till_device_id, f.scope,
                f.auth_time, f.revoked_at, f.created_at as family_created_at, f.web_session_id
         from refresh_token r join token_family f using (token_family_id)
         where r.token_hash = $1 for update of r, f",
        token_hash
    )
    .fetch_optional(tx)
    .await
}

pub async fn mark_refresh_used(
    tx: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update refresh_token set used_at = $2 where token_hash = $1",
        token_hash,
        now
    )
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn revoke_family(
    tx: &mut PgConnection,
    family: Uuid,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update token_family set revoked_at = $2, revoke_reason = $3 where token_family_id = $1",
        family,
        now,
        reason
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Whether a paired till is still paired.
pub async fn till_is_paired(tx: &mut PgConnection, till: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select revoked_at is null as "live!" from till_device where till_device_id = $1"#,
        till
    )
    .fetch_one(tx)
    .await
}

/// Whether an access token was revoked early, itself or through its family.
pub async fn access_token_revoked(
    db: &PgPool,
    jti: Uuid,
    family: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select (exists (select 1 from revoked_access_token where jti = $1)
             or exists (select 1 from token_family where token_family_id = $2 and revoked_at is not null)) as "revoked!""#,
        jti,
        family
    )
    .fetch_one(db)
    .await
}

/// Revokes the family of a refresh token that `client_id` holds; false if there is none.
pub async fn revoke_by_refresh_token(
    db: &PgPool,
    token_hash: &[u8],
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update token_family f set revoked_at = $3, revoke_reason = 'revoked by client'
         from refresh_token r
         where r.token_hash = $1 and r.token_family_id = f.token_family_id and f.client_id = $2
           and f.revoked_at is null",
        token_hash,
        client_id,
        now
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Remembers an access token's id until it expires, so it is refused before then.
pub async fn revoke_access_token(
    db: &PgPool,
    jti: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into revoked_access_token (jti, expires_at) values ($1, $2) on conflict do nothing",
        jti,
        expires_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A till's refresh retried: the successors issued since `since` that nobody has used yet are
/// retired (used and expired at once: presented later, one counts as theft, not as a retry), so
/// that one live refresh token remains once the retry is answered.
/// Answers how many there were.
pub async fn retire_successors(
    tx: &mut PgConnection,
    family: Uuid,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "update refresh_token set used_at = $3, expires_at = $3
         where token_family_id = $1 and used_at is null and created_at >= $2",
        family,
        since,
        now
    )
    .execute(tx)
    .await?
    .rows_affected())
}
