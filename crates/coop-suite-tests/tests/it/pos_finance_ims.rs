//! coop-pos's real sales feed, consumed by the real coop-finance and coop-ims: central takes a
//! till's journal with its own ingest, and the sales it publishes are booked once (revenue and
//! VAT per rate, each tender to its account, the cash rounding) and taken off the stock once
//! (a pack line by its units).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate};
use coop_finance::ledger::{chart, store};
use coop_finance::postings::PosFeed;
use coop_pos_till::journal::{RecordLine, RecordRate, RecordTender, SaleKind, SaleRecord, GENESIS};
use coop_pos_till::pricing::SaleUnit;
use coop_web::feed;
use coop_web::feed::consumer::{Consumer, Credentials};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
struct Whole;

impl feed::View for Whole {
    fn show(&self, _kind: &str, payload: &Value) -> Option<Value> {
        Some(payload.clone())
    }
}

#[derive(Debug, Clone)]
struct Anyone;

impl feed::Access for Anyone {
    type View = Whole;

    async fn authorise(&self, headers: &HeaderMap) -> Result<Whole, Response> {
        match feed::bearer(headers) {
            Some("reader") => Ok(Whole),
            _ => Err(feed::refusal(StatusCode::FORBIDDEN, "forbidden", "Bearer")),
        }
    }
}

fn line(
    product: Uuid,
    pack: Option<Uuid>,
    sku: &str,
    q: Decimal,
    price: Decimal,
    vat: Decimal,
) -> RecordLine {
    RecordLine {
        product_id: product,
        pack_id: pack,
        sku: sku.into(),
        name: sku.into(),
        unit: SaleUnit::Each,
        quantity: q,
        unit_price: price,
        member_price_applied: false,
        vat_percent: vat,
        amount: q * price,
    }
}

