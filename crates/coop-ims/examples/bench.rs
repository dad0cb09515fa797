//! coop-ims's figures (issue 9): run by `tests/bench/ims.sh`, which starts a private PostgreSQL
//! and hands this two empty databases. It fills the catalogue (PRODUCTS products, each with an
//! EAN-13, and its `product.changed` event), SALE_LINES lines of sales history over 90 days, and
//! then measures, printing one `figure: value` line each:
//! - look-up by barcode (`catalogue::lookup`, the query `/api/lookup` runs): p50 and p99 of
//!   LOOKUPS random codes;
//! - applying coop-pos's sales feed (the real consumer over HTTP from a producer's outbox):
//!   lines per second for FEED_SALES sales of five lines;
//! - the stock valuation report (`stock::valuation`): first and warm;
//! - the velocity report (`reports::velocity`, the page's query): first and warm, and the
//!   background export's chunked read with its CSV (`reports::velocity_in_chunks`);
//! - the catalogue snapshot a new till reads (the feed from 0, 500 events a page, as a till
//!   sees it): bytes and time.
//!
//! Queries here are built at run time: this is a measuring tool, not part of the service.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::Response;
use coop_ims::stock::SalesFeed;
use coop_testkit::bench::Figure;
use coop_web::feed::consumer::{Consumer, Credentials};
use coop_web::feed::{self, EventKind};
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::{PgPool, Row as _};
use uuid::Uuid;

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy)]
struct Sale;

impl EventKind for Sale {
    fn as_str(self) -> &'static str {
        "sale.completed"
    }
}

#[derive(Debug, Clone, Copy)]
struct Whole;

impl feed::View for Whole {
    fn show(&self, _kind: &str, payload: &serde_json::Value) -> Option<serde_json::Value> {
        Some(payload.clone())
    }
}

#[derive(Debug, Clone)]
struct Anyone;

impl feed::Access for Anyone {
    type View = Whole;
    async fn authorise(&self, _headers: &HeaderMap) -> Result<Whole, Response> {
        Ok(Whole)
    }
}

#[derive(Debug, Clone)]
struct AsTill;

impl feed::Access for AsTill {
    type View = coop_ims::feed::View;
    async fn authorise(&self, _headers: &HeaderMap) -> Result<coop_ims::feed::View, Response> {
        Ok(coop_ims::feed::View::Till)
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let products = env_n("PRODUCTS", 100_000);
    let lines = env_n("SALE_LINES", 5_000_000);
    let lookups = env_n("LOOKUPS", 10_000);
    let feed_sales = env_n("FEED_SALES", 20_000);
    let ims = PgPool::connect(&std::env::var("IMS_DATABASE_URL")?).await?;
    let producer = PgPool::connect(&std::env::var("PRODUCER_DATABASE_URL")?).await?;
    coop_web::db::migrate(&ims, &coop_ims::MIGRATOR).await?;
    let kit_only = coop_web::db::with_kit_migrations(Migrator::DEFAULT);
    coop_web::db::migrate(&producer, &kit_only).await?;
    coop_ims::stock::sync_locations(&ims, &coop_ims::Settings::default().locations).await?;

    let t = Instant::now();
    sqlx::query(
        "insert into product (product_id, sku, name, unit, vat_class, cost, shelf_price, case_size)
         select gen_random_uuid(), 'SKU-' || g, 'Produkt ' || g,
                case when g % 20 = 0 then 'kg' else 'each' end,
                case when g % 10 = 0 then 'standard' else 'food' end,
                (g % 400) + 5, (g % 400) + 9.90, 12
         from generate_series(1, $1::int) g",
    )
    .bind(i32::try_from(products)?)
    .execute(&ims)
    .await?;
    let rows = sqlx::query("select product_id, sku from product order by sku")
        .fetch_all(&ims)
        .await?;
    let mut codes = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let body = format!("73{:010}", i + 1);
        let gtin = coop_domain::code::Gtin::with_check_digit(&body)?;
        codes.push(gtin.as_str().to_owned());
        ids.push(r.get::<Uuid, _>("product_id"));
    }
    for (c, p) in codes.chunks(10_000).zip(ids.chunks(10_000)) {
        let fourteen: Vec<String> = c.iter().map(|c| format!("0{c}")).collect();
        sqlx::query(
            "insert into product_code (kind, code, product_id)
             select 'gtin', c, p from unnest($1::text[], $2::uuid[]) as t(c, p)",
        )
        .bind(&fourteen)
        .bind(p)
        .execute(&ims)
        .await?;
    }
    // Each product's event, as the catalogue writes it.
    for chunk in ids.chunks(1_000) {
        let mut tx = ims.begin().await?;
        for id in chunk {
            coop_ims::catalogue::publish(&mut tx, *id).await?;
        }
        tx.commit().await?;
    }
    eprintln!(
        "bench: {products} products with codes and events in {:.1?}",
        t.elapsed()
    );

