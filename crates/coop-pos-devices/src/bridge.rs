//! The payment bridge: a small service beside the till (on the till itself, or on a cheap
//! device next to the terminal) that drives the card terminal for it, over a local HTTP API:
//!
//! | call | what |
//! |---|---|
//! | `POST /payments` `{"id", "amount"}` | starts a payment (`id`: the basket's; while that payment runs, is approved or is unknown, the same id answers it, never a second charge; after a refusal it is tried again) |
//! | `POST /refunds` `{"id", "amount"}` | starts a refund to a card |
//! | `GET /payments/{id}` | its state: `pending`, `approved` (with `reference`), `declined` (with `reason`), `cancelled`, `timed_out`, `unknown` |
//! | `POST /payments/{id}/cancel` | cancels it at the terminal, if the terminal still can |
//! | `POST /end-of-day` | ends the terminal's day; answers its total |
//! | `GET /healthz` | up; `GET /readyz` 503 while an unknown outcome is being resolved |
//!
//! Every payment is written to a journal (SQLite, synchronous) before the terminal is asked,
//! and an approval before the terminal is told it was heard. After a crash, a payment the
//! journal has without an outcome is resolved from the terminal's record of its last
//! transaction before any new payment starts: the card is never charged twice, and no sale is
//! recorded as paid that was not.

use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokio::sync::Mutex;

use crate::payment::{Driver, Outcome, Record, Recorder, Saved};

/// A payment as the journal and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Payment {
    pub id: String,
    /// `payment` or `refund`.
    pub kind: String,
    /// Minor units.
    pub amount: i64,
    /// `pending`, `approved`, `declined`, `cancelled`, `timed_out`, `unknown`.
    pub state: String,
    pub reference: String,
    pub reason: String,
    /// The terminal's trace number of an approval not yet confirmed (kept for the recovery).
    #[serde(skip)]
    pub trace: Option<i64>,
    /// The terminal's receipt for an approval, line by line, for the till to print.
    #[sqlx(json)]
    pub slip: Vec<String>,
}

/// The bridge: its journal and its terminal.
pub struct Bridge {
    db: SqlitePool,
    /// The bearer token the till must send (required when the bridge listens beyond loopback).
    token: Option<String>,
    driver: Arc<dyn Driver>,
    /// One transaction at a time: a terminal runs one command at a time.
    busy: Mutex<()>,
    /// False while an unknown outcome is being resolved.
    ready: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").finish_non_exhaustive()
    }
}

struct Journal<'a> {
    db: &'a SqlitePool,
    id: &'a str,
}

