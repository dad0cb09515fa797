//! A checkout of every line kind through the till's store: GTIN, pack barcode, PLU with a
//! typed weight, variable-measure codes carrying a weight or a price, an SKU typed in; codes
//! that are unknown, mistyped or off sale; quantity changes, voids, a member with member
//! prices, parking; tenders short or split; the member-only rule and the offline wallet limit.
//! What is refused writes nothing; what is completed is in the journal, chained.

use chrono::{DateTime, NaiveDate, Utc};
use coop_pos_till::checkout::{self, CheckoutError, Completion, TillSettings};
use coop_pos_till::journal::{Chain, SaleKind};
use coop_pos_till::store::Store;
use coop_pos_till::tender::{Given, TenderKind, TenderType};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use uuid::Uuid;

pub fn settings() -> TillSettings {
    serde_json::from_value(json!({
        "org_name": "Testköpinge Matkooperativ",
        "org_number": "769600-0000",
        "currency": "SEK",
        "vat": {
            "food": { "rates": [ { "from": "2025-01-01", "percent": "12" }, { "from": "2026-04-01", "percent": "6" } ] },
            "standard": { "rates": [ { "from": "1990-07-01", "percent": "25" } ] }
        },
        "prices_include_vat": true,
        "member_only": false,
        "tenders": [
            { "id": "cash", "kind": "cash" },
            { "id": "card", "kind": "card" },
            { "id": "wallet", "kind": "wallet" },
            { "id": "frukt", "kind": "restricted", "eligible": "fresh" }
        ],
        "cash_coin": "1",
        "variable_measure": [
            { "prefix": ["20"], "item_start": 3, "item_len": 5, "value_start": 8, "value_len": 5, "value_kind": "price_minor_units", "price_check_digit": null, "value_multiplier": 1 },
            { "prefix": ["23"], "item_start": 3, "item_len": 5, "value_start": 8, "value_len": 5, "value_kind": "weight_grams", "price_check_digit": null, "value_multiplier": 1 }
        ],
        "offline_wallet_limit": "200",
        "time_zone": "Europe/Stockholm",
        "return_pin_above": "100"
    }))
    .expect("settings as central sends them")
}

/// The EAN-13 of 12 digits: its mod-10 check digit appended.
pub fn ean13(twelve: &str) -> String {
    let sum: u32 = twelve
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{twelve}{}", (10 - sum % 10) % 10)
}

fn gtin14(ean: &str) -> String {
    format!("0{ean}")
}

pub const OATS: u128 = 1;
pub const CHEESE: u128 = 2;
pub const BEER: u128 = 3;
pub const SIX: u128 = 33;
pub const APPLES: u128 = 4;
pub const OLD: u128 = 5;

/// The catalogue as coop-ims's feed carries it.
pub fn catalogue() -> Vec<(i64, serde_json::Value)> {
    let id = |n: u128| Uuid::from_u128(n).to_string();
    vec![
        (
            1,
            json!({
                "product_id": id(OATS), "sku": "HAV-1KG", "name": "Havregryn 1 kg", "names": { "en": "Rolled oats 1 kg" },
                "unit": "each", "vat_class": "food", "shelf_price": "24.90", "member_price": "22.90", "active": true,
                "gtins": [gtin14(&ean13("731000100001"))], "plus": [], "packs": [],
                "price_changes": [ { "effective_on": "2026-12-14", "shelf_price": "26.90", "member_price": "24.90" } ]
            }),
        ),
        (
            2,
            json!({
                "product_id": id(CHEESE), "sku": "OST-GRE", "name": "Grevé", "unit": "kg", "vat_class": "food",
                "shelf_price": "139.00", "member_price": null, "active": true, "gtins": [], "plus": ["123"], "packs": [], "price_changes": []
            }),
        ),
        (
            3,
            json!({
                "product_id": id(BEER), "sku": "OL-33", "name": "Lättöl 33 cl", "unit": "each", "vat_class": "standard",
                "shelf_price": "12.90", "member_price": null, "active": true, "gtins": [gtin14(&ean13("731000100010"))], "plus": [],
                "packs": [ { "pack_id": id(SIX), "name": "Lättöl 6-pack", "units": 6, "shelf_price": "69.00", "member_price": "64.90",
                             "active": true, "gtins": [gtin14(&ean13("731000100012"))] } ],
                "price_changes": []
            }),
        ),
        (
            4,
            json!({
                "product_id": id(APPLES), "sku": "APP-ING", "name": "Äpplen Ingrid Marie", "unit": "kg", "vat_class": "food",
                "shelf_price": "34.90", "member_price": null, "active": true, "gtins": [], "plus": ["4011"], "packs": [],
                "price_changes": [], "eligible": ["fresh"]
            }),
        ),
        (
            5,
            json!({
                "product_id": id(OLD), "sku": "GAMMAL", "name": "Utgången", "unit": "each", "vat_class": "food",
                "shelf_price": "10.00", "member_price": null, "active": false, "gtins": [gtin14(&ean13("731000100099"))], "plus": [], "packs": [],
                "price_changes": []
            }),
        ),
    ]
}

