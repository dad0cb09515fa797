//! Stock audits. A manager starts a full count of a location (every active product) or a cycle
//! count of a sample the system proposes, weighted to the products where a mistake costs most:
//! high stock value and large past differences. Staff enter counts on a sheet (a phone will do);
//! each count is compared with what the books said at that moment. The count is submitted, a
//! manager reads the variance report and approves it, and only then does each difference post as
//! a `counted` movement (and its value go to coop-finance). Nothing posts before approval.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::catalogue::SaleUnit;
use crate::stock::{self, MovementKind, NewMovement, StockError};

/// Why an audit step was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("no such audit")]
    NoAudit,
    #[error("this audit is {0}: it takes no more of that")]
    WrongStatus(String),
    #[error("{0} is not on this count sheet")]
    NotInAudit(Uuid),
    #[error("{0}")]
    Count(String),
    #[error("a sample has 1 to 500 products")]
    SampleSize,
    #[error("nothing to count at this location")]
    Empty,
    #[error("a count is open at this location already")]
    Open,
    #[error(transparent)]
    Stock(#[from] StockError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// How an audit chooses its products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every active product.
    Full,
    /// A weighted sample of this many products.
    Cycle(i64),
}

/// Starts an audit of `location`; returns its id. One open audit per location at a time.
pub async fn start(
    db: &PgPool,
    location: Uuid,
    scope: Scope,
    by: Option<Uuid>,
) -> Result<Uuid, AuditError> {
    if let Scope::Cycle(n) = scope {
        if !(1..=500).contains(&n) {
            return Err(AuditError::SampleSize);
        }
    }
    let mut tx = db.begin().await?;
    // One writer at a time per location decides whether one is open.
    sqlx::query!(
        "select location_id from location where location_id = $1 for update",
        location
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuditError::Stock(StockError::NoLocation))?;
    let open = sqlx::query_scalar!(
        r#"select exists (select 1 from audit where location_id = $1
                          and status in ('counting', 'submitted')) as "x!""#,
        location
    )
    .fetch_one(&mut *tx)
    .await?;
    if open {
        return Err(AuditError::Open);
    }
    let id = Uuid::new_v4();
    let kind = match scope {
        Scope::Full => "full",
        Scope::Cycle(_) => "cycle",
    };
    sqlx::query!(
        "insert into audit (audit_id, location_id, kind, created_by) values ($1, $2, $3, $4)",
        id,
        location,
        kind,
        by
    )
    .execute(&mut *tx)
    .await?;
    let added = match scope {
        Scope::Full => {
            sqlx::query!(
                "insert into audit_line (audit_id, product_id)
                 select $1, product_id from product where active",
                id
            )
            .execute(&mut *tx)
            .await?
        }
        Scope::Cycle(n) => {
            // Efraimidis-Spirakis: each product's key is -ln(u)/weight, the smallest n win, so
            // a product is drawn with a chance in proportion to its weight: its stock value here
            // plus the value of the differences counted for it in the last 180 days (twice, so
            // a product that was wrong before is looked at again), plus one so none is never
            // drawn.
            sqlx::query!(
                "insert into audit_line (audit_id, product_id)
                 select $1, p.product_id
                 from product p
                 left join stock_level l on l.product_id = p.product_id and l.location_id = $2
                 left join (select product_id, sum(abs(quantity * unit_cost)) as missed
                            from stock_movement
                            where kind = 'counted' and location_id = $2
                              and occurred_on > current_date - 180
                            group by product_id) v on v.product_id = p.product_id
                 where p.active
                 order by -ln(1.0 - random()) /
                          (1 + greatest(coalesce(l.on_hand, 0), 0) * p.cost
                             + 2 * coalesce(v.missed, 0))::float8
                 limit $3",
                id,
                location,
                n
            )
            .execute(&mut *tx)
            .await?
        }
    };
    if added.rows_affected() == 0 {
        return Err(AuditError::Empty);
    }
    tx.commit().await?;
    Ok(id)
}

/// An audit as its pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audit {
    pub audit_id: Uuid,
    pub location_id: Uuid,
    pub location: String,
    pub kind: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub lines: i64,
    pub counted: i64,
}

