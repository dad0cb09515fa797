//! A till against the real servers: its catalogue pulled from coop-ims's real feed (as a till
//! sees it), then a partition: central cannot be reached while the till sells 1,000 sales,
//! then it can, and every sale arrives exactly once with the till's totals.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use coop_pos_till::checkout::{self, Completion, TillSettings};
use coop_pos_till::store::Store;
use coop_pos_till::sync::{self, Feed, StaticToken, SyncError};
use coop_pos_till::tender::Given;
use coop_web::feed;
use coop_web::ServiceName;
use rand::{Rng as _, SeedableRng as _};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

/// Serves coop-ims's feed with its real till view (the token check is coop-ims's own, tested
/// there).
#[derive(Debug, Clone)]
struct AsTill;

impl feed::Access for AsTill {
    type View = coop_ims::feed::View;

    async fn authorise(&self, headers: &HeaderMap) -> Result<coop_ims::feed::View, Response> {
        match feed::bearer(headers) {
            Some("till") => Ok(coop_ims::feed::View::Till),
            _ => Err(feed::refusal(StatusCode::FORBIDDEN, "forbidden", "Bearer")),
        }
    }
}

pub fn settings() -> TillSettings {
    serde_json::from_value(json!({
        "org_name": "Testköpinge Matkooperativ", "org_number": null, "currency": "SEK",
        "vat": {
            "food": { "rates": [ { "from": "2026-04-01", "percent": "6" } ] },
            "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] }
        },
        "prices_include_vat": true, "member_only": false,
        "tenders": [ { "id": "cash", "kind": "cash" }, { "id": "card", "kind": "card" } ],
        "cash_coin": "1", "variable_measure": [], "offline_wallet_limit": "0",
        "time_zone": "Europe/Stockholm"
    }))
    .unwrap()
}

/// The real coop-pos central, served on a port, with the stand-in issuer's keys.
async fn central() -> (
    coop_testkit::http::Served,
    sqlx::PgPool,
    coop_testkit::issuer::TestIssuer,
    tempfile::TempDir,
) {
    let issuer = coop_testkit::issuer::TestIssuer::start().await;
    let (served, pool, dir) = central_with(&issuer, serde_json::Value::Null).await;
    (served, pool, issuer, dir)
}

/// The real coop-pos central with `services` added to the co-op's config (another service's
/// URL, say), trusting `issuer`.
pub async fn central_with(
    issuer: &coop_testkit::issuer::TestIssuer,
    services: serde_json::Value,
) -> (coop_testkit::http::Served, sqlx::PgPool, tempfile::TempDir) {
    let (db, pool) = coop_testkit::migrated_database(&coop_pos::MIGRATOR).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "pos-test-secret-0123456789").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut v =
        coop_testkit::config::coop_config("pos", &db.url, dir.path(), &format!("{base}/pos"));
    v["public_url"] = json!(base);
    v["services"]["pos"]["client_secret_file"] = json!(secret.to_str().unwrap());
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    if let serde_json::Value::Object(m) = services {
        for (k, s) in m {
            v["services"][k] = s;
        }
    }
    let loaded =
        coop_web::config::parse::<coop_pos::Settings>(v, ServiceName::Pos, &BTreeMap::new())
            .unwrap();
    let (_kit, router) = coop_web::cli::app::<coop_pos::Pos>(loaded).await.unwrap();
    (coop_testkit::http::serve_on(listener, router), pool, dir)
}

