//! A supplier's price list (CSV) into the catalogue. Every row is checked first and every bad
//! row reported by its line number; nothing is imported unless all rows are good, or the manager
//! chose to skip the bad ones. A row names a product by the supplier's article number (or its
//! barcode): a known product gets the new cost, case size and (if given) price; an unknown one
//! is added, not on sale until a manager has looked at it.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::catalogue::{self, Code, ProductDraft, SaleUnit};

/// A bad row: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

/// A good row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub article: String,
    pub name: String,
    pub gtin: Option<Code>,
    pub unit: SaleUnit,
    pub case_size: Decimal,
    pub cost: Decimal,
    pub price: Option<Decimal>,
    pub vat_class: Option<String>,
}

/// The header names each column answers to (English or Swedish, any case).
const COLUMNS: [(&str, &[&str]); 8] = [
    (
        "article",
        &[
            "article",
            "supplier_article",
            "artikel",
            "artikelnummer",
            "artnr",
        ],
    ),
    ("name", &["name", "namn", "benämning"]),
    ("gtin", &["gtin", "ean", "barcode", "streckkod"]),
    ("unit", &["unit", "enhet"]),
    (
        "case_size",
        &[
            "case_size",
            "case",
            "kartong",
            "antal per kartong",
            "förpackning",
        ],
    ),
    ("cost", &["cost", "price_ex_vat", "inpris", "pris ex moms"]),
    ("price", &["price", "shelf_price", "utpris", "hyllpris"]),
    ("vat_class", &["vat_class", "momsklass"]),
];

/// Reads the file: good rows, and every bad row with its reason. A file without the needed
/// columns (article, name, cost) is one error on line 1.
pub fn parse(bytes: &[u8], minor_units: u32, vat_classes: &[String]) -> (Vec<Row>, Vec<RowError>) {
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes));
    let delimiter = if text.lines().next().is_some_and(|h| h.contains(';')) {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let Ok(header) = reader.headers().cloned() else {
        return (
            Vec::new(),
            vec![RowError {
                line: 1,
                message: "the file has no header row".into(),
            }],
        );
    };
    let find = |key: &str| {
        let names = COLUMNS
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&[][..], |(_, n)| *n);
        header
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let (Some(article), Some(name), Some(cost)) = (find("article"), find("name"), find("cost"))
    else {
        return (
            Vec::new(),
            vec![RowError {
                line: 1,
                message: "the header needs the columns article, name and cost (artikelnummer, namn, inpris)".into(),
            }],
        );
    };
    let (gtin, unit, case, price, vat) = (
        find("gtin"),
        find("unit"),
        find("case_size"),
        find("price"),
        find("vat_class"),
    );
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let field = |col: Option<usize>| col.and_then(|col| record.get(col)).map_or("", str::trim);
        let mut bad = |m: String| errors.push(RowError { line, message: m });
        let art = field(Some(article));
        if art.is_empty() || art.chars().count() > 64 {
            bad("the article number is missing or longer than 64 characters".into());
            continue;
        }
        if !seen.insert(art.to_owned()) {
            bad(format!("article {art} is listed twice"));
            continue;
        }
        let nm = field(Some(name));
        if nm.is_empty() || nm.chars().count() > 200 {
            bad(format!(
                "article {art}: a name of 1 to 200 characters is needed"
            ));
            continue;
        }
        let unit_of = match field(unit) {
            "" => SaleUnit::Each,
            s => {
                let lower = s.to_lowercase();
                let known = SaleUnit::parse(&lower).or_else(|| {
                    ["st", "styck", "pcs"]
                        .contains(&lower.as_str())
                        .then_some(SaleUnit::Each)
                });
                let Some(unit_of) = known else {
                    bad(format!("article {art}: the unit is each, kg or l, not {s}"));
                    continue;
                };
                unit_of
            }
        };
        let cost_of = match catalogue::parse_money("cost", field(Some(cost)), minor_units) {
            Ok(cost_of) => cost_of,
            Err(e) => {
                bad(format!("article {art}: {e}"));
                continue;
            }
        };
        let price_of = match field(price) {
            "" => None,
            s => match catalogue::parse_money("price", s, minor_units) {
                Ok(price_of) => Some(price_of),
                Err(e) => {
                    bad(format!("article {art}: {e}"));
                    continue;
                }
            },
        };
        let case_of = match field(case) {
            "" => Decimal::ONE,
            s => match catalogue::parse_quantity("case_size", s, SaleUnit::Kg) {
                Ok(q) if q > Decimal::ZERO => q,
                _ => {
                    bad(format!(
                        "article {art}: the case size is a number above zero, not {s}"
                    ));
                    continue;
                }
            },
        };
        let gtin_of = match field(gtin) {
            "" => None,
            s => match Code::parse(s) {
                Ok(code) if code.kind == "gtin" => Some(code),
                _ => {
                    bad(format!(
                        "article {art}: {s} is not a barcode with a right check digit"
                    ));
                    continue;
                }
            },
        };
        let vat_of = match field(vat) {
            "" => None,
            s if vat_classes.iter().any(|class| class == s) => Some(s.to_owned()),
            s => {
                bad(format!(
                    "article {art}: VAT class {s} is not one of {}",
                    vat_classes.join(", ")
                ));
                continue;
            }
        };
        rows.push(Row {
            line,
            article: art.to_owned(),
            name: nm.to_owned(),
            gtin: gtin_of,
            unit: unit_of,
            case_size: case_of,
            cost: cost_of,
            price: price_of,
            vat_class: vat_of,
        });
    }
    (rows, errors)
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub updated: usize,
    pub added: usize,
    pub skipped: usize,
}

