//! coop-pos's figures (issue 11): run by `tests/bench/pos.sh`, which builds the release binary,
//! starts a private PostgreSQL and hands this a database for central. It fills a till's store
//! with PRODUCTS products, starts the real `coop-pos till` with central out of reach, and
//! measures through the till's HTTP interface, printing one `figure: value` line each:
//! - scan to priced line: `POST /scan` and the page that prices the basket, p50 and p99;
//! - sale completion (durable, `synchronous=FULL`): `POST /pay`, p50 and p99;
//! - the till's RSS idle, and after SALES sales;
//! - sync catch-up: central comes up, time until it holds every queued sale;
//! - central ingest: INGEST_SALES sales of 8 lines uploaded over HTTP, sales per second.
//!
//! Queries here are built at run time: this is a measuring tool, not part of the service.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coop_pos_till::journal::{RecordLine, RecordRate, RecordTender, SaleKind, SaleRecord, GENESIS};
use coop_pos_till::pricing::SaleUnit;
use coop_pos_till::store::{Cashier, Store};
use coop_testkit::bench::Figure;
use rand::{Rng as _, SeedableRng as _};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("its address")
        .port()
}

fn csrf(body: &str) -> String {
    let i = body.find("name=\"csrf_token\" value=\"").expect("a form") + 25;
    body[i..i + body[i..].find('"').expect("its end")].to_owned()
}

/// An 8-line sale of `till`, chained after `prev`.
fn eight_lines(till: &str, seq: i64, prev: &str) -> SaleRecord {
    let lines: Vec<RecordLine> = (0..8u128)
        .map(|i| RecordLine {
            product_id: Uuid::from_u128(i + 1),
            pack_id: None,
            sku: format!("SKU-{i}"),
            name: format!("Produkt {i}"),
            unit: SaleUnit::Each,
            quantity: Decimal::ONE,
            unit_price: Decimal::new(1990, 2),
            member_price_applied: false,
            vat_percent: Decimal::from(6),
            amount: Decimal::new(1990, 2),
        })
        .collect();
    let gross = Decimal::new(15920, 2);
    let vat = (gross * Decimal::from(6) / Decimal::from(106)).round_dp(2);
    let mut r = SaleRecord {
        sale_id: Uuid::new_v4(),
        till: till.into(),
        seq,
        kind: SaleKind::Sale,
        business_day: chrono::Utc::now().date_naive(),
        completed_at: chrono::Utc::now(),
        cashier: "bench".into(),
        member: None,
        original_sale: None,
        currency: "SEK".into(),
        lines,
        by_rate: vec![RecordRate {
            vat_percent: Decimal::from(6),
            net: gross - vat,
            vat,
            gross,
        }],
        total: gross,
        rounding: Decimal::ZERO,
        tenders: vec![RecordTender {
            tender: "card".into(),
            kind: "card".into(),
            amount: gross,
            reference: None,
        }],
        change: Decimal::ZERO,
        approved_by: None,
        prev_hash: String::new(),
        hash: String::new(),
    };
    r.seal(prev);
    r
}

