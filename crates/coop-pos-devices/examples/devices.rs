#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // a bench
//! The till hardware's figures (issue 14), run by tests/bench/devices.sh with the release
//! build:
//!
//! - "card" to approved: a payment through the payment bridge's HTTP API (its journal on disk)
//!   to the simulated ZVT terminal and back, as the till's `BridgeTerminal` sees it, with the
//!   terminal taking no time to read the card (so what is measured is ours);
//! - the same straight through the ZVT driver, without the bridge;
//! - a 30-line receipt: laid out, encoded and printed on a network printer stand-in on
//!   loopback, with the status asked before and after, as the till prints it.
//!
//! Env: RUNS (100).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coop_pos_devices::escpos::encode;
use coop_pos_devices::payment::{Driver, Record, Recorder, Saved, Zvt};
use coop_pos_devices::printer::{Printer, PrinterConfig};
use coop_pos_devices::receipt::{render, Doc, Item};
use coop_pos_devices::zvt_terminal::{start, Terminal};
use coop_testkit::bench::Figure;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn ms(d: &[Duration], p: f64) -> f64 {
    let mut d = d.to_vec();
    d.sort();
    d[((d.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

struct Nothing;
impl Recorder for Nothing {
    fn approved<'a>(&'a self, _r: &'a Record) -> Saved<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// Records the p50 and p99 of `times` as `devices.<key>.p50` and `.p99`.
fn record(key: &str, what: &str, times: &[Duration]) {
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        Figure::cost(
            "coop-pos devices",
            &format!("devices.{key}.{name}"),
            &format!("{what}, {name} ({} runs)", times.len()),
            ms(times, q),
            "ms",
        )
        .record();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut t = Terminal::default();
    t.card_delay = Duration::ZERO;
    let (_terminal, address) = start(t).await?;

    // Straight through the driver.
    let zvt = Zvt::new(&address, 0, 752);
    let mut times = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let o = zvt.pay(&format!("d-{i}"), 1000, &Nothing).await;
        anyhow::ensure!(
            matches!(o, coop_pos_devices::payment::Outcome::Approved { .. }),
            "{o:?}"
        );
        times.push(t.elapsed());
    }
    println!(
        "card to approved, ZVT driver to the simulated terminal (registration, authorization, status, completion): p50 {:.1} ms, p99 {:.1} ms ({runs} payments)",
        ms(&times, 0.5),
        ms(&times, 0.99)
    );
    record(
        "zvt",
        "card to approved, ZVT driver to the simulated terminal",
        &times,
    );

    // Through the bridge, as the till asks it.
    let dir = tempfile::tempdir()?;
    let bridge =
        coop_pos_devices::bridge::Bridge::open(dir.path(), Arc::new(Zvt::new(&address, 0, 752)))
            .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, bridge.router()).await });
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let id = format!("b-{i}");
        client
            .post(format!("{base}/payments"))
            .json(&serde_json::json!({ "id": id, "amount": 1000 }))
            .send()
            .await?
            .error_for_status()?;
        loop {
            let s: serde_json::Value = client
                .get(format!("{base}/payments/{id}"))
                .send()
                .await?
                .json()
                .await?;
            if s["state"] == "approved" {
                break;
            }
            anyhow::ensure!(s["state"] == "pending", "{s}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        times.push(t.elapsed());
    }
    println!(
        "card to approved through the payment bridge (HTTP, its journal written synchronously twice, the terminal): p50 {:.1} ms, p99 {:.1} ms ({runs} payments, asked every 5 ms)",
        ms(&times, 0.5),
        ms(&times, 0.99)
    );
    record(
        "bridge",
        "card to approved through the payment bridge (HTTP, its journal, the terminal)",
        &times,
    );

    // A 30-line receipt on a network printer on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let printer_address = listener.local_addr()?.to_string();
    let got = Arc::new(Mutex::new(0usize));
    let count = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    // A status byte for each DLE EOT; the rest is the job.
                    let mut i = 0;
                    while i < n {
                        if buf[i] == 0x10 && i + 2 < n && buf[i + 1] == 0x04 {
                            let _ = s.write_all(&[0x12]).await;
                            i += 3;
                        } else {
                            *count.lock().unwrap() += 1;
                            i += 1;
                        }
                    }
                }
            });
        }
    });
    let doc = Doc {
        header: vec!["Röstånga Matkooperativ".into(), "Org.nr 769600-1234".into()],
        title: vec!["Kvitto 3-1042 · 2026-11-30 16:02".into()],
        items: (1..=30)
            .map(|i| Item {
                name: format!("Vara nummer {i} (ekologisk)"),
                detail: format!("{i} × 12,50 · 12 %"),
                amount: format!("{},50", i * 12),
            })
            .collect(),
        total: Some(("Att betala".into(), "5 812,50".into())),
        summary: vec![
            ("Moms 12 %".into(), "622,77".into()),
            ("Kort".into(), "5 812,50".into()),
        ],
        footer: vec!["Tack för handeln!".into()],
        code: Some("3-1042".into()),
        qr: false,
        drawer: true,
    };
    let printer = Printer::new(PrinterConfig::Network {
        address: printer_address,
    });
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let bytes = encode(&render(&doc, 42));
        size = bytes.len();
        printer
            .print(&bytes)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed());
    }
    println!(
        "a 30-line receipt laid out, encoded and printed on a network printer on loopback (status asked before and after): p50 {:.2} ms, p99 {:.2} ms ({size} bytes, {runs} receipts)",
        ms(&times, 0.5),
        ms(&times, 0.99)
    );
    record(
        "receipt",
        &format!("a 30-line receipt printed on a network printer on loopback ({size} bytes)"),
        &times,
    );
    Ok(())
}
