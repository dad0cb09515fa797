//! The payment bridge over HTTP, with the simulated ZVT terminal behind it: a payment from the
//! till's side, the same sale asked again (never a second charge), and crashes: the till's
//! between "approved" and recording the sale, and the bridge's own before and after the
//! terminal heard its acknowledgement. Each crash is resolved before a new payment starts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use coop_pos_devices::bridge::Bridge;
use coop_pos_devices::payment::{
    Driver, OutcomeFuture, Record, RecordFuture, Recorder, Saved, Zvt,
};
use coop_pos_devices::zvt_terminal::{start, Terminal};
use serde_json::{json, Value};

struct Running {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(dir: &std::path::Path, terminal: &str) -> Running {
    let bridge = Bridge::open(dir, Arc::new(Zvt::new(terminal, 0, 752)))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, bridge.router()).await.unwrap();
    });
    Running { base, task }
}

/// A bridge in a runtime of its own, which the test can pull the plug on (every task and
/// connection of it ends at once, as when the process is killed).
async fn crashable(
    dir: &std::path::Path,
    driver: Arc<dyn Driver>,
) -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dir = dir.to_owned();
    rt.spawn(async move {
        let bridge = Bridge::open(&dir, driver).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _ = tx.send(format!("http://{}", listener.local_addr().unwrap()));
        axum::serve(listener, bridge.router()).await.unwrap();
    });
    (rx.await.unwrap(), rt)
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn state(base: &str, id: &str) -> Value {
    reqwest::get(format!("{base}/payments/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits for the payment to leave `pending`.
async fn settled(base: &str, id: &str) -> Value {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let s = state(base, id).await;
        if s["state"] != "pending" {
            return s;
        }
        assert!(Instant::now() < until, "still pending: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_payment_through_the_bridge_and_the_till_crashing_after_approval() {
    let (terminal, address) = start(Terminal::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = serve(dir.path(), &address).await;
    let (status, p) = post(
        &b.base,
        "/payments",
        json!({ "id": "sale-1", "amount": 13880 }),
    )
    .await;
    assert_eq!((status, p["state"].as_str()), (202, Some("pending")));
    let done = settled(&b.base, "sale-1").await;
    assert_eq!(done["state"], "approved");
    assert_eq!(done["reference"], "trace 1, receipt 1");
    // The terminal's receipt is kept for the till to print.
    assert_eq!(done["slip"][0], "KORTKÖP");
    assert_eq!(done["slip"][1], "BELOPP 138.80");
    // The till crashed before recording the sale; started again, it asks for the same sale:
    // the same approval, and no second charge.
    let (status, again) = post(
        &b.base,
        "/payments",
        json!({ "id": "sale-1", "amount": 13880 }),
    )
    .await;
    assert_eq!((status, again["state"].as_str()), (202, Some("approved")));
    assert_eq!(terminal.charges().len(), 1);
    // The same id for another amount is refused.
    assert_eq!(
        post(
            &b.base,
            "/payments",
            json!({ "id": "sale-1", "amount": 100 })
        )
        .await
        .0,
        409
    );
    // Bad input.
    for bad in [
        json!({ "id": "", "amount": 5 }),
        json!({ "id": "x y", "amount": 5 }),
        json!({ "id": "s", "amount": 0 }),
    ] {
        assert_eq!(post(&b.base, "/payments", bad).await.0, 422);
    }
    // Declined and timed out map to clear states.
    post(
        &b.base,
        "/payments",
        json!({ "id": "sale-2", "amount": 1013 }),
    )
    .await;
    assert_eq!(settled(&b.base, "sale-2").await["state"], "declined");
    post(
        &b.base,
        "/payments",
        json!({ "id": "sale-3", "amount": 1015 }),
    )
    .await;
    assert_eq!(settled(&b.base, "sale-3").await["state"], "timed_out");
    // A refund, and the end of the day.
    post(
        &b.base,
        "/refunds",
        json!({ "id": "return-1", "amount": 880 }),
    )
    .await;
    assert_eq!(settled(&b.base, "return-1").await["state"], "approved");
    let (status, eod) = post(&b.base, "/end-of-day", json!({})).await;
    assert_eq!((status, eod["total"].as_u64()), (200, Some(13000)));
    b.task.abort();
}

#[tokio::test]
async fn the_bridge_crashing_after_the_terminal_heard_it_resolves_to_approved() {
    // The terminal holds its completion a while after the approval was acknowledged: the
    // bridge dies in that while.
    let mut t = Terminal::default();
    t.hold_completion = Duration::from_secs(3);
    let (terminal, address) = start(t).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (base, rt) = crashable(dir.path(), Arc::new(Zvt::new(&address, 0, 752))).await;
    post(
        &base,
        "/payments",
        json!({ "id": "sale-9", "amount": 4200 }),
    )
    .await;
    // The terminal has approved and heard the acknowledgement (it is holding its completion).
    let until = Instant::now() + Duration::from_secs(5);
    while terminal.charges().is_empty() {
        assert!(Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    rt.shutdown_background();
    // Started again: before taking a payment it asks the terminal, which approved it.
    let b = serve(dir.path(), &address).await;
    let s = state(&b.base, "sale-9").await;
    assert_eq!(s["state"], "approved", "{s}");
    assert_eq!(
        reqwest::get(format!("{}/readyz", b.base))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(terminal.charges().len(), 1);
    assert!(!terminal.charges()[0].reversed);
}

/// A journal whose disk hangs when the approval comes: the bridge never acknowledges it.
struct Stall;

impl Recorder for Stall {
    fn approved<'a>(&'a self, _r: &'a Record) -> Saved<'a> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
    }
}

static STALL: Stall = Stall;

/// The ZVT driver with that journal in place of the bridge's.
struct Stalling(Zvt);

impl Driver for Stalling {
    fn pay<'a>(&'a self, id: &'a str, amount: u64, _r: &'a dyn Recorder) -> OutcomeFuture<'a> {
        self.0.pay(id, amount, &STALL)
    }
    fn refund<'a>(&'a self, id: &'a str, amount: u64, _r: &'a dyn Recorder) -> OutcomeFuture<'a> {
        self.0.refund(id, amount, &STALL)
    }
    fn cancel(&self) {
        self.0.cancel();
    }
    fn end_of_day(&self) -> RecordFuture<'_> {
        self.0.end_of_day()
    }
    fn last(&self) -> RecordFuture<'_> {
        self.0.last()
    }
}

#[tokio::test]
async fn the_bridge_crashing_before_the_terminal_heard_it_resolves_to_not_paid() {
    // The bridge hangs between the terminal's approval and its acknowledgement: the terminal
    // reverses the payment by itself, and a bridge started again says it was not paid.
    let mut t = Terminal::default();
    t.reverse_after = Duration::from_secs(2);
    let (terminal, address) = start(t).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (base, rt) = crashable(dir.path(), Arc::new(Stalling(Zvt::new(&address, 0, 752)))).await;
    post(
        &base,
        "/payments",
        json!({ "id": "sale-7", "amount": 4200 }),
    )
    .await;
    let until = Instant::now() + Duration::from_secs(5);
    while terminal.charges().is_empty() {
        assert!(Instant::now() < until, "no charge");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The bridge is killed while its journal hangs.
    rt.shutdown_background();
    let until = Instant::now() + Duration::from_secs(5);
    while !terminal.charges()[0].reversed {
        assert!(Instant::now() < until, "the terminal did not reverse it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b = serve(dir.path(), &address).await;
    let s = state(&b.base, "sale-7").await;
    assert_eq!(s["state"], "declined", "{s}");
    // And the next payment goes through.
    post(
        &b.base,
        "/payments",
        json!({ "id": "sale-8", "amount": 100 }),
    )
    .await;
    assert_eq!(settled(&b.base, "sale-8").await["state"], "approved");
    b.task.abort();
}

/// The ZVT driver, but the payment `hang` never reaches the terminal (the bridge dies first).
struct HangsOn(Zvt, &'static str);

impl Driver for HangsOn {
    fn pay<'a>(&'a self, id: &'a str, amount: u64, r: &'a dyn Recorder) -> OutcomeFuture<'a> {
        if id == self.1 {
            return Box::pin(std::future::pending());
        }
        self.0.pay(id, amount, r)
    }
    fn refund<'a>(&'a self, id: &'a str, amount: u64, r: &'a dyn Recorder) -> OutcomeFuture<'a> {
        self.0.refund(id, amount, r)
    }
    fn cancel(&self) {
        self.0.cancel();
    }
    fn end_of_day(&self) -> RecordFuture<'_> {
        self.0.end_of_day()
    }
    fn last(&self) -> RecordFuture<'_> {
        self.0.last()
    }
}

