//! Background jobs against a real PostgreSQL: a job runs once and reports its progress, only
//! its owner (holding the role they asked with) sees it and its file, a double submit is one
//! job, a failure tells the owner what it may, a job a stop interrupted runs again at start (at
//! most three times), old results are deleted, and the worker stops on shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::jobs::{JobMessage, JobOutput, Jobs, SubmitError, MAX_ATTEMPTS};
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::PgPool;
use tokio::sync::Semaphore;
use uuid::Uuid;

static KIT_ONLY: std::sync::LazyLock<Migrator> =
    std::sync::LazyLock::new(|| coop_web::db::with_kit_migrations(Migrator::DEFAULT));

fn member(roles: &[Role]) -> CurrentUser {
    let mut u = CurrentUser::fixture(roles.iter().copied());
    u.sub = Uuid::new_v4().to_string();
    u
}

fn csv(text: &str) -> JobOutput {
    JobOutput {
        body: text.as_bytes().to_vec(),
        content_type: "text/csv; charset=utf-8".into(),
        filename: "report.csv".into(),
    }
}

/// Jobs whose `test.gate` handler reports half-way and then waits for a permit from `gate`.
fn gated(pool: &PgPool, gate: Arc<Semaphore>) -> Jobs {
    Jobs::builder()
        .handler("test.gate", move |progress, params| {
            let gate = gate.clone();
            async move {
                progress.set(0.5).await;
                gate.acquire().await?.forget();
                Ok(csv(&format!("rows;{}\n", params["n"])))
            }
        })
        .handler("test.message", |_, _| async {
            Err(JobMessage("there is no location \"annex\" now".into()).into())
        })
        .handler("test.error", |_, _| async {
            Err(anyhow::anyhow!(
                "connection to 10.0.0.7 refused (password=hunter2)"
            ))
        })
        .handler("test.panic", |_, _| async { panic!("a bug") })
        .handler("test.forever", |_, _| async {
            std::future::pending::<()>().await;
            unreachable!()
        })
        .build(pool.clone())
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn status(pool: &PgPool, id: Uuid) -> (String, i32) {
    sqlx::query_as("select status, attempts from job where job_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_job_reports_progress_and_only_its_owner_with_the_role_gets_the_file() {
    let (_db, pool) = coop_testkit::migrated_database(&KIT_ONLY).await;
    let gate = Arc::new(Semaphore::new(0));
    let jobs = gated(&pool, gate.clone());
    let alva = member(&[Role::Member, Role::Manager]);
    let bo = member(&[Role::Member, Role::Manager]);
    let id = jobs
        .submit(
            "test.gate",
            json!({ "n": 7 }),
            &alva,
            Role::Manager,
            "Velocity, CSV",
        )
        .await
        .unwrap();
    let job = jobs.find(id, &alva).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.percent), ("queued", 0));
    assert_eq!(job.title, "Velocity, CSV");
    assert!(
        jobs.find(id, &bo).await.unwrap().is_none(),
        "not another member's"
    );
    assert!(jobs.list(&bo).await.unwrap().is_empty());

    let runner = tokio::spawn({
        let jobs = jobs.clone();
        async move { jobs.run_one().await.unwrap() }
    });
    wait_until("half-way", || async {
        jobs.find(id, &alva)
            .await
            .unwrap()
            .is_some_and(|j| j.status == "running" && j.percent == 50)
    })
    .await;
    assert!(
        jobs.output(id, &alva).await.unwrap().is_none(),
        "no file yet"
    );
    gate.add_permits(1);
    assert!(runner.await.unwrap(), "it ran a job");
    assert!(!jobs.run_one().await.unwrap(), "and only one");

    let job = jobs.find(id, &alva).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.percent), ("done", 100));
    assert_eq!(job.result_name.as_deref(), Some("report.csv"));
    assert_eq!(job.result_size, Some(7));
    assert!(job.kept_until.unwrap() > job.finished_at.unwrap());
    assert_eq!(jobs.output(id, &alva).await.unwrap(), Some(csv("rows;7\n")));
    assert_eq!(jobs.output(id, &bo).await.unwrap(), None);
    // Alva is no longer a manager: the report is no longer hers to see.
    let mut former = alva.clone();
    former.roles.remove(&Role::Manager);
    assert!(jobs.find(id, &former).await.unwrap().is_none());
    assert!(jobs.output(id, &former).await.unwrap().is_none());
    assert!(jobs.list(&former).await.unwrap().is_empty());
}

