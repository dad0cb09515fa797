//! Background jobs: a report or an export that takes more than a moment runs here, not in the
//! request that asked for it. The member is sent to the job's page, which shows its progress
//! (kept current by a small script where scripts run, by a "check again" link where they do
//! not) and, once it is done, offers the result for download. Results are kept for
//! [`KEEP_HOURS`] hours and only their owner sees them.
//!
//! A service registers what it can run ([`JobsBuilder::handler`]), starts the worker
//! ([`Jobs::spawn_worker`]) and merges [`routes`] into its router. The queue is the `job` table
//! (a kit migration): a job claimed by a worker that then dies (a crash, a restart) is taken up
//! again when the service starts, at most [`MAX_ATTEMPTS`] times.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::Notify;
use tracing::Instrument as _;
use uuid::Uuid;

use coop_domain::Role;

use crate::auth::{CurrentUser, OidcClient};
use crate::{Kit, Page};

/// How long a finished job and its result are kept.
pub const KEEP_HOURS: i64 = 24;
/// How many times a job is started before a restart that keeps interrupting it marks it failed.
pub const MAX_ATTEMPTS: i32 = 3;
/// How many unfinished jobs one member may have at a time.
pub const MAX_OPEN_PER_OWNER: i64 = 3;
/// What `error` holds when the cause is only in the log.
const INTERNAL: &str = "internal";

/// What a finished job hands over: the file its owner downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    pub body: Vec<u8>,
    /// A MIME type, `text/csv; charset=utf-8` say.
    pub content_type: String,
    /// The file's name as the browser saves it.
    pub filename: String,
}

/// A failure the owner should read as it is ("no such location"); any other error a handler
/// returns is logged under the job's id and the owner is told to ask the administrator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobMessage(pub String);

pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<JobOutput>> + Send>>;
type Handler = Arc<dyn Fn(Progress, Value) -> JobFuture + Send + Sync>;

/// Tells the job's page how far the job has come. Writes at most every 200 ms, so a handler may
/// call it for every row.
#[derive(Clone, Debug)]
pub struct Progress {
    db: PgPool,
    job: Uuid,
    last: Arc<Mutex<Option<Instant>>>,
}

impl Progress {
    /// `done` between 0 and 1 (clamped).
    pub async fn set(&self, done: f64) {
        let due = {
            let mut last = self.last.lock().expect("progress lock");
            let due = last.is_none_or(|t| t.elapsed() >= Duration::from_millis(200));
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if !due {
            return;
        }
        #[allow(clippy::cast_possible_truncation)]
        let done = done.clamp(0.0, 1.0) as f32;
        if let Err(e) = sqlx::query!(
            "update job set progress = $2 where job_id = $1 and status = 'running'",
            self.job,
            done
        )
        .execute(&self.db)
        .await
        {
            tracing::warn!(job_id = %self.job, error = %e, "job progress not recorded");
        }
    }

    pub fn job_id(&self) -> Uuid {
        self.job
    }
}

/// Why a job was not queued.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("this service runs no job of kind {0:?}")]
    UnknownKind(String),
    #[error(
        "you have {MAX_OPEN_PER_OWNER} jobs waiting or running already; wait for one to finish"
    )]
    TooMany,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<SubmitError> for crate::Error {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::UnknownKind(_) => crate::Error::NotFound,
            SubmitError::TooMany => crate::Error::TooManyRequests,
            SubmitError::Database(e) => crate::Error::Database(e),
        }
    }
}

/// What a service can run, by kind.
#[derive(Default)]
pub struct JobsBuilder {
    handlers: HashMap<String, Handler>,
}

impl std::fmt::Debug for JobsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobsBuilder")
            .field("kinds", &self.handlers.len())
            .finish()
    }
}

impl JobsBuilder {
    /// Registers `kind` (lower case, such as `ims.velocity-csv`). The handler gets the job's
    /// progress and the parameters it was submitted with.
    #[must_use]
    pub fn handler<F, Fut>(mut self, kind: &str, f: F) -> Self
    where
        F: Fn(Progress, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<JobOutput>> + Send + 'static,
    {
        self.handlers
            .insert(kind.to_owned(), Arc::new(move |p, v| Box::pin(f(p, v))));
        self
    }

    pub fn build(self, db: PgPool) -> Jobs {
        Jobs(Arc::new(Inner {
            db,
            handlers: self.handlers,
            wake: Notify::new(),
        }))
    }
}

struct Inner {
    db: PgPool,
    handlers: HashMap<String, Handler>,
    wake: Notify,
}

/// The service's job queue. Cheap to clone.
#[derive(Clone)]
pub struct Jobs(Arc<Inner>);

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&String> = self.0.handlers.keys().collect();
        kinds.sort();
        f.debug_struct("Jobs").field("kinds", &kinds).finish()
    }
}