#[tokio::test]
async fn a_tills_sales_are_booked_and_taken_off_the_stock_once() {
    use coop_ims::stock;
    // coop-ims: oats, and light beer with a six-pack, 60 of each on the shelf.
    let (_ims_db, ims) = coop_testkit::migrated_database(&coop_ims::MIGRATOR).await;
    stock::sync_locations(&ims, &coop_ims::Settings::default().locations)
        .await
        .unwrap();
    let product = |sku: &str, vat: &str| coop_ims::catalogue::ProductForm {
        sku: sku.into(),
        name: sku.into(),
        unit: "each".into(),
        vat_class: vat.into(),
        cost: "10.00".into(),
        shelf_price: "24.90".into(),
        ..Default::default()
    };
    let classes = ["food".to_owned(), "standard".to_owned()];
    let oats = coop_ims::catalogue::create(
        &ims,
        &product("HAV", "food").check(&classes, 2, "sv").unwrap(),
    )
    .await
    .unwrap();
    let beer = coop_ims::catalogue::create(
        &ims,
        &product("OL", "standard").check(&classes, 2, "sv").unwrap(),
    )
    .await
    .unwrap();
    let six = coop_ims::catalogue::add_pack(
        &ims,
        beer,
        "6-pack",
        6,
        dec!(69),
        None,
        &coop_ims::catalogue::Code::parse("7310001000125").unwrap(),
    )
    .await
    .unwrap();
    let shop = stock::locations(&ims)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.code == "shop")
        .unwrap()
        .location_id;
    for p in [oats, beer] {
        stock::record_one(
            &ims,
            &stock::NewMovement {
                product_id: p,
                location_id: shop,
                kind: stock::MovementKind::Received,
                reason: None,
                quantity: dec!(60),
                on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                source_key: None,
                transfer_id: None,
                note: None,
                by: None,
            },
        )
        .await
        .unwrap();
    }

    // The till: a member pays oats (6 %) and a six-pack (25 %) from their wallet and with cash;
    // a walk-in buys two oats for cash.
    let member = Uuid::new_v4();
    let mut first = SaleRecord {
        sale_id: Uuid::new_v4(),
        till: "kassa-1".into(),
        seq: 1,
        kind: SaleKind::Sale,
        business_day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        completed_at: DateTime::from_timestamp(1_796_000_000, 0).unwrap(),
        cashier: Uuid::new_v4().to_string(),
        member: Some(member.to_string()),
        original_sale: None,
        currency: "SEK".into(),
        lines: vec![
            line(oats, None, "HAV", dec!(1), dec!(24.90), dec!(6)),
            line(beer, Some(six), "OL", dec!(1), dec!(69.00), dec!(25)),
        ],
        by_rate: vec![
            RecordRate {
                vat_percent: dec!(6),
                net: dec!(23.49),
                vat: dec!(1.41),
                gross: dec!(24.90),
            },
            RecordRate {
                vat_percent: dec!(25),
                net: dec!(55.20),
                vat: dec!(13.80),
                gross: dec!(69.00),
            },
        ],
        total: dec!(93.90),
        rounding: dec!(0.10),
        tenders: vec![
            RecordTender {
                tender: "wallet".into(),
                kind: "wallet".into(),
                amount: dec!(50),
                reference: None,
            },
            RecordTender {
                tender: "cash".into(),
                kind: "cash".into(),
                amount: dec!(44),
                reference: None,
            },
        ],
        change: dec!(6),
        approved_by: None,
        prev_hash: String::new(),
        hash: String::new(),
    };
    first.seal(GENESIS);
    let mut second = SaleRecord {
        sale_id: Uuid::new_v4(),
        seq: 2,
        member: None,
        lines: vec![line(oats, None, "HAV", dec!(2), dec!(24.90), dec!(6))],
        by_rate: vec![RecordRate {
            vat_percent: dec!(6),
            net: dec!(46.98),
            vat: dec!(2.82),
            gross: dec!(49.80),
        }],
        total: dec!(49.80),
        rounding: dec!(0.20),
        tenders: vec![RecordTender {
            tender: "cash".into(),
            kind: "cash".into(),
            amount: dec!(50),
            reference: None,
        }],
        change: dec!(0),
        ..first.clone()
    };
    second.seal(&first.hash);

    let (_pos_db, pos) = coop_testkit::migrated_database(&coop_pos::MIGRATOR).await;
    let records = [first, second];
    for _ in 0..2 {
        let out = coop_pos::ingest::ingest(
            &pos,
            "kassa-1",
            &records,
            coop_pos::ingest::Pending::default(),
            "SEK",
            None,
            None,
        )
        .await
        .unwrap();
        assert!(out.refused.is_none(), "{out:?}");
    }
    let served = coop_testkit::http::serve(feed::routes(pos.clone(), Anyone)).await;
    let url = served.url("/api/feed");

    // coop-finance books each sale once.
    let (_books_db, books) = coop_testkit::migrated_database(&coop_finance::MIGRATOR).await;
    store::seed_chart(&books, &chart::bas_default())
        .await
        .unwrap();
    store::open_fiscal_year(&books, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .await
        .unwrap();
    let books_consumer = Consumer::new(
        "coop-pos",
        url.parse().unwrap(),
        Credentials::Bearer("reader".into()),
        books.clone(),
        PosFeed::default(),
    );
    books_consumer.round(0).await.unwrap();
    books_consumer.round(0).await.unwrap();
    let sums: Vec<(i32, Decimal)> = sqlx::query_as(
        "select l.account_number, sum(l.amount) from journal_line l
         join journal_entry e using (journal_entry_id)
         where e.source_key like 'coop-pos:%' group by l.account_number order by 1",
    )
    .fetch_all(&books)
    .await
    .unwrap();
    let entries: i64 =
        sqlx::query_scalar("select count(*) from journal_entry where source_key like 'coop-pos:%'")
            .fetch_one(&books)
            .await
            .unwrap();
    assert_eq!(entries, 2);
    let balance: Decimal = sums.iter().map(|(_, a)| *a).sum();
    assert_eq!(balance, Decimal::ZERO, "{sums:?}");
    let of = |acc: i32| sums.iter().find(|(a, _)| *a == acc).map(|(_, s)| *s);
    // Cash 44 + 50 into the till, 50 from the member's wallet, output VAT per rate.
    assert_eq!(of(1910), Some(dec!(94)), "{sums:?}");
    assert_eq!(of(2420), Some(dec!(50)), "the wallet: {sums:?}");
    assert_eq!(of(3740), Some(dec!(-0.30)), "cash rounding: {sums:?}");
    let vat: Decimal = sums
        .iter()
        .filter(|(a, _)| (2600..2700).contains(a))
        .map(|(_, s)| *s)
        .sum();
    assert_eq!(
        vat,
        dec!(-18.03),
        "output VAT, 1.41 + 2.82 at 6 % and 13.80 at 25 %: {sums:?}"
    );

    // coop-ims takes them off the shelf once: 3 oats, one six-pack = 6 beers.
    let stock_consumer = Consumer::new(
        "coop-pos",
        url.parse().unwrap(),
        Credentials::Bearer("reader".into()),
        ims.clone(),
        stock::SalesFeed {
            default_location: "shop".into(),
        },
    );
    stock_consumer.round(0).await.unwrap();
    stock_consumer.round(0).await.unwrap();
    let on_hand = |p| {
        let ims = ims.clone();
        async move {
            stock::levels(&ims, p)
                .await
                .unwrap()
                .into_iter()
                .find(|l| l.code == "shop")
                .unwrap()
                .on_hand
        }
    };
    assert_eq!(on_hand(oats).await.normalize(), dec!(57));
    assert_eq!(on_hand(beer).await.normalize(), dec!(54));
}
