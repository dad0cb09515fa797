//! A supplier's price list, uploaded as CSV: each row a product, added or (by its article number)
//! updated. Every row is checked first; one bad row and nothing is imported, and the page lists
//! every bad row by its line with what is wrong.
//!
//! Columns (a header row names them, in any order, English or Swedish): `name`/`namn`,
//! `unit`/`enhet`, `price`/`pris` (per unit, VAT included; `12,50` or `12.50`), and optionally
//! `article`/`artikel`, `case_size`/`kartong` (default 1), `vat_class`/`moms` (default the co-op's
//! first class). A `;` separator (a Swedish spreadsheet's) is taken as well as `,`.

use coop_domain::money::Money;
use coop_domain::quantity::Quantity;
use coop_domain::Currency;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{ProductDraft, Refused};

/// A row that cannot be imported, by its line in the file (1: the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub added: usize,
    pub updated: usize,
}

/// The most rows a price list may have.
pub const MAX_ROWS: usize = 10_000;

fn column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

/// Reads a price list: the drafts of its good rows, and its bad rows.
#[must_use]
pub fn parse(
    bytes: &[u8],
    currency: Currency,
    vat_classes: &[String],
) -> (Vec<ProductDraft>, Vec<RowError>) {
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let err = |line: usize, message: String| RowError { line, message };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return (Vec::new(), vec![err(1, format!("not a CSV file: {e}"))]),
    };
    let (Some(name), Some(unit), Some(price)) = (
        column(&headers, &["name", "namn"]),
        column(&headers, &["unit", "enhet"]),
        column(&headers, &["price", "pris"]),
    ) else {
        return (
            Vec::new(),
            vec![err(1, "the first row names the columns: name, unit and price at least (namn, enhet, pris)".into())],
        );
    };
    let article = column(&headers, &["article", "artikel", "article_id"]);
    let case = column(&headers, &["case_size", "kartong", "case"]);
    let vat = column(&headers, &["vat_class", "moms", "vat"]);
    let mut drafts = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        if i >= MAX_ROWS {
            errors.push(err(
                line,
                format!("a price list has at most {MAX_ROWS} rows"),
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(line, format!("unreadable: {e}")));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let unit_price = match Money::parse(&get(Some(price)), currency) {
            Ok(m) if !m.amount().is_sign_negative() => m.amount(),
            _ => {
                errors.push(err(
                    line,
                    format!(
                        "the price {:?} is not an amount such as 12,50",
                        get(Some(price))
                    ),
                ));
                continue;
            }
        };
        let case_text = get(case);
        let case_size = if case_text.is_empty() {
            Decimal::ONE
        } else if let Some(q) = Quantity::parse(&case_text)
            .ok()
            .map(|q| q.value())
            .filter(|q| *q > Decimal::ZERO)
        {
            q
        } else {
            errors.push(err(
                line,
                format!("the case size {case_text:?} is not a number above 0"),
            ));
            continue;
        };
        let vat_text = get(vat);
        let draft = ProductDraft {
            name: get(Some(name)),
            article_id: get(article),
            unit: get(Some(unit)),
            case_size,
            unit_price,
            vat_class: if vat_text.is_empty() {
                vat_classes.first().cloned().unwrap_or_default()
            } else {
                vat_text
            },
        };
        match draft.check(vat_classes, currency.minor_units()) {
            Ok(()) => drafts.push((line, draft)),
            Err(e) => errors.push(err(line, e.to_string())),
        }
    }
    // The same article number twice in one list.
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (line, d) in &drafts {
        if d.article_id.is_empty() {
            continue;
        }
        if let Some((_, first)) = seen.iter().find(|(a, _)| *a == d.article_id) {
            errors.push(err(
                *line,
                format!("article {} is on line {first} too", d.article_id),
            ));
        } else {
            seen.push((&d.article_id, *line));
        }
    }
    errors.sort_by_key(|e| e.line);
    (drafts.into_iter().map(|(_, d)| d).collect(), errors)
}

/// Imports the rows for `supplier` in one transaction: a row whose article number the supplier
/// has already updates that product; any other is added.
///
/// # Errors
/// No such supplier; the database's.
pub async fn apply(
    db: &PgPool,
    by: Uuid,
    supplier: Uuid,
    rows: &[ProductDraft],
) -> Result<Imported, Refused> {
    let mut tx = db.begin().await?;
    let live: bool = sqlx::query_scalar(
        "select exists (select 1 from supplier where supplier_id = $1 and deleted_at is null for update)",
    )
    .bind(supplier)
    .fetch_one(&mut *tx)
    .await?;
    if !live {
        return Err(Refused::NotFound);
    }
    let mut done = Imported::default();
    for d in rows {
        let updated = if d.article_id.is_empty() {
            0
        } else {
            sqlx::query(
                "update product set name = $3, unit = $4, case_size = $5, unit_price = $6, vat_class = $7
                 where supplier_id = $1 and article_id = $2 and deleted_at is null",
            )
            .bind(supplier)
            .bind(&d.article_id)
            .bind(d.name.trim())
            .bind(d.unit.trim())
            .bind(d.case_size)
            .bind(d.unit_price)
            .bind(&d.vat_class)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if updated == 1 {
            done.updated += 1;
        } else {
            sqlx::query(
                "insert into product (product_id, supplier_id, name, article_id, unit, case_size,
                                      unit_price, vat_class, created_by)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(Uuid::new_v4())
            .bind(supplier)
            .bind(d.name.trim())
            .bind(d.article_id.trim())
            .bind(d.unit.trim())
            .bind(d.case_size)
            .bind(d.unit_price)
            .bind(&d.vat_class)
            .bind(by)
            .execute(&mut *tx)
            .await?;
            done.added += 1;
        }
    }
    tx.commit().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn classes() -> Vec<String> {
        vec!["food".into(), "standard".into()]
    }

    #[test]
    fn a_swedish_list_with_semicolons_and_commas_reads() {
        let csv = "artikel;namn;enhet;kartong;pris;moms\nVM2;Vetemjöl 2 kg;st;10;32,00;food\n;Honung;burk;;95;\n";
        let (rows, errors) = parse(csv.as_bytes(), Currency::SEK, &classes());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].case_size, rows[0].unit_price),
            (dec!(10), dec!(32.00))
        );
        assert_eq!(
            (rows[1].case_size, rows[1].vat_class.as_str()),
            (dec!(1), "food")
        );
    }

    #[test]
    fn every_bad_row_is_reported_by_its_line() {
        let csv = "name,unit,price,case_size,vat_class,article\n\
                   Ok,st,10,1,food,A\n\
                   No price,st,,1,food,B\n\
                   Bad case,st,5,-2,food,C\n\
                   Unknown VAT,st,5,1,books,D\n\
                   Too precise,st,5.005,1,food,E\n\
                   Twice,st,5,1,food,A\n\
                   ,st,5,1,food,F\n";
        let (rows, errors) = parse(csv.as_bytes(), Currency::SEK, &classes());
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 8], "{errors:?}");
        assert!(errors[4].message.contains("line 2"), "{errors:?}");
        assert_eq!(
            rows.len(),
            2,
            "the good rows, the duplicate among them, are read"
        );
        // No header naming the columns.
        let (_, errors) = parse(b"a,b,c\n1,2,3\n", Currency::SEK, &classes());
        assert_eq!(errors[0].line, 1);
    }
}
