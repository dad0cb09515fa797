//! The demo co-op's shop: suppliers, a catalogue of real-looking products (packaged goods with
//! EAN-13 codes, produce sold by weight under a PLU, a six-pack), and four weeks of deliveries,
//! daily sales and some shrink, ending on the day the demo is seeded. Only for `cargo xtask
//! demo`.

use chrono::{Duration, NaiveDate};
use coop_domain::code::Gtin;
use rust_decimal::Decimal;
use sqlx::PgPool;

use crate::catalogue::{self, Code, ProductDraft, SaleUnit};
use crate::stock::{self, MovementKind, NewMovement, ShrinkReason};

/// (SKU, Swedish name, English name, unit, VAT class, cost, price, member price, GTIN body or
/// PLU, supplier index, aisle).
type DemoProduct = (
    &'static str,
    &'static str,
    &'static str,
    SaleUnit,
    &'static str,
    i64,
    i64,
    Option<i64>,
    &'static str,
    usize,
    &'static str,
);

const SUPPLIERS: [(&str, &str, i32); 3] = [
    ("Grossisten AB", "order@grossisten.example", 2),
    ("Ekogården", "bestallning@ekogarden.example", 1),
    ("Kvarnen i Röstånga", "kvarn@example.org", 5),
];

/// Prices in öre.
const PRODUCTS: [DemoProduct; 16] = [
    (
        "HAV-1KG",
        "Havregryn 1 kg",
        "Rolled oats 1 kg",
        SaleUnit::Each,
        "food",
        1450,
        2490,
        Some(2290),
        "731000100001",
        2,
        "1",
    ),
    (
        "MJO-15",
        "Mellanmjölk 1,5 l",
        "Semi-skimmed milk 1.5 l",
        SaleUnit::Each,
        "food",
        1390,
        2195,
        Some(1995),
        "731000100002",
        1,
        "3",
    ),
    (
        "SMO-500",
        "Smör 500 g",
        "Butter 500 g",
        SaleUnit::Each,
        "food",
        4200,
        6490,
        Some(5990),
        "731000100003",
        0,
        "3",
    ),
    (
        "LIN-RODA",
        "Röda linser 500 g",
        "Red lentils 500 g",
        SaleUnit::Each,
        "food",
        1600,
        2790,
        None,
        "731000100004",
        0,
        "2",
    ),
    (
        "KAF-450",
        "Kaffe mellanrost 450 g",
        "Coffee medium roast 450 g",
        SaleUnit::Each,
        "food",
        4100,
        6990,
        Some(6490),
        "731000100005",
        0,
        "2",
    ),
    (
        "RAG-2KG",
        "Rågmjöl 2 kg",
        "Rye flour 2 kg",
        SaleUnit::Each,
        "food",
        2300,
        3990,
        None,
        "731000100006",
        2,
        "1",
    ),
    (
        "OST-GRE",
        "Grevé 28 %",
        "Grevé cheese 28 %",
        SaleUnit::Kg,
        "food",
        8900,
        13900,
        Some(12900),
        "2101",
        0,
        "3",
    ),
    (
        "MOR-EKO",
        "Morötter eko",
        "Carrots, organic",
        SaleUnit::Kg,
        "food",
        1100,
        2490,
        None,
        "4562",
        1,
        "4",
    ),
    (
        "APP-ING",
        "Äpplen Ingrid Marie",
        "Apples, Ingrid Marie",
        SaleUnit::Kg,
        "food",
        1800,
        3490,
        Some(3190),
        "4129",
        1,
        "4",
    ),
    (
        "POT-FAST",
        "Potatis fast",
        "Potatoes, waxy",
        SaleUnit::Kg,
        "food",
        700,
        1690,
        None,
        "4072",
        1,
        "4",
    ),
    (
        "BAN-EKO",
        "Bananer eko",
        "Bananas, organic",
        SaleUnit::Kg,
        "food",
        1900,
        3290,
        None,
        "94011",
        0,
        "4",
    ),
    (
        "TVA-DISK",
        "Diskmedel 500 ml",
        "Washing-up liquid 500 ml",
        SaleUnit::Each,
        "standard",
        1900,
        3490,
        Some(2990),
        "731000100007",
        0,
        "6",
    ),
    (
        "LJUS-10",
        "Kronljus 10-pack",
        "Dinner candles, 10",
        SaleUnit::Each,
        "standard",
        3900,
        6900,
        None,
        "731000100008",
        0,
        "6",
    ),
    (
        "ROS-SAFT",
        "Nyponsoppa 1 l",
        "Rosehip soup 1 l",
        SaleUnit::Each,
        "food",
        1800,
        2990,
        None,
        "731000100009",
        2,
        "2",
    ),
    (
        "OL-LATT",
        "Lättöl 33 cl",
        "Light beer 33 cl",
        SaleUnit::Each,
        "food",
        650,
        1290,
        Some(1190),
        "731000100010",
        0,
        "5",
    ),
    (
        "AGG-12",
        "Ägg frigående 12-pack",
        "Free-range eggs, 12",
        SaleUnit::Each,
        "food",
        3100,
        4990,
        Some(4590),
        "731000100011",
        1,
        "3",
    ),
];

fn ore(n: i64) -> Decimal {
    Decimal::new(n, 2)
}

/// A deterministic sequence, so the demo is the same every time.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        i64::try_from((self.0 >> 33) % n.max(1)).unwrap_or(0)
    }
}

fn code_of(body: &str) -> anyhow::Result<Code> {
    if body.len() <= 5 {
        return Ok(Code::parse(body)?);
    }
    let gtin = Gtin::with_check_digit(body)?;
    Ok(Code::parse(gtin.as_str())?)
}

