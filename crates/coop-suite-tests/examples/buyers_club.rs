#![allow(
    clippy::many_single_char_names,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // a bench: short names, rough percentiles
//! The buyers club's figures (issue 13), run by tests/bench/buyers-club.sh with the release
//! build: an order of 300 members and 80 products, its sorting view and its PDF rendered through
//! the real app, and purchase updates per second from 32 members at once (each a hold adjusted
//! at a real coop-finance over HTTP, in its own transaction). Prints one line per figure.
//!
//! Env: BC_DATABASE_URL, FIN_DATABASE_URL (empty databases), MEMBERS (300), PRODUCTS (80),
//! CONCURRENCY (32), RUN_SECONDS (10).

use coop_testkit::bench::Figure;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use coop_buyers_club::store::{self, Actor, NewOrder, ProductDraft, SupplierDraft};
use coop_domain::Role;
use coop_web::auth::CurrentUser;
use coop_web::ServiceName;
use rust_decimal::Decimal;
use serde_json::json;
use tower::ServiceExt as _;
use uuid::Uuid;

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: &[Duration], p: f64) -> f64 {
    let mut d = d.to_vec();
    d.sort();
    let i = ((d.len() as f64 - 1.0) * p).round() as usize;
    d[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let members_n = env_n("MEMBERS", 300);
    let products_n = env_n("PRODUCTS", 80);
    let concurrency = env_n("CONCURRENCY", 32);
    let seconds = env_n("RUN_SECONDS", 10) as u64;
    let bc_url = std::env::var("BC_DATABASE_URL")?;
    let fin_url = std::env::var("FIN_DATABASE_URL")?;
    let bc_db = sqlx::PgPool::connect(&bc_url).await?;
    let fin_db = sqlx::PgPool::connect(&fin_url).await?;
    coop_buyers_club::MIGRATOR.run(&bc_db).await?;
    coop_finance::MIGRATOR.run(&fin_db).await?;
    let issuer = coop_testkit::issuer::TestIssuer::start().await;
    let dir = tempfile::tempdir()?;

    // coop-finance, serving its wallet API.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let fin_base = format!("http://{}", listener.local_addr()?);
    let mut v = coop_testkit::config::coop_config(
        "finance",
        &fin_url,
        dir.path(),
        &format!("{fin_base}/finance"),
    );
    v["public_url"] = json!(fin_base);
    let secret = dir.path().join("finance-secret");
    std::fs::write(&secret, "bench-secret-0123456789abcdef")?;
    v["services"]["finance"]["client_secret_file"] = json!(secret);
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    let loaded = coop_web::config::parse::<coop_finance::Settings>(
        v,
        ServiceName::Finance,
        &BTreeMap::new(),
    )?;
    let (_k, fin_router) = coop_web::cli::app::<coop_finance::Finance>(loaded).await?;
    let _fin = coop_testkit::http::serve_on(listener, fin_router);

    // A real SMTP server on loopback, the co-op's mail server (for the notices, below).
    let smtp = coop_testkit::smtp::SmtpCapture::start(false);
    // The buyers club: its app for the pages, its wallet client for the purchases.
    let mut v = coop_testkit::config::coop_config(
        "buyers_club",
        &bc_url,
        dir.path(),
        "http://127.0.0.1:9/buyers-club",
    );
    v["public_url"] = json!("http://127.0.0.1:9");
    let secret = dir.path().join("club-secret");
    std::fs::write(&secret, "bench-secret-0123456789abcdef")?;
    v["services"]["buyers_club"]["client_secret_file"] = json!(secret);
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    v["services"]["finance"] = json!({ "public_url": format!("{fin_base}/finance") });
    smtp.configure(&mut v);
    let loaded = coop_web::config::parse::<coop_buyers_club::Settings>(
        v,
        ServiceName::BuyersClub,
        &BTreeMap::new(),
    )?;
    let (_k, router) = coop_web::cli::app::<coop_buyers_club::BuyersClub>(loaded).await?;
    let wallet = Arc::new(coop_buyers_club::wallet::Finance::new(
        &format!("{fin_base}/finance"),
        coop_web::auth::ServiceTokenClient::new(
            coop_web::auth::Provider::new(&issuer.issuer)?,
            "coop-buyers-club",
            &coop_web::config::Secret::from("x".to_owned()),
            &[],
        ),
    ));

    // 300 members with money; a supplier with 80 products; an order offering them all.
    let t = Instant::now();
    let mut members = Vec::new();
    for i in 0..members_n {
        let m = Uuid::new_v4();
        let w = coop_finance::wallet::wallet_of(&fin_db, m).await?;
        coop_finance::wallet::credit_top_up(
            &fin_db,
            w,
            Decimal::from(100_000),
            Utc::now().date_naive(),
            &format!("b{i}"),
            2,
        )
        .await?;
        sqlx::query("insert into member (member_id, member_number, name, status) values ($1, $2, $3, 'active')")
            .bind(m)
            .bind(format!("{}", 1000 + i))
            .bind(format!("Medlem {i}"))
            .execute(&bc_db)
            .await?;
        members.push(m);
    }
    let by = members[0];
    let supplier = store::add_supplier(
        &bc_db,
        by,
        &SupplierDraft {
            name: "Grossisten".into(),
            contact: String::new(),
            address: "Lagervägen 1".into(),
            location: None,
            order_threshold: Decimal::ZERO,
            lead_time_days: 2,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let classes = vec!["food".to_owned(), "standard".to_owned()];
    let mut products = Vec::new();
    for i in 0..products_n {
        products.push(
            store::add_product(
                &bc_db,
                by,
                supplier,
                &ProductDraft {
                    name: format!("Vara {i:02}"),
                    article_id: format!("V{i:02}"),
                    unit: "st".into(),
                    case_size: Decimal::from(i % 12 + 1),
                    unit_price: Decimal::new(1990 + i64::try_from(i).unwrap_or(0) * 37, 2),
                    vat_class: if i % 7 == 0 { "standard" } else { "food" }.into(),
                },
                &classes,
                2,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    let order = store::create_order(
        &bc_db,
        by,
        &NewOrder {
            supplier,
            title: "Storbeställning",
            ends_at: Utc::now() + chrono::Duration::days(7),
            threshold: None,
            products: &products,
        },
        Utc::now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Each member buys 8 of the products, with a little tolerance.
    let mut tasks = Vec::new();
    for chunk in members.chunks(members_n.div_ceil(concurrency)) {
        let (db, wallet, products, chunk) = (
            bc_db.clone(),
            wallet.clone(),
            products.clone(),
            chunk.to_vec(),
        );
        tasks.push(tokio::spawn(async move {
            for (n, m) in chunk.iter().enumerate() {
                for k in 0..8 {
                    let p = products[(n * 13 + k * 7) % products.len()];
                    store::set_purchase(
                        &db,
                        wallet.as_ref(),
                        Actor::Member(*m),
                        order,
                        *m,
                        p,
                        Decimal::from(k % 3 + 1),
                        Decimal::from(k % 2),
                        Utc::now(),
                        2,
                    )
                    .await
                    .unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let bought: i64 = sqlx::query_scalar("select count(*) from purchase")
        .fetch_one(&bc_db)
        .await?;
    eprintln!(
        "bench: {members_n} members, {products_n} products, {bought} purchases in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // The sorting view and the PDF, through the real app, as a member.
    let mut who = CurrentUser::fixture([Role::Member]);
    who.sub = members[1].to_string();
    let get = |path: String| {
        let mut req = Request::get(path).body(Body::empty()).unwrap();
        req.extensions_mut().insert(who.clone());
        router.clone().oneshot(req)
    };
    for (key, what, path) in [
        (
            "sorting",
            "sorting view (HTML)",
            format!("/buyers-club/orders/{order}/sorting"),
        ),
        (
            "pdf",
            "PDF for the supplier",
            format!("/buyers-club/orders/{order}/export/pdf"),
        ),
        (
            "page",
            "page (HTML)",
            format!("/buyers-club/orders/{order}"),
        ),
    ] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..21 {
            let t = Instant::now();
            let res = get(path.clone()).await?;
            assert!(res.status().is_success(), "{what}: {}", res.status());
            size = axum::body::to_bytes(res.into_body(), 64 << 20).await?.len();
            times.push(t.elapsed());
        }
        println!("{what}: p50 {:.1} ms, p99 {:.1} ms ({} KiB; {members_n} members, {products_n} products)", ms(&times, 0.5), ms(&times, 0.99), size / 1024);
        for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
            Figure::cost(
                "coop-buyers-club",
                &format!("bc.{key}.{name}"),
                &format!(
                    "an order's {what} through the real app, {name} ({members_n} members, {products_n} products; {} KiB; 21 renders)",
                    size / 1024
                ),
                ms(&times, q),
                "ms",
            )
            .record();
        }
    }

    // Purchase updates: 32 members at once, each changing one of their purchases over and over.
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (n, m) in members.iter().take(concurrency).enumerate() {
        let (db, wallet, done, m) = (bc_db.clone(), wallet.clone(), done.clone(), *m);
        let p = products[(n * 13) % products.len()];
        tasks.push(tokio::spawn(async move {
            let mut q = 1;
            while Instant::now() < stop {
                q = q % 5 + 1;
                store::set_purchase(
                    &db,
                    wallet.as_ref(),
                    Actor::Member(m),
                    order,
                    m,
                    p,
                    Decimal::from(q),
                    Decimal::ZERO,
                    Utc::now(),
                    2,
                )
                .await
                .unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let n = done.load(Ordering::Relaxed);
    println!("purchase updates: {n} in {seconds} s, {:.0} updates/s ({concurrency} members at once, each a hold adjusted at coop-finance)", n as f64 / seconds as f64);
    Figure::rate(
        "coop-buyers-club",
        "bc.updates",
        &format!("purchase updates, {concurrency} members at once, each a hold adjusted at a real coop-finance over HTTP"),
        n as f64 / seconds as f64,
        "updates/s",
    )
    .against(&format!("pgbench.tpcb.c{concurrency}.tps"))
    .record();

    // Every member signed in here, with the default choices (a completed order by email).
    for (i, m) in members.iter().enumerate() {
        coop_buyers_club::notify::remember_contact(
            &bc_db,
            *m,
            Some(&format!("medlem{i}@example.org")),
            None,
            coop_web::Lang::Sv,
        )
        .await?;
    }
    // Completing it: every member's part captured at coop-finance, one call each, then the
    // order and its feed event.
    store::close(&bc_db, by, order, Utc::now(), 2)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = Instant::now();
    store::complete(
        &bc_db,
        wallet.as_ref(),
        by,
        order,
        Utc::now(),
        Utc::now().date_naive(),
        2,
        &|c: &str| {
            if c == "food" {
                Decimal::from(12)
            } else {
                Decimal::from(25)
            }
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = t.elapsed();
    let settled: i64 =
        sqlx::query_scalar("select count(*) from settlement where settled_at is not null")
            .fetch_one(&bc_db)
            .await?;
    println!(
        "completing the order: {:.2} s ({settled} members' parts captured at coop-finance, {:.1} ms each)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / settled.max(1) as f64
    );
    Figure::cost(
        "coop-buyers-club",
        "bc.complete",
        &format!("completing the order: each member's part captured at coop-finance ({settled} parts), per part"),
        took.as_secs_f64() * 1000.0 / settled.max(1) as f64,
        "ms",
    )
    .against("pgbench.tpcb.c1.latency")
    .record();

    // The app's own sender (every 5 s) and this one, with the same mail server, send them
    // between them: timed from the completion's notice until the last message is in.
    let mail = coop_web::config::Mail {
        from: "Bench <noreply@coop.example.org>".into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: smtp.port,
        smtp_security: coop_web::config::SmtpSecurity::None,
        smtp_username: None,
        smtp_password_file: None,
    };
    let sender = coop_buyers_club::notify::Sender {
        db: bc_db.clone(),
        mailer: coop_web::mail::Mailer::from_config(Some(&mail))?,
        matrix: None,
        texts: Arc::new(coop_web::Translations::new(
            coop_buyers_club::TRANSLATIONS,
            coop_web::Lang::En,
        )?),
        default_lang: coop_web::Lang::En,
        time_zone: chrono_tz::Europe::Stockholm,
        currency: coop_domain::Currency::parse("SEK")?,
        base_url: "https://coop.example.org/buyers-club".into(),
        org_name: "Bench".into(),
        give_up_after: Duration::from_secs(3600),
    };
    let expected: i64 =
        sqlx::query_scalar("select count(distinct member_id) from purchase where order_id = $1")
            .bind(order)
            .fetch_one(&bc_db)
            .await?;
    let expected = usize::try_from(expected)?;
    // No other message goes by email in this run: every one counted is a completion notice.
    let before = 0;
    let t = Instant::now();
    let deadline = t + Duration::from_secs(300);
    while smtp.count() < before + expected && Instant::now() < deadline {
        sender.run_once(Utc::now()).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = t.elapsed();
    let sent = smtp.count() - before;
    println!(
        "completion notices: {sent} of {expected} emails in {:.2} s, {:.0} messages/s (each written in the member's language and sent over its own SMTP connection to a real server on loopback)",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64()
    );
    Figure::rate(
        "coop-buyers-club",
        "bc.mail",
        &format!("the order's completion emails ({sent}) to a real SMTP server on loopback"),
        sent as f64 / took.as_secs_f64(),
        "messages/s",
    )
    .record();
    Ok(())
}