impl Recorder for Journal<'_> {
    fn approved<'a>(&'a self, r: &'a Record) -> Saved<'a> {
        Box::pin(async move {
            sqlx::query("update payment set trace = ?2, updated_at = datetime('now') where id = ?1")
                .bind(self.id)
                .bind(r.trace.and_then(|t| i64::try_from(t).ok()).unwrap_or(-1))
                .execute(self.db)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn slip<'a>(&'a self, lines: &'a [String]) -> Saved<'a> {
        Box::pin(async move {
            let lines = serde_json::to_string(lines).map_err(|e| e.to_string())?;
            sqlx::query("update payment set slip = ?2 where id = ?1")
                .bind(self.id)
                .bind(lines)
                .execute(self.db)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

fn state_of(o: &Outcome) -> (&'static str, String, String) {
    match o {
        Outcome::Approved { reference } => ("approved", reference.clone(), String::new()),
        Outcome::Declined { reason } => ("declined", String::new(), reason.clone()),
        Outcome::Cancelled => ("cancelled", String::new(), String::new()),
        Outcome::TimedOut => ("timed_out", String::new(), String::new()),
        Outcome::Unknown { reason } => ("unknown", String::new(), reason.clone()),
    }
}

impl Bridge {
    /// Opens (or makes) the journal in `dir` and resolves what a crash left unknown.
    ///
    /// # Errors
    /// The journal cannot be opened.
    pub async fn open(dir: &Path, driver: Arc<dyn Driver>) -> anyhow::Result<Arc<Self>> {
        let opts = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.join("bridge.sqlite").display()
        ))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
        let db = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await?;
        sqlx::query(
            "create table if not exists payment (
                id text primary key check (length(id) between 1 and 100),
                kind text not null check (kind in ('payment', 'refund')),
                amount integer not null check (amount > 0),
                state text not null check (state in ('pending', 'approved', 'declined', 'cancelled', 'timed_out', 'unknown')),
                reference text not null default '',
                reason text not null default '',
                trace integer,
                slip text not null default '[]' check (json_valid(slip)),
                created_at text not null default (datetime('now')),
                updated_at text not null default (datetime('now'))
            )",
        )
        .execute(&db)
        .await?;
        // A journal from before the terminal's receipts were kept gains their column.
        let has_slip: bool = sqlx::query_scalar(
            "select count(*) > 0 from pragma_table_info('payment') where name = 'slip'",
        )
        .fetch_one(&db)
        .await?;
        if !has_slip {
            sqlx::query("alter table payment add column slip text not null default '[]'")
                .execute(&db)
                .await?;
        }
        let bridge = Arc::new(Self {
            db,
            token: None,
            driver,
            busy: Mutex::new(()),
            ready: std::sync::atomic::AtomicBool::new(false),
        });
        bridge.resolve().await?;
        Ok(bridge)
    }

    /// Whether it takes payments (nothing left unknown).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resolves every payment the journal has without an outcome, from the terminal's record of
    /// its last transaction. One that cannot be resolved now (the terminal is away) keeps the
    /// bridge from taking payments; it is tried again at the next payment.
    ///
    /// # Errors
    /// The journal's.
    pub async fn resolve(&self) -> anyhow::Result<()> {
        let _busy = self.busy.lock().await;
        let open: Vec<Payment> = sqlx::query_as(
            "select id, kind, amount, state, reference, reason, trace, slip from payment
             where state in ('pending', 'unknown') order by created_at",
        )
        .fetch_all(&self.db)
        .await?;
        if open.is_empty() {
            self.ready.store(true, std::sync::atomic::Ordering::SeqCst);
            return Ok(());
        }
        let last = match self.driver.last().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "the terminal cannot say what became of the last payment yet");
                self.ready.store(false, std::sync::atomic::Ordering::SeqCst);
                return Ok(());
            }
        };
        // The terminal's last transaction may be one this journal already settled (a crash
        // before anything of this payment reached the terminal): then it is not this one's.
        let settled_elsewhere = match last.as_ref().and_then(|l| l.trace) {
            Some(t) => sqlx::query_scalar::<_, bool>(
                "select count(*) > 0 from payment where trace = ?1 and state not in ('pending', 'unknown')",
            )
            .bind(i64::try_from(t).unwrap_or(-1))
            .fetch_one(&self.db)
            .await?,
            None => false,
        };
        let n = open.len();
        for (i, p) in open.iter().enumerate() {
            // Only the last one can be the terminal's last transaction; an earlier one never
            // reached an approval (the journal would have its trace) and was not charged.
            let is_last = i + 1 == n;
            let outcome = match (&last, is_last) {
                // The journal has this payment's own trace: the terminal approved it and the
                // bridge heard it. The same trace is the same transaction.
                (Some(l), true)
                    if l.result == 0
                        && p.trace.is_some()
                        && l.trace.and_then(|t| i64::try_from(t).ok()) == p.trace
                        && l.amount == u64::try_from(p.amount).ok() =>
                {
                    Outcome::Approved {
                        reference: format!(
                            "trace {}, receipt {}",
                            l.trace.unwrap_or_default(),
                            l.receipt.unwrap_or_default()
                        ),
                    }
                }
                // No trace of its own: the terminal's last is this one's only if no settled
                // payment in the journal has it already.
                (Some(l), true)
                    if l.result == 0
                        && p.trace.is_none()
                        && !settled_elsewhere
                        && l.amount == u64::try_from(p.amount).ok() =>
                {
                    Outcome::Approved {
                        reference: format!(
                            "trace {}, receipt {}",
                            l.trace.unwrap_or_default(),
                            l.receipt.unwrap_or_default()
                        ),
                    }
                }
                (Some(l), true)
                    if (!settled_elsewhere
                        || (p.trace.is_some()
                            && l.trace.and_then(|t| i64::try_from(t).ok()) == p.trace))
                        && l.amount == u64::try_from(p.amount).ok()
                        && l.result != 0 =>
                {
                    Outcome::Declined {
                        reason: format!(
                            "the terminal reports {}",
                            crate::zvt::result_text(l.result)
                        ),
                    }
                }
                _ => Outcome::Declined {
                    reason: "the terminal has no approval of it".into(),
                },
            };
            tracing::info!(id = %p.id, ?outcome, "an unknown payment resolved");
            self.finish(&p.id, &outcome).await?;
        }
        self.ready.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    async fn finish(&self, id: &str, o: &Outcome) -> Result<(), sqlx::Error> {
        let (state, reference, reason) = state_of(o);
        sqlx::query(
            "update payment set state = ?2, reference = ?3, reason = ?4, updated_at = datetime('now')
             where id = ?1",
        )
        .bind(id)
        .bind(state)
        .bind(reference)
        .bind(reason)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// The journal's payment `id`.
    ///
    /// # Errors
    /// The journal's.
    pub async fn get(&self, id: &str) -> Result<Option<Payment>, sqlx::Error> {
        sqlx::query_as(
            "select id, kind, amount, state, reference, reason, trace, slip from payment where id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await
    }

    /// Starts a payment (or refund) of `amount` minor units for `id`, unless one with that id
    /// exists (answered as it is). Runs in the background; answers at once.
    ///
    /// # Errors
    /// A different amount under a known id, the bridge not ready, or the journal's.
    pub async fn start(
        self: &Arc<Self>,
        id: &str,
        kind: &str,
        amount: i64,
    ) -> Result<Payment, StartError> {
        let retry = match self.get(id).await? {
            // Running, paid, or not known yet: the same payment, never a second charge.
            Some(p) if matches!(p.state.as_str(), "pending" | "approved" | "unknown") => {
                return if p.amount == amount && p.kind == kind {
                    Ok(p)
                } else {
                    Err(StartError::IdReused)
                };
            }
            // Not charged (declined, cancelled, timed out): the till tries again.
            Some(_) => true,
            None => false,
        };
        if !self.is_ready() {
            // Try to resolve what is open first; never start on top of an unknown.
            self.resolve()
                .await
                .map_err(|e| StartError::Journal(e.to_string()))?;
            if !self.is_ready() {
                return Err(StartError::NotReady);
            }
        }
        // The journal first, synchronously: a crash from here on leaves a trace to resolve.
        sqlx::query(if retry {
            "update payment set kind = ?2, amount = ?3, state = 'pending', reference = '',
                 reason = '', trace = null, updated_at = datetime('now') where id = ?1"
        } else {
            "insert into payment (id, kind, amount, state) values (?1, ?2, ?3, 'pending')"
        })
        .bind(id)
        .bind(kind)
        .bind(amount)
        .execute(&self.db)
        .await?;
        let me = self.clone();
        let started = self.get(id).await?.expect("just written");
        let id = id.to_owned();
        let kind = kind.to_owned();
        tokio::spawn(async move {
            let _busy = me.busy.lock().await;
            let journal = Journal {
                db: &me.db,
                id: &id,
            };
            let minor = u64::try_from(amount).unwrap_or(0);
            let outcome = if kind == "refund" {
                me.driver.refund(&id, minor, &journal).await
            } else {
                me.driver.pay(&id, minor, &journal).await
            };
            if !outcome.is_final() {
                me.ready.store(false, std::sync::atomic::Ordering::SeqCst);
            }
            if let Err(e) = me.finish(&id, &outcome).await {
                tracing::error!(error = %e, %id, "the outcome of a payment could not be written");
            }
        });
        Ok(started)
    }

    /// Cancels the payment running (a no-op if none is).
    pub fn cancel(&self) {
        self.driver.cancel();
    }

    /// Requires `token` as a bearer token on every call but the health checks.
    ///
    /// # Panics
    /// Never: called before the bridge is shared.
    #[must_use]
    pub fn with_token(mut self: Arc<Self>, token: Option<String>) -> Arc<Self> {
        Arc::get_mut(&mut self).expect("not shared yet").token = token;
        self
    }

    /// The router of the bridge's API.
    pub fn router(self: Arc<Self>) -> Router {
        let guarded = Router::new()
            .route("/payments", post(start_payment))
            .route("/refunds", post(start_refund))
            .route("/payments/{id}", get(payment))
            .route("/payments/{id}/cancel", post(cancel))
            .route("/end-of-day", post(end_of_day))
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                require_token,
            ));
        Router::new()
            .merge(guarded)
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/readyz",
                get(|State(b): State<Arc<Bridge>>| async move {
                    if b.is_ready() {
                        (StatusCode::OK, "ready")
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "resolving an unknown payment",
                        )
                    }
                }),
            )
            .with_state(self)
    }
}

