//! The member wallet at the till, against the real central and the real coop-finance: a sale
//! paid from the wallet is held online through central before it is written, refused when the
//! wallet is short (saying what it can pay) or its member inactive, given back when the card part
//! fails, and charged from its hold once the sale reaches the books; with coop-finance away the
//! till sells offline within its limit, and the books charge that sale as it arrives (flagging
//! an overdraft). Only the till that held may release, and only a till may hold.

use std::collections::BTreeMap;
use std::sync::Arc;

use coop_finance::postings::PosFeed;
use coop_pos_till::checkout::{self, CheckoutError, Completion, TillSettings};
use coop_pos_till::store::Store;
use coop_pos_till::sync::{self, StaticToken};
use coop_pos_till::tender::Given;
use coop_pos_till::wallet::{Central, Wallet as _};
use coop_web::feed::consumer::{Apply as _, Consumer, Credentials};
use coop_web::ServiceName;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use uuid::Uuid;

use crate::till_central::central_with;

/// The real coop-finance, served on a port, trusting `issuer`.
async fn finance(
    issuer: &coop_testkit::issuer::TestIssuer,
) -> (coop_testkit::http::Served, sqlx::PgPool, tempfile::TempDir) {
    let (db, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "finance-test-secret-0123456789").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut v = coop_testkit::config::coop_config(
        "finance",
        &db.url,
        dir.path(),
        &format!("{base}/finance"),
    );
    v["public_url"] = json!(base);
    v["services"]["finance"]["client_secret_file"] = json!(secret.to_str().unwrap());
    v["services"]["sso"] = json!({ "public_url": issuer.issuer });
    let loaded = coop_web::config::parse::<coop_finance::Settings>(
        v,
        ServiceName::Finance,
        &BTreeMap::new(),
    )
    .unwrap();
    let (_kit, router) = coop_web::cli::app::<coop_finance::Finance>(loaded)
        .await
        .unwrap();
    (coop_testkit::http::serve_on(listener, router), pool, dir)
}

fn till_settings() -> TillSettings {
    let mut s = crate::till_central::settings();
    s.tenders = serde_json::from_value(json!([
        { "id": "cash", "kind": "cash" }, { "id": "card", "kind": "card" },
        { "id": "wallet", "kind": "wallet" }
    ]))
    .unwrap();
    s.offline_wallet_limit = dec!(100);
    s
}

async fn till(member: Uuid, other: Uuid) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("till.sqlite"), 2)
        .await
        .unwrap();
    store
        .apply_products(
            "coop-ims",
            &[(
                1,
                json!({
                    "product_id": Uuid::from_u128(1), "sku": "KAFFE", "name": "Kaffe 450 g",
                    "unit": "each", "vat_class": "food", "shelf_price": "60.00", "member_price": null,
                    "active": true, "gtins": [], "plus": [], "packs": [], "price_changes": []
                }),
            )],
        )
        .await
        .unwrap();
    store
        .apply_members(
            "coop-sso",
            &[
                (1, json!({ "sub": member, "member_number": "1001", "name": "Alva", "status": "active", "member_prices": true })),
                (2, json!({ "sub": other, "member_number": "1002", "name": "Bo", "status": "active", "member_prices": true })),
            ],
        )
        .await
        .unwrap();
    (dir, store)
}

/// A basket of `n` coffees (60.00 each) for `member`, paid as `given` through `wallet`.
async fn sell(
    store: &Store,
    member: Uuid,
    n: u32,
    given: &[Given],
    wallet: Option<&dyn coop_pos_till::wallet::Wallet>,
    card: Option<&dyn coop_pos_till::terminal::Terminal>,
) -> Result<coop_pos_till::journal::SaleRecord, CheckoutError> {
    let s = till_settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    checkout::scan(store, &s, basket, "KAFFE", Some(Decimal::from(n)))
        .await
        .unwrap();
    store
        .set_member(basket, Some(&member.to_string()))
        .await
        .unwrap();
    let out = checkout::complete(
        store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given,
            now: chrono::Utc::now(),
            training: false,
            card,
            wallet,
        },
    )
    .await;
    if out.is_err() {
        store.park(basket).await.unwrap();
    }
    out
}

fn wallet_pays(amount: Decimal) -> Vec<Given> {
    vec![Given {
        tender: "wallet".into(),
        amount,
    }]
}