/// Applies good rows for `supplier` in one transaction (with each product's feed event): a
/// product found by the supplier's article number, or else by the barcode (only among products
/// of this supplier or of none: one supplier's list never takes over another's product, and
/// such a row refuses the lot, naming the barcode), gets the new cost,
/// case size and price; an unknown article is added, not on sale, with the co-op's first VAT
/// class unless the row names one. A barcode that belongs to another product refuses the lot.
pub async fn apply(
    db: &PgPool,
    supplier: Uuid,
    rows: &[Row],
    default_vat: &str,
) -> Result<Imported, catalogue::CatalogueError> {
    let mut out = Imported::default();
    let mut tx = db.begin().await?;
    for r in rows {
        let existing = sqlx::query_scalar!(
            "select product_id from product where supplier_id = $1 and supplier_article = $2
             union all
             select p.product_id from product_code c join product p using (product_id)
             where c.kind = 'gtin' and c.code = $3
               and (p.supplier_id is null or p.supplier_id = $1)
             limit 1",
            supplier,
            r.article,
            r.gtin.as_ref().map(|g| g.code.clone())
        )
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        if let Some(id) = existing {
            sqlx::query!(
                "update product set cost = $2, case_size = $3,
                     shelf_price = coalesce($4, shelf_price),
                     member_price = case when $4::numeric is not null and member_price > $4
                                         then $4 else member_price end,
                     supplier_id = $5, supplier_article = $6, updated_at = now()
                 where product_id = $1",
                id,
                r.cost,
                r.case_size,
                r.price,
                supplier,
                r.article
            )
            .execute(&mut *tx)
            .await?;
            catalogue::publish(&mut tx, id).await?;
            out.updated += 1;
        } else {
            let draft = ProductDraft {
                sku: r.article.clone(),
                name: r.name.clone(),
                names: std::collections::BTreeMap::new(),
                unit: r.unit,
                vat_class: r
                    .vat_class
                    .clone()
                    .unwrap_or_else(|| default_vat.to_owned()),
                supplier_id: Some(supplier),
                supplier_article: Some(r.article.clone()),
                cost: r.cost,
                shelf_price: r.price.unwrap_or(r.cost),
                member_price: None,
                case_size: r.case_size,
                active: false,
                aisle: None,
                shelf: None,
                codes: r.gtin.iter().cloned().collect(),
            };
            catalogue::create_in(&mut tx, &draft).await.map_err(|e| match e {
                catalogue::CatalogueError::DuplicateSku(_) => catalogue::CatalogueError::Invalid {
                    field: "file",
                    message: format!(
                        "line {}: a product with the SKU {} exists already; give it the supplier's article number",
                        r.line, r.article
                    ),
                },
                catalogue::CatalogueError::DuplicateCode(c) => catalogue::CatalogueError::Invalid {
                    field: "file",
                    message: format!("line {}: the barcode {c} belongs to another product", r.line),
                },
                other => other,
            })?;
            out.added += 1;
        }
    }
    tx.commit().await?;
    Ok(out)
}