/// A job as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobView {
    pub job_id: Uuid,
    pub kind: String,
    /// The role its owner needed to ask, and needs to see it.
    pub role: Role,
    pub title: String,
    pub status: String,
    /// 0 to 100.
    pub percent: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub result_name: Option<String>,
    pub result_size: Option<i64>,
    /// For the owner: a message, or `None` with [`JobView::internal_error`] set.
    pub error: Option<String>,
    pub internal_error: bool,
    /// When the result is deleted.
    pub kept_until: Option<DateTime<Utc>>,
}

impl JobView {
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed")
    }
}

struct Claimed {
    job_id: Uuid,
    kind: String,
    params: Value,
}

impl Jobs {
    pub fn builder() -> JobsBuilder {
        JobsBuilder::default()
    }

    /// Queues a job for `owner` (a member's `sub`) and wakes the worker. The same kind and
    /// parameters asked for again while the first is unfinished (a double click, a reload of
    /// the form) answer the first job's id instead of queueing a second.
    pub async fn submit(
        &self,
        kind: &str,
        params: Value,
        owner: &CurrentUser,
        role: Role,
        title: &str,
    ) -> Result<Uuid, SubmitError> {
        let owner = owner.sub.as_str();
        if !self.0.handlers.contains_key(kind) {
            return Err(SubmitError::UnknownKind(kind.to_owned()));
        }
        let params = if params.is_object() {
            params
        } else {
            json!({})
        };
        let title: String = title.chars().take(200).collect();
        let mut tx = self.0.db.begin().await?;
        // One owner's submissions one at a time, so two at once cannot both pass the checks.
        sqlx::query("select pg_advisory_xact_lock(hashtext('coop-job:' || $1))")
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        if let Some(id) = sqlx::query_scalar!(
            "select job_id from job
             where owner = $1 and kind = $2 and params = $3 and status in ('queued', 'running')",
            owner,
            kind,
            params
        )
        .fetch_optional(&mut *tx)
        .await?
        {
            return Ok(id);
        }
        let open = sqlx::query_scalar!(
            r#"select count(*) as "n!" from job
               where owner = $1 and status in ('queued', 'running')"#,
            owner
        )
        .fetch_one(&mut *tx)
        .await?;
        if open >= MAX_OPEN_PER_OWNER {
            return Err(SubmitError::TooMany);
        }
        let id = Uuid::new_v4();
        sqlx::query!(
            "insert into job (job_id, kind, params, owner, role, title)
             values ($1, $2, $3, $4, $5, $6)",
            id,
            kind,
            params,
            owner,
            role.as_str(),
            title
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(job_id = %id, kind, "job queued");
        self.0.wake.notify_one();
        Ok(id)
    }

    /// The job, if it is `owner`'s and they still hold the role they asked with.
    pub async fn find(
        &self,
        id: Uuid,
        owner: &CurrentUser,
    ) -> Result<Option<JobView>, sqlx::Error> {
        Ok(self.views(owner, Some(id)).await?.into_iter().next())
    }

    /// `owner`'s jobs that their roles still let them see, the newest first.
    pub async fn list(&self, owner: &CurrentUser) -> Result<Vec<JobView>, sqlx::Error> {
        self.views(owner, None).await
    }

    async fn views(
        &self,
        user: &CurrentUser,
        id: Option<Uuid>,
    ) -> Result<Vec<JobView>, sqlx::Error> {
        let owner = user.sub.as_str();
        let rows = sqlx::query!(
            r#"select job_id, kind, role as "role: Role", title, status, progress, created_at,
                      finished_at,
                      result_name, octet_length(result)::bigint as result_size, error
               from job where owner = $1 and ($2::uuid is null or job_id = $2)
               order by created_at desc limit 50"#,
            owner,
            id
        )
        .fetch_all(&self.0.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let internal = r.error.as_deref() == Some(INTERNAL);
                #[allow(clippy::cast_possible_truncation)]
                let percent = (f64::from(r.progress) * 100.0).floor() as i32;
                JobView {
                    job_id: r.job_id,
                    kind: r.kind,
                    role: r.role,
                    title: r.title,
                    percent: if r.status == "done" { 100 } else { percent },
                    status: r.status,
                    created_at: r.created_at,
                    kept_until: r
                        .finished_at
                        .map(|t| t + chrono::Duration::hours(KEEP_HOURS)),
                    finished_at: r.finished_at,
                    result_name: r.result_name,
                    result_size: r.result_size,
                    error: if internal { None } else { r.error },
                    internal_error: internal,
                }
            })
            .filter(|j| user.has(j.role))
            .collect())
    }

    /// The finished job's file, if the job is `owner`'s, done, and they still hold its role.
    pub async fn output(
        &self,
        id: Uuid,
        owner: &CurrentUser,
    ) -> Result<Option<JobOutput>, sqlx::Error> {
        let row = sqlx::query!(
            r#"select result as "result!", result_type as "result_type!",
                      result_name as "result_name!", role as "role: Role"
               from job where job_id = $1 and owner = $2 and status = 'done'"#,
            id,
            owner.sub
        )
        .fetch_optional(&self.0.db)
        .await?;
        Ok(row.filter(|r| owner.has(r.role)).map(|r| JobOutput {
            body: r.result,
            content_type: r.result_type,
            filename: r.result_name,
        }))
    }

    /// Puts back in the queue what a stopped worker left running, or fails it after
    /// [`MAX_ATTEMPTS`]. Run once at start, before the worker claims anything.
    pub async fn recover(&self) -> Result<u64, sqlx::Error> {
        let failed = sqlx::query!(
            "update job set status = 'failed', finished_at = now(), error = $2
             where status = 'running' and attempts >= $1",
            MAX_ATTEMPTS,
            INTERNAL
        )
        .execute(&self.0.db)
        .await?
        .rows_affected();
        if failed > 0 {
            tracing::error!(
                jobs = failed,
                "jobs interrupted {MAX_ATTEMPTS} times by a stop of the service are failed"
            );
        }
        let again =
            sqlx::query!("update job set status = 'queued', progress = 0 where status = 'running'")
                .execute(&self.0.db)
                .await?
                .rows_affected();
        if again > 0 {
            tracing::warn!(jobs = again, "jobs interrupted by a stop are queued again");
        }
        Ok(again)
    }

    /// Runs queued jobs one after another until none is left; answers how many ran.
    pub async fn run_queued(&self) -> Result<usize, sqlx::Error> {
        let mut n = 0;
        while self.run_one().await? {
            n += 1;
        }
        Ok(n)
    }

    /// Claims the oldest queued job and runs it to its end. `false` when none was queued.
    pub async fn run_one(&self) -> Result<bool, sqlx::Error> {
        let Some(job) = sqlx::query_as!(
            Claimed,
            "update job set status = 'running', started_at = now(), attempts = attempts + 1,
                            progress = 0
             where job_id = (select job_id from job where status = 'queued'
                             order by created_at limit 1 for update skip locked)
             returning job_id, kind, params"
        )
        .fetch_optional(&self.0.db)
        .await?
        else {
            return Ok(false);
        };
        let span = tracing::info_span!("job", job_id = %job.job_id, kind = %job.kind);
        let started = Instant::now();
        let outcome = match self.0.handlers.get(&job.kind) {
            None => Err(anyhow::anyhow!(
                "no handler for kind {:?} in this version",
                job.kind
            )),
            Some(handler) => {
                let progress = Progress {
                    db: self.0.db.clone(),
                    job: job.job_id,
                    last: Arc::new(Mutex::new(None)),
                };
                // On a task of its own, so that a panic fails the job, not the worker.
                match tokio::spawn(handler(progress, job.params).instrument(span.clone())).await {
                    Ok(r) => r,
                    Err(e) => Err(anyhow::anyhow!("the job's task failed: {e}")),
                }
            }
        };
        self.finish(job.job_id, outcome, started)
            .instrument(span)
            .await?;
        Ok(true)
    }

    /// Records a job's end: its file, or its failure.
    async fn finish(
        &self,
        job_id: Uuid,
        outcome: anyhow::Result<JobOutput>,
        started: Instant,
    ) -> Result<(), sqlx::Error> {
        match outcome {
            Ok(out) => {
                sqlx::query!(
                    "update job set status = 'done', progress = 1, finished_at = now(),
                                    result = $2, result_type = $3, result_name = $4
                     where job_id = $1 and status = 'running'",
                    job_id,
                    out.body,
                    out.content_type,
                    out.filename
                )
                .execute(&self.0.db)
                .await?;
                tracing::info!(
                    ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    bytes = out.body.len(),
                    "job done"
                );
            }
            Err(e) => {
                let shown = if let Some(m) = e.downcast_ref::<JobMessage>() {
                    m.0.clone()
                } else {
                    tracing::error!(error = format!("{e:#}"), "job failed");
                    INTERNAL.to_owned()
                };
                sqlx::query!(
                    "update job set status = 'failed', finished_at = now(), error = $2
                     where job_id = $1 and status = 'running'",
                    job_id,
                    shown
                )
                .execute(&self.0.db)
                .await?;
            }
        }
        Ok(())
    }

    /// Deletes finished jobs older than [`KEEP_HOURS`], results and all.
    pub async fn purge(&self) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query!(
            "delete from job where finished_at < now() - make_interval(hours => $1)",
            i32::try_from(KEEP_HOURS).unwrap_or(24)
        )
        .execute(&self.0.db)
        .await?
        .rows_affected())
    }

    /// Starts the worker: recovers what a stop interrupted, then runs jobs as they are queued
    /// and purges old ones, until `shutdown` completes. A job running at shutdown is left
    /// `running` and taken up again at the next start.
    pub fn spawn_worker(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let jobs = self.clone();
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            if let Err(e) = jobs.recover().await {
                tracing::error!(error = %e, "recovering interrupted jobs failed");
            }
            let mut purged = Instant::now()
                .checked_sub(Duration::from_secs(3600))
                .unwrap_or_else(Instant::now);
            loop {
                let work = async {
                    if let Err(e) = jobs.run_queued().await {
                        tracing::warn!(error = %e, "the job queue is not reachable");
                    }
                    if purged.elapsed() >= Duration::from_secs(3600) {
                        match jobs.purge().await {
                            Ok(n) if n > 0 => tracing::info!(jobs = n, "old jobs deleted"),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "purging old jobs failed"),
                        }
                        purged = Instant::now();
                    }
                };
                tokio::select! {
                    () = &mut shutdown => return,
                    () = work => {}
                }
                tokio::select! {
                    () = &mut shutdown => return,
                    () = jobs.0.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(10)) => {}
                }
            }
        })
    }
}

