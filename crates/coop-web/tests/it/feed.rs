//! The kit's feeds: a producer's outbox and long-poll handler with per-consumer views, and a
//! consumer that applies every event exactly once, also when it is killed mid-batch.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use coop_testkit::child;
use coop_web::config::Secret;
use coop_web::feed::consumer::{Apply, Backoff, Consumer, Credentials};
use coop_web::feed::{self, Event, EventKind};
use rand::Rng as _;
use serde_json::{json, Value};
use sqlx::migrate::Migrator;
use sqlx::{PgConnection, PgPool};

static KIT_ONLY: std::sync::LazyLock<Migrator> =
    std::sync::LazyLock::new(|| coop_web::db::with_kit_migrations(Migrator::DEFAULT));

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sale,
    Note,
}

impl EventKind for Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "test.sale",
            Self::Note => "test.note",
        }
    }
}

/// `all` sees every event whole; `sales` sees only sales, without their `secret` field.
#[derive(Debug, Clone, Copy)]
enum TestView {
    All,
    SalesOnly,
}

impl feed::View for TestView {
    fn show(&self, kind: &str, payload: &Value) -> Option<Value> {
        match self {
            Self::All => Some(payload.clone()),
            Self::SalesOnly if kind == "test.sale" => Some(json!({ "n": payload["n"] })),
            Self::SalesOnly => None,
        }
    }
}

#[derive(Debug, Clone)]
struct TestAccess;

impl feed::Access for TestAccess {
    type View = TestView;

    async fn authorise(&self, headers: &HeaderMap) -> Result<TestView, Response> {
        match feed::bearer(headers) {
            None => Err(feed::refusal(
                StatusCode::UNAUTHORIZED,
                "invalid_request",
                "Bearer",
            )),
            Some("all") => Ok(TestView::All),
            Some("sales") => Ok(TestView::SalesOnly),
            Some(_) => Err(feed::refusal(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Bearer error=\"insufficient_scope\"",
            )),
        }
    }
}

async fn producer() -> (PgPool, coop_testkit::http::Served) {
    let (_, pool) = coop_testkit::migrated_database(&KIT_ONLY).await;
    let served = coop_testkit::http::serve(feed::routes(pool.clone(), TestAccess)).await;
    (pool, served)
}