pub async fn list(db: &PgPool) -> Result<Vec<Audit>, sqlx::Error> {
    sqlx::query_as!(
        Audit,
        r#"select a.audit_id, a.location_id, o.name as location, a.kind, a.status, a.created_at,
                  (select count(*) from audit_line l where l.audit_id = a.audit_id) as "lines!",
                  (select count(*) from audit_line l where l.audit_id = a.audit_id
                     and l.counted is not null) as "counted!"
           from audit a join location o using (location_id)
           order by a.created_at desc limit 50"#
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &PgPool, id: Uuid) -> Result<Option<Audit>, sqlx::Error> {
    sqlx::query_as!(
        Audit,
        r#"select a.audit_id, a.location_id, o.name as location, a.kind, a.status, a.created_at,
                  (select count(*) from audit_line l where l.audit_id = a.audit_id) as "lines!",
                  (select count(*) from audit_line l where l.audit_id = a.audit_id
                     and l.counted is not null) as "counted!"
           from audit a join location o using (location_id) where a.audit_id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// One line of the count sheet and, once counted, of the variance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub aisle: Option<String>,
    pub shelf: Option<String>,
    pub cost: Decimal,
    pub expected: Option<Decimal>,
    pub counted: Option<Decimal>,
}

impl Line {
    /// Counted less expected, once counted.
    pub fn variance(&self) -> Option<Decimal> {
        Some(self.counted? - self.expected?)
    }
}

/// The sheet, in the order one walks the shop: aisle, shelf, name.
pub async fn lines(db: &PgPool, id: Uuid) -> Result<Vec<Line>, sqlx::Error> {
    sqlx::query_as!(
        Line,
        r#"select p.product_id, p.sku, p.name, p.unit as "unit: SaleUnit", p.aisle, p.shelf,
                  p.cost, l.expected, l.counted
           from audit_line l join product p using (product_id)
           where l.audit_id = $1
           order by p.aisle nulls last, p.shelf nulls last, p.name"#,
        id
    )
    .fetch_all(db)
    .await
}

async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<(Uuid, String), AuditError> {
    let r = sqlx::query!(
        "select location_id, status from audit where audit_id = $1 for update",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AuditError::NoAudit)?;
    Ok((r.location_id, r.status))
}

/// Enters counts (product, quantity counted) on an open sheet, all or none: a product not on
/// the sheet, a negative or over-precise quantity refuses the lot. A product counted again takes
/// the new count.
pub async fn count(
    db: &PgPool,
    id: Uuid,
    counts: &[(Uuid, Decimal)],
    by: Option<Uuid>,
) -> Result<usize, AuditError> {
    let mut tx = db.begin().await?;
    let (location, status) = lock(&mut tx, id).await?;
    if status != "counting" {
        return Err(AuditError::WrongStatus(status));
    }
    for (product, quantity) in counts {
        let unit = sqlx::query_scalar!(
            r#"select p.unit as "unit: SaleUnit" from audit_line l join product p using (product_id)
               where l.audit_id = $1 and l.product_id = $2"#,
            id,
            product
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuditError::NotInAudit(*product))?;
        if quantity.is_sign_negative() || *quantity >= Decimal::from(1_000_000) {
            return Err(AuditError::Count(
                "a count is zero or more, below 1 000 000".into(),
            ));
        }
        if quantity.normalize().scale() > unit.decimals() {
            return Err(AuditError::Count(if unit == SaleUnit::Each {
                "a whole number for a product counted by the piece".into()
            } else {
                "at most three decimals".into()
            }));
        }
        sqlx::query!(
            "update audit_line set counted = $3, counted_at = now(), counted_by = $4,
                 expected = coalesce((select on_hand from stock_level
                                      where product_id = $2 and location_id = $5), 0)
             where audit_id = $1 and product_id = $2",
            id,
            product,
            quantity,
            by,
            location
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(counts.len())
}

/// Closes the sheet for counting: every line must be counted.
pub async fn submit(db: &PgPool, id: Uuid) -> Result<(), AuditError> {
    let mut tx = db.begin().await?;
    let (_, status) = lock(&mut tx, id).await?;
    if status != "counting" {
        return Err(AuditError::WrongStatus(status));
    }
    let missing = sqlx::query_scalar!(
        r#"select count(*) as "n!" from audit_line where audit_id = $1 and counted is null"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if missing > 0 {
        return Err(AuditError::Count(format!(
            "{missing} products are not counted yet"
        )));
    }
    sqlx::query!(
        "update audit set status = 'submitted', submitted_at = now() where audit_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A manager approves a submitted count: each difference posts as a `counted` movement, and
/// their value goes to coop-finance as one `stock.moved`. Returns how many products differed.
pub async fn approve(
    db: &PgPool,
    id: Uuid,
    by: Option<Uuid>,
    on: chrono::NaiveDate,
) -> Result<usize, AuditError> {
    let mut tx = db.begin().await?;
    let (location, status) = lock(&mut tx, id).await?;
    if status != "submitted" {
        return Err(AuditError::WrongStatus(status));
    }
    let diffs = sqlx::query!(
        r#"select product_id, counted - expected as "diff!" from audit_line
           where audit_id = $1 and counted <> expected order by product_id"#,
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut value = Decimal::ZERO;
    let note = format!("audit {id}");
    for d in &diffs {
        let (_, cost) = stock::record(
            &mut tx,
            &NewMovement {
                product_id: d.product_id,
                location_id: location,
                kind: MovementKind::Counted,
                reason: None,
                quantity: d.diff,
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
    if !diffs.is_empty() {
        stock::publish_moved(&mut tx, MovementKind::Counted, None, on, value).await?;
    }
    sqlx::query!(
        "update audit set status = 'approved', decided_by = $2, decided_at = now()
         where audit_id = $1",
        id,
        by
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(diffs.len())
}

/// Cancels an audit that has not been approved; nothing posts.
pub async fn cancel(db: &PgPool, id: Uuid, by: Option<Uuid>) -> Result<(), AuditError> {
    let mut tx = db.begin().await?;
    let (_, status) = lock(&mut tx, id).await?;
    if !["counting", "submitted"].contains(&status.as_str()) {
        return Err(AuditError::WrongStatus(status));
    }
    sqlx::query!(
        "update audit set status = 'cancelled', decided_by = $2, decided_at = now()
         where audit_id = $1",
        id,
        by
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
