//! Central takes a till's journal: each sale once whatever the retries (also two uploads of the
//! same sale at once), published as `sale.completed`; a changed record, a gap, another till's
//! record or one whose sums disagree is refused and flagged, the chain staying where it was;
//! the till's next proper record is taken after.

use chrono::{DateTime, NaiveDate};
use coop_pos::ingest::{self, Pending};
use coop_pos_till::journal::{RecordLine, RecordRate, RecordTender, SaleKind, SaleRecord, GENESIS};
use coop_pos_till::pricing::SaleUnit;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;
use uuid::Uuid;

pub async fn database() -> PgPool {
    coop_testkit::migrated_database(&coop_pos::MIGRATOR).await.1
}

/// A cash sale of `n` oat packets at 24.90 (6 %), paid with 50-kronor notes.
pub fn sale(till: &str, seq: i64, n: i64) -> SaleRecord {
    let amount = dec!(24.90) * Decimal::from(n);
    let vat = (amount * dec!(6) / dec!(106)).round_dp(2);
    let paid = amount.round();
    SaleRecord {
        sale_id: Uuid::new_v4(),
        till: till.into(),
        seq,
        kind: SaleKind::Sale,
        business_day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        completed_at: DateTime::from_timestamp(1_796_000_000 + seq, 0).unwrap(),
        cashier: Uuid::new_v4().to_string(),
        member: None,
        original_sale: None,
        currency: "SEK".into(),
        lines: vec![RecordLine {
            product_id: Uuid::from_u128(1),
            pack_id: None,
            sku: "HAV".into(),
            name: "Havregryn".into(),
            unit: SaleUnit::Each,
            quantity: Decimal::from(n),
            unit_price: dec!(24.90),
            member_price_applied: false,
            vat_percent: dec!(6),
            amount,
        }],
        by_rate: vec![RecordRate {
            vat_percent: dec!(6),
            net: amount - vat,
            vat,
            gross: amount,
        }],
        total: amount,
        rounding: paid - amount,
        tenders: vec![RecordTender {
            tender: "cash".into(),
            kind: "cash".into(),
            amount: paid,
            reference: None,
        }],
        change: dec!(0),
        approved_by: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// `count` sales of one till, sealed into a chain from the start.
pub fn chain(till: &str, count: i64) -> Vec<SaleRecord> {
    let mut prev = GENESIS.to_owned();
    (1..=count)
        .map(|seq| {
            let mut r = sale(till, seq, seq % 4 + 1);
            r.seal(&prev);
            prev.clone_from(&r.hash);
            r
        })
        .collect()
}

async fn up(pool: &PgPool, till: &str, records: &[SaleRecord]) -> ingest::Outcome {
    ingest::ingest(pool, till, records, Pending::default(), "SEK", None, None)
        .await
        .unwrap()
}

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn a_chain_is_stored_once_and_published_whatever_the_retries() {
    let pool = database().await;
    let records = chain("kassa-1", 10);
    let out = up(&pool, "kassa-1", &records[..6]).await;
    assert_eq!((out.accepted, out.duplicates, out.last_seq), (6, 0, 6));
    // The till did not hear the answer and sends all again, with the rest.
    let out = up(&pool, "kassa-1", &records).await;
    assert_eq!((out.accepted, out.duplicates, out.last_seq), (4, 6, 10));
    assert!(out.refused.is_none());
    assert_eq!(count(&pool, "select count(*) from sale").await, 10);
    assert_eq!(count(&pool, "select count(*) from sale_line").await, 10);
    assert_eq!(
        count(
            &pool,
            "select count(*) from feed_event where kind = 'sale.completed'"
        )
        .await,
        10
    );
    // The event carries what coop-finance books and coop-ims takes off the stock.
    let payload: serde_json::Value = sqlx::query_scalar(
        "select payload from feed_event where kind = 'sale.completed' order by feed_event_id limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(payload["receipt_number"], 1);
    assert_eq!(payload["till"], "kassa-1");
    assert_eq!(payload["lines_by_rate"][0]["vat_percent"], "6");
    assert_eq!(payload["tenders"][0]["kind"], "cash");
    assert_eq!(
        payload["items"][0]["product_id"],
        Uuid::from_u128(1).to_string()
    );
    assert_eq!(payload["items"][0]["quantity"], "2");
    // The stored record still verifies.
    let stored: serde_json::Value = sqlx::query_scalar("select record from sale where seq = 3")
        .fetch_one(&pool)
        .await
        .unwrap();
    let r: SaleRecord = serde_json::from_value(stored).unwrap();
    assert_eq!(r.compute_hash(), r.hash);
}

#[tokio::test]
async fn the_same_sale_uploaded_twice_at_once_is_stored_once() {
    let pool = database().await;
    let records = chain("kassa-1", 20);
    let (a, b) = tokio::join!(
        up(&pool, "kassa-1", &records),
        up(&pool, "kassa-1", &records)
    );
    assert_eq!(a.accepted + b.accepted, 20, "{a:?} {b:?}");
    assert_eq!(a.duplicates + b.duplicates, 20);
    assert!(a.refused.is_none() && b.refused.is_none());
    assert_eq!(count(&pool, "select count(*) from sale").await, 20);
    assert_eq!(
        count(
            &pool,
            "select count(*) from feed_event where kind = 'sale.completed'"
        )
        .await,
        20
    );
}

#[tokio::test]
async fn a_changed_record_or_a_gap_is_flagged_and_nothing_after_it_taken() {
    let pool = database().await;
    let records = chain("kassa-1", 5);

    // Someone lowered a total on the SD card after the till sealed it. The records before it
    // in the same upload are taken (one transaction for the upload, committed up to the
    // refusal), nothing from it on.
    let mut changed = records[2].clone();
    changed.lines[0].amount -= dec!(10);
    let out = up(
        &pool,
        "kassa-1",
        &[records[0].clone(), records[1].clone(), changed.clone()],
    )
    .await;
    assert_eq!((out.accepted, out.last_seq), (2, 2));
    assert_eq!(out.refused.map(|r| r.seq), Some(3));
    assert_eq!(count(&pool, "select count(*) from sale").await, 2);
    let out = up(&pool, "kassa-1", &[changed, records[3].clone()]).await;
    assert_eq!(out.accepted, 0);
    let refused = out.refused.unwrap();
    assert_eq!(refused.seq, 3);
    assert!(
        refused.problem.contains("changed after it was written"),
        "{}",
        refused.problem
    );
    assert_eq!(out.last_seq, 2);

    // A gap: record 4 without 3.
    let out = up(&pool, "kassa-1", &records[3..]).await;
    assert!(out.refused.unwrap().problem.contains("missing"));
    let flag: (Option<i64>, Option<String>) =
        sqlx::query_as("select flagged_seq, flagged_problem from till where till_id = 'kassa-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(flag.0, Some(3), "the first problem is kept: {flag:?}");
    assert_eq!(count(&pool, "select count(*) from sale").await, 2);

    // The till sends the true record 3 and the rest: all taken.
    let out = up(&pool, "kassa-1", &records[2..]).await;
    assert_eq!((out.accepted, out.last_seq), (3, 5));
    assert!(out.refused.is_none());

    // Another sale under a number already taken is a conflict.
    let mut again = sale("kassa-1", 5, 1);
    again.seal(&records[3].hash);
    let out = up(&pool, "kassa-1", &[again]).await;
    assert!(out.refused.unwrap().problem.contains("received already"));
    assert_eq!(count(&pool, "select count(*) from sale").await, 5);
}

#[tokio::test]
async fn records_whose_sums_disagree_or_that_are_not_this_tills_are_refused() {
    let pool = database().await;
    let base = || {
        let mut r = sale("kassa-1", 1, 2);
        r.seal(GENESIS);
        r
    };
    let resealed = |f: &dyn Fn(&mut SaleRecord)| {
        let mut r = sale("kassa-1", 1, 2);
        f(&mut r);
        r.seal(GENESIS);
        r
    };
    let cases: Vec<(SaleRecord, &str)> = vec![
        (
            resealed(&|r| r.tenders[0].amount = dec!(40)),
            "the tenders add up",
        ),
        (resealed(&|r| r.total = dec!(10)), "the total is"),
        (resealed(&|r| r.by_rate[0].vat = dec!(1)), "net and VAT"),
        (
            resealed(&|r| r.lines[0].amount = dec!(49.801)),
            "two decimals",
        ),
        (
            resealed(&|r| r.currency = "EUR".into()),
            "the co-op keeps SEK",
        ),
        (resealed(&|r| r.till = "kassa-2".into()), "not this till's"),
        (resealed(&|r| r.lines.clear()), "1 to"),
        (
            resealed(&|r| r.tenders[0].kind = "bitcoin".into()),
            "cash, card, wallet or restricted",
        ),
        (
            resealed(&|r| r.original_sale = Some(Uuid::new_v4())),
            "only a return",
        ),
        (
            resealed(&|r| r.member = Some("m-kim".into())),
            "not a member's id",
        ),
    ];
    for (r, expected) in cases {
        let out = up(&pool, "kassa-1", &[r]).await;
        let refused = out.refused.expect(expected);
        assert!(
            refused.problem.contains(expected),
            "{expected:?}: {}",
            refused.problem
        );
    }
    assert_eq!(count(&pool, "select count(*) from sale").await, 0);
    assert_eq!(up(&pool, "kassa-1", &[base()]).await.accepted, 1);
}

#[tokio::test]
async fn a_vat_rate_the_coop_does_not_have_on_the_sales_day_is_refused() {
    let pool = database().await;
    let vat: coop_domain::vat::VatTable = serde_json::from_value(serde_json::json!({
        "food": { "rates": [
            { "from": "2024-01-01", "percent": "12" },
            { "from": "2026-04-01", "percent": "6" }
        ] },
        "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] }
    }))
    .unwrap();
    let with_rate = |rate: Decimal| {
        let mut r = sale("kassa-1", 1, 2);
        r.lines[0].vat_percent = rate;
        r.by_rate[0].vat_percent = rate;
        r.by_rate[0].vat = (r.total * rate / (dec!(100) + rate)).round_dp(2);
        r.by_rate[0].net = r.total - r.by_rate[0].vat;
        r.seal(GENESIS);
        r
    };
    // 12 % was food's rate before April 2026: not on this sale's day (30 November 2026).
    for (rate, shown) in [
        (dec!(12), "12 %"),
        (dec!(7), "7 %"),
        (dec!(1e10), "10000000000 %"),
    ] {
        let out = ingest::ingest(
            &pool,
            "kassa-1",
            &[with_rate(rate)],
            Pending::default(),
            "SEK",
            Some(&vat),
            None,
        )
        .await
        .unwrap();
        let refused = out.refused.expect("refused");
        assert!(
            refused.problem.contains(&format!(
                "{shown} is not one of the co-op's VAT rates on 2026-11-30"
            )),
            "{}",
            refused.problem
        );
    }
    assert_eq!(count(&pool, "select count(*) from sale").await, 0);
    let out = ingest::ingest(
        &pool,
        "kassa-1",
        &[with_rate(dec!(6))],
        Pending::default(),
        "SEK",
        Some(&vat),
        None,
    )
    .await
    .unwrap();
    assert_eq!(out.accepted, 1, "{out:?}");
}

#[tokio::test]
async fn a_training_sale_is_kept_but_neither_booked_nor_taken_off_the_stock() {
    let pool = database().await;
    let mut r = sale("kassa-1", 1, 1);
    r.kind = SaleKind::Training;
    r.seal(GENESIS);
    assert_eq!(up(&pool, "kassa-1", &[r]).await.accepted, 1);
    assert_eq!(count(&pool, "select count(*) from sale").await, 1);
    assert_eq!(count(&pool, "select count(*) from feed_event").await, 0);
}

/// A return of `n` packets from `original`, as the till writes it: negative, paid back in cash.
fn return_of(original: &SaleRecord, seq: i64, n: i64) -> SaleRecord {
    let mut r = sale(&original.till, seq, n);
    r.kind = SaleKind::Return;
    r.original_sale = Some(original.sale_id);
    for l in &mut r.lines {
        l.quantity = -l.quantity;
        l.amount = -l.amount;
    }
    for x in &mut r.by_rate {
        (x.net, x.vat, x.gross) = (-x.net, -x.vat, -x.gross);
    }
    r.total = -r.total;
    r.rounding = -r.rounding;
    for t in &mut r.tenders {
        t.amount = -t.amount;
    }
    r
}

#[tokio::test]
async fn returns_never_pay_back_more_than_their_sale_and_name_only_a_sale() {
    let pool = database().await;
    let mut original = sale("kassa-1", 1, 3);
    original.seal(GENESIS);
    let mut first = return_of(&original, 2, 2);
    first.seal(&original.hash);
    // Two of three back, then two more: the second would pay back 99.60 of a 74.70 sale.
    let mut second = return_of(&original, 3, 2);
    second.seal(&first.hash);
    let out = up(&pool, "kassa-1", &[original.clone(), first.clone(), second]).await;
    assert_eq!(out.accepted, 2);
    let refused = out.refused.expect("the second return is refused");
    assert!(refused.problem.contains("more than"), "{}", refused.problem);
    // The last one instead: accepted, and published negative for the books and the stock.
    let mut last = return_of(&original, 3, 1);
    last.seal(&first.hash);
    assert_eq!(up(&pool, "kassa-1", &[last.clone()]).await.accepted, 1);
    assert_eq!(
        count(
            &pool,
            "select count(*) from feed_event
             where (payload->'items'->0->>'quantity')::numeric < 0
               and (payload->'tenders'->0->>'amount')::numeric < 0"
        )
        .await,
        2
    );
    // A return of a return is refused.
    let mut odd = return_of(&last, 4, 1);
    odd.seal(&last.hash);
    let out = up(&pool, "kassa-1", &[odd]).await;
    assert!(out
        .refused
        .is_some_and(|r| r.problem.contains("only a sale")));
    assert_eq!(count(&pool, "select count(*) from sale").await, 3);
}

#[test]
fn an_open_price_item_is_booked_but_is_no_stock() {
    let mut r = sale("kassa-1", 1, 2);
    let mut open = r.lines[0].clone();
    open.product_id = Uuid::nil();
    open.sku = "7319999999992".into();
    r.lines.push(open);
    let p = ingest::event_payload(&r, None);
    let items = p["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["product_id"],
        serde_json::json!(Uuid::from_u128(1))
    );
}
