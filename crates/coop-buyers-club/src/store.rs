//! The buyers club's data and every change to it, each in one transaction that checks the rules
//! it must keep (who may, in which state of the order) and refuses with a reason, changing
//! nothing. The wallet hold of a member's purchases is set inside the purchase's transaction.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{fill_cases, line_amount, vat_in, OrderState, Want};
use crate::notify::{notice, Kind};
use crate::wallet::{hold_key, Wallet, WalletError};

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("not found")]
    NotFound,
    #[error("only the order's manager may do this")]
    NotManager,
    #[error("the order is {0}: this cannot be done now")]
    WrongState(&'static str),
    #[error("the order took its last purchases at {0}")]
    PastEnd(DateTime<Utc>),
    #[error("that product is not offered in this order")]
    NotInOrder,
    #[error("{0}")]
    Invalid(String),
    #[error("your wallet cannot cover this")]
    Insufficient { available: Option<Decimal> },
    #[error("you may not buy now: ask the co-op")]
    MemberInactive,
    #[error("the wallet service could not be reached; try again")]
    WalletUnavailable,
    #[error("{0} change(s) of purchases wait for an answer")]
    ChangesWaiting(i64),
    #[error("the order's total {total} does not exceed its threshold {threshold}")]
    BelowThreshold { total: Decimal, threshold: Decimal },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<WalletError> for Refused {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Insufficient { available } => Refused::Insufficient { available },
            WalletError::MemberInactive => Refused::MemberInactive,
            WalletError::Unavailable(why) => {
                tracing::warn!(%why, "coop-finance could not set a hold");
                Refused::WalletUnavailable
            }
            other @ (WalletError::KeyReused | WalletError::NoHold | WalletError::Settled) => {
                tracing::warn!(error = %other, "coop-finance's hold is not as recorded");
                Refused::WalletUnavailable
            }
        }
    }
}

fn invalid(s: impl Into<String>) -> Refused {
    Refused::Invalid(s.into())
}

/// The feed's events.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// An order completed: per member, what they paid from their wallet, per VAT rate.
    OrderCompleted,
}

impl coop_web::feed::EventKind for Event {
    fn as_str(self) -> &'static str {
        match self {
            Event::OrderCompleted => "order.completed",
        }
    }
}

// ---- suppliers and products ------------------------------------------------------------

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Supplier {
    pub supplier_id: Uuid,
    pub name: String,
    pub contact: String,
    pub address: String,
    pub latitude: Option<Decimal>,
    pub longitude: Option<Decimal>,
    pub order_threshold: Decimal,
    pub lead_time_days: i32,
}

/// What a member types for a supplier, checked.
#[derive(Debug, Clone)]
pub struct SupplierDraft {
    pub name: String,
    pub contact: String,
    pub address: String,
    pub location: Option<(Decimal, Decimal)>,
    pub order_threshold: Decimal,
    pub lead_time_days: i32,
}

impl SupplierDraft {
    /// # Errors
    /// What is wrong with it.
    pub fn check(&self) -> Result<(), Refused> {
        let n = self.name.trim().chars().count();
        if n == 0 || n > 200 {
            return Err(invalid("a supplier's name has 1 to 200 characters"));
        }
        if self.contact.chars().count() > 1000 || self.address.chars().count() > 500 {
            return Err(invalid("the contact or address is too long"));
        }
        if let Some((lat, lon)) = self.location {
            if lat.abs() > Decimal::from(90) || lon.abs() > Decimal::from(180) {
                return Err(invalid(
                    "a location is a latitude (-90 to 90) and a longitude (-180 to 180)",
                ));
            }
        }
        if self.order_threshold.is_sign_negative()
            || self.order_threshold.scale() > 2
            || self.order_threshold >= Decimal::from(1_000_000_000)
        {
            return Err(invalid("the order threshold is an amount of 0 or more"));
        }
        if !(0..=365).contains(&self.lead_time_days) {
            return Err(invalid("the lead time is 0 to 365 days"));
        }
        Ok(())
    }
}

pub async fn suppliers(db: &PgPool) -> Result<Vec<Supplier>, sqlx::Error> {
    sqlx::query_as(
        "select supplier_id, name, contact, address, latitude, longitude, order_threshold,
                lead_time_days
         from supplier where deleted_at is null order by lower(name)",
    )
    .fetch_all(db)
    .await
}