/// Why a payment was not started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("this id is a payment of another amount")]
    IdReused,
    #[error("the bridge is finding out what became of an earlier payment; try again shortly")]
    NotReady,
    #[error("the journal: {0}")]
    Journal(String),
}

impl From<sqlx::Error> for StartError {
    fn from(e: sqlx::Error) -> Self {
        StartError::Journal(e.to_string())
    }
}

#[derive(Debug, Deserialize)]
struct Start {
    id: String,
    /// Minor units.
    amount: i64,
}

fn answer(r: Result<Payment, StartError>) -> Response {
    match r {
        Ok(p) => (StatusCode::ACCEPTED, Json(p)).into_response(),
        Err(StartError::IdReused) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "id_reused", "message": StartError::IdReused.to_string() })),
        )
            .into_response(),
        Err(e @ StartError::NotReady) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "not_ready", "message": e.to_string() })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "bridge");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "journal" })),
            )
                .into_response()
        }
    }
}

fn check(s: &Start) -> Option<Response> {
    let ok = !s.id.is_empty()
        && s.id.len() <= 100
        && s.id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
        && s.amount > 0
        && s.amount < 100_000_000;
    (!ok).then(|| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "invalid", "message": "an id (letters, digits, -_:.) and an amount in minor units above zero" })),
        )
            .into_response()
    })
}

