//! Following another service's feed, exactly once.
//!
//! Each round asks the producer for the events after this service's cursor, then in one
//! database transaction locks the cursor row, checks nobody moved it meanwhile, applies every
//! event through [`Apply`] and moves the cursor past them. A crash at any point leaves either
//! all of the batch applied with the cursor moved, or none of it: the next round asks again
//! from the same place. When the producer cannot be reached the consumer waits, doubling the
//! pause up to a minute; an event it cannot apply stops the feed there (retried with the same
//! back-off, and logged) rather than be skipped.
//!
//! Metrics, labelled with the producer's name: `coop_feed_consumer_position`,
//! `coop_feed_consumer_lag_events` (the producer's newest id minus the cursor),
//! `coop_feed_consumer_applied_total`, `coop_feed_consumer_errors_total` by `stage`
//! (`fetch` or `apply`), and `coop_feed_consumer_last_success_seconds` (Unix time).

use crate::config::ExposeSecret as _;
use std::future::Future;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use url::Url;

use super::{Event, Page};
use crate::auth::ServiceTokenClient;
use crate::config::Secret;
use crate::metrics::{counter, gauge};

/// What a consumer does with each event, inside the transaction that moves its cursor. Write
/// the effects through `tx` only: anything done elsewhere is not undone when the batch is.
pub trait Apply: Send + Sync + 'static {
    fn apply(
        &self,
        tx: &mut PgConnection,
        event: &Event,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// How the consumer proves who it is to the producer.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// The service's own access token from coop-sso (client credentials).
    Service(ServiceTokenClient),
    /// A fixed bearer token (a paired till's, or a test's).
    Bearer(Secret),
}

impl Credentials {
    async fn header(&self) -> anyhow::Result<String> {
        match self {
            Self::Service(client) => Ok(client.authorization().await?),
            Self::Bearer(token) => Ok(format!("Bearer {}", token.expose_secret())),
        }
    }
}

/// The pauses between failed rounds.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub longest: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            longest: Duration::from_secs(60),
        }
    }
}

/// Why a round did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error("fetching the feed: {0}")]
    Fetch(String),
    #[error("applying event {id}: {source:#}")]
    Apply { id: i64, source: anyhow::Error },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// One feed followed by one service.
#[derive(Debug)]
pub struct Consumer<A> {
    /// The name the cursor is kept under, and the metrics' `producer` label (`coop-sso`).
    producer: String,
    feed_url: Url,
    credentials: Credentials,
    db: PgPool,
    apply: A,
    http: reqwest::Client,
    /// Events asked for per round.
    pub batch: i64,
    /// How long the producer may hold an empty answer, in seconds.
    pub wait: u64,
    pub backoff: Backoff,
}

/// How one round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Events applied (shown to this consumer).
    pub applied: usize,
    pub position: i64,
    pub head: i64,
}