pub async fn supplier(db: &PgPool, id: Uuid) -> Result<Option<Supplier>, sqlx::Error> {
    sqlx::query_as(
        "select supplier_id, name, contact, address, latitude, longitude, order_threshold,
                lead_time_days
         from supplier where supplier_id = $1 and deleted_at is null",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A supplier, deleted or not (an order names it).
pub async fn supplier_any(db: &PgPool, id: Uuid) -> Result<Option<Supplier>, sqlx::Error> {
    sqlx::query_as(
        "select supplier_id, name, contact, address, latitude, longitude, order_threshold,
                lead_time_days
         from supplier where supplier_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.code().as_deref() == Some("23505"))
}

/// Any member adds a supplier.
pub async fn add_supplier(db: &PgPool, by: Uuid, d: &SupplierDraft) -> Result<Uuid, Refused> {
    d.check()?;
    let id = Uuid::new_v4();
    let r = sqlx::query(
        "insert into supplier (supplier_id, name, contact, address, latitude, longitude,
                               order_threshold, lead_time_days, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(d.name.trim())
    .bind(d.contact.trim())
    .bind(d.address.trim())
    .bind(d.location.map(|l| l.0))
    .bind(d.location.map(|l| l.1))
    .bind(d.order_threshold)
    .bind(d.lead_time_days)
    .bind(by)
    .execute(db)
    .await;
    match r {
        Ok(_) => Ok(id),
        Err(e) if unique_violation(&e) => Err(invalid("a supplier of that name exists already")),
        Err(e) => Err(e.into()),
    }
}

/// Any member edits a supplier.
pub async fn edit_supplier(db: &PgPool, id: Uuid, d: &SupplierDraft) -> Result<(), Refused> {
    d.check()?;
    let r = sqlx::query(
        "update supplier set name = $2, contact = $3, address = $4, latitude = $5,
                longitude = $6, order_threshold = $7, lead_time_days = $8
         where supplier_id = $1 and deleted_at is null",
    )
    .bind(id)
    .bind(d.name.trim())
    .bind(d.contact.trim())
    .bind(d.address.trim())
    .bind(d.location.map(|l| l.0))
    .bind(d.location.map(|l| l.1))
    .bind(d.order_threshold)
    .bind(d.lead_time_days)
    .execute(db)
    .await;
    match r {
        Ok(r) if r.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(Refused::NotFound),
        Err(e) if unique_violation(&e) => Err(invalid("a supplier of that name exists already")),
        Err(e) => Err(e.into()),
    }
}

/// Any member deletes a supplier, unless an order from it is still open or closed (it is
/// kept for the orders that name it, and its products go with it).
pub async fn delete_supplier(db: &PgPool, id: Uuid) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let live: i64 = sqlx::query_scalar(
        "select count(*) from club_order where supplier_id = $1 and state <> 'completed'",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if live > 0 {
        return Err(invalid(
            "an order from this supplier is not completed yet: complete it first",
        ));
    }
    let gone = sqlx::query(
        "update supplier set deleted_at = now() where supplier_id = $1 and deleted_at is null",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if gone.rows_affected() != 1 {
        return Err(Refused::NotFound);
    }
    sqlx::query(
        "update product set deleted_at = now() where supplier_id = $1 and deleted_at is null",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Product {
    pub product_id: Uuid,
    pub supplier_id: Uuid,
    pub name: String,
    pub article_id: String,
    pub unit: String,
    pub case_size: Decimal,
    pub unit_price: Decimal,
    pub vat_class: String,
}

/// What a member types for a product, checked against the co-op's VAT classes.
#[derive(Debug, Clone)]
pub struct ProductDraft {
    pub name: String,
    pub article_id: String,
    pub unit: String,
    pub case_size: Decimal,
    pub unit_price: Decimal,
    pub vat_class: String,
}

impl ProductDraft {
    /// # Errors
    /// What is wrong with it.
    pub fn check(&self, vat_classes: &[String], minor: u32) -> Result<(), Refused> {
        let n = self.name.trim().chars().count();
        if n == 0 || n > 200 {
            return Err(invalid("a product's name has 1 to 200 characters"));
        }
        if self.article_id.chars().count() > 100 {
            return Err(invalid("the article number has at most 100 characters"));
        }
        let u = self.unit.trim().chars().count();
        if u == 0 || u > 50 {
            return Err(invalid(
                "the unit (kg, st, 1 l bottle) has 1 to 50 characters",
            ));
        }
        if self.case_size <= Decimal::ZERO
            || self.case_size.scale() > 3
            || self.case_size >= Decimal::from(100_000)
        {
            return Err(invalid(
                "a case holds more than 0 units, to at most 3 decimals",
            ));
        }
        if self.unit_price.is_sign_negative()
            || self.unit_price.normalize().scale() > minor
            || self.unit_price >= Decimal::from(1_000_000_000)
        {
            return Err(invalid("the price is an amount of 0 or more"));
        }
        if !vat_classes.iter().any(|c| c == &self.vat_class) {
            return Err(invalid(format!(
                "the VAT class is one of the co-op's: {}",
                vat_classes.join(", ")
            )));
        }
        Ok(())
    }
}

pub async fn products(db: &PgPool, supplier: Uuid) -> Result<Vec<Product>, sqlx::Error> {
    sqlx::query_as(
        "select product_id, supplier_id, name, article_id, unit, case_size, unit_price, vat_class
         from product where supplier_id = $1 and deleted_at is null order by lower(name), product_id",
    )
    .bind(supplier)
    .fetch_all(db)
    .await
}

/// The supplier of a product on a list.
pub async fn product_supplier(db: &PgPool, product: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select supplier_id from product where product_id = $1 and deleted_at is null",
    )
    .bind(product)
    .fetch_optional(db)
    .await
}

/// Any member adds a product to a supplier's list.
pub async fn add_product(
    db: &PgPool,
    by: Uuid,
    supplier: Uuid,
    d: &ProductDraft,
    vat_classes: &[String],
    minor: u32,
) -> Result<Uuid, Refused> {
    d.check(vat_classes, minor)?;
    let id = Uuid::new_v4();
    let r = sqlx::query(
        "insert into product (product_id, supplier_id, name, article_id, unit, case_size,
                              unit_price, vat_class, created_by)
         select $1, supplier_id, $3, $4, $5, $6, $7, $8, $9 from supplier
         where supplier_id = $2 and deleted_at is null",
    )
    .bind(id)
    .bind(supplier)
    .bind(d.name.trim())
    .bind(d.article_id.trim())
    .bind(d.unit.trim())
    .bind(d.case_size)
    .bind(d.unit_price)
    .bind(&d.vat_class)
    .bind(by)
    .execute(db)
    .await;
    match r {
        Ok(r) if r.rows_affected() == 1 => Ok(id),
        Ok(_) => Err(Refused::NotFound),
        Err(e) if unique_violation(&e) => Err(invalid(
            "this supplier has a product with that article number already",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Any member edits a product. Orders that offer it keep the price they offered it at.
pub async fn edit_product(
    db: &PgPool,
    id: Uuid,
    d: &ProductDraft,
    vat_classes: &[String],
    minor: u32,
) -> Result<(), Refused> {
    d.check(vat_classes, minor)?;
    let r = sqlx::query(
        "update product set name = $2, article_id = $3, unit = $4, case_size = $5,
                unit_price = $6, vat_class = $7
         where product_id = $1 and deleted_at is null",
    )
    .bind(id)
    .bind(d.name.trim())
    .bind(d.article_id.trim())
    .bind(d.unit.trim())
    .bind(d.case_size)
    .bind(d.unit_price)
    .bind(&d.vat_class)
    .execute(db)
    .await;
    match r {
        Ok(r) if r.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(Refused::NotFound),
        Err(e) if unique_violation(&e) => Err(invalid(
            "this supplier has a product with that article number already",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Any member deletes a product from the list; orders that offer it keep offering it.
pub async fn delete_product(db: &PgPool, id: Uuid) -> Result<(), Refused> {
    let r = sqlx::query(
        "update product set deleted_at = now() where product_id = $1 and deleted_at is null",
    )
    .bind(id)
    .execute(db)
    .await?;
    if r.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Refused::NotFound)
    }
}

// ---- orders ------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Order {
    pub order_id: Uuid,
    pub supplier_id: Uuid,
    pub supplier_name: String,
    pub title: String,
    pub state: String,
    pub manager_id: Uuid,
    pub created_by: Uuid,
    pub ends_at: DateTime<Utc>,
    pub threshold: Decimal,
    pub closed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Order {
    /// # Panics
    /// Never: the table allows only the three states.
    #[must_use]
    pub fn state(&self) -> OrderState {
        OrderState::parse(&self.state).expect("a state the table allows")
    }
}

const ORDER_COLUMNS: &str = "o.order_id, o.supplier_id, s.name as supplier_name, o.title, o.state,
    o.manager_id, o.created_by, o.ends_at, o.threshold, o.closed_at, o.completed_at";

pub async fn orders(db: &PgPool) -> Result<Vec<Order>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from club_order o join supplier s using (supplier_id)
         order by (o.state = 'completed'), o.ends_at desc"
    ))
    .fetch_all(db)
    .await
}

pub async fn order(db: &PgPool, id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from club_order o join supplier s using (supplier_id)
         where o.order_id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Locks the order's row (`for update` or `for share`) and reads it.
async fn lock_order(tx: &mut PgConnection, id: Uuid, share: bool) -> Result<Order, Refused> {
    let lock = if share {
        "for share of o"
    } else {
        "for update of o"
    };
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from club_order o join supplier s using (supplier_id)
         where o.order_id = $1 {lock}"
    ))
    .bind(id)
    .fetch_optional(tx)
    .await?
    .ok_or(Refused::NotFound)
}

/// How many changes after delivery wait for an answer (or were disputed).
async fn waiting_changes(tx: &mut PgConnection, order: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from purchase_change where order_id = $1 and state in ('requested', 'disputed')",
    )
    .bind(order)
    .fetch_one(tx)
    .await
}

fn require_manager(o: &Order, who: Uuid) -> Result<(), Refused> {
    if o.manager_id == who {
        Ok(())
    } else {
        Err(Refused::NotManager)
    }
}

/// A new order, as its creator asks for it.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub supplier: Uuid,
    pub title: &'a str,
    /// No purchases after this.
    pub ends_at: DateTime<Utc>,
    /// Default: the supplier's.
    pub threshold: Option<Decimal>,
    /// The supplier's products it offers.
    pub products: &'a [Uuid],
}

/// Any member starts an order from a supplier, offering some of its products, and manages it.
pub async fn create_order(
    db: &PgPool,
    by: Uuid,
    new: &NewOrder<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, Refused> {
    let NewOrder {
        supplier,
        title,
        ends_at,
        threshold,
        products,
    } = *new;
    let n = title.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(invalid("an order's title has 1 to 200 characters"));
    }
    if ends_at <= now {
        return Err(invalid("the end date is in the future"));
    }
    if threshold
        .is_some_and(|t| t.is_sign_negative() || t.scale() > 2 || t >= Decimal::from(1_000_000_000))
    {
        return Err(invalid("the threshold is an amount of 0 or more"));
    }
    let mut tx = db.begin().await?;
    let default: Option<Decimal> = sqlx::query_scalar(
        "select order_threshold from supplier where supplier_id = $1 and deleted_at is null",
    )
    .bind(supplier)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(default) = default else {
        return Err(Refused::NotFound);
    };
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into club_order (order_id, supplier_id, title, manager_id, created_by, ends_at, threshold)
         values ($1, $2, $3, $4, $4, $5, $6)",
    )
    .bind(id)
    .bind(supplier)
    .bind(title.trim())
    .bind(by)
    .bind(ends_at)
    .bind(threshold.unwrap_or(default))
    .execute(&mut *tx)
    .await?;
    offer(&mut tx, id, supplier, products).await?;
    notice(&mut tx, Kind::Opened, id, None, &json!({})).await?;
    tx.commit().await?;
    Ok(id)
}

/// Puts the supplier's products (not deleted) among the order's, at today's prices.
async fn offer(
    tx: &mut PgConnection,
    order: Uuid,
    supplier: Uuid,
    products: &[Uuid],
) -> Result<(), Refused> {
    let added = sqlx::query(
        "insert into order_product (order_id, product_id, name, unit, case_size, unit_price, vat_class)
         select $1, product_id, name, unit, case_size, unit_price, vat_class from product
         where supplier_id = $2 and deleted_at is null and product_id = any($3)
         on conflict do nothing",
    )
    .bind(order)
    .bind(supplier)
    .bind(products)
    .execute(&mut *tx)
    .await?;
    let known: i64 = sqlx::query_scalar(
        "select count(*) from product where supplier_id = $1 and deleted_at is null and product_id = any($2)",
    )
    .bind(supplier)
    .bind(products)
    .fetch_one(&mut *tx)
    .await?;
    let wanted = i64::try_from(
        products
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
    )
    .unwrap_or(i64::MAX);
    if known != wanted {
        return Err(invalid("an order offers only its supplier's products"));
    }
    let _ = added;
    Ok(())
}

/// The manager offers more of the supplier's products while the order is open.
pub async fn add_products(
    db: &PgPool,
    who: Uuid,
    order: Uuid,
    products: &[Uuid],
) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    if o.state() != OrderState::Open {
        return Err(Refused::WrongState(o.state().as_str()));
    }
    offer(&mut tx, order, o.supplier_id, products).await?;
    tx.commit().await?;
    Ok(())
}

/// The manager takes a product out of an open order: the purchases of it go, each member's hold
/// shrinks with them. Answers the members whose purchases went (to be told).
pub async fn remove_product(
    db: &PgPool,
    wallet: &dyn Wallet,
    who: Uuid,
    order: Uuid,
    product: Uuid,
    minor: u32,
) -> Result<Vec<Uuid>, Refused> {
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    if o.state() != OrderState::Open {
        return Err(Refused::WrongState(o.state().as_str()));
    }
    let members: Vec<Uuid> = sqlx::query_scalar(
        "select member_id from purchase where order_id = $1 and product_id = $2 order by member_id",
    )
    .bind(order)
    .bind(product)
    .fetch_all(&mut *tx)
    .await?;
    let gone: Option<String> = sqlx::query_scalar(
        "delete from order_product where order_id = $1 and product_id = $2 returning name",
    )
    .bind(order)
    .bind(product)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(name) = gone else {
        return Err(Refused::NotInOrder);
    };
    if !members.is_empty() {
        notice(
            &mut tx,
            Kind::Removed,
            order,
            Some(&members),
            &json!({ "product": name }),
        )
        .await?;
    }
    tx.commit().await?;
    // Less to hold for each of them; a failure here leaves a hold larger than needed, which the
    // member's next change (or the order's completion) puts right.
    for m in &members {
        if let Err(e) = resync_hold(db, wallet, order, *m, minor).await {
            tracing::warn!(error = %e, %order, member = %m, "a hold was not lowered");
        }
    }
    Ok(members)
}

/// The manager hands the order to another member.
pub async fn hand_over(db: &PgPool, who: Uuid, order: Uuid, to: Uuid) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    if !matches!(o.state(), OrderState::Open | OrderState::Closed) {
        return Err(Refused::WrongState(o.state().as_str()));
    }
    sqlx::query("update club_order set manager_id = $2 where order_id = $1")
        .bind(order)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The order's total as the cases fill now (the delivery's approved changes counted).
async fn total_in(tx: &mut PgConnection, order: Uuid, minor: u32) -> Result<Decimal, sqlx::Error> {
    Ok(parts_in(tx, order, minor, &|_| Decimal::ZERO)
        .await?
        .iter()
        .map(|p| p.total)
        .sum())
}

/// The manager closes an open order (before its end date too). An order whose total does not
/// exceed its threshold is not sent: the manager waits for more purchases or cancels it (an
/// order reaching its end date below its threshold closes all the same, and the page says so).
pub async fn close(
    db: &PgPool,
    who: Uuid,
    order: Uuid,
    now: DateTime<Utc>,
    minor: u32,
) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    if o.state() != OrderState::Open {
        return Err(Refused::WrongState(o.state().as_str()));
    }
    let total = total_in(&mut tx, order, minor).await?;
    if total <= o.threshold {
        return Err(Refused::BelowThreshold {
            total,
            threshold: o.threshold,
        });
    }
    sqlx::query("update club_order set state = 'closed', closed_at = $2 where order_id = $1")
        .bind(order)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    notice(
        &mut tx,
        Kind::Closed,
        order,
        None,
        &json!({ "total": total.to_string() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The order's total now, and whether it exceeds its threshold (the order is sent only then).
pub async fn threshold_reached(
    db: &PgPool,
    order: &Order,
    minor: u32,
) -> Result<(Decimal, bool), sqlx::Error> {
    let total = total_in(&mut *db.acquire().await?, order.order_id, minor).await?;
    Ok((total, total > order.threshold))
}

/// Closes every open order whose end date has passed; answers them.
pub async fn close_ended(db: &PgPool, now: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let closed: Vec<Uuid> = sqlx::query_scalar(
        "update club_order set state = 'closed', closed_at = ends_at
         where state = 'open' and ends_at <= $1 returning order_id",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    for order in &closed {
        notice(&mut tx, Kind::Closed, *order, None, &json!({})).await?;
    }
    tx.commit().await?;
    Ok(closed)
}

/// Reminds the members of each open order that closes within `before` (once per opening);
/// answers the orders.
pub async fn remind_closing(
    db: &PgPool,
    now: DateTime<Utc>,
    before: chrono::Duration,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let due: Vec<Uuid> = sqlx::query_scalar(
        "update club_order set reminded_at = $1
         where state = 'open' and reminded_at is null and ends_at > $1 and ends_at <= $2
         returning order_id",
    )
    .bind(now)
    .bind(now + before)
    .fetch_all(&mut *tx)
    .await?;
    for order in &due {
        notice(&mut tx, Kind::Closing, *order, None, &json!({})).await?;
    }
    tx.commit().await?;
    Ok(due)
}

/// The manager opens a closed order again (after talking to the supplier), until `ends_at`.
pub async fn reopen(
    db: &PgPool,
    who: Uuid,
    order: Uuid,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Refused> {
    if ends_at <= now {
        return Err(invalid("the new end date is in the future"));
    }
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    if o.state() != OrderState::Closed {
        return Err(Refused::WrongState(o.state().as_str()));
    }
    let waiting = waiting_changes(&mut tx, order).await?;
    if waiting > 0 {
        return Err(Refused::ChangesWaiting(waiting));
    }
    sqlx::query(
        "update club_order set state = 'open', closed_at = null, ends_at = $2, reminded_at = null
         where order_id = $1",
    )
    .bind(order)
    .bind(ends_at)
    .execute(&mut *tx)
    .await?;
    // What was agreed about the last delivery is moot: the purchases change, and the next
    // closing gets its own check.
    sqlx::query(
        "update purchase_change set state = 'withdrawn' where order_id = $1 and state = 'approved'",
    )
    .bind(order)
    .execute(&mut *tx)
    .await?;
    notice(
        &mut tx,
        Kind::Opened,
        order,
        None,
        &json!({ "reopened": true }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- purchases ----------------------------------------------------------------------

fn check_quantity(q: Decimal, what: &str) -> Result<(), Refused> {
    if q.is_sign_negative() || q.scale() > 3 || q >= Decimal::from(100_000) {
        return Err(invalid(format!(
            "the {what} is a number of 0 or more, to at most 3 decimals"
        )));
    }
    Ok(())
}

/// The most a member's purchases in an order can cost: quantity and tolerance at the order's
/// prices.
async fn most(
    tx: &mut PgConnection,
    order: Uuid,
    member: Uuid,
    minor: u32,
) -> Result<Decimal, sqlx::Error> {
    let rows: Vec<(Decimal, Decimal, Decimal)> = sqlx::query_as(
        "select p.quantity, p.tolerance, op.unit_price from purchase p
         join order_product op using (order_id, product_id)
         where p.order_id = $1 and p.member_id = $2",
    )
    .bind(order)
    .bind(member)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .iter()
        .map(|(q, t, p)| line_amount(*q + *t, *p, minor))
        .sum())
}

/// Locks a member's hold row for an order (made if missing): a member's changes to one order
/// take turns, so the hold always follows the last of them.
async fn lock_hold(
    tx: &mut PgConnection,
    order: Uuid,
    member: Uuid,
) -> Result<(i32, Decimal), sqlx::Error> {
    sqlx::query(
        "insert into wallet_hold (order_id, member_id) values ($1, $2) on conflict do nothing",
    )
    .bind(order)
    .bind(member)
    .execute(&mut *tx)
    .await?;
    sqlx::query_as(
        "select generation, amount from wallet_hold where order_id = $1 and member_id = $2 for update",
    )
    .bind(order)
    .bind(member)
    .fetch_one(&mut *tx)
    .await
}

/// Makes the member's hold for the order `amount` at coop-finance, from what this service last
/// recorded (`generation`, `held`), and answers the generation the hold is under now. A hold
/// released (to zero) moves to the next generation of its key: a released key is never held
/// again.
///
/// An answer lost on the way back (a timeout after coop-finance did it) leaves coop-finance
/// ahead of this service's record; the next call finds out from coop-finance's refusal and puts
/// it right: a hold made under a key this service thought unused is adjusted (`key_reused`),
/// one it thought made but is not is made (`no_hold`), one released under it is held again
/// under the next generation (`hold_settled`).
async fn sync_hold(
    wallet: &dyn Wallet,
    order: Uuid,
    member: Uuid,
    (generation, held): (i32, Decimal),
    amount: Decimal,
) -> Result<i32, (WalletError, i32)> {
    let mut generation = generation;
    // Whether coop-finance holds something under the current key, as far as we know.
    let mut made = !held.is_zero();
    for _ in 0..4 {
        let key = hold_key(order, member, generation);
        let done = if amount.is_zero() {
            // Released even when nothing was recorded: a hold made without its answer goes too.
            wallet.release(&key).await
        } else if made {
            wallet.adjust(member, &key, amount).await
        } else {
            wallet.hold(member, &key, amount).await
        };
        match done {
            Ok(()) if amount.is_zero() => return Ok(generation + 1),
            Ok(()) => return Ok(generation),
            Err(WalletError::KeyReused) => made = true,
            Err(WalletError::NoHold) => made = false,
            Err(WalletError::Settled) if !amount.is_zero() => {
                generation += 1;
                made = false;
            }
            Err(e) => return Err((e, generation)),
        }
    }
    Err((
        WalletError::Unavailable("coop-finance's hold did not settle to what was asked".into()),
        generation,
    ))
}

/// [`sync_hold`], recorded in the member's hold row (locked by the caller). When coop-finance
/// could not be reached, `tried` is the key's generation last used: the caller remembers it
/// once its transaction is undone ([`remember_key`]), as a hold may have been made under it.
async fn set_hold(
    tx: &mut PgConnection,
    wallet: &dyn Wallet,
    order: Uuid,
    member: Uuid,
    held: (i32, Decimal),
    amount: Decimal,
    tried: &mut Option<i32>,
) -> Result<(), Refused> {
    if amount == held.1 && !amount.is_zero() {
        return Ok(());
    }
    let generation = match sync_hold(wallet, order, member, held, amount).await {
        Ok(g) => g,
        Err((e, g)) => {
            if matches!(e, WalletError::Unavailable(_)) {
                *tried = Some(g);
            }
            return Err(e.into());
        }
    };
    sqlx::query(
        "update wallet_hold set amount = $3, generation = $4, updated_at = now()
         where order_id = $1 and member_id = $2",
    )
    .bind(order)
    .bind(member)
    .bind(amount)
    .bind(generation)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Remembers that a hold may exist at coop-finance under the member's key of `generation` for
/// the order (a call whose answer was lost, in a transaction since undone): the member's next
/// change, or the order's completion or cancelling, puts it right or gives it back.
async fn remember_key(
    db: &PgPool,
    order: Uuid,
    member: Uuid,
    generation: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into wallet_hold (order_id, member_id, generation) values ($1, $2, $3)
         on conflict (order_id, member_id)
         do update set generation = greatest(wallet_hold.generation, excluded.generation)",
    )
    .bind(order)
    .bind(member)
    .bind(generation)
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a member's hold for an order right (after a product was taken out).
async fn resync_hold(
    db: &PgPool,
    wallet: &dyn Wallet,
    order: Uuid,
    member: Uuid,
    minor: u32,
) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    // Only while the order is open: a closed or completed one settles its holds itself.
    if lock_order(&mut tx, order, true).await?.state() != OrderState::Open {
        return Ok(());
    }
    let held = lock_hold(&mut tx, order, member).await?;
    let amount = most(&mut tx, order, member, minor).await?;
    set_hold(&mut tx, wallet, order, member, held, amount, &mut None).await?;
    tx.commit().await?;
    Ok(())
}

/// Who changes a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The member, for their own purchase: while the order is open and before its end.
    Member(Uuid),
    /// The order's manager, for anyone's purchase: while the order is open or closed.
    Manager(Uuid),
}

/// Sets a member's purchase of a product in an order: `quantity` 0 takes it out. The member's
/// hold follows, inside the same transaction: a purchase their wallet cannot cover is refused
/// and nothing changes.
#[allow(clippy::too_many_arguments)]
pub async fn set_purchase(
    db: &PgPool,
    wallet: &dyn Wallet,
    actor: Actor,
    order: Uuid,
    member: Uuid,
    product: Uuid,
    quantity: Decimal,
    tolerance: Decimal,
    now: DateTime<Utc>,
    minor: u32,
) -> Result<(), Refused> {
    check_quantity(quantity, "quantity")?;
    check_quantity(tolerance, "tolerance")?;
    let mut tx = db.begin().await?;
    // Shared: purchases go on side by side, but not while the order is closed.
    let o = lock_order(&mut tx, order, true).await?;
    match (actor, o.state()) {
        (Actor::Member(who), _) if who != member => return Err(Refused::NotManager),
        (Actor::Member(_), OrderState::Open) => {
            if now >= o.ends_at {
                return Err(Refused::PastEnd(o.ends_at));
            }
        }
        // The manager edits purchases only once the order is closed (the supplier had
        // less), and only down: nobody is made to buy, or to buy more, by someone else; more
        // goes through a change the member approves.
        (Actor::Manager(who), OrderState::Closed) => require_manager(&o, who)?,
        (Actor::Manager(_), OrderState::Open) => return Err(Refused::NotManager),
        (_, state) => return Err(Refused::WrongState(state.as_str())),
    }
    if let Actor::Manager(_) = actor {
        let existing: Option<(Decimal, Decimal)> = sqlx::query_as(
            "select quantity, tolerance from purchase
             where order_id = $1 and product_id = $2 and member_id = $3",
        )
        .bind(order)
        .bind(product)
        .bind(member)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some((q, t)) if quantity <= q && tolerance <= t => {}
            _ => {
                return Err(invalid(
                    "after closing, a purchase can only be lowered; ask the member to approve more",
                ))
            }
        }
    }
    let offered: bool = sqlx::query_scalar(
        "select exists (select 1 from order_product where order_id = $1 and product_id = $2)",
    )
    .bind(order)
    .bind(product)
    .fetch_one(&mut *tx)
    .await?;
    if !offered {
        return Err(Refused::NotInOrder);
    }
    let held = lock_hold(&mut tx, order, member).await?;
    if quantity.is_zero() {
        sqlx::query(
            "delete from purchase where order_id = $1 and product_id = $2 and member_id = $3",
        )
        .bind(order)
        .bind(product)
        .bind(member)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "insert into purchase (order_id, product_id, member_id, quantity, tolerance)
             values ($1, $2, $3, $4, $5)
             on conflict (order_id, product_id, member_id)
             do update set quantity = excluded.quantity, tolerance = excluded.tolerance,
                           updated_at = now()",
        )
        .bind(order)
        .bind(product)
        .bind(member)
        .bind(quantity)
        .bind(tolerance)
        .execute(&mut *tx)
        .await?;
    }
    let amount = most(&mut tx, order, member, minor).await?;
    let mut tried = None;
    if let Err(e) = set_hold(&mut tx, wallet, order, member, held, amount, &mut tried).await {
        if let Some(generation) = tried {
            drop(tx);
            remember_key(db, order, member, generation).await?;
        }
        return Err(match e {
            // What a wallet could cover is its owner's business only.
            Refused::Insufficient { .. } if actor != Actor::Member(member) => {
                Refused::Insufficient { available: None }
            }
            other => other,
        });
    }
    tx.commit().await?;
    Ok(())
}

/// One line of the sorting view: a product, its cases, and who gets how much.
#[derive(Debug, Clone, Serialize)]
pub struct SortLine {
    pub product_id: Uuid,
    pub name: String,
    pub unit: String,
    pub case_size: Decimal,
    pub unit_price: Decimal,
    pub vat_class: String,
    pub cases: Decimal,
    pub units: Decimal,
    pub wanted: Decimal,
    /// (member, wanted, tolerance, gets)
    pub members: Vec<(Uuid, Decimal, Decimal, Decimal)>,
}

/// The unit a product is sold in on an order (its snapshot on the order), when the order has it.
pub async fn product_unit(
    db: &PgPool,
    order: Uuid,
    product: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select unit from order_product where order_id = $1 and product_id = $2")
        .bind(order)
        .bind(product)
        .fetch_optional(db)
        .await
}

/// The order as the supplier gets it and as it is sorted: per product, whole cases filled from
/// the members' quantities and tolerances (see [`fill_cases`]).
pub async fn sorting(db: &PgPool, order: Uuid) -> Result<Vec<SortLine>, sqlx::Error> {
    sorting_in(&mut *db.acquire().await?, order).await
}

/// [`sorting`] inside a transaction.
async fn sorting_in(db: &mut PgConnection, order: Uuid) -> Result<Vec<SortLine>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        product_id: Uuid,
        name: String,
        unit: String,
        case_size: Decimal,
        unit_price: Decimal,
        vat_class: String,
        member_id: Option<Uuid>,
        quantity: Option<Decimal>,
        tolerance: Option<Decimal>,
        rank: Option<i64>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select op.product_id, op.name, op.unit, op.case_size, op.unit_price, op.vat_class,
                p.member_id, p.quantity, p.tolerance, p.rank
         from order_product op left join purchase p using (order_id, product_id)
         where op.order_id = $1
         order by lower(op.name), op.product_id, p.rank",
    )
    .bind(order)
    .fetch_all(db)
    .await?;
    let mut lines: Vec<SortLine> = Vec::new();
    let mut wants: Vec<Vec<Want>> = Vec::new();
    for r in rows {
        if lines.last().is_none_or(|l| l.product_id != r.product_id) {
            lines.push(SortLine {
                product_id: r.product_id,
                name: r.name,
                unit: r.unit,
                case_size: r.case_size,
                unit_price: r.unit_price,
                vat_class: r.vat_class,
                cases: Decimal::ZERO,
                units: Decimal::ZERO,
                wanted: Decimal::ZERO,
                members: Vec::new(),
            });
            wants.push(Vec::new());
        }
        if let (Some(member), Some(quantity), Some(tolerance), Some(rank)) =
            (r.member_id, r.quantity, r.tolerance, r.rank)
        {
            wants.last_mut().expect("a line").push(Want {
                member,
                quantity,
                tolerance,
                rank,
            });
        }
    }
    for (line, ws) in lines.iter_mut().zip(&wants) {
        let fill = fill_cases(line.case_size, ws);
        line.cases = fill.cases;
        line.units = fill.units;
        line.wanted = ws.iter().map(|w| w.quantity).sum();
        let mut ordered: Vec<&Want> = ws.iter().collect();
        ordered.sort_by_key(|w| (w.rank, w.member));
        line.members = ordered
            .iter()
            .zip(&fill.shares)
            .map(|(w, (_, gets))| (w.member, w.quantity, w.tolerance, *gets))
            .collect();
    }
    Ok(lines)
}

/// A member's part of an order: what they get of each product, at what price, and the VAT.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    pub member: Uuid,
    pub lines: Vec<PartLine>,
    pub total: Decimal,
    /// (VAT class, VAT inside the total of that class)
    pub vat: Vec<(String, Decimal)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartLine {
    pub product_id: Uuid,
    pub name: String,
    pub unit: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub amount: Decimal,
    pub vat_class: String,
}

/// Every member's part: the case fill's shares, changed by the approved delivery changes.
/// `vat_percent` gives a class's rate on the order's day.
pub async fn parts(
    db: &PgPool,
    order: Uuid,
    minor: u32,
    vat_percent: &(dyn Fn(&str) -> Decimal + Sync),
) -> Result<Vec<Part>, sqlx::Error> {
    parts_in(&mut *db.acquire().await?, order, minor, vat_percent).await
}

/// [`parts`] inside a transaction.
async fn parts_in(
    db: &mut PgConnection,
    order: Uuid,
    minor: u32,
    vat_percent: &(dyn Fn(&str) -> Decimal + Sync),
) -> Result<Vec<Part>, sqlx::Error> {
    let lines = sorting_in(&mut *db, order).await?;
    parts_of_in(db, order, &lines, minor, vat_percent).await
}

/// [`parts`] from the order's lines already read with [`sorting`] (a page that shows both).
pub async fn parts_of(
    db: &PgPool,
    order: Uuid,
    lines: &[SortLine],
    minor: u32,
    vat_percent: &(dyn Fn(&str) -> Decimal + Sync),
) -> Result<Vec<Part>, sqlx::Error> {
    parts_of_in(&mut *db.acquire().await?, order, lines, minor, vat_percent).await
}

async fn parts_of_in(
    db: &mut PgConnection,
    order: Uuid,
    lines: &[SortLine],
    minor: u32,
    vat_percent: &(dyn Fn(&str) -> Decimal + Sync),
) -> Result<Vec<Part>, sqlx::Error> {
    let approved: Vec<(Uuid, Uuid, Decimal)> = sqlx::query_as(
        "select product_id, member_id, quantity_after from purchase_change
         where order_id = $1 and state = 'approved' order by answered_at",
    )
    .bind(order)
    .fetch_all(&mut *db)
    .await?;
    let mut by_member: std::collections::BTreeMap<Uuid, Vec<PartLine>> =
        std::collections::BTreeMap::new();
    for l in lines {
        for (member, _, _, gets) in &l.members {
            let after = approved
                .iter()
                .rev()
                .find(|(p, m, _)| *p == l.product_id && m == member)
                .map_or(*gets, |(_, _, q)| *q);
            if after.is_zero() {
                continue;
            }
            by_member.entry(*member).or_default().push(PartLine {
                product_id: l.product_id,
                name: l.name.clone(),
                unit: l.unit.clone(),
                quantity: after,
                unit_price: l.unit_price,
                amount: line_amount(after, l.unit_price, minor),
                vat_class: l.vat_class.clone(),
            });
        }
    }
    Ok(by_member
        .into_iter()
        .map(|(member, lines)| {
            let total = lines.iter().map(|l| l.amount).sum();
            let mut classes: std::collections::BTreeMap<String, Decimal> =
                std::collections::BTreeMap::new();
            for l in &lines {
                *classes.entry(l.vat_class.clone()).or_default() += l.amount;
            }
            let vat = classes
                .into_iter()
                .map(|(c, gross)| {
                    let v = vat_in(gross, vat_percent(&c), minor);
                    (c, v)
                })
                .collect();
            Part {
                member,
                lines,
                total,
                vat,
            }
        })
        .collect())
}

// ---- after delivery ---------------------------------------------------------------------

/// The manager asks to change what a member gets of a product (a closed order): what was
/// delivered, with the reason. A change waiting for the same purchase is replaced.
#[allow(clippy::too_many_arguments)]
pub async fn request_change(
    db: &PgPool,
    who: Uuid,
    order: Uuid,
    product: Uuid,
    member: Uuid,
    quantity_after: Decimal,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, Refused> {
    check_quantity(quantity_after, "delivered quantity")?;
    let r = reason.trim().chars().count();
    if r == 0 || r > 500 {
        return Err(invalid("say why, in 1 to 500 characters"));
    }
    let lines = sorting(db, order).await?;
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    if o.state() != OrderState::Closed {
        return Err(Refused::WrongState(o.state().as_str()));
    }
    if member == who {
        return Err(invalid(
            "a change to your own purchase is not yours to approve: hand the order over, or change it before closing",
        ));
    }
    let line = lines
        .iter()
        .find(|l| l.product_id == product)
        .ok_or(Refused::NotInOrder)?;
    let before = line
        .members
        .iter()
        .find(|m| m.0 == member)
        .map(|m| m.3)
        .ok_or(Refused::NotFound)?;
    sqlx::query(
        "update purchase_change set state = 'withdrawn', answered_at = $4
         where order_id = $1 and product_id = $2 and member_id = $3 and state in ('requested', 'disputed')",
    )
    .bind(order)
    .bind(product)
    .bind(member)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into purchase_change (change_id, order_id, product_id, member_id, quantity_before,
                                      quantity_after, reason, requested_by, requested_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(order)
    .bind(product)
    .bind(member)
    .bind(before)
    .bind(quantity_after)
    .bind(reason.trim())
    .bind(who)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    notice(
        &mut tx,
        Kind::Changed,
        order,
        Some(&[member]),
        &json!({ "product": line.name, "unit": line.unit, "before": before.to_string(),
                 "after": quantity_after.to_string(), "reason": reason.trim() }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A member answers a change of their own purchase: approve or dispute (with a note). A change
/// that brings their part above what their wallet holds for the order raises the hold first: an
/// approval their wallet cannot cover is refused (top up, or dispute).
#[allow(clippy::too_many_arguments)]
pub async fn answer_change(
    db: &PgPool,
    wallet: &dyn Wallet,
    member: Uuid,
    change: Uuid,
    approve: bool,
    note: &str,
    now: DateTime<Utc>,
    minor: u32,
) -> Result<(), Refused> {
    if note.chars().count() > 500 {
        return Err(invalid("a note has at most 500 characters"));
    }
    let mut tx = db.begin().await?;
    let row: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "select order_id, member_id, state from purchase_change where change_id = $1 for update",
    )
    .bind(change)
    .fetch_optional(&mut *tx)
    .await?;
    // Another member's change is not found: an id says nothing.
    let Some((order, _, state)) = row.filter(|r| r.1 == member) else {
        return Err(Refused::NotFound);
    };
    let o = lock_order(&mut tx, order, false).await?;
    if o.state() != OrderState::Closed || !(state == "requested" || state == "disputed") {
        return Err(invalid("this change is not waiting for an answer"));
    }
    sqlx::query(
        "update purchase_change set state = $2, answered_at = $3, answer_note = $4 where change_id = $1",
    )
    .bind(change)
    .bind(if approve { "approved" } else { "disputed" })
    .bind(now)
    .bind(note.trim())
    .execute(&mut *tx)
    .await?;
    if approve {
        let part: Decimal = parts_in(&mut tx, order, minor, &|_| Decimal::ZERO)
            .await?
            .iter()
            .find(|p| p.member == member)
            .map_or(Decimal::ZERO, |p| p.total);
        let held = lock_hold(&mut tx, order, member).await?;
        if part > held.1 {
            set_hold(&mut tx, wallet, order, member, held, part, &mut None).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The manager withdraws a change (after talking to the member about a dispute).
pub async fn withdraw_change(
    db: &PgPool,
    who: Uuid,
    change: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let order: Option<Uuid> = sqlx::query_scalar(
        "select order_id from purchase_change where change_id = $1 and state in ('requested', 'disputed') for update",
    )
    .bind(change)
    .fetch_optional(&mut *tx)
    .await?;
    let order = order.ok_or(Refused::NotFound)?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    sqlx::query(
        "update purchase_change set state = 'withdrawn', answered_at = $2 where change_id = $1",
    )
    .bind(change)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The manager marks a checked order completed: no change waits, the total is above the
/// threshold, every line has a VAT rate. It goes in three steps, so that a member is charged
/// once whatever fails on the way:
///
/// 1. In one transaction the order becomes `completing`, with each member's part (what
///    coop-finance captures from their hold) and the feed event's payload fixed. From then on
///    nothing about the order changes: no purchase, change, re-opening or cancelling. A part
///    above the member's hold (an approved change made it so) raises the hold first.
/// 2. [`finish`] captures each part (a member with nothing to pay has their hold released),
///    recording each as done.
/// 3. Once all are, the order is `completed` and its `order.completed` v1 feed event (which
///    coop-finance books) is written, in one transaction.
///
/// If coop-finance cannot be reached in step 2, the order stays `completing`; completing
/// again (or the service's own retry every minute) takes it from where it stopped, with the
/// same amounts. `today` is the co-op's local date, the entry's date in the books.
#[allow(clippy::too_many_arguments)]
pub async fn complete(
    db: &PgPool,
    wallet: &dyn Wallet,
    who: Uuid,
    order: Uuid,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
    minor: u32,
    vat_percent: &(dyn Fn(&str) -> Decimal + Sync),
) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    match o.state() {
        OrderState::Closed => {}
        OrderState::Completing => {
            drop(tx);
            return finish(db, wallet, order, now).await;
        }
        other => return Err(Refused::WrongState(other.as_str())),
    }
    let waiting = waiting_changes(&mut tx, order).await?;
    if waiting > 0 {
        return Err(Refused::ChangesWaiting(waiting));
    }
    let parts = parts_in(&mut tx, order, minor, vat_percent).await?;
    let total: Decimal = parts.iter().map(|p| p.total).sum();
    if total <= o.threshold {
        return Err(Refused::BelowThreshold {
            total,
            threshold: o.threshold,
        });
    }
    // Every line must be bookable: a VAT class without a rate today cannot be.
    if let Some(l) = parts
        .iter()
        .flat_map(|p| &p.lines)
        .find(|l| vat_percent(&l.vat_class) <= Decimal::ZERO)
    {
        return Err(invalid(format!(
            "the VAT class {} has no rate today: fix the co-op's VAT classes first",
            l.vat_class
        )));
    }
    // A part above its hold: the hold grows to it first (refused if the wallet cannot cover).
    for p in &parts {
        let held = lock_hold(&mut tx, order, p.member).await?;
        if p.total > held.1 {
            match set_hold(&mut tx, wallet, order, p.member, held, p.total, &mut None).await {
                Err(Refused::Insufficient { .. }) => {
                    return Err(invalid(format!(
                        "a member's wallet cannot cover their part ({}): they top up first",
                        p.total
                    )))
                }
                other => other?,
            }
        }
    }
    let purchases: Vec<serde_json::Value> = parts
        .iter()
        .filter(|p| !p.total.is_zero())
        .map(|p| {
            // Gross per class, then its VAT, as the member's statement shows it.
            let mut by_class: std::collections::BTreeMap<&str, Decimal> =
                std::collections::BTreeMap::new();
            for l in &p.lines {
                *by_class.entry(&l.vat_class).or_default() += l.amount;
            }
            let rates: Vec<serde_json::Value> = by_class
                .into_iter()
                .map(|(class, gross)| {
                    let percent = vat_percent(class);
                    let vat = vat_in(gross, percent, minor);
                    json!({ "vat_percent": percent, "net": gross - vat, "vat": vat })
                })
                .collect();
            json!({ "owner": p.member, "lines_by_rate": rates })
        })
        .collect();
    let payload = json!({
        "order_id": order, "supplier": o.supplier_name,
        "completed_on": today, "purchases": purchases,
    });
    // Every hold row is settled: one with nothing recorded is released all the same (a hold
    // made whose answer was lost goes too).
    let holds: Vec<(Uuid, i32, Decimal)> =
        sqlx::query_as("select member_id, generation, amount from wallet_hold where order_id = $1")
            .bind(order)
            .fetch_all(&mut *tx)
            .await?;
    for (member, generation, held) in &holds {
        let amount = parts
            .iter()
            .find(|p| p.member == *member)
            .map_or(Decimal::ZERO, |p| p.total);
        sqlx::query(
            "insert into settlement (order_id, member_id, hold_key, held, amount)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(order)
        .bind(member)
        .bind(hold_key(order, *member, *generation))
        .bind(held)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("update club_order set state = 'completing', completion = $2 where order_id = $1")
        .bind(order)
        .bind(&payload)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    finish(db, wallet, order, now).await
}

/// Steps 2 and 3 of [`complete`] for an order that is `completing`: captures what is not yet
/// captured, then marks the order completed with its feed event. Safe to run any number of
/// times, side by side too.
pub async fn finish(
    db: &PgPool,
    wallet: &dyn Wallet,
    order: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Refused> {
    settle_rows(db, wallet, order, now).await?;
    finalize(db, order, now).await
}

/// Settles the order's settlement rows not yet settled: captures each member's part, or
/// releases the hold of a member with nothing to pay; each recorded as it is done.
async fn settle_rows(
    db: &PgPool,
    wallet: &dyn Wallet,
    order: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Refused> {
    let pending: Vec<(Uuid, String, Decimal, Decimal)> = sqlx::query_as(
        "select member_id, hold_key, held, amount from settlement
         where order_id = $1 and settled_at is null order by member_id",
    )
    .bind(order)
    .fetch_all(db)
    .await?;
    for (member, key, held, amount) in pending {
        let done = if amount.is_zero() {
            wallet.release(&key).await
        } else {
            wallet.capture(&key, amount).await
        };
        let _ = held;
        if let Err(e) = done {
            tracing::warn!(%order, %member, error = %e, "a member's part was not captured yet");
            return Err(e.into());
        }
        sqlx::query("update settlement set settled_at = $3 where order_id = $1 and member_id = $2")
            .bind(order)
            .bind(member)
            .bind(now)
            .execute(db)
            .await?;
    }
    Ok(())
}

/// Step 3 of [`complete`]: once every part is settled, the order is completed and its feed
/// event written.
async fn finalize(db: &PgPool, order: Uuid, now: DateTime<Utc>) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    if o.state() != OrderState::Completing {
        // Finished by another run meanwhile.
        return Ok(());
    }
    let left: i64 = sqlx::query_scalar(
        "select count(*) from settlement where order_id = $1 and settled_at is null",
    )
    .bind(order)
    .fetch_one(&mut *tx)
    .await?;
    if left > 0 {
        return Err(Refused::WalletUnavailable);
    }
    let payload: serde_json::Value =
        sqlx::query_scalar("select completion from club_order where order_id = $1")
            .bind(order)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("update club_order set state = 'completed', completed_at = $2 where order_id = $1")
        .bind(order)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update wallet_hold set amount = 0, generation = generation + 1, updated_at = now()
         where order_id = $1",
    )
    .bind(order)
    .execute(&mut *tx)
    .await?;
    coop_web::feed::publish(&mut tx, Event::OrderCompleted, None, &payload).await?;
    notice(&mut tx, Kind::Completed, order, None, &json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// The manager calls off an order that will not be sent (below its threshold, or the supplier
/// cannot deliver): open or closed, it becomes `cancelled` and every member's hold is released
/// (by [`release_cancelled`], now and until coop-finance has answered).
pub async fn cancel(
    db: &PgPool,
    wallet: &dyn Wallet,
    who: Uuid,
    order: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Refused> {
    let mut tx = db.begin().await?;
    let o = lock_order(&mut tx, order, false).await?;
    require_manager(&o, who)?;
    if !matches!(o.state(), OrderState::Open | OrderState::Closed) {
        return Err(Refused::WrongState(o.state().as_str()));
    }
    sqlx::query(
        "update club_order set state = 'cancelled', closed_at = coalesce(closed_at, $2)
         where order_id = $1",
    )
    .bind(order)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update purchase_change set state = 'withdrawn', answered_at = coalesce(answered_at, $2)
         where order_id = $1 and state in ('requested', 'disputed')",
    )
    .bind(order)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    notice(&mut tx, Kind::Cancelled, order, None, &json!({})).await?;
    // Every hold row is released, also one with nothing recorded (a hold whose answer was
    // lost).
    sqlx::query(
        "insert into settlement (order_id, member_id, hold_key, held, amount)
         select order_id, member_id,
                'order:' || order_id || ':' || member_id || ':' || generation, amount, 0
         from wallet_hold where order_id = $1",
    )
    .bind(order)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update wallet_hold set amount = 0, generation = generation + 1, updated_at = now()
         where order_id = $1",
    )
    .bind(order)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Err(e) = settle_rows(db, wallet, order, now).await {
        tracing::warn!(%order, error = %e, "holds of a cancelled order wait to be released");
    }
    Ok(())
}

/// What the service retries in the background: orders left `completing` and cancelled orders
/// with holds not yet released (coop-finance was unreachable). Answers how many are left.
pub async fn settle_pending(
    db: &PgPool,
    wallet: &dyn Wallet,
    now: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let orders: Vec<(Uuid, String)> = sqlx::query_as(
        "select order_id, state from club_order where state = 'completing'
         union
         select distinct s.order_id, 'cancelled' from settlement s join club_order o using (order_id)
         where o.state = 'cancelled' and s.settled_at is null",
    )
    .fetch_all(db)
    .await?;
    let mut left = 0;
    for (order, state) in orders {
        let done = if state == "completing" {
            finish(db, wallet, order, now).await
        } else {
            settle_rows(db, wallet, order, now).await
        };
        match done {
            Ok(()) => {}
            Err(Refused::Database(e)) => return Err(e),
            Err(e) => {
                tracing::info!(%order, error = %e, "settling later");
                left += 1;
            }
        }
    }
    Ok(left)
}

/// A change after delivery, as the order's page lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Change {
    pub change_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub unit: String,
    pub member_id: Uuid,
    pub quantity_before: Decimal,
    pub quantity_after: Decimal,
    pub reason: String,
    pub state: String,
    pub answer_note: String,
    pub requested_at: DateTime<Utc>,
}

/// The order's changes after delivery, newest first (withdrawn ones left out).
pub async fn changes(db: &PgPool, order: Uuid) -> Result<Vec<Change>, sqlx::Error> {
    sqlx::query_as(
        "select c.change_id, c.product_id, op.name as product_name, op.unit, c.member_id,
                c.quantity_before, c.quantity_after, c.reason, c.state, c.answer_note,
                c.requested_at
         from purchase_change c join order_product op using (order_id, product_id)
         where c.order_id = $1 and c.state <> 'withdrawn'
         order by c.requested_at desc, c.change_id",
    )
    .bind(order)
    .fetch_all(db)
    .await
}

/// The order of `member`'s change (none for another member's).
pub async fn change_order(
    db: &PgPool,
    change: Uuid,
    member: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "select order_id from purchase_change where change_id = $1 and member_id = $2",
    )
    .bind(change)
    .bind(member)
    .fetch_optional(db)
    .await
}

/// The order of a change.
pub async fn change_order_any(db: &PgPool, change: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("select order_id from purchase_change where change_id = $1")
        .bind(change)
        .fetch_optional(db)
        .await
}

/// The supplier's article numbers of an order's products.
pub async fn articles(db: &PgPool, order: Uuid) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "select op.product_id, p.article_id from order_product op join product p using (product_id)
         where op.order_id = $1",
    )
    .bind(order)
    .fetch_all(db)
    .await
}
