//! The catalogue: products, their codes, packs, translated names and scheduled prices. Every
//! write runs in one transaction with the `product.changed` event that carries the product's
//! whole state (codes, packs, names, prices to come), so a till's copy follows exactly.
//! Parsing a form into a [`ProductDraft`] checks everything the database cannot: units, VAT
//! classes from config, money in the currency's minor units.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use coop_domain::code::{Gtin, Plu, ProductCode, VariableMeasureRule};
use coop_domain::MeasuredValue;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::feed::Kind;

/// Why a catalogue change was refused; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("the code {0} belongs to another product or pack already")]
    DuplicateCode(String),
    #[error("the SKU {0} belongs to another product already")]
    DuplicateSku(String),
    #[error("no such product")]
    NoProduct,
    #[error("a price change for that day exists already")]
    DuplicateChange,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn invalid(field: &'static str, message: impl Into<String>) -> CatalogueError {
    CatalogueError::Invalid {
        field,
        message: message.into(),
    }
}

/// A product's unit of sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum SaleUnit {
    Each,
    Kg,
    L,
}

impl SaleUnit {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "each" => Some(Self::Each),
            "kg" => Some(Self::Kg),
            "l" => Some(Self::L),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Each => "each",
            Self::Kg => "kg",
            Self::L => "l",
        }
    }

    /// Quantities of a counted product are whole; weighed and measured ones have grams.
    pub fn decimals(self) -> u32 {
        match self {
            Self::Each => 0,
            Self::Kg | Self::L => 3,
        }
    }
}

/// Money as typed (`12,50` or `12.50`), in whole minor units of the currency.
pub fn parse_money(
    field: &'static str,
    s: &str,
    minor_units: u32,
) -> Result<Decimal, CatalogueError> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let d: Decimal = t
        .replace(',', ".")
        .parse()
        .map_err(|_| invalid(field, "an amount such as 24.90"))?;
    if d.is_sign_negative() {
        return Err(invalid(field, "an amount cannot be negative"));
    }
    if d.normalize().scale() > minor_units {
        return Err(invalid(
            field,
            format!("at most {minor_units} decimals in this currency"),
        ));
    }
    if d >= Decimal::from(1_000_000) {
        return Err(invalid(field, "an amount below 1 000 000"));
    }
    Ok(d)
}

/// A quantity as typed, in `unit` (whole for counted products), not zero, below a million.
pub fn parse_quantity(
    field: &'static str,
    s: &str,
    unit: SaleUnit,
) -> Result<Decimal, CatalogueError> {
    let d: Decimal = s
        .trim()
        .replace(',', ".")
        .parse()
        .map_err(|_| invalid(field, "a number"))?;
    if d.is_zero() {
        return Err(invalid(field, "a quantity of zero says nothing"));
    }
    if d.abs() >= Decimal::from(1_000_000) {
        return Err(invalid(field, "a quantity below 1 000 000"));
    }
    if d.normalize().scale() > unit.decimals() {
        return Err(invalid(
            field,
            if unit == SaleUnit::Each {
                "a whole number for a product sold by the piece".to_owned()
            } else {
                format!("at most {} decimals", unit.decimals())
            },
        ));
    }
    Ok(d)
}

/// What the product form sends, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    pub sku: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub name_sv: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub vat_class: String,
    #[serde(default)]
    pub supplier: String,
    #[serde(default)]
    pub supplier_article: String,
    #[serde(default)]
    pub cost: String,
    #[serde(default)]
    pub shelf_price: String,
    #[serde(default)]
    pub member_price: String,
    #[serde(default)]
    pub case_size: String,
    #[serde(default)]
    pub active: Option<String>,
    #[serde(default)]
    pub aisle: String,
    #[serde(default)]
    pub shelf: String,
    /// GTINs and PLUs, one per line or separated by spaces or commas (new products only).
    #[serde(default)]
    pub codes: String,
}

/// A product's fields, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDraft {
    pub sku: String,
    pub name: String,
    pub names: BTreeMap<String, String>,
    pub unit: SaleUnit,
    pub vat_class: String,
    pub supplier_id: Option<Uuid>,
    pub supplier_article: Option<String>,
    pub cost: Decimal,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub case_size: Decimal,
    pub active: bool,
    pub aisle: Option<String>,
    pub shelf: Option<String>,
    pub codes: Vec<Code>,
}

