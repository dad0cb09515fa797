//! The catalogue against a real PostgreSQL: every code family finds its product in one call,
//! packs and variable-measure codes resolve to the product and quantity, scheduled prices take
//! effect on their day, and bad input is refused with its reason and writes nothing.

use chrono::NaiveDate;
use coop_domain::code::Gtin;
use coop_ims::catalogue::{self, CatalogueError, Code, LookupError, ProductForm, SaleUnit};
use rust_decimal_macros::dec;
use sqlx::PgPool;
use uuid::Uuid;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn classes() -> Vec<String> {
    vec!["food".into(), "standard".into()]
}

pub async fn database() -> PgPool {
    let (_db, pool) = coop_testkit::migrated_database(&coop_ims::MIGRATOR).await;
    coop_ims::stock::sync_locations(&pool, &coop_ims::Settings::default().locations)
        .await
        .unwrap();
    pool
}

pub fn form(sku: &str, name: &str, unit: &str, price: &str, codes: &str) -> ProductForm {
    ProductForm {
        sku: sku.into(),
        name: name.into(),
        unit: unit.into(),
        vat_class: "food".into(),
        cost: "10.00".into(),
        shelf_price: price.into(),
        case_size: "6".into(),
        active: Some("on".into()),
        codes: codes.into(),
        ..ProductForm::default()
    }
}

pub async fn product(pool: &PgPool, f: &ProductForm) -> Uuid {
    let draft = f.check(&classes(), 2, "sv").unwrap();
    catalogue::create(pool, &draft).await.unwrap()
}

/// Any 12-digit body with its check digit.
pub fn ean13(body: &str) -> String {
    Gtin::with_check_digit(body).unwrap().as_str().to_owned()
}

async fn look(pool: &PgPool, code: &str, on: NaiveDate) -> Result<catalogue::Found, LookupError> {
    let rules = coop_ims::Settings::default().variable_measure;
    catalogue::lookup(pool, code, &rules, "sv", on, 2)
        .await
        .unwrap()
}

