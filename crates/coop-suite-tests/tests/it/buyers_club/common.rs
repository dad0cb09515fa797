//! The harness: the buyers club's database, and coop-finance serving its wallet API to this
//! service's client through a stand-in token issuer.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use coop_buyers_club::store::{self, Actor, ProductDraft, SupplierDraft};
use coop_buyers_club::wallet::Finance;
use coop_web::ServiceName;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

pub struct Club {
    pub db: PgPool,
    pub books: PgPool,
    pub wallet: Finance,
    /// coop-finance's base URL (`http://127.0.0.1:port`).
    pub finance_base: String,
    pub db_url: String,
    pub issuer: coop_testkit::issuer::TestIssuer,
    _finance: coop_testkit::http::Served,
    _dir: tempfile::TempDir,
}

/// Monday 1 December 2026, 09:00 UTC: the tests' "now".
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

pub fn vat_classes() -> Vec<String> {
    vec!["food".into(), "standard".into()]
}

pub fn vat_percent(class: &str) -> Decimal {
    if class == "food" {
        dec!(6)
    } else {
        dec!(25)
    }
}

pub async fn club() -> Club {
    let issuer = coop_testkit::issuer::TestIssuer::start().await;
    let (club_db, db) = coop_testkit::migrated_database(&coop_buyers_club::MIGRATOR).await;
    let (fdb, books) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "finance-test-secret-0123456789").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut v = coop_testkit::config::coop_config(
        "finance",
        &fdb.url,
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
    let served = coop_testkit::http::serve_on(listener, router);
    let token = coop_web::auth::ServiceTokenClient::new(
        coop_web::auth::Provider::new(&issuer.issuer).unwrap(),
        "coop-buyers-club",
        &coop_web::config::Secret::from("buyers-club-test-secret".to_owned()),
        &[],
    );
    Club {
        db,
        books,
        wallet: Finance::new(&format!("{base}/finance"), token),
        finance_base: base,
        db_url: club_db.url.clone(),
        issuer,
        _finance: served,
        _dir: dir,
    }
}

impl Club {
    /// A member with `amount` in their wallet at coop-finance.
    pub async fn member(&self, amount: Decimal) -> Uuid {
        let m = Uuid::new_v4();
        let w = coop_finance::wallet::wallet_of(&self.books, m)
            .await
            .unwrap();
        if !amount.is_zero() {
            coop_finance::wallet::credit_top_up(
                &self.books,
                w,
                amount,
                now().date_naive(),
                &format!("t-{m}"),
                2,
            )
            .await
            .unwrap();
        }
        m
    }

    /// What coop-finance holds of `member`'s wallet, and its balance.
    pub async fn wallet_of(&self, member: Uuid) -> (Decimal, Decimal) {
        let w = coop_finance::wallet::wallet_of(&self.books, member)
            .await
            .unwrap();
        let b = coop_finance::wallet::balance(&self.books, w).await.unwrap();
        (b.held, b.balance)
    }

    /// A supplier with three products: oats by the packet, six to a case; honey by the jar;
    /// soap (standard VAT).
    pub async fn supplier(&self, by: Uuid) -> (Uuid, [Uuid; 3]) {
        let s = store::add_supplier(
            &self.db,
            by,
            &SupplierDraft {
                name: format!("Gården {}", Uuid::new_v4().simple()),
                contact: "order@garden.example".into(),
                address: "Byvägen 1, Röstånga".into(),
                location: Some((dec!(55.996), dec!(13.285))),
                order_threshold: dec!(100),
                lead_time_days: 3,
            },
        )
        .await
        .unwrap();
        let mut ids = [Uuid::nil(); 3];
        for (i, (name, unit, case, price, vat)) in [
            ("Havregryn 1 kg", "st", dec!(6), dec!(24.90), "food"),
            ("Honung 500 g", "burk", dec!(1), dec!(89.00), "food"),
            ("Tvål", "st", dec!(1), dec!(35.00), "standard"),
        ]
        .into_iter()
        .enumerate()
        {
            ids[i] = store::add_product(
                &self.db,
                by,
                s,
                &ProductDraft {
                    name: name.into(),
                    article_id: format!("A-{i}"),
                    unit: unit.into(),
                    case_size: case,
                    unit_price: price,
                    vat_class: vat.into(),
                },
                &vat_classes(),
                2,
            )
            .await
            .unwrap();
        }
        (s, ids)
    }

    /// An open order from `supplier` offering `products`, managed by `by`, ending in a week.
    pub async fn order(&self, by: Uuid, supplier: Uuid, products: &[Uuid]) -> Uuid {
        store::create_order(
            &self.db,
            by,
            &store::NewOrder {
                supplier,
                title: "Veckans beställning",
                ends_at: now() + Duration::days(7),
                threshold: None,
                products,
            },
            now(),
        )
        .await
        .unwrap()
    }

    pub async fn buy(
        &self,
        member: Uuid,
        order: Uuid,
        product: Uuid,
        quantity: Decimal,
        tolerance: Decimal,
    ) -> Result<(), store::Refused> {
        store::set_purchase(
            &self.db,
            &self.wallet,
            Actor::Member(member),
            order,
            member,
            product,
            quantity,
            tolerance,
            now(),
            2,
        )
        .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }

    /// Everything a refused change could have touched, to compare before and after.
    pub async fn snapshot(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for table in [
            "supplier",
            "product",
            "club_order",
            "order_product",
            "purchase",
            "purchase_change",
            "wallet_hold",
            "settlement",
            "notice",
            "member_contact",
            "feed_event",
        ] {
            let rows: Vec<serde_json::Value> =
                sqlx::query_scalar(&format!("select to_jsonb(t) from {table} t"))
                    .fetch_all(&self.db)
                    .await
                    .unwrap();
            let mut rows: Vec<String> = rows.iter().map(ToString::to_string).collect();
            rows.sort();
            writeln!(out, "{table}: {rows:?}").unwrap();
        }
        out
    }
}