fn optional(s: &str, max: usize, field: &'static str) -> Result<Option<String>, CatalogueError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    Ok(Some(t.to_owned()))
}

/// A code a product or pack is found by, in its stored form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Code {
    pub kind: String,
    pub code: String,
}

impl Code {
    /// A GTIN (8, 12, 13 or 14 digits with its check digit) as its 14-digit form, or a PLU of 3
    /// to 5 digits.
    pub fn parse(s: &str) -> Result<Self, CatalogueError> {
        let t = s.trim();
        let digits = t.len();
        if (3..=5).contains(&digits) {
            let plu = Plu::parse(t).map_err(|e| invalid("codes", format!("{t}: {e}")))?;
            return Ok(Self {
                kind: "plu".into(),
                code: plu.as_str().to_owned(),
            });
        }
        let gtin = Gtin::parse(t).map_err(|e| invalid("codes", format!("{t}: {e}")))?;
        Ok(Self {
            kind: "gtin".into(),
            code: gtin.to_gtin14().as_str().to_owned(),
        })
    }

    /// The code as a person reads it: a GTIN without the zeros its 14-digit form added (EAN-13,
    /// or EAN-8 where it fits), a PLU as it is.
    pub fn display(&self) -> String {
        if self.kind == "gtin" {
            let trimmed = self.code.trim_start_matches('0');
            if trimmed.len() <= 8 {
                format!("{trimmed:0>8}")
            } else {
                format!("{trimmed:0>13}")
            }
        } else {
            self.code.clone()
        }
    }
}

/// Parses the codes field: any number of codes separated by whitespace or commas.
pub fn parse_codes(s: &str) -> Result<Vec<Code>, CatalogueError> {
    let mut out: Vec<Code> = Vec::new();
    for part in s.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
        if part.is_empty() {
            continue;
        }
        let c = Code::parse(part)?;
        if out.contains(&c) {
            return Err(invalid("codes", format!("{part} is given twice")));
        }
        out.push(c);
    }
    Ok(out)
}

impl ProductForm {
    /// Checks every field against the co-op's VAT classes and currency; the first problem per
    /// field is reported, all fields at once.
    pub fn check(
        &self,
        vat_classes: &[String],
        minor_units: u32,
        default_lang: &str,
    ) -> Result<ProductDraft, Vec<CatalogueError>> {
        let mut errors = Vec::new();
        macro_rules! ok {
            ($r:expr) => {
                match $r {
                    Ok(v) => Some(v),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            };
        }
        let sku = ok!(coop_domain::code::Sku::parse(&self.sku)
            .map(|s| s.as_str().to_owned())
            .map_err(|e| invalid("sku", e.to_string())));
        let name = ok!(optional(&self.name, 200, "name")
            .and_then(|n| n.ok_or_else(|| invalid("name", "a name is needed"))));
        let mut names = BTreeMap::new();
        for (lang, value) in [("sv", &self.name_sv), ("en", &self.name_en)] {
            if lang == default_lang {
                continue;
            }
            if let Some(Some(n)) = ok!(optional(
                value,
                200,
                if lang == "sv" { "name_sv" } else { "name_en" }
            )) {
                names.insert(lang.to_owned(), n);
            }
        }
        let unit = ok!(SaleUnit::parse(&self.unit).ok_or_else(|| invalid("unit", "each, kg or l")));
        let vat_class = ok!(if vat_classes.iter().any(|c| c == self.vat_class.trim()) {
            Ok(self.vat_class.trim().to_owned())
        } else {
            Err(invalid(
                "vat_class",
                format!("one of {}", vat_classes.join(", ")),
            ))
        });
        let supplier_id = ok!(match self.supplier.trim() {
            "" => Ok(None),
            s => Uuid::parse_str(s)
                .map(Some)
                .map_err(|_| invalid("supplier", "choose a supplier from the list")),
        });
        let supplier_article = ok!(optional(&self.supplier_article, 64, "supplier_article"));
        let cost = ok!(parse_money("cost", &self.cost, minor_units));
        let shelf_price = ok!(parse_money("shelf_price", &self.shelf_price, minor_units));
        let member_price = ok!(match self.member_price.trim() {
            "" => Ok(None),
            s => parse_money("member_price", s, minor_units).map(Some),
        });
        if let (Some(Some(m)), Some(s)) = (member_price, shelf_price) {
            if m > s {
                errors.push(invalid(
                    "member_price",
                    "the member price cannot be above the shelf price",
                ));
            }
        }
        let case_size = ok!(match self.case_size.trim() {
            "" => Ok(Decimal::ONE),
            s => parse_quantity("case_size", s, SaleUnit::Kg).and_then(|d| {
                if d > Decimal::ZERO {
                    Ok(d)
                } else {
                    Err(invalid("case_size", "a case holds more than nothing"))
                }
            }),
        });
        let aisle = ok!(optional(&self.aisle, 20, "aisle"));
        let shelf = ok!(optional(&self.shelf, 20, "shelf"));
        let codes = ok!(parse_codes(&self.codes));
        if !errors.is_empty() {
            return Err(errors);
        }
        // Every field parsed (no error was pushed), so each is Some.
        let (
            Some(sku),
            Some(name),
            Some(unit),
            Some(vat_class),
            Some(supplier_id),
            Some(supplier_article),
            Some(cost),
            Some(shelf_price),
            Some(member_price),
            Some(case_size),
            Some(aisle),
            Some(shelf),
            Some(codes),
        ) = (
            sku,
            name,
            unit,
            vat_class,
            supplier_id,
            supplier_article,
            cost,
            shelf_price,
            member_price,
            case_size,
            aisle,
            shelf,
            codes,
        )
        else {
            return Err(vec![invalid("form", "incomplete")]);
        };
        Ok(ProductDraft {
            sku,
            name,
            names,
            unit,
            vat_class,
            supplier_id,
            supplier_article,
            cost,
            shelf_price,
            member_price,
            case_size,
            active: self.active.is_some(),
            aisle,
            shelf,
            codes,
        })
    }
}

/// A product as pages and the feed show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub vat_class: String,
    pub supplier_id: Option<Uuid>,
    pub supplier_article: Option<String>,
    pub cost: Decimal,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub case_size: Decimal,
    pub active: bool,
    pub aisle: Option<String>,
    pub shelf: Option<String>,
}