/// The job pages every service with jobs serves under its base path: `/jobs` (the member's
/// own), `/jobs/{id}`, `/jobs/{id}/status` (JSON, for the page's script) and
/// `/jobs/{id}/download`, plus the script at `/static/jobs.js`. Another member's job is a 404,
/// as is an unknown one.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
    OidcClient: FromRef<S>,
    Jobs: FromRef<S>,
{
    Router::new()
        .route("/jobs", get(list_page::<S>))
        .route("/jobs/{id}", get(show_page::<S>))
        .route("/jobs/{id}/status", get(status::<S>))
        .route("/jobs/{id}/download", get(download::<S>))
        .route("/static/jobs.js", get(script))
}

/// The script that keeps a job's page current; the page works without it.
pub const JOBS_JS: &str = include_str!("../templates/jobs.js");

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JOBS_JS,
    )
}

fn private<T: IntoResponse>(body: T) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    res
}

async fn list_page<S>(
    State(state): State<S>,
    page: Page,
    user: CurrentUser,
) -> Result<Response, crate::Error>
where
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
    OidcClient: FromRef<S>,
    Jobs: FromRef<S>,
{
    let jobs = Jobs::from_ref(&state);
    let list = jobs.list(&user).await?;
    Ok(private(
        page.render("kit_jobs.html", &json!({ "jobs": list }))?,
    ))
}