#[tokio::test]
async fn a_crash_before_the_terminal_heard_of_it_is_not_taken_for_the_payment_before() {
    // Two baskets of the same amount. The first is approved; the bridge dies before the
    // second reaches the terminal. The terminal's last transaction is then the first one, of
    // the same amount and approved: it must not be taken for the second.
    let (terminal, address) = start(Terminal::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (base, rt) = crashable(
        dir.path(),
        Arc::new(HangsOn(Zvt::new(&address, 0, 752), "sale-b")),
    )
    .await;
    post(
        &base,
        "/payments",
        json!({ "id": "sale-a", "amount": 4200 }),
    )
    .await;
    assert_eq!(settled(&base, "sale-a").await["state"], "approved");
    post(
        &base,
        "/payments",
        json!({ "id": "sale-b", "amount": 4200 }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    rt.shutdown_background();
    let b = serve(dir.path(), &address).await;
    let s = state(&b.base, "sale-b").await;
    assert_eq!(s["state"], "declined", "{s}");
    assert_eq!(state(&b.base, "sale-a").await["state"], "approved");
    assert_eq!(terminal.charges().len(), 1);
    // Asking the terminal about its last transaction printed nothing there.
    assert_eq!(terminal.reprints(), 0);
    b.task.abort();
}

#[tokio::test]
async fn a_bridge_on_the_network_takes_only_the_tills_token() {
    let (terminal, address) = start(Terminal::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bridge = Bridge::open(dir.path(), Arc::new(Zvt::new(&address, 0, 752)))
        .await
        .unwrap()
        .with_token(Some("the-tills-token-0123456789".into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, bridge.router()).await.unwrap() });
    let client = reqwest::Client::new();
    // No token, or a wrong one: 401, and nothing reaches the terminal.
    for token in [None, Some("the-tills-token-0123456780"), Some("")] {
        for (path, body) in [
            ("/payments", json!({ "id": "s-1", "amount": 100 })),
            ("/refunds", json!({ "id": "r-1", "amount": 100 })),
            ("/end-of-day", json!({})),
            ("/payments/s-1/cancel", json!({})),
        ] {
            let mut req = client.post(format!("{base}{path}")).json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            assert_eq!(
                req.send().await.unwrap().status().as_u16(),
                401,
                "{path} with {token:?}"
            );
        }
        let mut req = client.get(format!("{base}/payments/s-1"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
    }
    assert!(terminal.charges().is_empty());
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    // The till's token: the payment goes through.
    let r = client
        .post(format!("{base}/payments"))
        .bearer_auth("the-tills-token-0123456789")
        .json(&json!({ "id": "s-1", "amount": 100 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    // A bridge listening beyond loopback without a token is refused at start.
    let config: coop_pos_devices::bridge::BridgeConfig = serde_json::from_value(json!({
        "listen": "0.0.0.0:8190", "state_directory": "/var/lib/cooperage-bridge",
        "terminal": { "kind": "simulator" },
    }))
    .unwrap();
    assert!(config
        .check()
        .unwrap_err()
        .to_string()
        .contains("token_file"));
}
