//! Stock as a ledger of movements per location: received, sold, returned, shrink (with its
//! reason), counted and transferred. On hand is never edited: it is the sum of the movements,
//! kept per product and location by the database (`stock_level`). Each movement that changes
//! the stock's value publishes `stock.moved` for coop-finance in the same transaction.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::catalogue::SaleUnit;
use crate::feed::Kind;

/// Why a movement was refused.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("no such product")]
    NoProduct,
    #[error("no such location")]
    NoLocation,
    #[error("a transfer goes from one location to another")]
    SameLocation,
    #[error("{0}")]
    Quantity(String),
    #[error("this was recorded already")]
    AlreadyRecorded,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MovementKind {
    Received,
    Sold,
    Returned,
    Shrink,
    Counted,
    Transferred,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Sold => "sold",
            Self::Returned => "returned",
            Self::Shrink => "shrink",
            Self::Counted => "counted",
            Self::Transferred => "transferred",
        }
    }
}

/// Why stock was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShrinkReason {
    Spoiled,
    Damaged,
    Stolen,
    Expired,
}

impl ShrinkReason {
    pub const ALL: [Self; 4] = [Self::Spoiled, Self::Damaged, Self::Stolen, Self::Expired];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spoiled => "spoiled",
            Self::Damaged => "damaged",
            Self::Stolen => "stolen",
            Self::Expired => "expired",
        }
    }
}

/// A place that holds stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub location_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
}

/// A location as the config declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    pub code: String,
    pub name: String,
    #[serde(default = "shop")]
    pub kind: String,
}

fn shop() -> String {
    "shop".into()
}