impl<A: Apply> Consumer<A> {
    /// `feed_url` is the producer's `/api/feed` address.
    pub fn new(
        producer: impl Into<String>,
        feed_url: Url,
        credentials: Credentials,
        db: PgPool,
        apply: A,
    ) -> Self {
        Self {
            producer: producer.into(),
            feed_url,
            credentials,
            db,
            apply,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(super::MAX_WAIT_SECONDS + 15))
                .build()
                .unwrap_or_default(),
            batch: super::DEFAULT_LIMIT,
            wait: 25,
            backoff: Backoff::default(),
        }
    }

    /// The cursor: the last event id applied.
    pub async fn position(&self) -> Result<i64, sqlx::Error> {
        Ok(sqlx::query_scalar!(
            "select position from feed_cursor where producer = $1",
            self.producer
        )
        .fetch_optional(&self.db)
        .await?
        .unwrap_or(0))
    }

    async fn fetch(&self, after: i64, wait: u64) -> Result<Page, RoundError> {
        let auth = self
            .credentials
            .header()
            .await
            .map_err(|e| RoundError::Fetch(format!("{e:#}")))?;
        let mut url = self.feed_url.clone();
        url.query_pairs_mut()
            .clear()
            .append_pair("after", &after.to_string())
            .append_pair("limit", &self.batch.to_string())
            .append_pair("wait", &wait.to_string());
        let res = self
            .http
            .get(url)
            .header(reqwest::header::AUTHORIZATION, auth)
            .send()
            .await
            .map_err(|e| RoundError::Fetch(e.without_url().to_string()))?;
        let status = res.status();
        if !status.is_success() {
            return Err(RoundError::Fetch(format!("the producer answered {status}")));
        }
        res.json::<Page>()
            .await
            .map_err(|e| RoundError::Fetch(format!("unreadable answer: {}", e.without_url())))
    }

    /// One round: fetch after the cursor (waiting up to `wait` seconds for news), apply, move
    /// the cursor, all or nothing.
    pub async fn round(&self, wait: u64) -> Result<Round, RoundError> {
        let from = self.position().await?;
        let page = self.fetch(from, wait).await?;
        self.apply_page(from, page).await
    }

    async fn apply_page(&self, from: i64, page: Page) -> Result<Round, RoundError> {
        let mut tx = self.db.begin().await?;
        sqlx::query!(
            "insert into feed_cursor (producer) values ($1) on conflict do nothing",
            self.producer
        )
        .execute(&mut *tx)
        .await?;
        let locked = sqlx::query_scalar!(
            "select position from feed_cursor where producer = $1 for update",
            self.producer
        )
        .fetch_one(&mut *tx)
        .await?;
        if locked != from {
            // Another instance applied these meanwhile; ask again from where it got to.
            return Ok(Round {
                applied: 0,
                position: locked,
                head: page.head.max(locked),
            });
        }
        let mut applied = 0;
        for event in page.events.iter().filter(|e| e.id > from) {
            self.apply
                .apply(&mut tx, event)
                .await
                .map_err(|source| RoundError::Apply {
                    id: event.id,
                    source,
                })?;
            applied += 1;
        }
        let position = page.next_after.max(from);
        sqlx::query!(
            "update feed_cursor set position = $2, updated_at = now() where producer = $1",
            self.producer,
            position
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let round = Round {
            applied,
            position,
            head: page.head.max(position),
        };
        self.record(round);
        Ok(round)
    }

    fn record(&self, round: Round) {
        let producer = self.producer.clone();
        #[allow(clippy::cast_precision_loss)]
        {
            gauge!("coop_feed_consumer_position", "producer" => producer.clone())
                .set(round.position as f64);
            gauge!("coop_feed_consumer_lag_events", "producer" => producer.clone())
                .set((round.head - round.position).max(0) as f64);
            counter!("coop_feed_consumer_applied_total", "producer" => producer.clone())
                .increment(round.applied as u64);
            gauge!("coop_feed_consumer_last_success_seconds", "producer" => producer)
                .set(chrono::Utc::now().timestamp() as f64);
        }
    }

    /// Follows the feed until `shutdown` completes. Shutdown stops a wait for the producer at
    /// once; a batch being applied is finished first.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut pause = None::<Duration>;
        loop {
            if let Some(p) = pause {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(p) => {}
                }
            }
            let fetched = async {
                let from = self.position().await?;
                Ok::<_, RoundError>((from, self.fetch(from, self.wait).await?))
            };
            let outcome = tokio::select! {
                biased;
                () = &mut shutdown => return,
                fetched = fetched => match fetched {
                    Ok((from, page)) => self.apply_page(from, page).await,
                    Err(e) => Err(e),
                },
            };
            match outcome {
                Ok(r) => {
                    pause = None;
                    if r.applied > 0 {
                        tracing::debug!(
                            producer = %self.producer,
                            applied = r.applied,
                            position = r.position,
                            "feed applied"
                        );
                    }
                }
                Err(e) => {
                    let stage = if matches!(e, RoundError::Fetch(_)) {
                        "fetch"
                    } else {
                        "apply"
                    };
                    counter!(
                        "coop_feed_consumer_errors_total",
                        "producer" => self.producer.clone(),
                        "stage" => stage
                    )
                    .increment(1);
                    let next =
                        pause.map_or(self.backoff.first, |p| (p * 2).min(self.backoff.longest));
                    tracing::warn!(
                        producer = %self.producer,
                        retry_in_ms = next.as_millis(),
                        "feed round failed: {e}"
                    );
                    pause = Some(jitter(next));
                }
            }
        }
    }
}

/// Up to a fifth less, so that consumers that failed together do not retry together.
fn jitter(d: Duration) -> Duration {
    use rand::Rng as _;
    let fifth = d / 5;
    d.saturating_sub(fifth.mul_f64(rand::thread_rng().gen::<f64>()))
}