async fn find<S>(state: &S, user: &CurrentUser, id: &str) -> Result<JobView, crate::Error>
where
    Jobs: FromRef<S>,
{
    let id = Uuid::parse_str(id).map_err(|_| crate::Error::NotFound)?;
    Jobs::from_ref(state)
        .find(id, user)
        .await?
        .ok_or(crate::Error::NotFound)
}

async fn show_page<S>(
    State(state): State<S>,
    page: Page,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, crate::Error>
where
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
    OidcClient: FromRef<S>,
    Jobs: FromRef<S>,
{
    let job = find(&state, &user, &id).await?;
    Ok(private(page.render(
        "kit_job.html",
        &json!({ "job": job, "finished": job.is_finished() }),
    )?))
}

async fn status<S>(
    State(state): State<S>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, crate::Error>
where
    S: Clone + Send + Sync + 'static,
    OidcClient: FromRef<S>,
    Jobs: FromRef<S>,
{
    let job = find(&state, &user, &id).await?;
    Ok(private(Json(json!({
        "status": job.status,
        "percent": job.percent,
        "finished": job.is_finished(),
    }))))
}

async fn download<S>(
    State(state): State<S>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, crate::Error>
where
    S: Clone + Send + Sync + 'static,
    OidcClient: FromRef<S>,
    Jobs: FromRef<S>,
{
    let id = Uuid::parse_str(&id).map_err(|_| crate::Error::NotFound)?;
    let out = Jobs::from_ref(&state)
        .output(id, &user)
        .await?
        .ok_or(crate::Error::NotFound)?;
    let name = crate::mail::safe_filename(&out.filename);
    Ok(private((
        [
            (header::CONTENT_TYPE, out.content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        out.body,
    )))
}