pub async fn till() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("till.sqlite"), 2)
        .await
        .unwrap();
    store
        .apply_products("coop-ims", &catalogue())
        .await
        .unwrap();
    store
        .apply_members(
            "coop-sso",
            &[
                (1, json!({ "sub": "m-alva", "member_number": "1042", "name": "Alva Berg", "status": "active", "member_prices": true })),
                (2, json!({ "sub": "m-bo", "member_number": "1043", "name": "Bo Ek", "status": "suspended", "member_prices": true })),
            ],
        )
        .await
        .unwrap();
    (dir, store)
}

pub fn at(day: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
}

fn cash(amount: Decimal) -> Vec<Given> {
    vec![Given {
        tender: "cash".into(),
        amount,
    }]
}

async fn journal_len(store: &Store) -> i64 {
    store.last_link().await.unwrap().0
}

#[tokio::test]
async fn every_line_kind_scans_prices_and_completes() {
    let (_dir, store) = till().await;
    let s = settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    let scan = |code: &'static str, q: Option<Decimal>| {
        let (store, s) = (store.clone(), s.clone());
        async move { checkout::scan(&store, &s, basket, code, q).await }
    };
    // A GTIN, as an EAN-13 the scanner reads.
    let oats = ean13("731000100001");
    let oats: &'static str = Box::leak(oats.into_boxed_str());
    scan(oats, None).await.unwrap();
    // A pack's own barcode.
    let six: &'static str = Box::leak(ean13("731000100012").into_boxed_str());
    scan(six, None).await.unwrap();
    // A PLU with a typed weight, and without one.
    assert!(matches!(
        scan("4011", None).await,
        Err(CheckoutError::NeedsWeight(_))
    ));
    scan("4011", Some(dec!(1.250))).await.unwrap();
    // The scale's label: weight 347 g of PLU 123.
    let weighed: &'static str = Box::leak(ean13("230012300347").into_boxed_str());
    scan(weighed, None).await.unwrap();
    // A price-embedded label: 48.50 kr of PLU 123.
    let priced: &'static str = Box::leak(ean13("200012304850").into_boxed_str());
    scan(priced, None).await.unwrap();
    // An SKU typed in.
    scan("OL-33", Some(dec!(2))).await.unwrap();

    let p = checkout::price_basket(&store, &s, basket, s.business_day(at(30)))
        .await
        .unwrap();
    let amounts: Vec<Decimal> = p
        .priced
        .as_ref()
        .unwrap()
        .lines
        .iter()
        .map(|l| l.amount.amount())
        .collect();
    // 24.90; 69.00; 1.25 × 34.90 = 43.625 -> 43.63; 0.347 × 139 = 48.233 -> 48.23; 48.50; 2 × 12.90.
    assert_eq!(
        amounts,
        [
            dec!(24.90),
            dec!(69.00),
            dec!(43.63),
            dec!(48.23),
            dec!(48.50),
            dec!(25.80)
        ]
    );
    let total = p.priced.as_ref().unwrap().total.amount();
    assert_eq!(total, dec!(260.06));

    // Quantity change and a void.
    store.set_quantity(basket, 1, dec!(2)).await.unwrap();
    store.void_line(basket, 6).await.unwrap();
    let p = checkout::price_basket(&store, &s, basket, s.business_day(at(30)))
        .await
        .unwrap();
    assert_eq!(p.priced.as_ref().unwrap().total.amount(), dec!(259.16));

    // Short cash writes nothing; enough completes and gives change.
    let short = checkout::complete(
        &store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &cash(dec!(200)),
            now: at(30),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await;
    assert!(matches!(short, Err(CheckoutError::Tender(_))), "{short:?}");
    assert_eq!(journal_len(&store).await, 0);
    let sale = checkout::complete(
        &store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &cash(dec!(300)),
            now: at(30),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(sale.seq, 1);
    assert_eq!(
        (sale.total, sale.rounding, sale.change),
        (dec!(259.16), dec!(-0.16), dec!(41))
    );
    assert_eq!(sale.lines.len(), 5);
    assert_eq!(sale.lines[1].pack_id, Some(Uuid::from_u128(SIX)));
    assert_eq!(sale.lines[1].name, "Lättöl 6-pack");
    assert_eq!(sale.by_rate.len(), 2);
    assert!(
        store.basket(basket).await.unwrap().is_none(),
        "the basket is gone once sold"
    );
    assert_eq!(store.recent(5).await.unwrap()[0], sale);
}

#[tokio::test]
async fn bad_codes_are_refused_with_a_reason_and_add_nothing() {
    let (_dir, store) = till().await;
    let s = settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    let try_scan = |code: String, q: Option<Decimal>| {
        let (store, s) = (store.clone(), s.clone());
        async move { checkout::scan(&store, &s, basket, &code, q).await }
    };
    let wrong_check = format!("{}0", &ean13("731000100001")[..12]);
    let wrong_check = if wrong_check == ean13("731000100001") {
        format!("{}1", &wrong_check[..12])
    } else {
        wrong_check
    };
    let cases = [
        (ean13("731999999999"), None, "no product has the code"),
        (wrong_check, None, "check digit"),
        (ean13("731000100099"), None, "not on sale"),
        ("NOSUCHSKU".into(), None, "no product has the code"),
        ("4011".into(), Some(dec!(0)), "above zero"),
        ("4011".into(), Some(dec!(-1)), "above zero"),
        ("4011".into(), Some(dec!(0.0005)), "three decimals"),
        (ean13("731000100001"), Some(dec!(1.5)), "whole number"),
        ("12".into(), None, "digits"),
    ];
    for (code, q, expected) in cases {
        let e = try_scan(code.clone(), q).await.unwrap_err().to_string();
        assert!(e.contains(expected), "{code} {q:?}: {e}");
    }
    assert!(store
        .basket(basket)
        .await
        .unwrap()
        .unwrap()
        .lines
        .is_empty());
}

#[tokio::test]
async fn a_member_gets_member_prices_and_the_rules_of_the_coop_hold() {
    let (_dir, store) = till().await;
    let mut s = settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    checkout::scan(&store, &s, basket, &ean13("731000100001"), None)
        .await
        .unwrap();
    // Members only: a walk-in or a suspended member cannot complete.
    s.member_only = true;
    let done = |given: Vec<Given>, s: TillSettings| {
        let store = store.clone();
        async move {
            checkout::complete(
                &store,
                &s,
                &Completion {
                    till: "kassa-1",
                    basket,
                    cashier: "c-kim",
                    given: &given,
                    now: at(30),
                    training: false,
                    card: None,
                    wallet: None,
                },
            )
            .await
        }
    };
    assert!(matches!(
        done(cash(dec!(30)), s.clone()).await,
        Err(CheckoutError::MemberOnly)
    ));
    let bo = store.member_by_number("1043").await.unwrap().unwrap();
    store.set_member(basket, Some(&bo.sub)).await.unwrap();
    assert!(matches!(
        done(cash(dec!(30)), s.clone()).await,
        Err(CheckoutError::MemberOnly)
    ));
    let p = checkout::price_basket(&store, &s, basket, s.business_day(at(30)))
        .await
        .unwrap();
    assert_eq!(
        p.priced.unwrap().total.amount(),
        dec!(24.90),
        "no member prices for a suspended member"
    );
    let alva = store.member_by_number("1042").await.unwrap().unwrap();
    store.set_member(basket, Some(&alva.sub)).await.unwrap();
    let p = checkout::price_basket(&store, &s, basket, s.business_day(at(30)))
        .await
        .unwrap();
    assert_eq!(p.priced.unwrap().total.amount(), dec!(22.90));
    // The price change of 14 December applies on its day.
    let p = checkout::price_basket(
        &store,
        &s,
        basket,
        NaiveDate::from_ymd_opt(2026, 12, 14).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(p.priced.unwrap().total.amount(), dec!(24.90));

    // The wallet offline: up to 200 kr per member.
    let wallet = |a: Decimal| {
        vec![Given {
            tender: "wallet".into(),
            amount: a,
        }]
    };
    let sale = done(wallet(dec!(22.90)), s.clone()).await.unwrap();
    assert_eq!(sale.member.as_deref(), Some("m-alva"));
    assert_eq!(sale.tenders[0].kind, "wallet");
    assert_eq!(
        store.member("m-alva").await.unwrap().unwrap().offline_spent,
        dec!(22.90)
    );
    let basket2 = store.open_basket("c-kim").await.unwrap();
    store.set_member(basket2, Some("m-alva")).await.unwrap();
    checkout::scan(&store, &s, basket2, &ean13("731000100012"), Some(dec!(3)))
        .await
        .unwrap();
    let over = checkout::complete(
        &store,
        &s,
        &Completion {
            till: "kassa-1",
            basket: basket2,
            cashier: "c-kim",
            given: &wallet(dec!(194.70)),
            now: at(30),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await;
    assert!(
        matches!(over, Err(CheckoutError::OfflineWalletLimit(left)) if left == dec!(177.10)),
        "{over:?}"
    );
    assert_eq!(
        journal_len(&store).await,
        1,
        "the refused sale wrote nothing"
    );
}

#[tokio::test]
async fn a_restricted_tender_pays_the_fresh_produce_only() {
    let (_dir, store) = till().await;
    let s = settings();
    let basket = store.open_basket("c-kim").await.unwrap();
    checkout::scan(&store, &s, basket, "4011", Some(dec!(1)))
        .await
        .unwrap();
    checkout::scan(&store, &s, basket, &ean13("731000100010"), None)
        .await
        .unwrap();
    let given = vec![
        Given {
            tender: "frukt".into(),
            amount: dec!(40),
        },
        Given {
            tender: "cash".into(),
            amount: dec!(10),
        },
    ];
    let e = checkout::complete(
        &store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &given,
            now: at(30),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("at most 34.90"), "{e}");
    let given = vec![
        Given {
            tender: "frukt".into(),
            amount: dec!(34.90),
        },
        Given {
            tender: "cash".into(),
            amount: dec!(20),
        },
    ];
    let sale = checkout::complete(
        &store,
        &s,
        &Completion {
            till: "kassa-1",
            basket,
            cashier: "c-kim",
            given: &given,
            now: at(30),
            training: false,
            card: None,
            wallet: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(sale.tenders[0].kind, "restricted");
    assert_eq!(sale.tenders[1].amount, dec!(13));
}

#[tokio::test]
async fn parked_baskets_and_a_reboot_lose_nothing_and_the_journal_chains() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite");
    let s = settings();
    {
        let store = Store::open(&path, 2).await.unwrap();
        store
            .apply_products("coop-ims", &catalogue())
            .await
            .unwrap();
        let first = store.open_basket("c-kim").await.unwrap();
        checkout::scan(&store, &s, first, &ean13("731000100001"), None)
            .await
            .unwrap();
        store.park(first).await.unwrap();
        let second = store.open_basket("c-kim").await.unwrap();
        assert_ne!(first, second);
        checkout::scan(&store, &s, second, &ean13("731000100010"), Some(dec!(3)))
            .await
            .unwrap();
        for _ in 0..3 {
            let b = store.open_basket("c-kim").await.unwrap();
            if store.basket(b).await.unwrap().unwrap().lines.is_empty() {
                checkout::scan(&store, &s, b, "OL-33", None).await.unwrap();
            }
            checkout::complete(
                &store,
                &s,
                &Completion {
                    till: "kassa-1",
                    basket: b,
                    cashier: "c-kim",
                    given: &cash(dec!(100)),
                    now: at(30),
                    training: false,
                    card: None,
                    wallet: None,
                },
            )
            .await
            .unwrap();
        }
        let third = store.open_basket("c-kim").await.unwrap();
        checkout::scan(&store, &s, third, "OL-33", Some(dec!(5)))
            .await
            .unwrap();
        // The power goes here.
    }
    let store = Store::open(&path, 2).await.unwrap();
    let open = store.open_basket("c-kim").await.unwrap();
    let b = store.basket(open).await.unwrap().unwrap();
    assert_eq!(b.lines.len(), 1);
    assert_eq!(b.lines[0].quantity, dec!(5));
    let parked = store.parked().await.unwrap();
    assert_eq!(parked.len(), 1);
    store.resume(parked[0].0, "c-kim").await.unwrap();
    assert_eq!(
        store.parked().await.unwrap().len(),
        1,
        "the open one was parked in its place"
    );
    // Three sales, chained from the start, none uploaded.
    let pending = store.pending(10).await.unwrap();
    assert_eq!(pending.len(), 3);
    let mut chain = Chain::default();
    for r in &pending {
        chain.accept(r).unwrap();
        assert_eq!(r.kind, SaleKind::Sale);
    }
    assert_eq!(store.pending_count().await.unwrap().0, 3);
    store.mark_uploaded(2).await.unwrap();
    assert_eq!(store.pending_count().await.unwrap().0, 1);
    // The journal cannot be rewritten, not even from SQL.
    let e = sqlx::query("update journal set record = '{}' where seq = 1")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert!(sqlx::query("delete from journal")
        .execute(store.pool())
        .await
        .is_err());
}

#[test]
fn tender_kinds_read_from_settings() {
    let s = settings();
    assert!(
        matches!(s.tenders[3].kind, TenderKind::Restricted { ref eligible } if eligible == "fresh")
    );
    let _: &TenderType = &s.tenders[0];
}

#[tokio::test]
async fn the_demo_history_is_days_of_chained_sales_on_their_days_made_once() {
    let (_dir, store) = till().await;
    let s = settings();
    let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let made = coop_pos_till::demo::sales(&store, &s, "kassa-1", 3, today)
        .await
        .unwrap();
    assert!(made >= 36, "{made}");
    let mut records = store.recent(1000).await.unwrap();
    assert_eq!(records.len(), made);
    records.reverse();
    let mut chain = Chain::default();
    for r in &records {
        chain.accept(r).unwrap();
        assert!(
            r.total > Decimal::ZERO
                && r.business_day < today
                && r.business_day >= today - chrono::Days::new(3)
        );
        assert_eq!(r.kind, SaleKind::Sale);
    }
    assert!(records.iter().any(|r| r.member.is_some()));
    assert!(records.iter().any(|r| r.tenders[0].kind == "card"));
    // Again: the journal has sales, so none are made.
    assert_eq!(
        coop_pos_till::demo::sales(&store, &s, "kassa-1", 3, today)
            .await
            .unwrap(),
        0
    );
}

/// The till's store has more than one writer at a time: the checkout writing sales, the sync
/// marking them uploaded and applying catalogue pages, another process on the same file (the
/// demo's history, an export). A write transaction that began by reading would fail at once
/// with "database is locked" when another writer committed in between (SQLite's WAL snapshot
/// rule; the busy timeout does not cover it); every write transaction takes the write lock at
/// its start instead, so writers wait their turn and none fails.
#[tokio::test]
async fn writers_on_one_store_take_turns_and_none_fails() {
    let (dir, store) = till().await;
    let other = Store::open(&dir.path().join("till.sqlite"), 2)
        .await
        .unwrap();
    let s = settings();
    let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sync = {
        let (done, store) = (done.clone(), store.clone());
        tokio::spawn(async move {
            let mut rounds = 0u32;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let (last, _) = store.last_link().await.unwrap();
                store.mark_uploaded(last).await.unwrap();
                store
                    .apply_products("coop-ims", &catalogue())
                    .await
                    .unwrap();
                rounds += 1;
            }
            rounds
        })
    };
    let made = coop_pos_till::demo::sales(&other, &s, "kassa-1", 4, today).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let rounds = sync.await.unwrap();
    let made = made.unwrap();
    assert!(made >= 48 && rounds > 0, "{made} sales, {rounds} rounds");
    assert_eq!(journal_len(&store).await, i64::try_from(made).unwrap());
}