/// The product's newest `product.changed` payload: what a till last heard of it.
async fn latest_payload(pool: &PgPool, product: Uuid) -> serde_json::Value {
    sqlx::query_scalar(
        "select payload from feed_event where kind = 'product.changed' and key = $1
         order by feed_event_id desc limit 1",
    )
    .bind(product.to_string())
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_code_family_finds_its_product_in_one_call() {
    let pool = database().await;
    let today = d(2026, 11, 30);
    let oats_code = ean13("731000100001");
    let oats = product(
        &pool,
        &form("HAV-1KG", "Havregryn 1 kg", "each", "24.90", &oats_code),
    )
    .await;
    // A US product by its UPC-A, an EAN-8, and a case's GTIN-14.
    let upc = product(
        &pool,
        &form("PB", "Peanut butter", "each", "49.00", "036000291452"),
    )
    .await;
    let small = product(&pool, &form("GUM", "Tuggummi", "each", "9.90", "96385074")).await;
    let gtin14 = Gtin::with_check_digit("1731000100001")
        .unwrap()
        .as_str()
        .to_owned();
    let case = product(
        &pool,
        &form("CASE", "Kartong havre", "each", "280.00", &gtin14),
    )
    .await;
    let cheese = product(&pool, &form("OST", "Grevé", "kg", "139.00", "2101")).await;
    let bananas = product(&pool, &form("BAN", "Bananer eko", "kg", "32.90", "94011")).await;

    assert_eq!(
        look(&pool, &oats_code, today).await.unwrap().product_id,
        oats
    );
    assert_eq!(
        look(&pool, "036000291452", today).await.unwrap().product_id,
        upc
    );
    // The same UPC-A scanned as its EAN-13 (a European scanner adds the zero).
    assert_eq!(
        look(&pool, "0036000291452", today)
            .await
            .unwrap()
            .product_id,
        upc
    );
    assert_eq!(
        look(&pool, "96385074", today).await.unwrap().product_id,
        small
    );
    assert_eq!(look(&pool, &gtin14, today).await.unwrap().product_id, case);
    assert_eq!(
        look(&pool, "94011", today).await.unwrap().product_id,
        bananas
    );
    // By SKU, and a scanner's trailing newline does no harm.
    assert_eq!(
        look(&pool, "HAV-1KG", today).await.unwrap().product_id,
        oats
    );
    assert_eq!(
        look(&pool, &format!("{oats_code}\n"), today)
            .await
            .unwrap()
            .product_id,
        oats
    );
    // The name comes in the language asked for, else the product's own.
    let found = look(&pool, &oats_code, today).await.unwrap();
    assert_eq!(
        (found.name.as_str(), found.shelf_price),
        ("Havregryn 1 kg", dec!(24.90))
    );

    // A variable-measure code from the scale: prefix 23, PLU 02101, 00456 g of cheese.
    let weighed = ean13("230210100456");
    let f = look(&pool, &weighed, today).await.unwrap();
    assert_eq!((f.product_id, f.quantity), (cheese, Some(dec!(0.456))));
    // Prefix 20 carries the price: 63.38 kr of cheese is 0.456 kg at 139.00.
    let priced = ean13("200210106338");
    let f = look(&pool, &priced, today).await.unwrap();
    assert_eq!(
        (f.product_id, f.price, f.quantity),
        (cheese, Some(dec!(63.38)), Some(dec!(0.456)))
    );
    // A weight code for a product sold by the piece is refused.
    let wrong = ean13("230000000250");
    product(&pool, &form("EGG", "Ägg", "each", "49.90", "000")).await;
    assert_eq!(
        look(&pool, &wrong, today).await,
        Err(LookupError::UnitMismatch)
    );

    // Unknown, a wrong check digit, and a length no code has.
    assert_eq!(
        look(&pool, &ean13("731999999999"), today).await,
        Err(LookupError::Unknown)
    );
    let bad = format!(
        "{}{}",
        &oats_code[..12],
        (oats_code.as_bytes()[12] - b'0' + 1) % 10
    );
    assert!(matches!(
        look(&pool, &bad, today).await,
        Err(LookupError::Code(_))
    ));
    assert!(matches!(
        look(&pool, "1234567", today).await,
        Err(LookupError::Code(_))
    ));
    assert_eq!(
        look(&pool, "NO-SUCH-SKU", today).await,
        Err(LookupError::Unknown)
    );
}

#[tokio::test]
async fn a_pack_sells_units_of_its_product_under_its_own_barcode_and_price() {
    let pool = database().await;
    let beer = product(
        &pool,
        &form(
            "OL",
            "Lättöl 33 cl",
            "each",
            "12.90",
            &ean13("731000100010"),
        ),
    )
    .await;
    let pack_code = Code::parse(&ean13("731000100012")).unwrap();
    let pack = catalogue::add_pack(
        &pool,
        beer,
        "Lättöl 6-pack",
        6,
        dec!(69.00),
        Some(dec!(64.90)),
        &pack_code,
    )
    .await
    .unwrap();
    let f = look(&pool, &ean13("731000100012"), d(2026, 11, 30))
        .await
        .unwrap();
    assert_eq!(f.product_id, beer);
    let p = f.pack.unwrap();
    assert_eq!((p.pack_id, p.units), (pack, 6));
    assert_eq!(
        (f.shelf_price, f.member_price),
        (dec!(69.00), Some(dec!(64.90)))
    );
    // A pack of one unit, or a pack barcode that is a product's, is refused.
    let again = catalogue::add_pack(
        &pool,
        beer,
        "x",
        1,
        dec!(1),
        None,
        &Code::parse(&ean13("731000100013")).unwrap(),
    )
    .await;
    assert!(matches!(
        again,
        Err(CatalogueError::Invalid { field: "units", .. })
    ));
    let taken = Code::parse(&ean13("731000100010")).unwrap();
    let dup = catalogue::add_pack(&pool, beer, "Dubblett", 2, dec!(25), None, &taken).await;
    assert!(
        matches!(dup, Err(CatalogueError::DuplicateCode(_))),
        "{dup:?}"
    );
    assert_eq!(
        count(&pool, "pack").await,
        1,
        "the refused pack left nothing behind"
    );

    // Off sale: its barcode finds nothing and is free for another pack; the pack stays for a
    // sale a till made offline, and tills learn it from the feed.
    let other = uuid::Uuid::new_v4();
    assert!(matches!(
        catalogue::retire_pack(&pool, other, pack).await,
        Err(CatalogueError::NoProduct)
    ));
    assert!(catalogue::retire_pack(&pool, beer, pack).await.unwrap());
    assert!(
        !catalogue::retire_pack(&pool, beer, pack).await.unwrap(),
        "once"
    );
    assert!(matches!(
        look(&pool, &ean13("731000100012"), d(2026, 11, 30)).await,
        Err(LookupError::Unknown)
    ));
    let payload = latest_payload(&pool, beer).await;
    assert_eq!(payload["packs"][0]["active"], false);
    assert_eq!(payload["packs"][0]["gtins"], serde_json::json!([]));
    let units: i32 = sqlx::query_scalar("select units from pack where pack_id = $1")
        .bind(pack)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(units, 6);
    catalogue::add_pack(
        &pool,
        beer,
        "Lättöl 6-pack ny",
        6,
        dec!(66),
        None,
        &pack_code,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_scheduled_price_takes_effect_on_its_day_and_travels_in_the_feed() {
    let pool = database().await;
    let code = ean13("731000100005");
    let coffee = product(&pool, &form("KAF", "Kaffe", "each", "69.90", &code)).await;
    catalogue::schedule_price(
        &pool,
        coffee,
        d(2026, 12, 14),
        d(2026, 11, 30),
        dec!(74.90),
        Some(dec!(69.90)),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        look(&pool, &code, d(2026, 12, 13))
            .await
            .unwrap()
            .shelf_price,
        dec!(69.90)
    );
    let on = look(&pool, &code, d(2026, 12, 14)).await.unwrap();
    assert_eq!(
        (on.shelf_price, on.member_price),
        (dec!(74.90), Some(dec!(69.90)))
    );
    // In the past, or twice for one day: refused.
    assert!(matches!(
        catalogue::schedule_price(
            &pool,
            coffee,
            d(2026, 11, 1),
            d(2026, 11, 30),
            dec!(1),
            None,
            None
        )
        .await,
        Err(CatalogueError::Invalid {
            field: "effective_on",
            ..
        })
    ));
    assert!(matches!(
        catalogue::schedule_price(
            &pool,
            coffee,
            d(2026, 12, 14),
            d(2026, 11, 30),
            dec!(80),
            None,
            None
        )
        .await,
        Err(CatalogueError::DuplicateChange)
    ));
    // The product's newest event carries it, so a till prices right on the day, offline.
    let payload = latest_payload(&pool, coffee).await;
    assert_eq!(payload["price_changes"][0]["effective_on"], "2026-12-14");
    assert_eq!(payload["price_changes"][0]["shelf_price"], "74.90");
    assert_eq!(payload["gtins"][0], Code::parse(&code).unwrap().code);

    // Cancelled before its day, it never takes effect, and tills hear of it; on or after its
    // day it is history and stays.
    assert!(matches!(
        catalogue::cancel_price_change(&pool, coffee, d(2026, 12, 14), d(2026, 12, 14)).await,
        Err(CatalogueError::Invalid {
            field: "effective_on",
            ..
        })
    ));
    assert!(
        !catalogue::cancel_price_change(&pool, coffee, d(2026, 12, 15), d(2026, 11, 30))
            .await
            .unwrap()
    );
    assert!(
        catalogue::cancel_price_change(&pool, coffee, d(2026, 12, 14), d(2026, 11, 30))
            .await
            .unwrap()
    );
    assert_eq!(
        look(&pool, &code, d(2026, 12, 14))
            .await
            .unwrap()
            .shelf_price,
        dec!(69.90)
    );
    let payload = latest_payload(&pool, coffee).await;
    assert_eq!(payload["price_changes"], serde_json::json!([]));
}

#[tokio::test]
async fn bad_input_is_refused_with_its_reason_and_writes_nothing() {
    let pool = database().await;
    let code = ean13("731000100001");
    product(&pool, &form("HAV", "Havregryn", "each", "24.90", &code)).await;
    let events = count(&pool, "feed_event").await;

    let mut f = form("HAV2", "Havregryn igen", "each", "24.999", "");
    f.vat_class = "luxury".into();
    f.member_price = "30".into();
    let errors = f.check(&classes(), 2, "sv").unwrap_err();
    let fields: Vec<&str> = errors
        .iter()
        .filter_map(|e| match e {
            CatalogueError::Invalid { field, .. } => Some(*field),
            _ => None,
        })
        .collect();
    assert!(
        fields.contains(&"shelf_price") && fields.contains(&"vat_class"),
        "{fields:?}"
    );
    // Each on its own: a member price above the shelf price, a bad unit, an empty name.
    let mut f = form("X", "X", "each", "10", "");
    f.member_price = "11".into();
    assert!(f.check(&classes(), 2, "sv").is_err());
    assert!(form("X", "X", "dozen", "10", "")
        .check(&classes(), 2, "sv")
        .is_err());
    assert!(form("X", "  ", "each", "10", "")
        .check(&classes(), 2, "sv")
        .is_err());
    // In a currency without decimals, 10.50 is refused.
    assert!(form("X", "X", "each", "10.50", "")
        .check(&classes(), 0, "sv")
        .is_err());

    // A duplicate GTIN (even written as its UPC-A twin) or SKU.
    let dup = form("NEW", "Ny", "each", "10", &code)
        .check(&classes(), 2, "sv")
        .unwrap();
    assert!(matches!(
        catalogue::create(&pool, &dup).await,
        Err(CatalogueError::DuplicateCode(_))
    ));
    let dup_sku = form("HAV", "Annan", "each", "10", "")
        .check(&classes(), 2, "sv")
        .unwrap();
    assert!(matches!(
        catalogue::create(&pool, &dup_sku).await,
        Err(CatalogueError::DuplicateSku(_))
    ));
    assert_eq!(count(&pool, "product").await, 1);
    assert_eq!(
        count(&pool, "feed_event").await,
        events,
        "no event for what was refused"
    );

    // The database refuses what the types refuse, for any path around them.
    let direct = sqlx::query(
        "insert into product (product_id, sku, name, unit, vat_class, cost, shelf_price, member_price)
         values (gen_random_uuid(), 'Z', 'Z', 'each', 'food', 1, 10, 11)",
    )
    .execute(&pool)
    .await;
    assert!(direct.is_err(), "member price above shelf price");
    let direct = sqlx::query("insert into product_code (kind, code) values ('gtin', '123')")
        .execute(&pool)
        .await;
    assert!(
        direct.is_err(),
        "a GTIN is stored with 14 digits and belongs to something"
    );
    let _ = SaleUnit::Each;
}