/// A pack of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pack {
    pub pack_id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    pub units: i32,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub active: bool,
}

/// A scheduled price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceChange {
    pub effective_on: NaiveDate,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
}

/// Everything about one product: what its page shows and its feed event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductDetail {
    pub product: Product,
    pub names: BTreeMap<String, String>,
    pub codes: Vec<Code>,
    pub packs: Vec<(Pack, Vec<Code>)>,
    pub price_changes: Vec<PriceChange>,
}

fn map_unique(e: sqlx::Error, sku: &str, codes: &[Code]) -> CatalogueError {
    if let sqlx::Error::Database(d) = &e {
        match d.constraint() {
            Some("product_sku_key") => return CatalogueError::DuplicateSku(sku.to_owned()),
            Some("product_code_pkey") => {
                let shown = codes.first().map(Code::display).unwrap_or_default();
                return CatalogueError::DuplicateCode(shown);
            }
            Some("price_change_product_id_effective_on_key") => {
                return CatalogueError::DuplicateChange
            }
            _ => {}
        }
    }
    CatalogueError::Database(e)
}

/// Finds which of `codes` is taken already (for a clear message), in the transaction.
async fn taken_code(tx: &mut PgConnection, codes: &[Code]) -> Result<Option<Code>, sqlx::Error> {
    for c in codes {
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from product_code where kind = $1 and code = $2) as "x!""#,
            c.kind,
            c.code
        )
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            return Ok(Some(c.clone()));
        }
    }
    Ok(None)
}

/// Creates a product with its codes and names, and publishes it.
pub async fn create(db: &PgPool, d: &ProductDraft) -> Result<Uuid, CatalogueError> {
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, d).await?;
    tx.commit().await?;
    Ok(id)
}