    let t = Instant::now();
    sqlx::query(
        "insert into stock_movement (product_id, location_id, kind, quantity, unit_cost,
             occurred_on, source_key)
         select p.product_id, (select location_id from location where code = 'shop'), 'sold',
                -1, p.cost, current_date - (g % 90), 'history:' || g
         from generate_series(1, $1::int) g
         join (select product_id, cost, row_number() over (order by sku) as n from product) p
           on p.n = (g % $2::int) + 1",
    )
    .bind(i32::try_from(lines)?)
    .bind(i32::try_from(products)?)
    .execute(&ims)
    .await?;
    sqlx::query("analyze").execute(&ims).await?;
    eprintln!(
        "bench: {lines} lines of sales history in {:.1?}",
        t.elapsed()
    );

    // Look-up by barcode.
    let rules = coop_ims::Settings::default().variable_measure;
    let today = chrono::Utc::now().date_naive();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut times = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let code = &codes[usize::try_from(state % codes.len() as u64)?];
        let t = Instant::now();
        let found = coop_ims::catalogue::lookup(&ims, code, &rules, "sv", today, 2).await?;
        times.push(t.elapsed());
        anyhow::ensure!(found.is_ok(), "{code} not found");
    }
    times.sort();
    let size = format!("{products} products, {lines} lines of sales history");
    for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
        let ms = pct(&times, q).as_secs_f64() * 1e3;
        println!("lookup {name}: {ms:.3} ms");
        Figure::cost(
            "coop-ims",
            &format!("ims.lookup.{name}"),
            &format!("look-up by barcode, {name} ({size}; {lookups} random codes)"),
            ms,
            "ms",
        )
        .against("pgbench.select.c1.latency")
        .record();
    }

    // The sales feed: FEED_SALES sales of five lines each, applied by the real consumer.
    let mut tx = producer.begin().await?;
    let mut sold_lines = 0;
    for s in 0..feed_sales {
        let items: Vec<_> = (0..5)
            .map(|k| json!({ "product_id": ids[(s * 5 + k) % ids.len()], "quantity": "1" }))
            .collect();
        sold_lines += items.len();
        let payload = json!({ "sale_id": Uuid::new_v4(), "till": "till-1", "receipt_number": s,
            "business_day": today, "lines_by_rate": [], "tenders": [], "rounding": "0",
            "items": items });
        feed::publish(&mut tx, Sale, None, &payload).await?;
        if s % 1_000 == 999 {
            tx.commit().await?;
            tx = producer.begin().await?;
        }
    }
    tx.commit().await?;
    let head = feed::head(&producer).await?;
    let url = serve(feed::routes(producer.clone(), Anyone)).await;
    let mut consumer = Consumer::new(
        "coop-pos",
        format!("{url}/api/feed").parse()?,
        Credentials::Bearer("bench".into()),
        ims.clone(),
        SalesFeed {
            default_location: "shop".into(),
        },
    );
    consumer.batch = 500;
    let t = Instant::now();
    loop {
        consumer
            .round(0)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let at: i64 = sqlx::query_scalar("select coalesce(max(position), 0) from feed_cursor")
            .fetch_one(&ims)
            .await?;
        if at >= head {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = sold_lines as f64 / secs;
    println!("feed apply: {sold_lines} lines in {secs:.2} s, {rate:.0} lines/s");
    Figure::rate(
        "coop-ims",
        "ims.feed",
        &format!("coop-pos's sales feed applied by the real consumer over HTTP ({feed_sales} sales of 5 lines)"),
        rate,
        "lines/s",
    )
    .against("pgbench.tpcb.c1.tps")
    .record();

    // The valuation report, first and warm.
    for round in ["first", "warm", "warm"] {
        let t = Instant::now();
        let rows = coop_ims::stock::valuation(&ims, None).await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!("valuation {round}: {ms:.0} ms ({} products)", rows.len());
        Figure::cost(
            "coop-ims",
            &format!("ims.valuation.{round}"),
            &format!("stock valuation report over {products} products, {round}"),
            ms,
            "ms",
        )
        .record();
    }

    // The velocity report (every product's pace over 90 days of sales), first and warm: the
    // page's one query, and the background export's chunked read.
    let today = chrono::Utc::now().date_naive();
    for round in ["first", "warm", "warm"] {
        let t = Instant::now();
        let rows = coop_ims::reports::velocity(&ims, today).await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!("velocity {round}: {ms:.0} ms ({} products)", rows.len());
        Figure::cost(
            "coop-ims",
            &format!("ims.velocity.{round}"),
            &format!("velocity report (the page's one query), {size}, {round}"),
            ms,
            "ms",
        )
        .record();
    }
    for round in ["first", "warm"] {
        let t = Instant::now();
        let rows = coop_ims::reports::velocity_in_chunks(
            &ims,
            today,
            coop_ims::reports::CHUNK,
            |_| async {},
        )
        .await?;
        let csv = coop_ims::export::velocity(&rows);
        #[allow(clippy::cast_precision_loss)]
        let mib = csv.len() as f64 / 1_048_576.0;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "velocity export (chunked, with its CSV) {round}: {ms:.0} ms ({} products, {mib:.1} MiB)",
            rows.len(),
        );
        Figure::cost(
            "coop-ims",
            &format!("ims.velocity-export.{round}"),
            &format!("velocity CSV as the background job makes it ({mib:.1} MiB), {round}"),
            ms,
            "ms",
        )
        .record();
    }

    // The snapshot a new till reads: the feed from 0 as a till sees it.
    let url = serve(feed::routes(ims.clone(), AsTill)).await;
    let client = reqwest_like(&url);
    let t = Instant::now();
    let (mut after, mut bytes, mut events) = (0_i64, 0_usize, 0_usize);
    loop {
        let body = client(after).await?;
        bytes += body.len();
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let n = v["events"].as_array().map_or(0, Vec::len);
        events += n;
        after = v["next_after"].as_i64().unwrap_or(after);
        if after >= v["head"].as_i64().unwrap_or(0) {
            break;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / 1_048_576.0;
    let secs = t.elapsed().as_secs_f64();
    println!("snapshot: {events} products, {mib:.1} MiB in {secs:.2} s");
    Figure::cost(
        "coop-ims",
        "ims.snapshot",
        &format!("catalogue snapshot for a new till ({events} products, {mib:.1} MiB, 500 a page)"),
        secs,
        "s",
    )
    .record();
    Ok(())
}

/// A plain HTTP/1.1 GET of one feed page (no client library: the bench needs one request shape).
fn reqwest_like(
    base: &str,
) -> impl Fn(i64) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Vec<u8>>>>> {
    let addr = base.trim_start_matches("http://").to_owned();
    move |after| {
        let addr = addr.clone();
        Box::pin(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let mut s = tokio::net::TcpStream::connect(&addr).await?;
            let req = format!(
                "GET /api/feed?after={after}&limit=500 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer till\r\nConnection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await?;
            let split = buf
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .ok_or_else(|| anyhow::anyhow!("no header end"))?;
            let head = String::from_utf8_lossy(&buf[..split]).to_string();
            let body = buf[split + 4..].to_vec();
            if head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
            {
                return Ok(dechunk(&body));
            }
            Ok(body)
        })
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[i + 2 + size + 2..];
    }
    out
}
