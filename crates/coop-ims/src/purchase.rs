//! Purchase orders. A manager turns a supplier's reorder suggestions into a draft, changes
//! quantities, sends it (the supplier gets it as CSV or PDF), and receives against it: per line
//! what came in good order and what came damaged. The good units go into stock at the delivery
//! location as `received` movements (their value to coop-finance); short and damaged units stay
//! on the order for the claim with the supplier.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::catalogue::SaleUnit;
use crate::stock::{self, MovementKind, NewMovement, StockError};

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("no such order")]
    NoOrder,
    #[error("this order is {0}: it cannot be changed that way")]
    WrongStatus(String),
    #[error("nothing to order from this supplier now")]
    Empty,
    #[error("{0}")]
    Quantity(String),
    #[error(transparent)]
    Stock(#[from] StockError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Makes a draft order for `supplier`, delivered to `location`, from the current suggestions.
pub async fn from_suggestions(
    db: &PgPool,
    supplier: Uuid,
    location: Uuid,
    today: NaiveDate,
    by: Option<Uuid>,
) -> Result<Uuid, OrderError> {
    let rows = crate::reports::velocity(db, today).await?;
    let Some(order) = crate::reports::reorder(&rows)
        .into_iter()
        .find(|o| o.supplier_id == Some(supplier))
    else {
        return Err(OrderError::Empty);
    };
    let mut tx = db.begin().await?;
    let id = Uuid::new_v4();
    sqlx::query!(
        "insert into purchase_order (purchase_order_id, supplier_id, location_id, created_by)
         values ($1, $2, $3, $4)",
        id,
        supplier,
        location,
        by
    )
    .execute(&mut *tx)
    .await?;
    for l in &order.lines {
        sqlx::query!(
            "insert into purchase_order_line (purchase_order_id, product_id, quantity, unit_cost)
             select $1, $2, $3, cost from product where product_id = $2",
            id,
            l.product_id,
            l.quantity
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// An order's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Order {
    pub purchase_order_id: Uuid,
    pub number: i32,
    pub supplier_id: Uuid,
    pub supplier: String,
    pub supplier_email: Option<String>,
    pub location: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    /// The address it was last mailed to, and when.
    pub mailed_to: Option<String>,
    pub mailed_at: Option<DateTime<Utc>>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub supplier_article: Option<String>,
    pub case_size: Decimal,
    pub quantity: Decimal,
    pub unit_cost: Decimal,
    pub received: Option<Decimal>,
    pub damaged: Option<Decimal>,
}

impl Line {
    pub fn value(&self) -> Decimal {
        (self.quantity * self.unit_cost).round_dp(2)
    }

    /// Ordered but not delivered (good or damaged), once received.
    pub fn short(&self) -> Option<Decimal> {
        Some((self.quantity - self.received? - self.damaged?).max(Decimal::ZERO))
    }
}

pub async fn list(db: &PgPool) -> Result<Vec<Order>, sqlx::Error> {
    sqlx::query_as!(
        Order,
        r#"select o.purchase_order_id, o.number, o.supplier_id, s.name as supplier,
                  s.email as supplier_email, l.name as location, o.status, o.created_at,
                  o.sent_at, o.received_at, o.mailed_to, o.mailed_at
           from purchase_order o join supplier s using (supplier_id)
           join location l using (location_id)
           order by o.number desc limit 100"#
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &PgPool, id: Uuid) -> Result<Option<(Order, Vec<Line>)>, sqlx::Error> {
    let Some(order) = sqlx::query_as!(
        Order,
        r#"select o.purchase_order_id, o.number, o.supplier_id, s.name as supplier,
                  s.email as supplier_email, l.name as location, o.status, o.created_at,
                  o.sent_at, o.received_at, o.mailed_to, o.mailed_at
           from purchase_order o join supplier s using (supplier_id)
           join location l using (location_id)
           where o.purchase_order_id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query_as!(
        Line,
        r#"select p.product_id, p.sku, p.name, p.unit as "unit: SaleUnit", p.supplier_article,
                  p.case_size, l.quantity, l.unit_cost, l.received, l.damaged
           from purchase_order_line l join product p using (product_id)
           where l.purchase_order_id = $1 order by p.name"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(Some((order, lines)))
}

async fn status_for_update(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<(String, Uuid), OrderError> {
    let r = sqlx::query!(
        "select status, location_id from purchase_order where purchase_order_id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(OrderError::NoOrder)?;
    Ok((r.status, r.location_id))
}

fn check_quantity(q: Decimal, unit: SaleUnit, what: &str) -> Result<(), OrderError> {
    if q.is_sign_negative() || q >= Decimal::from(1_000_000) {
        return Err(OrderError::Quantity(format!(
            "{what}: zero or more, below 1 000 000"
        )));
    }
    if q.normalize().scale() > unit.decimals() {
        return Err(OrderError::Quantity(format!(
            "{what}: {}",
            if unit == SaleUnit::Each {
                "a whole number"
            } else {
                "at most three decimals"
            }
        )));
    }
    Ok(())
}

/// Sets a draft's quantities (product, quantity); zero removes the line. All or nothing.
pub async fn set_quantities(
    db: &PgPool,
    id: Uuid,
    quantities: &[(Uuid, Decimal)],
) -> Result<(), OrderError> {
    let mut tx = db.begin().await?;
    let (status, _) = status_for_update(&mut tx, id).await?;
    if status != "draft" {
        return Err(OrderError::WrongStatus(status));
    }
    for (product, q) in quantities {
        let unit = sqlx::query_scalar!(
            r#"select p.unit as "unit: SaleUnit" from purchase_order_line l
               join product p using (product_id)
               where l.purchase_order_id = $1 and l.product_id = $2"#,
            id,
            product
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| OrderError::Quantity(format!("{product} is not on this order")))?;
        check_quantity(*q, unit, "quantity")?;
        if q.is_zero() {
            sqlx::query!(
                "delete from purchase_order_line where purchase_order_id = $1 and product_id = $2",
                id,
                product
            )
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query!(
                "update purchase_order_line set quantity = $3
                 where purchase_order_id = $1 and product_id = $2",
                id,
                product,
                q
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    let left = sqlx::query_scalar!(
        r#"select count(*) as "n!" from purchase_order_line where purchase_order_id = $1"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if left == 0 {
        return Err(OrderError::Empty);
    }
    tx.commit().await?;
    Ok(())
}

/// Records that a sent order was mailed to `to` just now.
pub async fn mark_mailed(db: &PgPool, id: Uuid, to: &str) -> Result<(), OrderError> {
    let mut tx = db.begin().await?;
    let (status, _) = status_for_update(&mut tx, id).await?;
    if status != "sent" {
        return Err(OrderError::WrongStatus(status));
    }
    sqlx::query!(
        "update purchase_order set mailed_to = $2, mailed_at = now() where purchase_order_id = $1",
        id,
        to
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a draft as sent.
pub async fn send(db: &PgPool, id: Uuid) -> Result<(), OrderError> {
    let mut tx = db.begin().await?;
    let (status, _) = status_for_update(&mut tx, id).await?;
    if status != "draft" {
        return Err(OrderError::WrongStatus(status));
    }
    sqlx::query!(
        "update purchase_order set status = 'sent', sent_at = now() where purchase_order_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Receives a sent order: per product, the good units and the damaged ones (a product not
/// given came short entirely). The good units go into stock; the rest stays on the order.
pub async fn receive(
    db: &PgPool,
    id: Uuid,
    delivered: &[(Uuid, Decimal, Decimal)],
    on: NaiveDate,
    by: Option<Uuid>,
) -> Result<(), OrderError> {
    let mut tx = db.begin().await?;
    let (status, location) = status_for_update(&mut tx, id).await?;
    if status != "sent" {
        return Err(OrderError::WrongStatus(status));
    }
    let lines = sqlx::query!(
        r#"select l.product_id, p.unit as "unit: SaleUnit" from purchase_order_line l
           join product p using (product_id) where l.purchase_order_id = $1
           order by l.product_id"#,
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    for (product, _, _) in delivered {
        if !lines.iter().any(|l| l.product_id == *product) {
            return Err(OrderError::Quantity(format!(
                "{product} is not on this order"
            )));
        }
    }
    let note = format!("purchase order {id}");
    let mut value = Decimal::ZERO;
    for l in &lines {
        let (good, damaged) = delivered
            .iter()
            .find(|(p, _, _)| *p == l.product_id)
            .map_or((Decimal::ZERO, Decimal::ZERO), |(_, g, d)| (*g, *d));
        check_quantity(good, l.unit, "received")?;
        check_quantity(damaged, l.unit, "damaged")?;
        sqlx::query!(
            "update purchase_order_line set received = $3, damaged = $4
             where purchase_order_id = $1 and product_id = $2",
            id,
            l.product_id,
            good,
            damaged
        )
        .execute(&mut *tx)
        .await?;
        if good > Decimal::ZERO {
            let (_, cost) = stock::record(
                &mut tx,
                &NewMovement {
                    product_id: l.product_id,
                    location_id: location,
                    kind: MovementKind::Received,
                    reason: None,
                    quantity: good,
                    on,
                    source_key: None,
                    transfer_id: None,
                    note: Some(&note),
                    by,
                },
            )
            .await?;
            value += cost;
        }
    }
    if !value.is_zero() {
        stock::publish_moved(&mut tx, MovementKind::Received, None, on, value).await?;
    }
    sqlx::query!(
        "update purchase_order set status = 'received', received_at = now()
         where purchase_order_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The order as CSV for the supplier (`;`, `.` decimals).
pub fn csv(order: &Order, lines: &[Line]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    w.write_record([
        "order",
        "supplier_article",
        "sku",
        "name",
        "unit",
        "quantity",
        "cases",
        "unit_cost",
    ])?;
    for l in lines {
        let cases = if l.case_size > Decimal::ZERO {
            (l.quantity / l.case_size).round_dp(2)
        } else {
            l.quantity
        };
        w.write_record([
            order.number.to_string(),
            l.supplier_article.clone().unwrap_or_default(),
            l.sku.clone(),
            l.name.clone(),
            l.unit.as_str().to_owned(),
            l.quantity.normalize().to_string(),
            cases.normalize().to_string(),
            format!("{:.2}", l.unit_cost),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The words and formats a purchase order's PDF needs, in the reader's language.
pub struct PdfLabels<'a> {
    pub t: &'a dyn Fn(&str) -> String,
    pub format: coop_web::format::Format,
    pub currency: coop_domain::Currency,
    pub org_name: &'a str,
    pub org_number: Option<&'a str>,
}

impl std::fmt::Debug for PdfLabels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfLabels")
            .field("org_name", &self.org_name)
            .finish_non_exhaustive()
    }
}

/// The order as a PDF for the supplier: who orders, where it goes, a line per product with the
/// supplier's article number, quantity, cases, price and value, and the total.
pub fn pdf(order: &Order, lines: &[Line], l: &PdfLabels<'_>) -> Vec<u8> {
    use coop_web::pdf::{finish, Align, Column, Layout, Meta};
    let t = l.t;
    let money = |d: Decimal| l.format.money(coop_domain::Money::new(d, l.currency));
    let mut doc = Layout::new();
    doc.heading(l.org_name, 16.0);
    if let Some(n) = l.org_number {
        doc.para(&format!("{} {n}", t("ims-pdf-org-number")));
    }
    let title = format!("{} {}", t("ims-pdf-order-title"), order.number);
    doc.heading(&title, 13.0);
    doc.para(&format!("{}: {}", t("ims-supplier"), order.supplier));
    doc.para(&format!("{}: {}", t("ims-pdf-deliver-to"), order.location));
    doc.para(&format!(
        "{}: {}",
        t("ims-date"),
        l.format.date(order.sent_at.unwrap_or(order.created_at))
    ));
    doc.y -= 8.0;
    let col = |x: f32, w: f32, align| Column { x, w, align };
    let cols = [
        col(0.0, 70.0, Align::Left),
        col(70.0, 200.0, Align::Left),
        col(270.0, 60.0, Align::Right),
        col(330.0, 50.0, Align::Right),
        col(380.0, 103.0, Align::Right),
    ];
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|x| {
            let cases = if x.case_size > Decimal::ZERO {
                (x.quantity / x.case_size).round_dp(2)
            } else {
                x.quantity
            };
            vec![
                x.supplier_article.clone().unwrap_or_else(|| x.sku.clone()),
                x.name.clone(),
                l.format.number(x.quantity, x.unit.decimals()),
                l.format.number(cases, 0),
                money(x.value()),
            ]
        })
        .collect();
    doc.table(
        &cols,
        &[
            t("ims-pdf-article"),
            t("ims-name"),
            t("ims-quantity"),
            t("ims-cases"),
            t("ims-value"),
        ],
        &rows,
    );
    let total: Decimal = lines.iter().map(Line::value).sum();
    doc.row(
        &cols,
        &[
            t("ims-pdf-total"),
            String::new(),
            String::new(),
            String::new(),
            money(total),
        ],
        true,
    );
    let page_word = t("ims-pdf-page");
    let foot = |n: usize, count: usize| format!("{title} · {page_word} {n} / {count}");
    finish(
        doc,
        &Meta {
            title: &title,
            author: l.org_name,
            lang: l.format.lang.code(),
            producer: "Cooperage coop-ims",
            foot: &foot,
        },
    )
}
