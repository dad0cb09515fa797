//! The till and the server: the journal's records uploaded to central (`POST /api/sales`,
//! the sale's UUID and its place in the chain making every retry harmless), and the catalogue
//! and members pulled from coop-ims's and coop-sso's feeds into the store. Everything here may
//! fail for days: the till sells from its store, and each round picks up where the last left.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::{Store, StoreError};

/// Where the till gets its bearer token (the paired till's access token, refreshed as needed).
pub trait Tokens: Send + Sync {
    fn bearer(&self) -> Pin<Box<dyn Future<Output = Result<String, SyncError>> + Send + '_>>;
}

/// A fixed token (tests, and a till given one by hand).
#[derive(Debug, Clone)]
pub struct StaticToken(pub String);

impl Tokens for StaticToken {
    fn bearer(&self) -> Pin<Box<dyn Future<Output = Result<String, SyncError>> + Send + '_>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    #[error("the server answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("central refused record {seq}: {problem}")]
    RecordRefused { seq: i64, problem: String },
    #[error("the server's answer was not understood: {0}")]
    Answer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many records one upload carries.
pub const UPLOAD_BATCH: i64 = 200;
/// How many events one feed page asks for.
pub const FEED_PAGE: i64 = 500;

#[derive(Debug, Deserialize)]
struct Outcome {
    accepted: usize,
    duplicates: usize,
    last_seq: i64,
    refused: Option<Refused>,
}

#[derive(Debug, Deserialize)]
struct Refused {
    seq: i64,
    problem: String,
}

/// What an upload round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Uploaded {
    pub accepted: usize,
    pub duplicates: usize,
    /// Central's last record of this till.
    pub last_seq: i64,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

fn unreachable(e: &reqwest::Error) -> SyncError {
    SyncError::Unreachable(e.to_string())
}

/// Uploads what waits, a batch at a time, until nothing does. Marks as uploaded the records
/// central took (stored now or before), also when it refuses a record after them.
pub async fn upload(
    store: &Store,
    client: &reqwest::Client,
    central: &str,
    tokens: &dyn Tokens,
) -> Result<Uploaded, SyncError> {
    let mut done = Uploaded::default();
    loop {
        let batch = store.pending(UPLOAD_BATCH).await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let (count, since) = store.pending_count().await?;
        let token = tokens.bearer().await?;
        let res = client
            .post(format!("{}/api/sales", central.trim_end_matches('/')))
            .bearer_auth(token)
            .json(&json!({ "sales": batch, "pending": { "count": count, "since": since } }))
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = res.status();
        let body = res.text().await.map_err(|e| unreachable(&e))?;
        if !(status.is_success() || status == reqwest::StatusCode::CONFLICT) {
            return Err(SyncError::Refused {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            });
        }
        let out: Outcome =
            serde_json::from_str(&body).map_err(|e| SyncError::Answer(e.to_string()))?;
        // Central took the batch's first `accepted + duplicates` records, in order. Mark those,
        // never by central's own last number: a till whose store was replaced (a new SD card)
        // starts its numbers again below it, and those sales are not central's yet.
        if let Some(taken) = (out.accepted + out.duplicates)
            .checked_sub(1)
            .and_then(|i| batch.get(i))
        {
            store.mark_uploaded(taken.seq).await?;
        }
        done.accepted += out.accepted;
        done.duplicates += out.duplicates;
        done.last_seq = out.last_seq;
        if let Some(r) = out.refused {
            return Err(SyncError::RecordRefused {
                seq: r.seq,
                problem: r.problem,
            });
        }
        if out.accepted + out.duplicates == 0 {
            return Ok(done);
        }
    }
}

/// Which feed a pull applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// coop-ims: `product.changed`.
    Catalogue,
    /// coop-sso: `member.created`, `member.changed`, `member.suspended`.
    Members,
}

impl Feed {
    pub fn name(self) -> &'static str {
        match self {
            Feed::Catalogue => "coop-ims",
            Feed::Members => "coop-sso",
        }
    }
}

#[derive(Debug, Deserialize)]
struct Page {
    events: Vec<Event>,
    next_after: i64,
    head: i64,
}

#[derive(Debug, Deserialize)]
struct Event {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    version: i32,
    payload: Value,
}

/// Pulls a feed from the store's cursor to its head, a page a transaction. Answers how many
/// events were applied.
pub async fn pull(
    store: &Store,
    client: &reqwest::Client,
    feed_url: &str,
    feed: Feed,
    tokens: &dyn Tokens,
) -> Result<usize, SyncError> {
    let mut applied = 0;
    loop {
        let after = store.cursor(feed.name()).await?;
        let token = tokens.bearer().await?;
        let res = client
            .get(feed_url)
            .query(&[("after", after), ("limit", FEED_PAGE)])
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = res.status();
        let body = res.text().await.map_err(|e| unreachable(&e))?;
        if !status.is_success() {
            return Err(SyncError::Refused {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            });
        }
        let page: Page =
            serde_json::from_str(&body).map_err(|e| SyncError::Answer(e.to_string()))?;
        let mut events = Vec::with_capacity(page.events.len());
        for e in page.events {
            let known = match feed {
                Feed::Catalogue => e.kind == "product.changed",
                Feed::Members => e.kind.starts_with("member."),
            };
            if !known {
                continue;
            }
            if e.version != 1 {
                return Err(SyncError::Answer(format!(
                    "event {} ({}) is version {}, newer than this till knows: upgrade the till",
                    e.id, e.kind, e.version
                )));
            }
            events.push((e.id, e.payload));
        }
        applied += events.len();
        match feed {
            Feed::Catalogue => {
                store
                    .apply_products_to(feed.name(), &events, Some(page.next_after))
                    .await?;
            }
            Feed::Members => {
                store
                    .apply_members_to(feed.name(), &events, Some(page.next_after))
                    .await?;
            }
        }
        if page.next_after >= page.head || page.next_after <= after {
            return Ok(applied);
        }
    }
}

/// Uploads the clockings central does not have (`POST /api/till/clock`), marking those it took.
/// Answers how many it took.
pub async fn upload_clock(
    store: &Store,
    client: &reqwest::Client,
    central: &str,
    tokens: &dyn Tokens,
) -> Result<usize, SyncError> {
    #[derive(Deserialize)]
    struct Took {
        taken: Vec<uuid::Uuid>,
    }
    let mut done = 0;
    loop {
        let batch = store.pending_clock(UPLOAD_BATCH).await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let token = tokens.bearer().await?;
        let res = client
            .post(format!("{}/api/till/clock", central.trim_end_matches('/')))
            .bearer_auth(token)
            .json(&json!({ "events": batch }))
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = res.status();
        let body = res.text().await.map_err(|e| unreachable(&e))?;
        if !status.is_success() {
            return Err(SyncError::Refused {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            });
        }
        let took: Took =
            serde_json::from_str(&body).map_err(|e| SyncError::Answer(e.to_string()))?;
        if took.taken.is_empty() {
            return Ok(done);
        }
        store.clock_uploaded(&took.taken).await?;
        done += took.taken.len();
    }
}