async fn start_payment(State(b): State<Arc<Bridge>>, Json(s): Json<Start>) -> Response {
    if let Some(r) = check(&s) {
        return r;
    }
    answer(b.start(&s.id, "payment", s.amount).await)
}

async fn start_refund(State(b): State<Arc<Bridge>>, Json(s): Json<Start>) -> Response {
    if let Some(r) = check(&s) {
        return r;
    }
    answer(b.start(&s.id, "refund", s.amount).await)
}

async fn payment(State(b): State<Arc<Bridge>>, UrlPath(id): UrlPath<String>) -> Response {
    match b.get(&id).await {
        Ok(Some(p)) => Json(p).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "bridge");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn cancel(State(b): State<Arc<Bridge>>, UrlPath(id): UrlPath<String>) -> Response {
    match b.get(&id).await {
        Ok(Some(p)) if p.state == "pending" => {
            b.cancel();
            StatusCode::ACCEPTED.into_response()
        }
        Ok(Some(_)) => StatusCode::CONFLICT.into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn end_of_day(State(b): State<Arc<Bridge>>) -> Response {
    // Not while a payment's outcome is unknown: after the day ends, the terminal's last
    // transaction no longer tells what became of it.
    if let Err(e) = b.resolve().await {
        tracing::error!(error = %e, "bridge");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if !b.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "unresolved", "message": "a payment's outcome is not known yet: the day ends once the terminal tells it" })),
        )
            .into_response();
    }
    let _busy = b.busy.lock().await;
    match b.driver.end_of_day().await {
        Ok(r) => Json(json!({ "total": r.and_then(|r| r.amount) })).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "error": "terminal", "message": e })),
        )
            .into_response(),
    }
}