async fn publish(pool: &PgPool, kind: Kind, key: Option<&str>, payload: Value) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    let id = feed::publish(&mut tx, kind, key, &payload).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn get(
    served: &coop_testkit::http::Served,
    token: Option<&str>,
    query: &str,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(served.url(&format!("/api/feed{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

use coop_testkit::http::feed_ids as ids;

#[tokio::test]
async fn the_feed_serves_each_caller_its_view_in_order() {
    let (pool, served) = producer().await;
    let a = publish(
        &pool,
        Kind::Sale,
        Some("s1"),
        json!({ "n": 1, "secret": "x" }),
    )
    .await;
    let b = publish(&pool, Kind::Note, None, json!({ "text": "hello" })).await;
    let c = publish(
        &pool,
        Kind::Sale,
        Some("s2"),
        json!({ "n": 2, "secret": "y" }),
    )
    .await;

    assert_eq!(get(&served, None, "").await.0, 401);
    assert_eq!(get(&served, Some("other"), "").await.0, 403);
    // A stranger learns nothing, not even that the query is bad.
    assert_eq!(get(&served, Some("other"), "?after=x").await.0, 403);
    assert_eq!(get(&served, Some("all"), "?after=x").await.0, 400);
    assert_eq!(get(&served, Some("all"), "?after=-1").await.0, 400);

    let (status, all) = get(&served, Some("all"), "").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&all), vec![a, b, c]);
    assert_eq!(all["next_after"], c);
    assert_eq!(all["head"], c);
    assert_eq!(all["events"][0]["type"], "test.sale");
    assert_eq!(all["events"][0]["key"], "s1");
    assert_eq!(all["events"][0]["payload"]["secret"], "x");

    // The sales view leaves the note out and the secret field too, but moves past both.
    let (_, sales) = get(&served, Some("sales"), "").await;
    assert_eq!(ids(&sales), vec![a, c]);
    assert_eq!(sales["events"][0]["payload"], json!({ "n": 1 }));
    assert_eq!(sales["next_after"], c);

    // Paging: a limit of one, then from the cursor; head tells how far there is to go.
    let (_, first) = get(&served, Some("all"), "?limit=1").await;
    assert_eq!(ids(&first), vec![a]);
    assert_eq!(first["head"], c);
    let (_, rest) = get(&served, Some("all"), &format!("?after={a}&limit=1")).await;
    assert_eq!(ids(&rest), vec![b]);
    let (_, sales_page) = get(&served, Some("sales"), &format!("?after={a}&limit=1")).await;
    assert!(ids(&sales_page).is_empty());
    assert_eq!(
        sales_page["next_after"], b,
        "a hidden event still moves the cursor"
    );

    // An empty answer waits for the next event.
    let started = Instant::now();
    let waiting = {
        let url = served.url(&format!("/api/feed?after={c}&wait=5"));
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth("all")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(600)).await;
    let d = publish(&pool, Kind::Note, None, json!({ "text": "later" })).await;
    let woke = waiting.await.unwrap();
    assert_eq!(ids(&woke), vec![d]);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn compaction_keeps_each_keys_newest_state_and_every_unkeyed_event() {
    let (pool, _served) = producer().await;
    let old1 = publish(&pool, Kind::Sale, Some("m1"), json!({ "n": 1 })).await;
    let _note = publish(&pool, Kind::Note, None, json!({ "text": "kept" })).await;
    let new1 = publish(&pool, Kind::Sale, Some("m1"), json!({ "n": 2 })).await;
    let only2 = publish(&pool, Kind::Sale, Some("m2"), json!({ "n": 3 })).await;
    // Nothing is old enough yet.
    assert_eq!(
        feed::compact(&pool, chrono::Utc::now() - chrono::Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        feed::compact(&pool, chrono::Utc::now() + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    let left: Vec<i64> = feed::events_after(&pool, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(!left.contains(&old1));
    assert!(left.contains(&new1) && left.contains(&only2));
    assert_eq!(left.len(), 3);
}

/// The consumer's effects: a row per application (no unique key, so a double shows) and a
/// running total.
#[derive(Debug, Clone)]
struct Sum {
    pause: Duration,
}

impl Apply for Sum {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> anyhow::Result<()> {
        let n = event.payload["n"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("event {} has no n", event.id))?;
        sqlx::query("insert into effect (event_id, n) values ($1, $2)")
            .bind(event.id)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update total set n = n + $1")
            .bind(n)
            .execute(&mut *tx)
            .await?;
        tokio::time::sleep(self.pause).await;
        Ok(())
    }
}

async fn consumer_database() -> (coop_testkit::TestDb, PgPool) {
    let (db, pool) = coop_testkit::migrated_database(&KIT_ONLY).await;
    sqlx::raw_sql(
        "create table effect (event_id bigint not null, n bigint not null);
         create table total (n bigint not null); insert into total values (0);",
    )
    .execute(&pool)
    .await
    .unwrap();
    (db, pool)
}

fn consumer(url: &str, pool: PgPool, token: &str, pause: Duration) -> Consumer<Sum> {
    let mut c = Consumer::new(
        "test-producer",
        url.parse().unwrap(),
        Credentials::Bearer(Secret::from(token)),
        pool,
        Sum { pause },
    );
    c.batch = 50;
    c.wait = 1;
    c.backoff = Backoff {
        first: Duration::from_millis(100),
        longest: Duration::from_millis(400),
    };
    c
}

/// The child half of the crash test: follows the feed until killed.
#[tokio::test]
#[ignore = "run by consumer_killed_mid_batch_applies_every_event_once"]
async fn crash_child() {
    let name = child::test_name(module_path!(), "crash_child");
    let (Some(url), Some(db)) = (
        child::child_env(&name, "FEED_URL"),
        child::child_env(&name, "CONSUMER_DB"),
    ) else {
        return;
    };
    let pool = PgPool::connect(&db).await.unwrap();
    consumer(&url, pool, "sales", Duration::from_millis(2))
        .run(std::future::pending())
        .await;
}

#[tokio::test]
async fn consumer_killed_mid_batch_applies_every_event_once() {
    let (producer_pool, served) = producer().await;
    let (consumer_db, consumer_pool) = consumer_database().await;
    let mut expected = 0_i64;
    for i in 1..=600_i64 {
        publish(
            &producer_pool,
            Kind::Sale,
            Some(&format!("s{i}")),
            json!({ "n": i }),
        )
        .await;
        expected += i;
        if i % 10 == 0 {
            // Hidden from this consumer; its cursor moves past them.
            publish(&producer_pool, Kind::Note, None, json!({ "text": "x" })).await;
        }
    }
    // More sales from four writers at once while the consumer runs and dies.
    let writers: Vec<_> = (0..4_i64)
        .map(|w| {
            let pool = producer_pool.clone();
            tokio::spawn(async move {
                for i in 0..100_i64 {
                    publish(&pool, Kind::Sale, None, json!({ "n": 1000 + w * 100 + i })).await;
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            })
        })
        .collect();
    expected += (0..4_i64)
        .flat_map(|w| (0..100).map(move |i| 1000 + w * 100 + i))
        .sum::<i64>();

    let name = child::test_name(module_path!(), "crash_child");
    let url = served.url("/api/feed");
    let env = [
        ("FEED_URL", url.as_str()),
        ("CONSUMER_DB", consumer_db.url.as_str()),
    ];
    let position = || async {
        sqlx::query_scalar::<_, i64>("select coalesce(max(position), 0) from feed_cursor")
            .fetch_one(&consumer_pool)
            .await
            .unwrap()
    };
    let mut kills_mid_way = 0;
    for _ in 0..15 {
        let mut c = child::spawn_test(&name, &env);
        let before = position().await;
        let ms = rand::thread_rng().gen_range(80..400);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        c.kill().unwrap();
        c.wait().unwrap();
        let after = position().await;
        let applied: i64 = sqlx::query_scalar("select count(*) from effect")
            .fetch_one(&consumer_pool)
            .await
            .unwrap();
        // Effects and cursor always agree: what the cursor covers is applied, nothing more.
        let covered: i64 = sqlx::query_scalar::<_, i64>(
            "select count(*) from (select distinct event_id from effect) e",
        )
        .fetch_one(&consumer_pool)
        .await
        .unwrap();
        assert_eq!(applied, covered, "an event was applied twice");
        if after > before {
            kills_mid_way += 1;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let head = feed::head(&producer_pool).await.unwrap();
    let mut c = child::spawn_test(&name, &env);
    let deadline = Instant::now() + Duration::from_secs(90);
    while position().await < head {
        assert!(Instant::now() < deadline, "the consumer did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.kill().unwrap();
    c.wait().unwrap();

    let sales: i64 = sqlx::query_scalar("select count(*) from feed_event where kind = 'test.sale'")
        .fetch_one(&producer_pool)
        .await
        .unwrap();
    let (rows, distinct, sum): (i64, i64, i64) =
        sqlx::query_as("select count(*), count(distinct event_id), sum(n)::bigint from effect")
            .fetch_one(&consumer_pool)
            .await
            .unwrap();
    let total: i64 = sqlx::query_scalar("select n from total")
        .fetch_one(&consumer_pool)
        .await
        .unwrap();
    assert_eq!(rows, sales, "every sale applied once");
    assert_eq!(distinct, sales);
    assert_eq!(sum, expected);
    assert_eq!(total, expected);
    assert!(
        kills_mid_way > 3,
        "the kills landed while it worked ({kills_mid_way})"
    );
}

#[tokio::test]
async fn consumer_waits_out_a_producer_that_is_down_and_reports_its_lag() {
    let metrics = coop_web::metrics::Metrics::new("coop-test");
    let (producer_pool, served) = producer().await;
    for i in 1..=30_i64 {
        publish(&producer_pool, Kind::Sale, None, json!({ "n": i })).await;
    }
    let (_db, consumer_pool) = consumer_database().await;
    // Nobody listens at this address yet.
    let idle = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_addr = idle.local_addr().unwrap();
    drop(idle);
    let mut c = consumer(
        &format!("http://{down_addr}/api/feed"),
        consumer_pool.clone(),
        "sales",
        Duration::ZERO,
    );
    let err = c.round(0).await.unwrap_err();
    assert!(err.to_string().starts_with("fetching the feed"), "{err}");
    assert_eq!(c.position().await.unwrap(), 0);

    // A consumer with a token the producer refuses gets nowhere, and says why.
    let refused = consumer(
        &served.url("/api/feed"),
        consumer_pool.clone(),
        "nobody",
        Duration::ZERO,
    );
    let err = refused.round(0).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");

    // Now the real producer: a batch of 10 leaves a lag of 20 in /metrics.
    c = consumer(
        &served.url("/api/feed"),
        consumer_pool.clone(),
        "sales",
        Duration::ZERO,
    );
    c.batch = 10;
    let round = c.round(0).await.unwrap();
    assert_eq!(round.applied, 10);
    assert_eq!(round.head - round.position, 20);
    let text = metrics.render();
    assert!(
        text.lines()
            .any(|l| l.starts_with("coop_feed_consumer_lag_events{")
                && l.contains("producer=\"test-producer\"")
                && l.ends_with(" 20")),
        "{text}"
    );

    // run() keeps going through failures and catches up.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(c.run(async move {
        let _ = stop_rx.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let total: i64 = sqlx::query_scalar("select n from total")
            .fetch_one(&consumer_pool)
            .await
            .unwrap();
        if total == (1..=30).sum::<i64>() {
            break;
        }
        assert!(Instant::now() < deadline, "did not catch up: {total}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("run stops on shutdown, even while it long-polls")
        .unwrap();
}

#[tokio::test]
async fn an_event_the_consumer_cannot_apply_stops_the_feed_there() {
    let (producer_pool, served) = producer().await;
    publish(&producer_pool, Kind::Sale, None, json!({ "n": 1 })).await;
    let bad = publish(&producer_pool, Kind::Sale, None, json!({ "nope": true })).await;
    publish(&producer_pool, Kind::Sale, None, json!({ "n": 3 })).await;
    let (_db, consumer_pool) = consumer_database().await;
    let c = consumer(
        &served.url("/api/feed"),
        consumer_pool.clone(),
        "sales",
        Duration::ZERO,
    );
    let err = c.round(0).await.unwrap_err();
    assert!(
        err.to_string().contains(&format!("applying event {bad}")),
        "{err}"
    );
    // Nothing of the batch stays, not even the good event before the bad one.
    assert_eq!(c.position().await.unwrap(), 0);
    let total: i64 = sqlx::query_scalar("select n from total")
        .fetch_one(&consumer_pool)
        .await
        .unwrap();
    assert_eq!(total, 0);
}
