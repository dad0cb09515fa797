//! Postings from the feeds of coop-pos, coop-buyers-club and coop-ims, each consumer following a
//! producer this test serves with the event shapes docs/architecture.md fixes: every event is
//! booked once, balanced; an event that cannot be booked stops the feed there and books nothing.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use coop_finance::postings::{BuyersClubFeed, ImsFeed, PosFeed};
use coop_web::feed::consumer::{Apply, Consumer, Credentials};
use coop_web::feed::{self, EventKind};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sale,
    Order,
    Stock,
    Other,
    Member,
}

impl EventKind for Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "sale.completed",
            Self::Order => "order.completed",
            Self::Stock => "stock.moved",
            Self::Other => "shift.closed",
            Self::Member => "member.changed",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Whole;

impl feed::View for Whole {
    fn show(&self, _kind: &str, payload: &Value) -> Option<Value> {
        Some(payload.clone())
    }
}

#[derive(Debug, Clone)]
struct FinanceOnly;

impl feed::Access for FinanceOnly {
    type View = Whole;

    async fn authorise(&self, headers: &HeaderMap) -> Result<Whole, Response> {
        match feed::bearer(headers) {
            Some("finance") => Ok(Whole),
            _ => Err(feed::refusal(StatusCode::FORBIDDEN, "forbidden", "Bearer")),
        }
    }
}

pub struct Setup {
    producer: PgPool,
    pub books: PgPool,
    served: coop_testkit::http::Served,
}

pub async fn setup() -> Setup {
    let (_p, producer) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    let books = crate::topup::setup().await;
    let served = coop_testkit::http::serve(feed::routes(producer.clone(), FinanceOnly)).await;
    Setup {
        producer,
        books,
        served,
    }
}

impl Setup {
    pub async fn publish(&self, kind: Kind, payload: Value) {
        let mut tx = self.producer.begin().await.unwrap();
        feed::publish(&mut tx, kind, None, &payload).await.unwrap();
        tx.commit().await.unwrap();
    }

    pub fn consumer<A: Apply>(&self, name: &str, apply: A) -> Consumer<A> {
        Consumer::new(
            name,
            self.served.url("/api/feed").parse().unwrap(),
            Credentials::Bearer("finance".into()),
            self.books.clone(),
            apply,
        )
    }

    async fn lines(&self, source: &str) -> Vec<(i32, Decimal)> {
        sqlx::query!(
            "select l.account_number, l.amount from journal_line l join journal_entry e
             using (journal_entry_id) where e.source_key = $1 order by l.account_number",
            source
        )
        .fetch_all(&self.books)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.account_number, r.amount))
        .collect()
    }

    pub async fn entries(&self) -> i64 {
        sqlx::query_scalar!(r#"select count(*) as "n!" from journal_entry"#)
            .fetch_one(&self.books)
            .await
            .unwrap()
    }
}

pub fn sale(id: Uuid, tenders: Value, rounding: &str) -> Value {
    json!({
        "sale_id": id, "till": "till-1", "receipt_number": 42, "business_day": "2026-11-02",
        "lines_by_rate": [
            { "vat_percent": "6", "net": "94.34", "vat": "5.66" },
            { "vat_percent": "25", "net": "40.00", "vat": "10.00" }
        ],
        "tenders": tenders, "rounding": rounding
    })
}

#[tokio::test]
async fn till_sales_are_booked_once_per_rate_and_tender() {
    let s = setup().await;
    let consumer = s.consumer("coop-pos", PosFeed::default());
    let id = Uuid::new_v4();
    // 150.00 due; 100 by card, 30 from a member's wallet, 20 in cash.
    let mut split = sale(
        id,
        json!([{ "kind": "card", "amount": "100.00" }, { "kind": "wallet", "amount": "30.00" },
                    { "kind": "cash", "amount": "20.00" }]),
        "0",
    );
    split["member"] = json!(Uuid::new_v4());
    s.publish(Kind::Sale, split.clone()).await;
    s.publish(Kind::Other, json!({ "anything": true })).await;
    // The same sale sent again (a retried upload) books nothing more.
    s.publish(Kind::Sale, split).await;
    // A cash sale of 149.60 that the customer paid 150 for: 0.40 of rounding.
    let cash = Uuid::new_v4();
    let mut p = sale(
        cash,
        json!([{ "kind": "cash", "amount": "150.00" }]),
        "0.40",
    );
    p["lines_by_rate"][1]["net"] = json!("39.68");
    p["lines_by_rate"][1]["vat"] = json!("9.92");
    s.publish(Kind::Sale, p).await;

    let round = consumer.round(0).await.unwrap();
    assert_eq!(round.applied, 4);
    assert_eq!(
        s.lines(&format!("coop-pos:sale:{id}")).await,
        vec![
            (1580, dec!(100.00)),
            (1910, dec!(20.00)),
            (2420, dec!(30.00)),
            (2611, dec!(-10.00)),
            (2631, dec!(-5.66)),
            (3001, dec!(-40.00)),
            (3003, dec!(-94.34)),
        ]
    );
    assert_eq!(
        s.lines(&format!("coop-pos:sale:{cash}")).await,
        vec![
            (1910, dec!(150.00)),
            (2611, dec!(-9.92)),
            (2631, dec!(-5.66)),
            (3001, dec!(-39.68)),
            (3003, dec!(-94.34)),
            (3740, dec!(-0.40)),
        ]
    );
    assert_eq!(s.entries().await, 2);
    // Applied again from the start (a restored backup): still two.
    sqlx::query!("update feed_cursor set position = 0")
        .execute(&s.books)
        .await
        .unwrap();
    consumer.round(0).await.unwrap();
    assert_eq!(s.entries().await, 2);
}