#[tokio::test]
async fn asking_twice_is_one_job_and_a_member_has_at_most_three_open() {
    let (_db, pool) = coop_testkit::migrated_database(&KIT_ONLY).await;
    let jobs = gated(&pool, Arc::new(Semaphore::new(0)));
    let alva = member(&[Role::Manager]);
    // Two requests at once for the same thing: one job.
    let (a, b) = tokio::join!(
        jobs.submit("test.gate", json!({ "n": 1 }), &alva, Role::Manager, "A"),
        jobs.submit("test.gate", json!({ "n": 1 }), &alva, Role::Manager, "A"),
    );
    assert_eq!(a.unwrap(), b.unwrap());
    for n in 2..=3 {
        jobs.submit("test.gate", json!({ "n": n }), &alva, Role::Manager, "A")
            .await
            .unwrap();
    }
    assert!(matches!(
        jobs.submit("test.gate", json!({ "n": 4 }), &alva, Role::Manager, "A")
            .await,
        Err(SubmitError::TooMany)
    ));
    // Another member is not held back by Alva's.
    jobs.submit(
        "test.gate",
        json!({ "n": 4 }),
        &member(&[Role::Manager]),
        Role::Manager,
        "A",
    )
    .await
    .unwrap();
    assert!(matches!(
        jobs.submit("test.nothing", json!({}), &alva, Role::Manager, "A")
            .await,
        Err(SubmitError::UnknownKind(_))
    ));
    let n: i64 = sqlx::query_scalar("select count(*) from job")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 4);
}

#[tokio::test]
async fn a_failure_tells_the_owner_only_what_they_may_read() {
    let (_db, pool) = coop_testkit::migrated_database(&KIT_ONLY).await;
    let jobs = gated(&pool, Arc::new(Semaphore::new(0)));
    let alva = member(&[Role::Manager]);
    let mut ids = Vec::new();
    for kind in ["test.message", "test.error", "test.panic"] {
        ids.push(
            jobs.submit(kind, json!({}), &alva, Role::Manager, kind)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        jobs.run_queued().await.unwrap(),
        3,
        "a panic does not stop the worker"
    );
    let message = jobs.find(ids[0], &alva).await.unwrap().unwrap();
    assert_eq!(message.status, "failed");
    assert_eq!(
        message.error.as_deref(),
        Some("there is no location \"annex\" now")
    );
    assert!(!message.internal_error);
    for id in &ids[1..] {
        let j = jobs.find(*id, &alva).await.unwrap().unwrap();
        assert_eq!(
            (j.status.as_str(), j.error, j.internal_error),
            ("failed", None, true)
        );
    }
    let stored: Vec<String> = sqlx::query_scalar("select error from job")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|e| !e.contains("hunter2") && !e.contains("10.0.0.7")),
        "the cause stays in the log: {stored:?}"
    );
    assert!(jobs.output(ids[0], &alva).await.unwrap().is_none());
}

#[tokio::test]
async fn a_job_a_stop_interrupted_runs_again_at_start_at_most_three_times() {
    let (_db, pool) = coop_testkit::migrated_database(&KIT_ONLY).await;
    let jobs = gated(&pool, Arc::new(Semaphore::new(0)));
    let alva = member(&[Role::Manager]);
    let id = jobs
        .submit("test.forever", json!({}), &alva, Role::Manager, "Forever")
        .await
        .unwrap();
    for attempt in 1..=MAX_ATTEMPTS {
        // The service stops while the job runs: the worker is gone, the row says running.
        let worker = tokio::spawn({
            let jobs = jobs.clone();
            async move { jobs.run_one().await }
        });
        wait_until("the job started", || async {
            status(&pool, id).await == ("running".into(), attempt)
        })
        .await;
        worker.abort();
        let _ = worker.await;
        // The next start.
        jobs.recover().await.unwrap();
        let expected = if attempt < MAX_ATTEMPTS {
            "queued"
        } else {
            "failed"
        };
        assert_eq!(status(&pool, id).await, (expected.into(), attempt));
    }
    let j = jobs.find(id, &alva).await.unwrap().unwrap();
    assert!(j.internal_error);
    assert!(!jobs.run_one().await.unwrap(), "nothing left to run");
}

#[tokio::test]
async fn the_worker_runs_what_is_queued_and_stops_on_shutdown_and_old_results_go() {
    let (_db, pool) = coop_testkit::migrated_database(&KIT_ONLY).await;
    let gate = Arc::new(Semaphore::new(10));
    let jobs = gated(&pool, gate);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = jobs.spawn_worker(async move {
        let _ = stopped.await;
    });
    let alva = member(&[Role::Manager]);
    let id = jobs
        .submit("test.gate", json!({ "n": 3 }), &alva, Role::Manager, "Soon")
        .await
        .unwrap();
    wait_until("the worker ran it", || async {
        jobs.find(id, &alva)
            .await
            .unwrap()
            .is_some_and(|j| j.status == "done")
    })
    .await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops on shutdown")
        .unwrap();

    assert_eq!(jobs.purge().await.unwrap(), 0, "a fresh result is kept");
    sqlx::query("update job set finished_at = now() - interval '25 hours'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(jobs.purge().await.unwrap(), 1);
    assert!(jobs.find(id, &alva).await.unwrap().is_none());
}