#[tokio::test]
async fn a_till_sells_a_day_cut_off_and_every_sale_arrives_once() {
    // coop-ims with 300 products, as its own code writes them.
    let (_ims_db, ims) = coop_testkit::migrated_database(&coop_ims::MIGRATOR).await;
    let classes = ["food".to_owned(), "standard".to_owned()];
    for i in 0..300 {
        let form = coop_ims::catalogue::ProductForm {
            sku: format!("P{i:04}"),
            name: format!("Produkt {i}"),
            unit: "each".into(),
            vat_class: if i % 5 == 0 { "standard" } else { "food" }.into(),
            cost: "5.00".into(),
            active: Some("on".into()),
            shelf_price: format!("{}.{:02}", 5 + i % 60, (i * 7) % 100),
            ..Default::default()
        };
        coop_ims::catalogue::create(&ims, &form.check(&classes, 2, "sv").unwrap())
            .await
            .unwrap();
    }
    let ims_feed = coop_testkit::http::serve(feed::routes(ims.clone(), AsTill)).await;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("till.sqlite"), 2)
        .await
        .unwrap();
    let client = sync::client();
    let applied = sync::pull(
        &store,
        &client,
        &ims_feed.url("/api/feed"),
        Feed::Catalogue,
        &StaticToken("till".into()),
    )
    .await
    .unwrap();
    assert_eq!(applied, 300);
    assert_eq!(store.product_count().await.unwrap(), 300);
    // Again: nothing new.
    assert_eq!(
        sync::pull(
            &store,
            &client,
            &ims_feed.url("/api/feed"),
            Feed::Catalogue,
            &StaticToken("till".into())
        )
        .await
        .unwrap(),
        0
    );

    // Central cannot be reached: the till sells on.
    let s = settings();
    let down = "http://127.0.0.1:9/pos";
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut till_total = Decimal::ZERO;
    let now = chrono::Utc::now();
    for n in 0..1000 {
        let basket = store.open_basket("c-kim").await.unwrap();
        for _ in 0..rng.gen_range(1..=8) {
            let sku = format!("P{:04}", rng.gen_range(0..300));
            checkout::scan(
                &store,
                &s,
                basket,
                &sku,
                Some(Decimal::from(rng.gen_range(1..=3))),
            )
            .await
            .unwrap();
        }
        let given = if n % 3 == 0 {
            let total = checkout::price_basket(&store, &s, basket, s.business_day(now))
                .await
                .unwrap()
                .priced
                .unwrap()
                .total
                .amount();
            vec![Given {
                tender: "card".into(),
                amount: total,
            }]
        } else {
            vec![Given {
                tender: "cash".into(),
                amount: dec!(2000),
            }]
        };
        let sale = checkout::complete(
            &store,
            &s,
            &Completion {
                till: "kassa-1",
                basket,
                cashier: "c-kim",
                given: &given,
                now,
                training: false,
                card: None,
                wallet: None,
            },
        )
        .await
        .unwrap();
        till_total += sale.total;
        if n % 250 == 0 {
            let e = sync::upload(&store, &client, down, &StaticToken("x".into()))
                .await
                .unwrap_err();
            assert!(matches!(e, SyncError::Unreachable(_)), "{e}");
        }
    }
    assert_eq!(store.pending_count().await.unwrap().0, 1000);

    // Central is back.
    let (served, pos, issuer, _dir) = central().await;
    let token = StaticToken(issuer.till_token("kassa-1", "coop-pos"));
    let up = sync::upload(&store, &client, &served.url("/pos"), &token)
        .await
        .unwrap();
    assert_eq!((up.accepted, up.duplicates, up.last_seq), (1000, 0, 1000));
    assert_eq!(store.pending_count().await.unwrap().0, 0);
    // A retry finds nothing to send; a lost answer resent is only duplicates.
    assert_eq!(
        sync::upload(&store, &client, &served.url("/pos"), &token)
            .await
            .unwrap()
            .accepted,
        0
    );
    let (count, total): (i64, Decimal) = sqlx::query_as("select count(*), sum(total) from sale")
        .fetch_one(&pos)
        .await
        .unwrap();
    assert_eq!((count, total), (1000, till_total));
    let events: i64 =
        sqlx::query_scalar("select count(*) from feed_event where kind = 'sale.completed'")
            .fetch_one(&pos)
            .await
            .unwrap();
    assert_eq!(events, 1000);
    let till_row: (i64, i32) =
        sqlx::query_as("select last_seq, pending from till where till_id = 'kassa-1'")
            .fetch_one(&pos)
            .await
            .unwrap();
    assert_eq!(till_row, (1000, 0));

    // The till's SD card is replaced by an empty one under the same id: its numbers start at 1
    // again. Central refuses them (they are not the chain it holds), and the new store keeps
    // them pending instead of taking central's last number for its own.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Store::open(&fresh_dir.path().join("till.sqlite"), 2)
        .await
        .unwrap();
    sync::pull(
        &fresh,
        &client,
        &ims_feed.url("/api/feed"),
        Feed::Catalogue,
        &StaticToken("till".into()),
    )
    .await
    .unwrap();
    let basket = fresh.open_basket("c-kim").await.unwrap();
    checkout::scan(&fresh, &s, basket, "P0001", None)
        .await
        .unwrap();
    checkout::complete(
        &fresh,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &[Given {
                tender: "cash".into(),
                amount: dec!(100),
            }],
            now,
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await
    .unwrap();
    let e = sync::upload(&fresh, &client, &served.url("/pos"), &token)
        .await
        .unwrap_err();
    assert!(matches!(e, SyncError::RecordRefused { seq: 1, .. }), "{e}");
    assert_eq!(
        fresh.pending_count().await.unwrap().0,
        1,
        "the new sale is still the till's to send"
    );
}
