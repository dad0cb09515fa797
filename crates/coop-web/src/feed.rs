//! Feeds: how one service tells the others what changed.
//!
//! A producer [`publish`]es an event in the same transaction as the change it describes (the
//! outbox pattern: no change without its event, no event without its change), and serves them
//! at `GET /api/feed?after=&limit=&wait=` ([`routes`]). A [`consumer::Consumer`] in another
//! service follows that feed with its own service token, applies each batch and moves its
//! cursor in one transaction, so every event takes effect exactly once across crashes.
//!
//! The contract (envelope, ordering, retention, snapshots) is in `docs/architecture.md`.
//!
//! The tables come from the kit's migration (`migrations/1000001_feed.sql`), which a service
//! runs before its own through [`crate::db::with_kit_migrations`].

pub mod consumer;

use std::future::Future;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use tokio::time::Instant;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;
pub const MAX_WAIT_SECONDS: u64 = 30;
/// The kit times a request out after 30 s; a long poll answers before that.
const LONGEST_POLL: Duration = Duration::from_secs(28);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The kinds of event a service publishes: an enum of its own, so that no kind is a loose
/// string. `as_str` gives the stored name, `dotted.like.this` (the table checks the shape; the
/// service's migration may list its kinds in a check constraint of its own).
pub trait EventKind: Copy + Send + Sync {
    fn as_str(self) -> &'static str;
    /// The payload's schema version; raise it when a payload changes incompatibly.
    fn version(self) -> i32 {
        1
    }
}

/// Publishes an event in the writer's own transaction. `key` names the thing the event is about
/// (a member's id): compaction keeps the newest event of each key, so keyed events must carry
/// the thing's whole state, not a change to it.
pub async fn publish<K: EventKind>(
    tx: &mut PgConnection,
    kind: K,
    key: Option<&str>,
    payload: &Value,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into feed_event (kind, version, key, payload) values ($1, $2, $3, $4)
         returning feed_event_id",
        kind.as_str(),
        kind.version(),
        key,
        payload,
    )
    .fetch_one(tx)
    .await
}

/// One event as the feed serves it (the envelope).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: i32,
    pub occurred_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub payload: Value,
}

/// One answer of the feed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    pub events: Vec<Event>,
    /// The cursor to ask from next: the last id this answer covered, shown or not.
    pub next_after: i64,
    /// The newest id the producer has; `head - next_after` is how far behind the caller is.
    #[serde(default)]
    pub head: i64,
}

/// Events after `after`, oldest first.
pub async fn events_after(db: &PgPool, after: i64, limit: i64) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as!(
        Event,
        "select feed_event_id as id, kind, version, occurred_at, key, payload
         from feed_event where feed_event_id > $1 order by feed_event_id limit $2",
        after,
        limit,
    )
    .fetch_all(db)
    .await
}

/// The newest event id, 0 for an empty feed.
pub async fn head(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"select coalesce(max(feed_event_id), 0) as "head!" from feed_event"#)
        .fetch_one(db)
        .await
}

/// Deletes keyed events older than `older_than` that a newer event of the same key supersedes.
/// Reading from the start then still gives every key's current state. Returns how many went.
pub async fn compact(db: &PgPool, older_than: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "delete from feed_event e
         where e.key is not null and e.occurred_at < $1
           and exists (select 1 from feed_event n
                       where n.key = e.key and n.feed_event_id > e.feed_event_id)",
        older_than,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// How long a superseded keyed event stays on the feed: a consumer that falls further behind
/// than this still ends at every key's newest state, but skips states in between.
pub const SUPERSEDED_KEPT_FOR: chrono::Duration = chrono::Duration::days(30);

/// Compacts the feed once an hour, for as long as the process runs.
pub fn spawn_compaction(db: PgPool) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match compact(&db, Utc::now() - SUPERSEDED_KEPT_FOR).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "feed compacted"),
                Err(e) => tracing::warn!("feed compaction failed: {e}"),
            }
        }
    });
}

/// What one consumer may see of each event.
pub trait View: Send + Sync {
    /// The payload this consumer sees, or `None` to leave the event out of its answer (its
    /// cursor still moves past it).
    fn show(&self, kind: &str, payload: &Value) -> Option<Value>;
}

/// Who may read a feed, and what each caller sees: the producer's rules.
pub trait Access: Clone + Send + Sync + 'static {
    type View: View + 'static;
    /// The caller's view, or the refusal to send (401 for no or a bad token, 403 for a token
    /// that may not read this feed; see [`refusal`]).
    fn authorise(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Self::View, Response>> + Send;
}

/// A JSON refusal with `no-store` and a `WWW-Authenticate` challenge.
pub fn refusal(status: StatusCode, error: &'static str, challenge: &str) -> Response {
    let mut res = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[derive(Debug, Clone)]
struct FeedState<A> {
    db: PgPool,
    access: A,
}

/// `GET /api/feed` over this service's outbox, with `access` deciding who sees what.
pub fn routes<S, A>(db: PgPool, access: A) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    A: Access,
{
    Router::new()
        .route("/api/feed", get(serve::<A>))
        .with_state(FeedState { db, access })
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    after: Option<i64>,
    limit: Option<i64>,
    wait: Option<u64>,
}

async fn serve<A: Access>(
    State(state): State<FeedState<A>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    // Who asks comes first: a stranger learns nothing, not even which parameters are wrong.
    let view = match state.access.authorise(&headers).await {
        Ok(view) => view,
        Err(refused) => return refused,
    };
    let bad = |what: &'static str| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "error": "invalid_request", "error_description": what })),
        )
            .into_response()
    };
    let Ok(q) = serde_urlencoded::from_str::<FeedQuery>(raw.as_deref().unwrap_or("")) else {
        return bad("after, limit and wait must be whole numbers");
    };
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return bad("after must not be negative");
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECONDS)).min(LONGEST_POLL);
    let deadline = Instant::now() + wait;
    loop {
        let page = match page(&state.db, &view, after, limit).await {
            Ok(page) => page,
            Err(e) => {
                return crate::error::error_response(
                    crate::ErrorKind::Internal,
                    Some(format!("reading the feed: {e}")),
                )
            }
        };
        let now = Instant::now();
        if page.next_after > after || now >= deadline {
            return ([(header::CACHE_CONTROL, "no-store")], Json(page)).into_response();
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

async fn page<V: View>(db: &PgPool, view: &V, after: i64, limit: i64) -> Result<Page, sqlx::Error> {
    let rows = events_after(db, after, limit).await?;
    let next_after = rows.last().map_or(after, |e| e.id);
    let head = if rows.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
        next_after
    } else {
        head(db).await?
    };
    let events = rows
        .into_iter()
        .filter_map(|mut e| {
            e.payload = view.show(&e.kind, &e.payload)?;
            Some(e)
        })
        .collect();
    Ok(Page {
        events,
        next_after,
        head,
    })
}