/// When the till's own screen (the unlock form, what a cashier uses) first answered.
/// (A browser of its own: the kiosk's, with no session.)
async fn usable(url: &str) -> anyhow::Result<Instant> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = client.get(format!("{url}/")).send().await {
            if r.status().is_success() && r.text().await?.contains("action=\"/unlock\"") {
                return Ok(Instant::now());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "the till did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::main]
#[allow(clippy::too_many_lines)]
async fn main() -> anyhow::Result<()> {
    let products = env_n("PRODUCTS", 100_000);
    let sales = env_n("SALES", 10_000);
    let scans = env_n("SCANS", 5_000);
    let ingest_sales = env_n("INGEST_SALES", 20_000);
    let pos_db = std::env::var("POS_DATABASE_URL")?;
    let bin = std::env::var("COOP_POS_BIN")?;
    let work = tempfile::tempdir()?;
    let state = work.path().join("state");
    std::fs::create_dir_all(&state)?;

    // The till's store with the catalogue, a cashier and central's settings.
    let t = Instant::now();
    let mut codes = Vec::with_capacity(products);
    {
        let store = Store::open(&state.join("till.sqlite"), 2).await?;
        let mut id = 0_i64;
        for start in (0..products).step_by(1_000) {
            let mut page = Vec::with_capacity(1_000);
            for n in start..(start + 1_000).min(products) {
                let gtin = coop_domain::code::Gtin::with_check_digit(&format!("73{:010}", n + 1))?;
                codes.push(gtin.as_str().to_owned());
                id += 1;
                page.push((
                    id,
                    json!({
                        "product_id": Uuid::from_u128(n as u128 + 1).to_string(), "sku": format!("SKU-{n}"),
                        "name": format!("Produkt {n}"), "unit": "each",
                        "vat_class": if n % 10 == 0 { "standard" } else { "food" },
                        "shelf_price": format!("{}.90", n % 400 + 9), "member_price": null, "active": true,
                        "gtins": [format!("0{}", gtin.as_str())], "plus": [], "packs": [], "price_changes": []
                    }),
                ));
            }
            store.apply_products("coop-ims", &page).await?;
        }
        store
            .set_cashiers(&[Cashier {
                sub: "c-bench".into(),
                name: "Bench".into(),
                pin_hash: coop_pos_till::pin::hash("4711".into()).await,
                manager: false,
            }])
            .await?;
        store
            .set_setting(
                "till_settings",
                &json!({
                    "org_name": "Bench Co-op", "org_number": null, "currency": "SEK",
                    "vat": {
                        "food": { "rates": [ { "from": "2026-04-01", "percent": "6" } ] },
                        "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] }
                    },
                    "prices_include_vat": true, "member_only": false,
                    "tenders": [ { "id": "cash", "kind": "cash" }, { "id": "card", "kind": "card" } ],
                    "cash_coin": "1", "variable_measure": [], "offline_wallet_limit": "0",
                    "time_zone": "Europe/Stockholm"
                }),
            )
            .await?;
    }
    eprintln!(
        "bench: {products} products in the till's store in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    // The real till, with central out of reach (nothing listens on its port yet).
    let central_port = free_port();
    let till_port = free_port();
    let url = format!("http://127.0.0.1:{till_port}");
    let token_file = work.path().join("token");
    std::fs::write(&token_file, "not-yet")?;
    let config = work.path().join("till.json");
    std::fs::write(
        &config,
        json!({
            "till_id": "kassa-1", "state_directory": state, "listen": format!("127.0.0.1:{till_port}"),
            "lang": "en", "central_url": format!("http://127.0.0.1:{central_port}/pos"),
            "catalogue_feed_url": "http://127.0.0.1:9/ims/api/feed", "token_file": token_file,
        })
        .to_string(),
    )?;
    let start_till = || {
        Command::new(&bin)
            .args(["till", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    };
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let spawned = Instant::now();
    let mut till = start_till()?;
    let up = usable(&url).await?;
    let ms = (up - spawned).as_secs_f64() * 1000.0;
    println!(
        "till start-up to a usable screen: {ms:.0} ms ({products} products, central out of reach)"
    );
    Figure::cost(
        "coop-pos",
        "pos.start",
        &format!(
            "the till's start-up to a usable screen ({products} products, central out of reach)"
        ),
        ms,
        "ms",
    )
    .record();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = rss_mib(till.id());
    println!("till RSS idle: {rss:.1} MiB ({products} products)");
    Figure::cost(
        "coop-pos",
        "pos.rss.idle",
        &format!("the till's RSS, idle ({products} products; target under 50 MB)"),
        rss,
        "MiB",
    )
    .record();

    let page = client.get(format!("{url}/")).send().await?.text().await?;
    let token = csrf(&page);
    client
        .post(format!("{url}/unlock"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("cashier", "c-bench"),
            ("pin", "4711"),
        ])
        .send()
        .await?;
    let page = client.get(format!("{url}/")).send().await?.text().await?;
    let token = csrf(&page);
    client
        .post(format!("{url}/shift/open"))
        .form(&[("csrf_token", token.as_str()), ("amount", "500")])
        .send()
        .await?;

    // Scans: each a POST and the page that prices the basket; a sale every ten lines.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut scan_times = Vec::with_capacity(scans);
    let mut pay_times = Vec::with_capacity(sales);
    let pay = |client: reqwest::Client, token: String, url: String| async move {
        let t = Instant::now();
        let r = client
            .post(format!("{url}/pay"))
            .form(&[("csrf_token", token.as_str()), ("t-cash", "100000")])
            .send()
            .await?;
        anyhow::ensure!(r.status() == 303, "a sale was refused");
        Ok::<Duration, anyhow::Error>(t.elapsed())
    };
    let mut made = 0;
    for i in 0..scans {
        let code = &codes[rng.gen_range(0..codes.len())];
        let t = Instant::now();
        let r = client
            .post(format!("{url}/scan"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("code", code.as_str()),
                ("quantity", ""),
            ])
            .send()
            .await?;
        anyhow::ensure!(r.status() == 303, "a scan was refused");
        let body = client.get(format!("{url}/")).send().await?.text().await?;
        scan_times.push(t.elapsed());
        anyhow::ensure!(
            !body.contains("id=\"message\""),
            "a scan was refused: {code}"
        );
        if i % 10 == 9 {
            pay_times.push(pay(client.clone(), token.clone(), url.clone()).await?);
            made += 1;
        }
    }
    // The rest of the day's sales, one line each.
    while made < sales {
        let code = &codes[rng.gen_range(0..codes.len())];
        client
            .post(format!("{url}/scan"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("code", code.as_str()),
                ("quantity", ""),
            ])
            .send()
            .await?;
        pay_times.push(pay(client.clone(), token.clone(), url.clone()).await?);
        made += 1;
    }
    scan_times.sort();
    pay_times.sort();
    println!(
        "scan to priced line: p50 {:.2} ms, p99 {:.2} ms ({} scans, baskets up to 10 lines)",
        percentile(&scan_times, 0.5),
        percentile(&scan_times, 0.99),
        scan_times.len()
    );
    println!(
        "sale completion (durable): p50 {:.2} ms, p99 {:.2} ms ({} sales)",
        percentile(&pay_times, 0.5),
        percentile(&pay_times, 0.99),
        pay_times.len()
    );
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        Figure::cost(
            "coop-pos",
            &format!("pos.scan.{name}"),
            &format!(
                "scan to priced line at the till, {name} ({} scans, {products} products; target p99 under 5 ms)",
                scan_times.len()
            ),
            percentile(&scan_times, q),
            "ms",
        )
        .record();
        Figure::cost(
            "coop-pos",
            &format!("pos.sale.{name}"),
            &format!(
                "sale completion at the till, durable (SQLite synchronous=FULL), {name} ({} sales)",
                pay_times.len()
            ),
            percentile(&pay_times, q),
            "ms",
        )
        .record();
    }
    let rss = rss_mib(till.id());
    println!("till RSS after {made} sales: {rss:.1} MiB");
    Figure::cost(
        "coop-pos",
        "pos.rss.busy",
        &format!("the till's RSS after {made} sales (target under 50 MB)"),
        rss,
        "MiB",
    )
    .record();

    // A restart with those sales waiting to upload (a power cut at the till, say).
    let _ = Command::new("kill")
        .args(["-TERM", &till.id().to_string()])
        .status();
    till.wait()?;
    let spawned = Instant::now();
    till = start_till()?;
    let up = usable(&url).await?;
    let ms = (up - spawned).as_secs_f64() * 1000.0;
    println!(
        "till restart to a usable screen: {ms:.0} ms ({products} products, {made} sales in its journal)"
    );
    Figure::cost(
        "coop-pos",
        "pos.restart",
        &format!("the till's restart to a usable screen ({made} sales in its journal)"),
        ms,
        "ms",
    )
    .record();

    // Central comes up; the till's next round sends everything.
    let issuer = coop_testkit::issuer::TestIssuer::start().await;
    let pool = sqlx::PgPool::connect(&pos_db).await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("client-secret"),
        "pos-bench-secret-0123456789",
    )?;
    let base = format!("http://127.0.0.1:{central_port}");
    let mut v =
        coop_testkit::config::coop_config("pos", &pos_db, dir.path(), &format!("{base}/pos"));
    v["public_url"] = json!(base);
    v["services"]["pos"]["client_secret_file"] = json!(dir.path().join("client-secret"));
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    let loaded = coop_web::config::parse::<coop_pos::Settings>(
        v,
        coop_web::ServiceName::Pos,
        &BTreeMap::new(),
    )?;
    let (_kit, router) = coop_web::cli::app::<coop_pos::Pos>(loaded).await?;
    std::fs::write(&token_file, issuer.till_token("kassa-1", "coop-pos"))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", central_port)).await?;
    let t = Instant::now();
    let _central = coop_testkit::http::serve_on(listener, router);
    let want = i64::try_from(made)?;
    loop {
        let last: Option<i64> =
            sqlx::query_scalar("select last_seq from till where till_id = 'kassa-1'")
                .fetch_optional(&pool)
                .await?;
        if last == Some(want) {
            break;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(600),
            "sync did not catch up: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "sync catch-up: {made} queued sales at central in {secs:.2} s (the till tries every 5 s)"
    );
    Figure::cost(
        "coop-pos",
        "pos.catch-up",
        &format!("sync catch-up: {made} queued sales at central once it is reachable (a round every 5 s)"),
        secs,
        "s",
    )
    .record();
    let _ = Command::new("kill")
        .args(["-TERM", &till.id().to_string()])
        .status();
    let _ = till.wait();

    // Central's ingest rate: 8-line sales uploaded as a till uploads them, 200 a request.
    let mut prev = GENESIS.to_owned();
    let records: Vec<SaleRecord> = (1..=i64::try_from(ingest_sales)?)
        .map(|seq| {
            let r = eight_lines("bench-2", seq, &prev);
            prev.clone_from(&r.hash);
            r
        })
        .collect();
    let bearer = issuer.till_token("bench-2", "coop-pos");
    let api = reqwest::Client::new();
    let t = Instant::now();
    for batch in records.chunks(200) {
        let r = api
            .post(format!("{base}/pos/api/sales"))
            .bearer_auth(&bearer)
            .json(&json!({ "sales": batch }))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "ingest refused: {}",
            r.text().await?
        );
    }
    let secs = t.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = ingest_sales as f64 / secs;
    println!("central ingest: {ingest_sales} sales of 8 lines in {secs:.2} s, {rate:.0} sales/s");
    Figure::rate(
        "coop-pos",
        "pos.ingest",
        &format!("central ingest over HTTP ({ingest_sales} sales of 8 lines, 200 a request)"),
        rate,
        "sales/s",
    )
    .against("pgbench.tpcb.c1.tps")
    .record();
    Ok(())
}
