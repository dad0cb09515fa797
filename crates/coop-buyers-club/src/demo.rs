//! The demo's buyers club (`coop-buyers-club demo-seed`, for `cargo xtask demo` only): three
//! producers near Röstånga with their products, so that a newcomer can start an order at once.

use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{self, ProductDraft, SupplierDraft};

/// (name, contact, address, latitude, longitude, threshold, lead days, products)
type DemoSupplier = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    i32,
    &'static [(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    )],
);

/// (name, article number, unit, case size, price, VAT class)
const SUPPLIERS: [DemoSupplier; 3] = [
    (
        "Kvarnen i Röstånga",
        "order@kvarnen.example",
        "Kvarnvägen 2, 268 76 Röstånga",
        "55.997100",
        "13.282500",
        500,
        3,
        &[
            ("Vetemjöl special 2 kg", "VM2", "st", "10", "32.00", "food"),
            (
                "Dinkelmjöl fullkorn 1 kg",
                "DF1",
                "st",
                "10",
                "29.50",
                "food",
            ),
            ("Havregryn 1 kg", "HG1", "st", "6", "21.90", "food"),
            ("Rågkross 5 kg", "RK5", "säck", "1", "89.00", "food"),
        ],
    ),
    (
        "Äppelgården Söderåsen",
        "070-000 00 00",
        "Äppelvägen 7, 268 90 Svalöv",
        "55.963000",
        "13.236000",
        300,
        2,
        &[
            ("Äpplen Ingrid Marie", "ÄIM", "kg", "1", "28.00", "food"),
            ("Äppelmust 1 l", "ÄM1", "flaska", "6", "35.00", "food"),
            ("Honung 500 g", "HO5", "burk", "1", "95.00", "food"),
        ],
    ),
    (
        "Ekotvål & Co",
        "hej@ekotval.example",
        "Hantverksgatan 3, 222 22 Lund",
        "55.704700",
        "13.191000",
        400,
        5,
        &[
            ("Olivtvål 100 g", "OT1", "st", "12", "39.00", "standard"),
            (
                "Diskmedel refill 1 l",
                "DR1",
                "st",
                "6",
                "59.00",
                "standard",
            ),
        ],
    ),
];

/// Seeds the demo's suppliers and products, unless there are suppliers already. Answers
/// whether it did.
///
/// # Errors
/// The database's, or a demo row the rules refuse (a bug).
pub async fn seed(db: &PgPool, vat_classes: &[String]) -> anyhow::Result<bool> {
    if !store::suppliers(db).await?.is_empty() {
        return Ok(false);
    }
    let by = Uuid::nil();
    for (name, contact, address, lat, lon, threshold, lead, products) in SUPPLIERS {
        let s = store::add_supplier(
            db,
            by,
            &SupplierDraft {
                name: name.into(),
                contact: contact.into(),
                address: address.into(),
                location: Some((lat.parse()?, lon.parse()?)),
                order_threshold: Decimal::from(threshold),
                lead_time_days: lead,
            },
        )
        .await?;
        for (pname, article, unit, case, price, vat) in products {
            store::add_product(
                db,
                by,
                s,
                &ProductDraft {
                    name: (*pname).into(),
                    article_id: (*article).into(),
                    unit: (*unit).into(),
                    case_size: case.parse()?,
                    unit_price: price.parse()?,
                    vat_class: (*vat).into(),
                },
                vat_classes,
                2,
            )
            .await?;
        }
    }
    Ok(true)
}