/// The bridge's config file (`/etc/cooperage/bridge.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// Where the till reaches it: loopback on the till, or the bridge device's address.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Its journal's folder.
    pub state_directory: std::path::PathBuf,
    pub terminal: TerminalConfig,
    /// A file holding the token the till sends (`Authorization: Bearer`). Required when the
    /// bridge listens beyond loopback (a device beside the terminal): a refund is money out.
    #[serde(default)]
    pub token_file: Option<std::path::PathBuf>,
}

fn default_listen() -> String {
    "127.0.0.1:8190".into()
}

/// The card terminal behind the bridge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TerminalConfig {
    /// No terminal: approves after a second (the öre decide otherwise, see the simulator).
    Simulator,
    /// A terminal speaking ZVT over TCP.
    Zvt {
        /// `host:port` (20007 on most terminals).
        address: String,
        /// The terminal's six-digit password (`000000` unless set).
        #[serde(default)]
        password: u32,
        /// ISO 4217 numeric currency: 752 SEK, 978 EUR, 578 NOK, 208 DKK.
        currency: u16,
    },
}

impl BridgeConfig {
    /// # Errors
    /// What is wrong, naming the key.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.state_directory.is_absolute(),
            "bridge.json: state_directory must be an absolute path"
        );
        let listen: std::net::SocketAddr = self.listen.parse().map_err(|_| {
            anyhow::anyhow!("bridge.json: listen is an address and port, like 127.0.0.1:8190")
        })?;
        anyhow::ensure!(
            listen.ip().is_loopback() || self.token_file.is_some(),
            "bridge.json: a bridge listening beyond loopback ({listen}) needs token_file: anyone on the network could otherwise start refunds"
        );
        if let TerminalConfig::Zvt {
            address,
            password,
            currency,
        } = &self.terminal
        {
            anyhow::ensure!(
                address
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()),
                "bridge.json: terminal.address is host:port, like 192.168.1.50:20007"
            );
            anyhow::ensure!(
                *password <= 999_999,
                "bridge.json: terminal.password has six digits"
            );
            anyhow::ensure!(
                (1..=999).contains(currency),
                "bridge.json: terminal.currency is an ISO 4217 number, like 752 for SEK"
            );
        }
        Ok(())
    }

    /// The token, read from `token_file` (one trailing newline trimmed).
    ///
    /// # Errors
    /// The file cannot be read, or holds fewer than 16 characters.
    pub fn token(&self) -> anyhow::Result<Option<String>> {
        let Some(f) = &self.token_file else {
            return Ok(None);
        };
        let t = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("bridge.json: token_file {}: {e}", f.display()))?;
        let t = t.trim_end_matches(['\n', '\r']).to_owned();
        anyhow::ensure!(
            t.len() >= 16,
            "bridge.json: the token in token_file has at least 16 characters"
        );
        Ok(Some(t))
    }

    /// The driver it names.
    #[must_use]
    pub fn driver(&self) -> Arc<dyn Driver> {
        match &self.terminal {
            TerminalConfig::Simulator => Arc::new(crate::payment::Simulator::new(
                std::time::Duration::from_secs(1),
            )),
            TerminalConfig::Zvt {
                address,
                password,
                currency,
            } => Arc::new(crate::payment::Zvt::new(address, *password, *currency)),
        }
    }
}

/// Refuses a call without the bridge's token (when it has one): 401, nothing done.
async fn require_token(
    State(b): State<Arc<Bridge>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use subtle::ConstantTimeEq as _;
    if let Some(token) = &b.token {
        let given = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": "unauthorized" })),
            )
                .into_response();
        }
    }
    next.run(req).await
}