/// Makes the database's locations those of the config (added or renamed; never removed, since
/// movements name them).
pub async fn sync_locations(db: &PgPool, locations: &[LocationConfig]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for l in locations {
        sqlx::query!(
            "insert into location (location_id, code, name, kind) values ($1, $2, $3, $4)
             on conflict (code) do update set name = $3, kind = $4",
            Uuid::new_v4(),
            l.code,
            l.name,
            l.kind
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

pub async fn locations(db: &PgPool) -> Result<Vec<Location>, sqlx::Error> {
    sqlx::query_as!(
        Location,
        "select location_id, code, name, kind from location order by kind = 'shop' desc, name"
    )
    .fetch_all(db)
    .await
}

/// One movement to record.
#[derive(Debug, Clone)]
pub struct NewMovement<'a> {
    pub product_id: Uuid,
    pub location_id: Uuid,
    pub kind: MovementKind,
    pub reason: Option<ShrinkReason>,
    /// Signed: positive when the stock grew.
    pub quantity: Decimal,
    pub on: NaiveDate,
    pub source_key: Option<&'a str>,
    pub transfer_id: Option<Uuid>,
    pub note: Option<&'a str>,
    pub by: Option<Uuid>,
}

/// Records a movement in the caller's transaction, valued at the product's cost; returns its id
/// and its value at cost (signed like the quantity).
pub async fn record(
    tx: &mut PgConnection,
    m: &NewMovement<'_>,
) -> Result<(i64, Decimal), StockError> {
    let Some(p) = sqlx::query!(
        r#"select cost, unit as "unit: SaleUnit" from product where product_id = $1"#,
        m.product_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Err(StockError::NoProduct);
    };
    if m.quantity.normalize().scale() > p.unit.decimals() {
        return Err(StockError::Quantity(if p.unit == SaleUnit::Each {
            "a whole number for a product sold by the piece".into()
        } else {
            "at most three decimals".into()
        }));
    }
    if m.quantity.is_zero() || m.quantity.abs() >= Decimal::from(1_000_000) {
        return Err(StockError::Quantity(
            "a quantity above zero and below 1 000 000".into(),
        ));
    }
    let id = sqlx::query_scalar!(
        "insert into stock_movement (product_id, location_id, kind, reason, quantity, unit_cost,
             occurred_on, source_key, transfer_id, note, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         returning stock_movement_id",
        m.product_id,
        m.location_id,
        m.kind.as_str(),
        m.reason.map(ShrinkReason::as_str),
        m.quantity,
        p.cost,
        m.on,
        m.source_key,
        m.transfer_id,
        m.note,
        m.by
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("stock_movement_source_key_key") => {
            StockError::AlreadyRecorded
        }
        sqlx::Error::Database(d) if d.constraint() == Some("stock_movement_location_id_fkey") => {
            StockError::NoLocation
        }
        _ => StockError::Database(e),
    })?;
    Ok((id, (m.quantity * p.cost).round_dp(2)))
}

/// Publishes `stock.moved` for coop-finance: what happened and its value at cost (positive when
/// the stock grew), under an id of its own that coop-finance books it by, once.
pub async fn publish_moved(
    tx: &mut PgConnection,
    kind: MovementKind,
    reason: Option<ShrinkReason>,
    on: NaiveDate,
    cost: Decimal,
) -> Result<(), sqlx::Error> {
    let mut payload = json!({
        "movement_id": Uuid::new_v4(),
        "kind": kind.as_str(),
        "on": on,
        "cost": cost.round_dp(2).to_string(),
    });
    if let Some(r) = reason {
        payload["reason"] = json!(r.as_str());
    }
    coop_web::feed::publish(tx, Kind::StockMoved, None, &payload).await?;
    Ok(())
}

/// Records one movement made by hand (a delivery received, shrink, a return to the shelf) and
/// publishes it.
pub async fn record_one(db: &PgPool, m: &NewMovement<'_>) -> Result<i64, StockError> {
    let mut tx = db.begin().await?;
    let (id, cost) = record(&mut tx, m).await?;
    publish_moved(&mut tx, m.kind, m.reason, m.on, cost).await?;
    tx.commit().await?;
    Ok(id)
}

/// Moves `quantity` of a product from one location to another: two movements with one transfer
/// id. The stock's value does not change, so the feed says so with a cost of zero.
pub async fn transfer(
    db: &PgPool,
    product_id: Uuid,
    from: Uuid,
    to: Uuid,
    quantity: Decimal,
    on: NaiveDate,
    by: Option<Uuid>,
) -> Result<Uuid, StockError> {
    if from == to {
        return Err(StockError::SameLocation);
    }
    if quantity <= Decimal::ZERO {
        return Err(StockError::Quantity(
            "a transfer moves more than nothing".into(),
        ));
    }
    let transfer_id = Uuid::new_v4();
    let mut tx = db.begin().await?;
    // Stock levels are locked in one order (by location id) by every writer of several, so two
    // transfers the opposite way round cannot deadlock.
    let mut halves = [(from, -quantity), (to, quantity)];
    halves.sort_by_key(|(l, _)| *l);
    for (location_id, q) in halves {
        record(
            &mut tx,
            &NewMovement {
                product_id,
                location_id,
                kind: MovementKind::Transferred,
                reason: None,
                quantity: q,
                on,
                source_key: None,
                transfer_id: Some(transfer_id),
                note: None,
                by,
            },
        )
        .await?;
    }
    publish_moved(&mut tx, MovementKind::Transferred, None, on, Decimal::ZERO).await?;
    tx.commit().await?;
    Ok(transfer_id)
}

/// A product's stock at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    pub location_id: Uuid,
    pub code: String,
    pub name: String,
    pub on_hand: Decimal,
}

/// A product's stock at every location (zero where it has none).
pub async fn levels(db: &PgPool, product_id: Uuid) -> Result<Vec<Level>, sqlx::Error> {
    sqlx::query_as!(
        Level,
        r#"select o.location_id, o.code, o.name, coalesce(l.on_hand, 0) as "on_hand!"
           from location o
           left join stock_level l on l.location_id = o.location_id and l.product_id = $1
           order by o.kind = 'shop' desc, o.name"#,
        product_id
    )
    .fetch_all(db)
    .await
}

/// A movement as the product page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Movement {
    pub id: i64,
    pub location: String,
    pub kind: String,
    pub reason: Option<String>,
    pub quantity: Decimal,
    pub occurred_on: NaiveDate,
    pub note: Option<String>,
}