/// [`create`] in the caller's transaction.
pub async fn create_in(tx: &mut PgConnection, d: &ProductDraft) -> Result<Uuid, CatalogueError> {
    let id = Uuid::new_v4();
    if let Some(c) = taken_code(&mut *tx, &d.codes).await? {
        return Err(CatalogueError::DuplicateCode(c.display()));
    }
    sqlx::query!(
        "insert into product (product_id, sku, name, unit, vat_class, supplier_id,
             supplier_article, cost, shelf_price, member_price, case_size, active, aisle, shelf)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        id,
        d.sku,
        d.name,
        d.unit.as_str(),
        d.vat_class,
        d.supplier_id,
        d.supplier_article,
        d.cost,
        d.shelf_price,
        d.member_price,
        d.case_size,
        d.active,
        d.aisle,
        d.shelf
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| map_unique(e, &d.sku, &d.codes))?;
    for c in &d.codes {
        sqlx::query!(
            "insert into product_code (kind, code, product_id) values ($1, $2, $3)",
            c.kind,
            c.code,
            id
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &d.sku, std::slice::from_ref(c)))?;
    }
    write_names(&mut *tx, id, &d.names).await?;
    publish(&mut *tx, id).await?;
    Ok(id)
}

async fn write_names(
    tx: &mut PgConnection,
    id: Uuid,
    names: &BTreeMap<String, String>,
) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from product_name where product_id = $1", id)
        .execute(&mut *tx)
        .await?;
    for (lang, name) in names {
        sqlx::query!(
            "insert into product_name (product_id, lang, name) values ($1, $2, $3)",
            id,
            lang,
            name
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Changes a product's fields (its codes are changed one by one) and publishes it.
pub async fn update(db: &PgPool, id: Uuid, d: &ProductDraft) -> Result<(), CatalogueError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query!(
        "update product set sku = $2, name = $3, unit = $4, vat_class = $5, supplier_id = $6,
             supplier_article = $7, cost = $8, shelf_price = $9, member_price = $10,
             case_size = $11, active = $12, aisle = $13, shelf = $14, updated_at = now()
         where product_id = $1",
        id,
        d.sku,
        d.name,
        d.unit.as_str(),
        d.vat_class,
        d.supplier_id,
        d.supplier_article,
        d.cost,
        d.shelf_price,
        d.member_price,
        d.case_size,
        d.active,
        d.aisle,
        d.shelf
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| map_unique(e, &d.sku, &[]))?;
    if done.rows_affected() == 0 {
        return Err(CatalogueError::NoProduct);
    }
    write_names(&mut tx, id, &d.names).await?;
    publish(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a code to a product.
pub async fn add_code(db: &PgPool, id: Uuid, code: &Code) -> Result<(), CatalogueError> {
    let mut tx = db.begin().await?;
    if !product_exists(&mut tx, id).await? {
        return Err(CatalogueError::NoProduct);
    }
    sqlx::query!(
        "insert into product_code (kind, code, product_id) values ($1, $2, $3)",
        code.kind,
        code.code,
        id
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| map_unique(e, "", std::slice::from_ref(code)))?;
    publish(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes one of a product's codes (a pack's codes go with the pack).
pub async fn remove_code(db: &PgPool, id: Uuid, code: &Code) -> Result<bool, CatalogueError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query!(
        "delete from product_code where kind = $1 and code = $2 and product_id = $3",
        code.kind,
        code.code,
        id
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    publish(&mut tx, id).await?;
    tx.commit().await?;
    Ok(true)
}

/// Adds a pack of `units` of product `id`, found by its own GTIN.
pub async fn add_pack(
    db: &PgPool,
    id: Uuid,
    name: &str,
    units: i32,
    shelf_price: Decimal,
    member_price: Option<Decimal>,
    gtin: &Code,
) -> Result<Uuid, CatalogueError> {
    if gtin.kind != "gtin" {
        return Err(invalid("gtin", "a pack is found by a barcode (GTIN)"));
    }
    if !(2..=10_000).contains(&units) {
        return Err(invalid("units", "a pack holds 2 to 10 000 units"));
    }
    let name = optional(name, 200, "pack_name")?
        .ok_or_else(|| invalid("pack_name", "a name is needed"))?;
    if member_price.is_some_and(|m| m > shelf_price) {
        return Err(invalid(
            "pack_member_price",
            "the member price cannot be above the shelf price",
        ));
    }
    let mut tx = db.begin().await?;
    if !product_exists(&mut tx, id).await? {
        return Err(CatalogueError::NoProduct);
    }
    let pack = Uuid::new_v4();
    sqlx::query!(
        "insert into pack (pack_id, product_id, name, units, shelf_price, member_price)
         values ($1, $2, $3, $4, $5, $6)",
        pack,
        id,
        name,
        units,
        shelf_price,
        member_price
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into product_code (kind, code, pack_id) values ('gtin', $1, $2)",
        gtin.code,
        pack
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| map_unique(e, "", std::slice::from_ref(gtin)))?;
    publish(&mut tx, id).await?;
    tx.commit().await?;
    Ok(pack)
}

/// Schedules new prices for a product from `on` (today or later).
pub async fn schedule_price(
    db: &PgPool,
    id: Uuid,
    on: NaiveDate,
    today: NaiveDate,
    shelf_price: Decimal,
    member_price: Option<Decimal>,
    by: Option<Uuid>,
) -> Result<(), CatalogueError> {
    if on < today {
        return Err(invalid(
            "effective_on",
            "a price change takes effect today or later",
        ));
    }
    if member_price.is_some_and(|m| m > shelf_price) {
        return Err(invalid(
            "new_member_price",
            "the member price cannot be above the shelf price",
        ));
    }
    let mut tx = db.begin().await?;
    if !product_exists(&mut tx, id).await? {
        return Err(CatalogueError::NoProduct);
    }
    sqlx::query!(
        "insert into price_change (price_change_id, product_id, effective_on, shelf_price,
             member_price, created_by)
         values ($1, $2, $3, $4, $5, $6)",
        Uuid::new_v4(),
        id,
        on,
        shelf_price,
        member_price,
        by
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| map_unique(e, "", &[]))?;
    publish(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a pack off sale: its barcodes are freed (another pack or product may take them) and
/// tills drop it with the next `product.changed`. The pack itself stays, so that a sale of it
/// a till made offline still takes its units off the stock when it arrives. `false` when the
/// product has no such pack on sale.
pub async fn retire_pack(db: &PgPool, id: Uuid, pack: Uuid) -> Result<bool, CatalogueError> {
    let mut tx = db.begin().await?;
    if !product_exists(&mut tx, id).await? {
        return Err(CatalogueError::NoProduct);
    }
    let retired = sqlx::query!(
        "update pack set active = false where pack_id = $2 and product_id = $1 and active",
        id,
        pack
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if retired == 0 {
        return Ok(false);
    }
    sqlx::query!("delete from product_code where pack_id = $1", pack)
        .execute(&mut *tx)
        .await?;
    publish(&mut tx, id).await?;
    tx.commit().await?;
    Ok(true)
}

/// Cancels the price change planned for `on`, which must be after `today` (one in effect is
/// history: plan a new one instead). `false` when none is planned that day.
pub async fn cancel_price_change(
    db: &PgPool,
    id: Uuid,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<bool, CatalogueError> {
    if on <= today {
        return Err(invalid(
            "effective_on",
            "a price in effect cannot be cancelled; plan a new one instead",
        ));
    }
    let mut tx = db.begin().await?;
    if !product_exists(&mut tx, id).await? {
        return Err(CatalogueError::NoProduct);
    }
    let gone = sqlx::query!(
        "delete from price_change where product_id = $1 and effective_on = $2",
        id,
        on
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if gone == 0 {
        return Ok(false);
    }
    publish(&mut tx, id).await?;
    tx.commit().await?;
    Ok(true)
}

async fn product_exists(tx: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from product where product_id = $1 for update) as "x!""#,
        id
    )
    .fetch_one(&mut *tx)
    .await
}

/// One product with everything about it.
pub async fn detail(db: &mut PgConnection, id: Uuid) -> Result<Option<ProductDetail>, sqlx::Error> {
    let Some(product) = sqlx::query_as!(
        Product,
        r#"select product_id, sku, name, unit as "unit: SaleUnit", vat_class, supplier_id,
                  supplier_article, cost, shelf_price, member_price, case_size, active, aisle, shelf
           from product where product_id = $1"#,
        id
    )
    .fetch_optional(&mut *db)
    .await?
    else {
        return Ok(None);
    };
    let names = sqlx::query!(
        "select lang, name from product_name where product_id = $1 order by lang",
        id
    )
    .fetch_all(&mut *db)
    .await?
    .into_iter()
    .map(|r| (r.lang, r.name))
    .collect();
    let codes = sqlx::query_as!(
        Code,
        "select kind, code from product_code where product_id = $1 order by kind, code",
        id
    )
    .fetch_all(&mut *db)
    .await?;
    let pack_rows = sqlx::query_as!(
        Pack,
        "select pack_id, product_id, name, units, shelf_price, member_price, active
         from pack where product_id = $1 order by units, name",
        id
    )
    .fetch_all(&mut *db)
    .await?;
    let mut packs = Vec::new();
    for p in pack_rows {
        let codes = sqlx::query_as!(
            Code,
            "select kind, code from product_code where pack_id = $1 order by code",
            p.pack_id
        )
        .fetch_all(&mut *db)
        .await?;
        packs.push((p, codes));
    }
    let price_changes = sqlx::query_as!(
        PriceChange,
        "select effective_on, shelf_price, member_price from price_change
         where product_id = $1 order by effective_on",
        id
    )
    .fetch_all(&mut *db)
    .await?;
    Ok(Some(ProductDetail {
        product,
        names,
        codes,
        packs,
        price_changes,
    }))
}

/// The product's feed payload: its whole state, codes as scanned forms, packs with theirs, the
/// price changes to come, so a till prices correctly on the day without asking.
pub fn payload(d: &ProductDetail) -> Value {
    let p = &d.product;
    json!({
        "product_id": p.product_id,
        "sku": p.sku,
        "name": p.name,
        "names": d.names,
        "unit": p.unit,
        "vat_class": p.vat_class,
        "shelf_price": p.shelf_price,
        "member_price": p.member_price,
        "cost": p.cost,
        "active": p.active,
        "gtins": d.codes.iter().filter(|c| c.kind == "gtin").map(|c| c.code.clone()).collect::<Vec<_>>(),
        "plus": d.codes.iter().filter(|c| c.kind == "plu").map(|c| c.code.clone()).collect::<Vec<_>>(),
        "packs": d.packs.iter().map(|(pk, codes)| json!({
            "pack_id": pk.pack_id,
            "name": pk.name,
            "units": pk.units,
            "shelf_price": pk.shelf_price,
            "member_price": pk.member_price,
            "active": pk.active,
            "gtins": codes.iter().map(|c| c.code.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "price_changes": d.price_changes,
    })
}

/// Publishes product `id`'s whole state in the writer's transaction.
pub async fn publish(tx: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    if let Some(d) = detail(tx, id).await? {
        let key = id.to_string();
        coop_web::feed::publish(tx, Kind::ProductChanged, Some(&key), &payload(&d)).await?;
    }
    Ok(())
}

/// A line of the catalogue list and the member's finder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub active: bool,
    pub aisle: Option<String>,
    pub shelf: Option<String>,
    /// On hand over the shop locations.
    pub in_shop: Decimal,
}

/// Products whose name (in any language), SKU or code matches `q`, active ones only
/// unless `all`; at most `limit` from `offset`. Prices are those on `today`.
pub async fn search(
    db: &PgPool,
    q: &str,
    lang: &str,
    today: NaiveDate,
    all: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<Listed>, sqlx::Error> {
    let q = q.trim();
    let code = Code::parse(q).ok();
    let pattern = coop_web::db::contains_pattern(&q.to_lowercase());
    sqlx::query_as!(
        Listed,
        r#"select p.product_id, p.sku, coalesce(n.name, p.name) as "name!",
                  p.unit as "unit: SaleUnit",
                  coalesce(pc.shelf_price, p.shelf_price) as "shelf_price!",
                  case when pc.price_change_id is null then p.member_price else pc.member_price end
                      as member_price,
                  p.active, p.aisle, p.shelf,
                  coalesce((select sum(l.on_hand) from stock_level l join location o using (location_id)
                            where l.product_id = p.product_id and o.kind = 'shop'), 0) as "in_shop!"
           from product p
           left join product_name n on n.product_id = p.product_id and n.lang = $2
           left join lateral (select * from price_change c where c.product_id = p.product_id
                              and c.effective_on <= $3 order by c.effective_on desc limit 1) pc on true
           where ($4 or p.active)
             and ($1 = '%%' or lower(p.name) like $1
                  or p.product_id in (select x.product_id from product_name x where lower(x.name) like $1)
                  or lower(p.sku) like $1
                  or p.product_id in (select c.product_id from product_code c
                                      where c.kind = $5 and c.code = $6)
                  or p.product_id in (select k.product_id from pack k join product_code c
                                      using (pack_id) where c.kind = $5 and c.code = $6))
           order by lower(coalesce(n.name, p.name)), p.sku
           limit $7 offset $8"#,
        pattern,
        lang,
        today,
        all,
        code.as_ref().map(|c| c.kind.clone()),
        code.as_ref().map(|c| c.code.clone()),
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

/// What a scanned or typed code found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub vat_class: String,
    /// The prices on the day asked for, per unit of the product (or of the pack when `pack`).
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub pack: Option<FoundPack>,
    /// From a variable-measure code: the quantity in the product's unit, or the price printed.
    pub quantity: Option<Decimal>,
    pub price: Option<Decimal>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundPack {
    pub pack_id: Uuid,
    pub name: String,
    pub units: i32,
}

/// Why a look-up found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{0}")]
    Code(#[from] coop_domain::code::CodeError),
    #[error("no product has this code")]
    Unknown,
    #[error("a variable-measure code for a product sold by the piece, or the other way round")]
    UnitMismatch,
}

/// Finds what a code (GTIN, variable-measure code, PLU or SKU) sells, with its prices on
/// `today`, in one call.
pub async fn lookup(
    db: &PgPool,
    input: &str,
    rules: &[VariableMeasureRule],
    lang: &str,
    today: NaiveDate,
    minor_units: u32,
) -> Result<Result<Found, LookupError>, sqlx::Error> {
    let all_digits = !input.trim().is_empty() && input.trim().bytes().all(|b| b.is_ascii_digit());
    let (kind, code, measured) = if all_digits {
        match ProductCode::parse_scan(input, rules) {
            Ok(ProductCode::Gtin(g)) => ("gtin", g.to_gtin14().as_str().to_owned(), None),
            Ok(ProductCode::Plu(p)) => ("plu", p.as_str().to_owned(), None),
            Ok(ProductCode::VariableMeasure(v)) => {
                // The item digits name the product by its PLU (leading zeros dropped down to
                // three digits, as PLUs are typed).
                let item = v.item.trim_start_matches('0');
                let item = format!("{item:0>3}");
                ("plu", item, Some(v.value))
            }
            Ok(ProductCode::Sku(_)) => return Ok(Err(LookupError::Unknown)),
            Err(e) => return Ok(Err(LookupError::Code(e))),
        }
    } else {
        ("sku", input.trim().to_owned(), None)
    };
    let row = sqlx::query!(
        r#"select p.product_id as "product_id!", p.sku as "sku!", coalesce(n.name, p.name) as "name!",
                  p.unit as "unit!: SaleUnit", p.vat_class as "vat_class!", p.active as "active!",
                  coalesce(pc.shelf_price, p.shelf_price) as "shelf_price!",
                  case when pc.price_change_id is null then p.member_price else pc.member_price end
                      as "member_price?",
                  k.pack_id as "pack_id?", k.name as "pack_name?", k.units as "units?",
                  k.shelf_price as "pack_shelf?", k.member_price as "pack_member?"
           from product_code c
           left join pack k on k.pack_id = c.pack_id
           join product p on p.product_id = coalesce(c.product_id, k.product_id)
           left join product_name n on n.product_id = p.product_id and n.lang = $3
           left join lateral (select * from price_change x where x.product_id = p.product_id
                              and x.effective_on <= $4 order by x.effective_on desc limit 1) pc on true
           where $1 <> 'sku' and c.kind = $1 and c.code = $2
           union all
           select p.product_id, p.sku, coalesce(n.name, p.name), p.unit, p.vat_class, p.active,
                  coalesce(pc.shelf_price, p.shelf_price),
                  case when pc.price_change_id is null then p.member_price else pc.member_price end,
                  null, null, null, null, null
           from product p
           left join product_name n on n.product_id = p.product_id and n.lang = $3
           left join lateral (select * from price_change x where x.product_id = p.product_id
                              and x.effective_on <= $4 order by x.effective_on desc limit 1) pc on true
           where $1 = 'sku' and p.sku = $2
           limit 1"#,
        kind,
        code,
        lang,
        today
    )
    .fetch_optional(db)
    .await?;
    let Some(r) = row else {
        return Ok(Err(LookupError::Unknown));
    };
    let unit = r.unit;
    let (mut quantity, mut price) = (None, None);
    match measured {
        None => {}
        Some(MeasuredValue::Weight(q)) => {
            if unit != SaleUnit::Kg {
                return Ok(Err(LookupError::UnitMismatch));
            }
            let kg = q
                .convert_to(coop_domain::Unit::Kilogram)
                .map(|k| k.value())
                .unwrap_or_default();
            quantity = Some(kg);
        }
        Some(MeasuredValue::Count(n)) => {
            if unit != SaleUnit::Each {
                return Ok(Err(LookupError::UnitMismatch));
            }
            quantity = Some(Decimal::from(n));
        }
        Some(MeasuredValue::Price(minor)) => {
            let printed = Decimal::new(minor, minor_units);
            price = Some(printed);
            // The quantity the printed price buys at the shelf price, to the gram.
            let unit_price = r.shelf_price;
            if !unit_price.is_zero() {
                quantity = Some((printed / unit_price).round_dp(unit.decimals()));
            }
        }
    }
    let pack = match (r.pack_id, r.pack_name, r.units) {
        (Some(pack_id), Some(name), Some(units)) => Some(FoundPack {
            pack_id,
            name,
            units,
        }),
        _ => None,
    };
    let (shelf_price, member_price) = if pack.is_some() {
        (r.pack_shelf.unwrap_or_default(), r.pack_member)
    } else {
        (r.shelf_price, r.member_price)
    };
    Ok(Ok(Found {
        product_id: r.product_id,
        sku: r.sku,
        name: r.name,
        unit,
        vat_class: r.vat_class,
        shelf_price,
        member_price,
        pack,
        quantity,
        price,
        active: r.active,
    }))
}

/// The suppliers, for the product form's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Supplier {
    pub supplier_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub lead_time_days: i32,
}

pub async fn suppliers(db: &PgPool) -> Result<Vec<Supplier>, sqlx::Error> {
    sqlx::query_as!(
        Supplier,
        "select supplier_id, name, email, lead_time_days from supplier order by name"
    )
    .fetch_all(db)
    .await
}

/// Adds a supplier (or finds one by its name).
pub async fn supplier(
    db: &PgPool,
    name: &str,
    email: Option<&str>,
    lead_time_days: i32,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into supplier (supplier_id, name, email, lead_time_days) values ($1, $2, $3, $4)
         on conflict (name) do update set email = coalesce($3, supplier.email)
         returning supplier_id",
        Uuid::new_v4(),
        name,
        email,
        lead_time_days
    )
    .fetch_one(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stored_in_one_form_and_shown_as_scanned() {
        let ean13 = Code::parse("7310865004703").unwrap();
        assert_eq!(ean13.code, "07310865004703");
        assert_eq!(ean13.display(), "7310865004703");
        let upc = Code::parse("036000291452").unwrap();
        assert_eq!(
            upc,
            Code::parse("0036000291452").unwrap(),
            "UPC-A is its EAN-13"
        );
        let ean8 = Code::parse("96385074").unwrap();
        assert_eq!(ean8.display(), "96385074");
        assert_eq!(Code::parse("4011").unwrap().kind, "plu");
        assert!(Code::parse("7310865004704").is_err(), "check digit");
        assert!(Code::parse("12").is_err());
        assert!(parse_codes("4011 4011").is_err(), "twice");
    }

    #[test]
    fn money_has_the_currencys_decimals_and_quantities_their_units() {
        assert_eq!(parse_money("p", "24,90", 2).unwrap(), Decimal::new(2490, 2));
        assert!(parse_money("p", "24.999", 2).is_err());
        assert!(parse_money("p", "-1", 2).is_err());
        assert!(parse_money("p", "1e9", 2).is_err());
        assert!(parse_money("p", "5000000", 2).is_err());
        assert_eq!(parse_money("p", "100", 0).unwrap(), Decimal::from(100));
        assert!(parse_quantity("q", "1.5", SaleUnit::Each).is_err());
        assert_eq!(
            parse_quantity("q", "1,250", SaleUnit::Kg).unwrap(),
            Decimal::new(1250, 3)
        );
        assert!(parse_quantity("q", "0", SaleUnit::Kg).is_err());
        assert!(parse_quantity("q", "2000000", SaleUnit::Each).is_err());
    }
}