/// Seeds the catalogue and four weeks of stock ending `today`, once; a second run changes
/// nothing and answers `false`.
pub async fn seed(db: &PgPool, today: NaiveDate) -> anyhow::Result<bool> {
    let done = sqlx::query_scalar!(r#"select exists (select 1 from product) as "x!""#)
        .fetch_one(db)
        .await?;
    if done {
        return Ok(false);
    }
    let mut suppliers = Vec::new();
    for (name, email, lead) in SUPPLIERS {
        suppliers.push(catalogue::supplier(db, name, Some(email), lead).await?);
    }
    let mut products = Vec::new();
    for (sku, sv, en, unit, vat, cost, price, member, code, supplier, aisle) in PRODUCTS {
        let draft = ProductDraft {
            sku: sku.into(),
            name: sv.into(),
            names: [("en".to_owned(), en.to_owned())].into(),
            unit,
            vat_class: vat.into(),
            supplier_id: Some(suppliers[supplier]),
            supplier_article: Some(format!("A-{}", &sku[..3])),
            cost: ore(cost),
            shelf_price: ore(price),
            member_price: member.map(ore),
            case_size: if unit == SaleUnit::Each {
                Decimal::from(12)
            } else {
                Decimal::from(5)
            },
            active: true,
            aisle: Some(aisle.into()),
            shelf: Some("2".into()),
            codes: vec![code_of(code)?],
        };
        let id = catalogue::create(db, &draft).await?;
        products.push((id, unit));
    }
    // Light beer also comes as a six-pack with a barcode of its own.
    let beer = products[14].0;
    catalogue::add_pack(
        db,
        beer,
        "Lättöl 6-pack",
        6,
        ore(6900),
        Some(ore(6490)),
        &code_of("731000100012")?,
    )
    .await?;
    // Coffee goes up next month.
    catalogue::schedule_price(
        db,
        products[4].0,
        today + Duration::days(14),
        today,
        ore(7490),
        Some(ore(6990)),
        None,
    )
    .await?;

    let locations = stock::locations(db).await?;
    let shop = locations
        .iter()
        .find(|l| l.kind == "shop")
        .ok_or_else(|| anyhow::anyhow!("no shop location"))?
        .location_id;
    let storeroom = locations
        .iter()
        .find(|l| l.kind != "shop")
        .map(|l| l.location_id);
    let mut rng = Lcg(202_611);
    let start = today - Duration::days(27);
    let mut tx = db.begin().await?;
    for day in 0..28 {
        let on = start + Duration::days(day);
        // Deliveries on Mondays and Thursdays.
        if day % 7 == 0 || day % 7 == 3 {
            let mut value = Decimal::ZERO;
            for &(id, unit) in &products {
                let q = if unit == SaleUnit::Each {
                    Decimal::from(12 * (1 + rng.below(3)))
                } else {
                    Decimal::from(5 + rng.below(10))
                };
                let (_, cost) = stock::record(
                    &mut tx,
                    &NewMovement {
                        product_id: id,
                        location_id: shop,
                        kind: MovementKind::Received,
                        reason: None,
                        quantity: q,
                        on,
                        source_key: None,
                        transfer_id: None,
                        note: None,
                        by: None,
                    },
                )
                .await?;
                value += cost;
            }
            stock::publish_moved(&mut tx, MovementKind::Received, None, on, value).await?;
        }
        // A day's sales, by product.
        let mut sold = Decimal::ZERO;
        for (n, &(id, unit)) in products.iter().enumerate() {
            let q = if unit == SaleUnit::Each {
                Decimal::from(rng.below(6))
            } else {
                Decimal::new(rng.below(3500), 3)
            };
            if q.is_zero() {
                continue;
            }
            let key = format!("demo:sale:{on}:{n}");
            let (_, cost) = stock::record(
                &mut tx,
                &NewMovement {
                    product_id: id,
                    location_id: shop,
                    kind: MovementKind::Sold,
                    reason: None,
                    quantity: -q,
                    on,
                    source_key: Some(&key),
                    transfer_id: None,
                    note: None,
                    by: None,
                },
            )
            .await?;
            sold += cost;
        }
        stock::publish_moved(&mut tx, MovementKind::Sold, None, on, sold).await?;
        // Now and then something spoils or breaks.
        if day % 5 == 4 {
            let (id, unit) = products[usize::try_from(rng.below(16)).unwrap_or(0)];
            let q = if unit == SaleUnit::Each {
                Decimal::ONE
            } else {
                Decimal::new(800, 3)
            };
            let reason = ShrinkReason::ALL[usize::try_from(rng.below(4)).unwrap_or(0)];
            let (_, cost) = stock::record(
                &mut tx,
                &NewMovement {
                    product_id: id,
                    location_id: shop,
                    kind: MovementKind::Shrink,
                    reason: Some(reason),
                    quantity: -q,
                    on,
                    source_key: None,
                    transfer_id: None,
                    note: None,
                    by: None,
                },
            )
            .await?;
            stock::publish_moved(&mut tx, MovementKind::Shrink, Some(reason), on, cost).await?;
        }
    }
    // Some flour waits in the storeroom.
    if let Some(room) = storeroom {
        for &i in &[0_usize, 5] {
            let (_, cost) = stock::record(
                &mut tx,
                &NewMovement {
                    product_id: products[i].0,
                    location_id: room,
                    kind: MovementKind::Received,
                    reason: None,
                    quantity: Decimal::from(24),
                    on: today,
                    source_key: None,
                    transfer_id: None,
                    note: None,
                    by: None,
                },
            )
            .await?;
            stock::publish_moved(&mut tx, MovementKind::Received, None, today, cost).await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}