/// A product's latest movements, newest first.
pub async fn movements(
    db: &PgPool,
    product_id: Uuid,
    limit: i64,
) -> Result<Vec<Movement>, sqlx::Error> {
    sqlx::query_as!(
        Movement,
        "select m.stock_movement_id as id, o.name as location, m.kind, m.reason, m.quantity,
                m.occurred_on, m.note
         from stock_movement m join location o using (location_id)
         where m.product_id = $1
         order by m.stock_movement_id desc limit $2",
        product_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// One product's line of the valuation report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Valued {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub unit: SaleUnit,
    pub on_hand: Decimal,
    pub cost: Decimal,
    pub value: Decimal,
}

/// Stock on hand and its value at cost, per product, at one location or all; the most valuable
/// first.
pub async fn valuation(db: &PgPool, location: Option<Uuid>) -> Result<Vec<Valued>, sqlx::Error> {
    sqlx::query_as!(
        Valued,
        r#"select p.product_id, p.sku, p.name, p.unit as "unit: SaleUnit",
                  s.on_hand as "on_hand!", p.cost, round(s.on_hand * p.cost, 2) as "value!"
           from (select product_id, sum(on_hand) as on_hand from stock_level
                 where $1::uuid is null or location_id = $1
                 group by product_id) s
           join product p using (product_id)
           where s.on_hand <> 0
           order by 7 desc, p.name"#,
        location
    )
    .fetch_all(db)
    .await
}

/// The sales feed of coop-pos, applied once per event: each line takes its quantity from the
/// product (a pack line takes `units` per pack), at the till's location, and the sale's value at
/// cost goes to coop-finance as one `stock.moved` (and one more for returned lines).
#[derive(Debug, Clone)]
pub struct SalesFeed {
    /// The location a till sells from when the sale does not say.
    pub default_location: String,
}

#[derive(Debug, Deserialize)]
struct SaleItem {
    product_id: Uuid,
    #[serde(default)]
    pack_id: Option<Uuid>,
    quantity: Decimal,
}

#[derive(Debug, Deserialize)]
struct Sale {
    #[serde(rename = "sale_id")]
    id: Uuid,
    business_day: NaiveDate,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    items: Vec<SaleItem>,
}

impl coop_web::feed::consumer::Apply for SalesFeed {
    async fn apply(
        &self,
        tx: &mut PgConnection,
        event: &coop_web::feed::Event,
    ) -> anyhow::Result<()> {
        if event.kind != "sale.completed" {
            return Ok(());
        }
        anyhow::ensure!(
            event.version == 1,
            "sale.completed version {} is newer than this coop-ims knows",
            event.version
        );
        let sale: Sale = serde_json::from_value(event.payload.clone())?;
        let code = sale.location.as_deref().unwrap_or(&self.default_location);
        let location =
            sqlx::query_scalar!("select location_id from location where code = $1", code)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| anyhow::anyhow!("sale {}: no location {code}", sale.id))?;
        let (mut sold, mut returned) = (Decimal::ZERO, Decimal::ZERO);
        // Lines are taken in product order, the order every writer of several stock levels
        // locks them in (see `transfer`); each keeps its line number in its source key.
        let mut lines: Vec<(usize, &SaleItem)> = sale.items.iter().enumerate().collect();
        lines.sort_by_key(|(_, item)| item.product_id);
        for (i, item) in lines {
            let units = match item.pack_id {
                None => Decimal::ONE,
                Some(pack) => {
                    let units = sqlx::query_scalar!(
                        "select units from pack where pack_id = $1 and product_id = $2",
                        pack,
                        item.product_id
                    )
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("sale {}: no pack {pack}", sale.id))?;
                    Decimal::from(units)
                }
            };
            // A sale takes stock away; a returned line (negative) brings it back.
            let quantity = -(item.quantity * units);
            if quantity.is_zero() {
                continue;
            }
            let kind = if quantity < Decimal::ZERO {
                MovementKind::Sold
            } else {
                MovementKind::Returned
            };
            let key = format!("coop-pos:sale:{}:{}", sale.id, i + 1);
            let (_, cost) = record(
                tx,
                &NewMovement {
                    product_id: item.product_id,
                    location_id: location,
                    kind,
                    reason: None,
                    quantity,
                    on: sale.business_day,
                    source_key: Some(&key),
                    transfer_id: None,
                    note: None,
                    by: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("sale {} line {}: {e}", sale.id, i + 1))?;
            if kind == MovementKind::Sold {
                sold += cost;
            } else {
                returned += cost;
            }
        }
        for (kind, cost) in [
            (MovementKind::Sold, sold),
            (MovementKind::Returned, returned),
        ] {
            if !cost.is_zero() {
                publish_moved(tx, kind, None, sale.business_day, cost).await?;
            }
        }
        Ok(())
    }
}