async fn wallet_row(db: &sqlx::PgPool, owner: Uuid) -> (Decimal, Decimal, bool) {
    sqlx::query_as("select balance, held, overdrawn_at is not null from wallet where owner_id = $1")
        .bind(owner)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_wallet_is_held_online_charged_once_in_the_books_and_offline_within_the_limit() {
    let issuer = coop_testkit::issuer::TestIssuer::start().await;
    let (fin, books, _fdir) = finance(&issuer).await;
    let (pos, central_db, _pdir) = central_with(
        &issuer,
        json!({ "finance": { "public_url": fin.url("/finance") } }),
    )
    .await;
    let central = pos.url("/pos");
    let (alva, bo) = (Uuid::new_v4(), Uuid::new_v4());
    let w = coop_finance::wallet::wallet_of(&books, alva).await.unwrap();
    coop_finance::wallet::credit_top_up(
        &books,
        w,
        dec!(100),
        chrono::Utc::now().date_naive(),
        "t1",
        2,
    )
    .await
    .unwrap();
    let (_dir, store) = till(alva, bo).await;
    let token = Arc::new(StaticToken(issuer.till_token("kassa-1", "coop-pos")));
    let online = Central::new(&central, token.clone());

    // One coffee from the wallet: held at coop-finance before the sale is written.
    let first = sell(&store, alva, 1, &wallet_pays(dec!(60)), Some(&online), None)
        .await
        .unwrap();
    let wallet_tender = first.tenders.iter().find(|t| t.kind == "wallet").unwrap();
    assert_eq!(
        wallet_tender.reference.as_deref(),
        Some(format!("sale:{}", first.sale_id).as_str())
    );
    assert_eq!(
        wallet_row(&books, alva).await,
        (dec!(100.00), dec!(60.00), false)
    );
    // Online, the offline allowance is untouched.
    assert_eq!(
        store
            .member(&alva.to_string())
            .await
            .unwrap()
            .unwrap()
            .offline_spent,
        Decimal::ZERO
    );

    // Two more: 120 against 40 available. Refused with what the wallet can pay; nothing kept.
    let e = sell(
        &store,
        alva,
        2,
        &wallet_pays(dec!(120)),
        Some(&online),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, CheckoutError::WalletInsufficient(a) if a == dec!(40.00)),
        "{e:?}"
    );
    assert_eq!(
        wallet_row(&books, alva).await,
        (dec!(100.00), dec!(60.00), false)
    );
    let holds: i64 = sqlx::query_scalar("select count(*) from wallet_hold")
        .fetch_one(&central_db)
        .await
        .unwrap();
    assert_eq!(holds, 1);

    // Most from the wallet and the rest by card, which declines (the simulator declines .13):
    // the hold goes back.
    let card = coop_pos_till::terminal::Simulator::default();
    let declined = vec![
        Given {
            tender: "wallet".into(),
            amount: dec!(39.87),
        },
        Given {
            tender: "card".into(),
            amount: dec!(20.13),
        },
    ];
    let e = sell(&store, alva, 1, &declined, Some(&online), Some(&card))
        .await
        .unwrap_err();
    assert!(matches!(e, CheckoutError::Card(_)), "{e:?}");
    assert_eq!(
        wallet_row(&books, alva).await,
        (dec!(100.00), dec!(60.00), false),
        "the declined sale's hold was given back"
    );
    assert!(store
        .releases(chrono::Duration::zero())
        .await
        .unwrap()
        .is_empty());

    // The sale reaches central and the books: the hold becomes the charge, once.
    let up = sync::upload(&store, &sync::client(), &central, token.as_ref())
        .await
        .unwrap();
    assert_eq!(up.accepted, 1);
    let feed_token = issuer.service_token("coop-finance", "coop-pos", "members.feed");
    let consumer = Consumer::new(
        "coop-pos",
        pos.url("/pos/api/feed").parse().unwrap(),
        Credentials::Bearer(feed_token.into()),
        books.clone(),
        PosFeed::default(),
    );
    consumer.round(0).await.unwrap();
    consumer.round(0).await.unwrap();
    assert_eq!(
        wallet_row(&books, alva).await,
        (dec!(40.00), dec!(0.00), false)
    );

    // coop-finance goes away: the till sells offline, within its limit of 100 per member.
    drop(fin);
    let e = sell(
        &store,
        alva,
        2,
        &wallet_pays(dec!(120)),
        Some(&online),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, CheckoutError::OfflineWalletLimit(l) if l == dec!(100)),
        "{e:?}"
    );
    let offline = sell(&store, alva, 1, &wallet_pays(dec!(60)), Some(&online), None)
        .await
        .unwrap();
    assert!(offline
        .tenders
        .iter()
        .all(|t| t.kind != "wallet" || t.reference.is_none()));
    let spent = |store: Store| async move {
        store
            .member(&alva.to_string())
            .await
            .unwrap()
            .unwrap()
            .offline_spent
    };
    assert_eq!(spent(store.clone()).await, dec!(60));
    // Uploaded, it no longer counts against the limit; booked, it is charged, and since the
    // wallet had 40 it is overdrawn by 20 and flagged.
    sync::upload(&store, &sync::client(), &central, token.as_ref())
        .await
        .unwrap();
    assert_eq!(spent(store.clone()).await, dec!(0));
    consumer.round(0).await.unwrap();
    assert_eq!(
        wallet_row(&books, alva).await,
        (dec!(-20.00), dec!(0.00), true)
    );
}

