//! OpenID Connect Back-Channel Logout 1.0, the provider's side: when sessions end here (a member
//! signs out, is suspended or leaves, resets their password, or loses a role), every relying
//! party that signed the member in through them is sent a logout token, so the revocation
//! reaches the suite's services and Synapse instead of waiting for their sessions to lapse.
//!
//! The tokens to send are rows of `backchannel_logout`, written by [`enqueue`] in the same
//! transaction as the change that ends the sessions; a background task ([`spawn_worker`])
//! delivers them, retrying with growing pauses for a day. A client without a
//! `backchannel_logout_uri` gets nothing.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::state::AppState;

/// The event a logout token announces (Back-Channel Logout §2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token is good for two minutes: long enough for clock skew, short for replays.
pub const TOKEN_TTL: Duration = Duration::seconds(120);
/// Undelivered tokens are retried for this long, then given up (and logged).
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
const POLL: StdDuration = StdDuration::from_secs(1);
const BATCH: i64 = 20;

/// Which sessions end.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// One browser session at coop-sso, and the clients' sessions made through it.
    Session(Uuid),
    /// Every session of the member.
    Member(Uuid),
}

/// Queues a logout token for every client session that came through the ending session(s) and
/// has not been sent one yet. Call inside the transaction that ends them.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    scope: Scope,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let (member, session) = match scope {
        Scope::Session(s) => (None, Some(s)),
        Scope::Member(m) => (Some(m), None),
    };
    let done = sqlx::query!(
"with ended as (
            update token_family set logout_sent_at = $3
            where logout_sent_at is null and web_session_id is not null and member_id is not null
              and (member_id = $1 or web_session_id = $2)
            returning client_id, member_id, web_session_id
         )
         insert into backchannel_logout (client_id, member_id, web_session_id, reason, created_at, next_attempt_at)
         select distinct client_id, member_id, web_session_id, $4, $3, $3 from ended",
member,
session,
now,
reason
)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The logout token for one client session (§2.4): signed like ID tokens, `typ` logout+jwt.
pub fn logout_token(
    state: &AppState,
    client_id: &str,
    member_id: Uuid,
    sid: Uuid,
    jti: &str,
) -> anyhow::Result<String> {
    let now = state.now();
    let claims = json!({
        "iss": &*state.issuer,
        "aud": client_id,
        "iat": now.timestamp(),
        "exp": (now + TOKEN_TTL).timestamp(),
        "jti": jti,
        "sub": member_id.to_string(),
        "sid": sid.to_string(),
        "events": { EVENT: {} },
    });
    crate::jwt::sign(&*state.keys.current()?, "logout+jwt", &claims)
}

#[derive(Debug, sqlx::FromRow)]
struct Due {
    backchannel_logout_id: i64,
    client_id: String,
    member_id: Uuid,
    web_session_id: Uuid,
    attempts: i32,
    created_at: DateTime<Utc>,
}

/// Delivers what is due; returns how many rows it handled. One delivery at a time per row
/// (`skip locked`), so several coop-sso processes never send a token twice at once.
pub async fn deliver_due(state: &AppState, http: &reqwest::Client) -> anyhow::Result<usize> {
    let now = state.now();
    let mut tx = state.db().begin().await?;
    let due: Vec<Due> = sqlx::query_as!(
        Due,
        "select backchannel_logout_id, client_id, member_id, web_session_id, attempts, created_at
         from backchannel_logout
         where delivered_at is null and gave_up_at is null and next_attempt_at <= $1
         order by next_attempt_at limit $2 for update skip locked",
        now,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &due {
        let uri = state
            .clients
            .get(&row.client_id)
            .and_then(|c| c.backchannel_logout_uri.clone());
        let outcome = match uri {
            // The client has no back-channel endpoint (any more): nothing to send.
            None => Ok(()),
            Some(uri) => {
                let jti = format!("bcl-{}-{}", row.backchannel_logout_id, Uuid::new_v4());
                match logout_token(
                    state,
                    &row.client_id,
                    row.member_id,
                    row.web_session_id,
                    &jti,
                ) {
                    Ok(token) => post(http, &uri, &token).await,
                    Err(e) => Err(format!("signing: {e}")),
                }
            }
        };
        match outcome {
            Ok(()) => {
                sqlx::query!(
                    "update backchannel_logout set delivered_at = $2, attempts = attempts + 1
                     where backchannel_logout_id = $1",
                    row.backchannel_logout_id,
                    now
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(error) => {
                let attempts = row.attempts + 1;
                let pause = Duration::seconds(1_i64 << attempts.clamp(0, 12));
                let give_up = now + pause > row.created_at + GIVE_UP_AFTER;
                tracing::warn!(
                    client_id = %row.client_id, attempts, give_up, %error,
                    "back-channel logout not delivered"
                );
                sqlx::query!(
                    "update backchannel_logout
                     set attempts = $2, next_attempt_at = $3, last_error = $4,
                         gave_up_at = case when $5 then $6::timestamptz end
                     where backchannel_logout_id = $1",
                    row.backchannel_logout_id,
                    attempts,
                    now + pause,
                    error.chars().take(300).collect::<String>(),
                    give_up,
                    now
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(due.len())
}

/// Back-Channel Logout §2.5/§2.8: a form with `logout_token`; 200 (or 204) means done.
async fn post(http: &reqwest::Client, uri: &str, token: &str) -> Result<(), String> {
    let res = http
        .post(uri)
        .form(&[("logout_token", token)])
        .send()
        .await
        .map_err(|e| format!("request: {e}"))?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", res.status()))
    }
}

/// The delivery task: runs until the process ends.
pub fn spawn_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let mut pruned = std::time::Instant::now();
        loop {
            match deliver_due(&state, &http).await {
                Ok(n) if i64::try_from(n).is_ok_and(|n| n == BATCH) => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "back-channel logout delivery failed"),
            }
            // Once an hour, old rows go (the audit log keeps the sign-outs).
            if pruned.elapsed() > StdDuration::from_secs(3600) {
                pruned = std::time::Instant::now();
                if let Err(e) = prune(state.db(), state.now()).await {
                    tracing::warn!(error = %e, "pruning back-channel logouts failed");
                }
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

/// Deletes what is long delivered or given up (the audit log keeps the record of sign-outs).
pub async fn prune(db: &PgPool, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from backchannel_logout
         where coalesce(delivered_at, gave_up_at) < $1",
        now - Duration::days(30)
    )
    .execute(db)
    .await?;
    Ok(())
}