#[tokio::test]
async fn an_event_that_cannot_be_booked_stops_the_feed_there() {
    let s = setup().await;
    let consumer = s.consumer("coop-pos", PosFeed::default());
    s.publish(
        Kind::Sale,
        sale(
            Uuid::new_v4(),
            json!([{ "kind": "cash", "amount": "150.00" }]),
            "0",
        ),
    )
    .await;
    // 149.00 tendered for 150.00 due: it does not balance.
    s.publish(
        Kind::Sale,
        sale(
            Uuid::new_v4(),
            json!([{ "kind": "cash", "amount": "149.00" }]),
            "0",
        ),
    )
    .await;
    s.publish(
        Kind::Sale,
        sale(
            Uuid::new_v4(),
            json!([{ "kind": "cash", "amount": "150.00" }]),
            "0",
        ),
    )
    .await;
    assert!(consumer.round(0).await.is_err());
    // All of the batch or none of it: nothing booked, the cursor unmoved, and the next round
    // meets the same event again.
    assert_eq!(s.entries().await, 0);
    assert!(consumer.round(0).await.is_err());
    assert_eq!(s.entries().await, 0);
    let position: Option<i64> = sqlx::query_scalar!("select position from feed_cursor")
        .fetch_optional(&s.books)
        .await
        .unwrap();
    assert!(position.unwrap_or(0) == 0);

    // Unknown fields, an unknown tender or VAT rate, a later payload version: refused too.
    for bad in [
        json!({ "sale_id": Uuid::new_v4(), "till": "t", "receipt_number": 1, "business_day": "2026-11-02",
                "lines_by_rate": [], "tenders": [{ "kind": "cheque", "amount": "1" }] }),
        json!({ "sale_id": Uuid::new_v4(), "till": "t", "receipt_number": 1, "business_day": "2026-11-02",
                "lines_by_rate": [{ "vat_percent": "19", "net": "1", "vat": "0.19" }],
                "tenders": [{ "kind": "cash", "amount": "1.19" }] }),
        // Paid from a wallet, but whose?
        json!({ "sale_id": Uuid::new_v4(), "till": "t", "receipt_number": 1, "business_day": "2026-11-02",
                "lines_by_rate": [{ "vat_percent": "25", "net": "1", "vat": "0.25" }],
                "tenders": [{ "kind": "wallet", "amount": "1.25" }] }),
    ] {
        let (_, pool) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
        let event = coop_web::feed::Event {
            id: 1,
            kind: "sale.completed".into(),
            version: 1,
            occurred_at: chrono::Utc::now(),
            key: None,
            payload: bad,
        };
        let mut tx = pool.begin().await.unwrap();
        assert!(PosFeed::default().apply(&mut tx, &event).await.is_err());
    }
}

#[tokio::test]
async fn buyers_club_orders_and_stock_movements_are_booked() {
    let s = setup().await;
    let (alva, bo) = (Uuid::new_v4(), Uuid::new_v4());
    let order = Uuid::new_v4();
    s.publish(
        Kind::Order,
        json!({
            "order_id": order, "supplier": "Ekogården", "completed_on": "2026-11-20",
            "purchases": [
                { "owner": alva, "lines_by_rate": [{ "vat_percent": "6", "net": "200.00", "vat": "12.00" }] },
                { "owner": bo, "lines_by_rate": [{ "vat_percent": "6", "net": "100.00", "vat": "6.00" },
                                                 { "vat_percent": "25", "net": "40.00", "vat": "10.00" }] }
            ],
            "supplier_invoice": [{ "vat_percent": "6", "net": "300.00", "vat": "18.00" },
                                 { "vat_percent": "25", "net": "40.00", "vat": "10.00" }]
        }),
    )
    .await;
    s.consumer("coop-buyers-club", BuyersClubFeed)
        .round(0)
        .await
        .unwrap();
    assert_eq!(
        s.lines(&format!("coop-buyers-club:order:{order}")).await,
        vec![
            (2420, dec!(368.00)),
            (2440, dec!(-368.00)),
            (2611, dec!(-10.00)),
            (2631, dec!(-18.00)),
            (2641, dec!(28.00)),
            (3001, dec!(-40.00)),
            (3003, dec!(-300.00)),
            (4010, dec!(340.00)),
        ]
    );

    let (received, shrink, zero) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    s.publish(Kind::Stock, json!({ "movement_id": received, "kind": "received", "on": "2026-11-03", "cost": "1250.00" })).await;
    s.publish(Kind::Stock, json!({ "movement_id": shrink, "kind": "shrink", "reason": "spoiled", "on": "2026-11-04", "cost": "-37.50" })).await;
    s.publish(
        Kind::Stock,
        json!({ "movement_id": zero, "kind": "transferred", "on": "2026-11-04", "cost": "0" }),
    )
    .await;
    s.consumer("coop-ims", ImsFeed).round(0).await.unwrap();
    assert_eq!(
        s.lines(&format!("coop-ims:movement:{shrink}")).await,
        vec![(1460, dec!(-37.50)), (4990, dec!(37.50))]
    );
    assert_eq!(
        s.lines(&format!("coop-ims:movement:{received}")).await,
        vec![(1460, dec!(1250.00)), (4990, dec!(-1250.00))]
    );
    // A transfer between the co-op's own stores moves no value: no entry.
    assert!(s
        .lines(&format!("coop-ims:movement:{zero}"))
        .await
        .is_empty());
    let text: String = sqlx::query_scalar!(
        "select text from journal_entry where source_key = $1",
        format!("coop-ims:movement:{shrink}")
    )
    .fetch_one(&s.books)
    .await
    .unwrap();
    assert_eq!(text, "Lager: Svinn (spoiled)");
}