#[tokio::test]
async fn only_a_till_holds_and_only_the_till_that_held_releases() {
    let issuer = coop_testkit::issuer::TestIssuer::start().await;
    let (fin, books, _fdir) = finance(&issuer).await;
    let (pos, central_db, _pdir) = central_with(
        &issuer,
        json!({ "finance": { "public_url": fin.url("/finance") } }),
    )
    .await;
    let central = pos.url("/pos");
    let alva = Uuid::new_v4();
    let w = coop_finance::wallet::wallet_of(&books, alva).await.unwrap();
    coop_finance::wallet::credit_top_up(
        &books,
        w,
        dec!(100),
        chrono::Utc::now().date_naive(),
        "t1",
        2,
    )
    .await
    .unwrap();
    let mine = Central::new(
        &central,
        Arc::new(StaticToken(issuer.till_token("kassa-1", "coop-pos"))),
    );
    let theirs = Central::new(
        &central,
        Arc::new(StaticToken(issuer.till_token("kassa-2", "coop-pos"))),
    );
    let sale = Uuid::new_v4();
    assert_eq!(
        mine.hold(&alva.to_string(), sale, dec!(30)).await,
        coop_pos_till::wallet::HoldOutcome::Held
    );
    // The same sale again from the same till: the same hold; from another till: refused.
    assert_eq!(
        mine.hold(&alva.to_string(), sale, dec!(30)).await,
        coop_pos_till::wallet::HoldOutcome::Held
    );
    assert_ne!(
        theirs.hold(&alva.to_string(), sale, dec!(30)).await,
        coop_pos_till::wallet::HoldOutcome::Held
    );
    // Another till's release: central holds nothing of that till's for the sale (404, which the
    // other till takes as nothing to give back), and the hold stays.
    theirs.release(sale).await;
    assert_eq!(wallet_row(&books, alva).await.1, dec!(30.00));

    // Not a till: a member's token, a service's token, no token.
    let client = reqwest::Client::new();
    let body = json!({ "sale_id": Uuid::new_v4(), "member": alva, "amount": "1.00" });
    for token in [
        Some(issuer.member_token(&alva.to_string(), "coop-pos", "coop-pos", "openid")),
        Some(issuer.service_token("coop-ims", "coop-pos", "members.feed")),
        None,
    ] {
        let mut req = client
            .post(format!("{central}/api/till/wallet/holds"))
            .json(&body);
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let status = req.send().await.unwrap().status();
        assert!(
            status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED,
            "{status}"
        );
    }
    // A bad amount is refused before coop-finance is asked.
    let res = client
        .post(format!("{central}/api/till/wallet/holds"))
        .bearer_auth(issuer.till_token("kassa-1", "coop-pos"))
        .json(&json!({ "sale_id": Uuid::new_v4(), "member": alva, "amount": "0.001" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wallet_row(&books, alva).await.1, dec!(30.00));

    // The member is suspended at coop-sso: nothing more is held for them.
    let event = coop_web::feed::Event {
        id: 1,
        kind: "member.suspended".into(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        key: None,
        payload: json!({ "sub": alva, "member_number": "1001", "name": "Alva",
                         "status": "suspended", "member_prices": false }),
    };
    let mut tx = books.begin().await.unwrap();
    coop_finance::members::MemberFeed {
        wallet_per: coop_finance::WalletPer::Member,
    }
    .apply(&mut tx, &event)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        mine.hold(&alva.to_string(), Uuid::new_v4(), dec!(5)).await,
        coop_pos_till::wallet::HoldOutcome::Inactive
    );
    // Released by the till that held it, once and again.
    assert!(mine.release(sale).await);
    assert!(mine.release(sale).await);
    assert_eq!(wallet_row(&books, alva).await.1, dec!(0.00));
    let released: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select released_at from wallet_hold where sale_id = $1")
            .bind(sale)
            .fetch_one(&central_db)
            .await
            .unwrap();
    assert!(released.is_some());
}