#[tokio::test]
async fn the_monthly_batch_has_each_members_money_in_and_purchases_per_rate() {
    let s = setup().await;
    let alva = Uuid::new_v4();
    let w = coop_finance::wallet::wallet_of(&s.books, alva)
        .await
        .unwrap();
    coop_finance::wallet::set_owner_name(&s.books, w, "Alva")
        .await
        .unwrap();
    coop_finance::wallet::credit_top_up(
        &s.books,
        w,
        dec!(500),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        "t1",
        2,
    )
    .await
    .unwrap();
    // Bo pays in and buys nothing this month: one row, without a rate.
    let bo = coop_finance::wallet::wallet_of(&s.books, Uuid::new_v4())
        .await
        .unwrap();
    coop_finance::wallet::set_owner_name(&s.books, bo, "Bo")
        .await
        .unwrap();
    coop_finance::wallet::credit_top_up(
        &s.books,
        bo,
        dec!(200),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
        "t2",
        2,
    )
    .await
    .unwrap();
    // At the till with her card attached, and in a buyers-club order.
    let mut p = sale(
        Uuid::new_v4(),
        json!([{ "kind": "wallet", "amount": "150.00" }]),
        "0",
    );
    p["member"] = json!(alva);
    s.publish(Kind::Sale, p.clone()).await;
    s.publish(Kind::Sale, p).await; // sent twice: counted once
    s.publish(
        Kind::Order,
        json!({ "order_id": Uuid::new_v4(), "supplier": "Ekogården", "completed_on": "2026-11-20",
                "purchases": [{ "owner": alva, "lines_by_rate": [{ "vat_percent": "6.00", "net": "100.00", "vat": "6.00" }] }] }),
    )
    .await;
    s.consumer("coop-pos", PosFeed::default())
        .round(0)
        .await
        .unwrap();
    s.consumer("coop-buyers-club", BuyersClubFeed)
        .round(0)
        .await
        .unwrap();

    let d = |day| chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
    // Top-ups count by the day the bank booked them, purchases by the day they were made.
    let rows = coop_finance::reports::member_batch(&s.books, d(1), d(30))
        .await
        .unwrap();
    let october = coop_finance::reports::member_batch(
        &s.books,
        d(1) - chrono::Days::new(31),
        d(1) - chrono::Days::new(1),
    )
    .await
    .unwrap();
    assert!(october.is_empty());
    let (bo_rows, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.owner_name == "Bo");
    assert_eq!(bo_rows.len(), 1);
    assert_eq!(
        (bo_rows[0].paid_in, bo_rows[0].vat_percent, bo_rows[0].net),
        (dec!(200), None, dec!(0))
    );
    // Her payment reference, the money in, no rate, nothing bought.
    let csv = coop_finance::reports::member_batch_csv(&bo_rows);
    let line = csv.lines().nth(1).unwrap();
    assert!(
        line.starts_with("\"Bo\";") && line.ends_with(";200.00;;0.00;0.00;0.00"),
        "{csv}"
    );
    let per_rate: Vec<(Option<Decimal>, Decimal, Decimal)> = rows
        .iter()
        .map(|r| (r.vat_percent.map(|p| p.normalize()), r.net, r.vat))
        .collect();
    assert_eq!(
        per_rate,
        vec![
            (Some(dec!(6)), dec!(194.34), dec!(11.66)),
            (Some(dec!(25)), dec!(40.00), dec!(10.00)),
        ]
    );
    assert!(rows
        .iter()
        .all(|r| r.owner_name == "Alva" && r.paid_in == dec!(500)));
    let csv = coop_finance::reports::member_batch_csv(&rows);
    assert!(csv.contains("\"Alva\";"), "{csv}");
    assert!(csv.contains(";500.00;6;194.34;11.66;206.00\n"), "{csv}");
}
