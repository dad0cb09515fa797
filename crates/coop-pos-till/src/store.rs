//! The till's SQLite store (WAL, `synchronous=FULL`: a committed sale is on disk before the
//! screen says it is done). It holds the catalogue and members as their feeds carry them, the
//! open and parked baskets (a reboot mid-sale loses nothing) and the append-only, hash-chained
//! journal that is uploaded to central. Money is kept in integer minor units, quantities in
//! thousandths. Queries are built at run time: the macros check against PostgreSQL here.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr as _;

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row as _, SqlitePool};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::journal::{SaleKind, SaleRecord, GENESIS};
use crate::pricing::{PriceChange, SaleUnit};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./till-migrations");

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the feed's payload is not what this till understands: {0}")]
    Payload(String),
    #[error("there is no such basket or line")]
    NoBasket,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Money to and from minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minor(pub u32);

impl Minor {
    pub fn to_int(self, d: Decimal) -> Result<i64, StoreError> {
        let scaled = d * Decimal::from(10_i64.pow(self.0));
        if !scaled.fract().is_zero() {
            return Err(StoreError::Payload(format!(
                "{d} has more decimals than the currency"
            )));
        }
        scaled
            .to_i64()
            .ok_or_else(|| StoreError::Payload(format!("{d} is too large")))
    }

    pub fn to_dec(self, n: i64) -> Decimal {
        Decimal::new(n, self.0)
    }
}

/// A quantity in thousandths.
pub fn milli(q: Decimal) -> Option<i64> {
    let scaled = q * Decimal::from(1000);
    if scaled.fract().is_zero() {
        scaled.to_i64()
    } else {
        None
    }
}

pub fn from_milli(n: i64) -> Decimal {
    Decimal::new(n, 3).normalize()
}

/// A product as the till holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub names: std::collections::BTreeMap<String, String>,
    pub unit: SaleUnit,
    pub vat_class: String,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub active: bool,
    pub price_changes: Vec<PriceChange>,
    pub eligible: Vec<String>,
}

impl Product {
    /// The name in `lang`, else the catalogue's own.
    pub fn name_in(&self, lang: &str) -> &str {
        self.names
            .get(lang)
            .map_or(self.name.as_str(), String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pack {
    pub pack_id: Uuid,
    pub name: String,
    pub units: i64,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub active: bool,
}

/// What a code finds: a product, or one of its packs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub product: Product,
    pub pack: Option<Pack>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub sub: String,
    pub member_number: Option<String>,
    pub name: String,
    pub status: String,
    pub member_prices: bool,
    pub offline_spent: Decimal,
}

impl Member {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cashier {
    pub sub: String,
    pub name: String,
    pub pin_hash: String,
    pub manager: bool,
}

/// A basket line as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredLine {
    pub line_no: i64,
    pub product_id: Uuid,
    pub pack_id: Option<Uuid>,
    pub quantity: Decimal,
    pub fixed_amount: Option<Decimal>,
    pub voided: bool,
    /// An open-price line: what the cashier typed for an item the catalogue does not know.
    pub open: Option<OpenItem>,
}

/// An item sold at a price a manager allowed, for a code the catalogue does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenItem {
    /// The code that was not found (so the co-op can add it to the catalogue).
    pub code: String,
    pub name: String,
    pub vat_class: String,
    /// The manager who allowed it.
    pub approved_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basket {
    pub basket_id: Uuid,
    pub status: String,
    pub cashier: String,
    pub member: Option<String>,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<StoredLine>,
}

/// The till's store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    minor: Minor,
    /// One journal writer at a time: the next number and hash are read and written together.
    append: std::sync::Arc<Mutex<()>>,
    /// One return at a time: what is left of a sale is read and the return written together.
    returns: std::sync::Arc<Mutex<()>>,
}

fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::from_str(s).map_err(|e| StoreError::Payload(format!("{s:?} is not an id: {e}")))
}

fn dec_field(v: &Value, key: &str) -> Result<Option<Decimal>, StoreError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Decimal::from_str(s)
            .map(Some)
            .map_err(|e| StoreError::Payload(format!("{key}: {e}"))),
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .map(Some)
            .map_err(|e| StoreError::Payload(format!("{key}: {e}"))),
        Some(other) => Err(StoreError::Payload(format!(
            "{key}: {other} is not an amount"
        ))),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, StoreError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::Payload(format!("{key} is missing")))
}

impl Store {
    /// Opens (creating) the store at `path` and brings its schema up to date.
    pub async fn open(path: &Path, minor_units: u32) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            minor: Minor(minor_units),
            append: std::sync::Arc::new(Mutex::new(())),
            returns: std::sync::Arc::new(Mutex::new(())),
        })
    }

    /// A write transaction, holding SQLite's write lock from its start (`BEGIN IMMEDIATE`). A
    /// deferred one that reads first fails at once with "database is locked" when another
    /// writer (the sync, the checkout, another process) commits before it writes: the busy
    /// timeout covers waiting for the lock, not a read snapshot gone stale. Taken at the start,
    /// the lock is waited for (up to the busy timeout) and the transaction never fails so.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Held while a return is planned and written, so that two returns of one sale cannot both
    /// take what is left of it.
    pub async fn returns_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.returns.lock().await
    }

    pub fn minor(&self) -> Minor {
        self.minor
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    // ---- settings and cursors ----

    pub async fn setting(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let v: Option<String> = sqlx::query_scalar("select value from setting where key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        v.map(|v| serde_json::from_str(&v).map_err(|e| StoreError::Payload(e.to_string())))
            .transpose()
    }

    pub async fn set_setting(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        sqlx::query("insert into setting (key, value) values (?, ?) on conflict (key) do update set value = excluded.value")
            .bind(key)
            .bind(value.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn cursor(&self, feed: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("select after from cursor where feed = ?")
                .bind(feed)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    // ---- the catalogue ----

    /// Applies a page of `product.changed` events and moves the cursor to `next_after` (or the
    /// last event's id), in one transaction: a crash mid-page applies the page again, which
    /// changes nothing.
    pub async fn apply_products(
        &self,
        feed: &str,
        events: &[(i64, Value)],
    ) -> Result<(), StoreError> {
        self.apply_products_to(feed, events, None).await
    }

    pub async fn apply_products_to(
        &self,
        feed: &str,
        events: &[(i64, Value)],
        next_after: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let mut last = None;
        for (id, payload) in events {
            apply_product(&mut tx, self.minor, payload).await?;
            last = Some(*id);
        }
        if let Some(after) = next_after.or(last) {
            set_cursor(&mut tx, feed, after).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What `kind` (`gtin` in its 14-digit form, or `plu`) `code` finds.
    pub async fn find_code(&self, kind: &str, code: &str) -> Result<Option<Found>, StoreError> {
        let row = sqlx::query("select product_id, pack_id from code where kind = ? and code = ?")
            .bind(kind)
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let product: String = row.get(0);
        let pack: Option<String> = row.get(1);
        let Some(product) = self.product(uuid(&product)?).await? else {
            return Ok(None);
        };
        let pack = match pack {
            Some(p) => self.pack(uuid(&p)?).await?,
            None => None,
        };
        Ok(Some(Found { product, pack }))
    }

    pub async fn find_sku(&self, sku: &str) -> Result<Option<Product>, StoreError> {
        let id: Option<String> = sqlx::query_scalar("select product_id from product where sku = ?")
            .bind(sku)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some(id) => self.product(uuid(&id)?).await,
            None => Ok(None),
        }
    }

    pub async fn product(&self, id: Uuid) -> Result<Option<Product>, StoreError> {
        let row = sqlx::query(
            "select product_id, sku, name, names, unit, vat_class, shelf_price, member_price,
                    active, price_changes, eligible
             from product where product_id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| self.product_of(&r)).transpose()
    }

    fn product_of(&self, r: &sqlx::sqlite::SqliteRow) -> Result<Product, StoreError> {
        let unit: String = r.get(4);
        let unit = match unit.as_str() {
            "kg" => SaleUnit::Kg,
            "l" => SaleUnit::L,
            _ => SaleUnit::Each,
        };
        let json = |i: usize| -> Result<Value, StoreError> {
            let s: String = r.get(i);
            serde_json::from_str(&s).map_err(|e| StoreError::Payload(e.to_string()))
        };
        let member: Option<i64> = r.get(7);
        let active: i64 = r.get(8);
        Ok(Product {
            product_id: uuid(&r.get::<String, _>(0))?,
            sku: r.get(1),
            name: r.get(2),
            names: serde_json::from_value(json(3)?).unwrap_or_default(),
            unit,
            vat_class: r.get(5),
            shelf_price: self.minor.to_dec(r.get(6)),
            member_price: member.map(|m| self.minor.to_dec(m)),
            active: active == 1,
            price_changes: serde_json::from_value(json(9)?)
                .map_err(|e| StoreError::Payload(e.to_string()))?,
            eligible: serde_json::from_value(json(10)?).unwrap_or_default(),
        })
    }

    pub async fn pack(&self, id: Uuid) -> Result<Option<Pack>, StoreError> {
        let row = sqlx::query(
            "select pack_id, name, units, shelf_price, member_price, active from pack where pack_id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let member: Option<i64> = r.get(4);
            let active: i64 = r.get(5);
            Ok(Pack {
                pack_id: uuid(&r.get::<String, _>(0))?,
                name: r.get(1),
                units: r.get(2),
                shelf_price: self.minor.to_dec(r.get(3)),
                member_price: member.map(|m| self.minor.to_dec(m)),
                active: active == 1,
            })
        })
        .transpose()
    }

    /// Active products whose name or SKU starts with or contains `q`, the closest first.
    pub async fn search(&self, q: &str, limit: i64) -> Result<Vec<Product>, StoreError> {
        let like = format!("%{}%", q.replace(['%', '_'], ""));
        let rows = sqlx::query(
            "select product_id, sku, name, names, unit, vat_class, shelf_price, member_price,
                    active, price_changes, eligible
             from product where active = 1 and (name like ?1 or sku like ?1 or names like ?1)
             order by (name like ?2) desc, name limit ?3",
        )
        .bind(&like)
        .bind(format!("{}%", q.replace(['%', '_'], "")))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| self.product_of(r)).collect()
    }

    pub async fn product_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("select count(*) from product")
            .fetch_one(&self.pool)
            .await?)
    }

    // ---- members and cashiers ----

    /// Applies a page of coop-sso's member events and moves the cursor, in one transaction.
    pub async fn apply_members(
        &self,
        feed: &str,
        events: &[(i64, Value)],
    ) -> Result<(), StoreError> {
        self.apply_members_to(feed, events, None).await
    }

    pub async fn apply_members_to(
        &self,
        feed: &str,
        events: &[(i64, Value)],
        next_after: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let mut last = None;
        for (id, p) in events {
            let sub = str_field(p, "sub")?;
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            let status = p.get("status").and_then(Value::as_str).unwrap_or("active");
            let number = p.get("member_number").and_then(Value::as_str);
            let prices = p
                .get("member_prices")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            // A member number moves with its member: free it from whoever had it.
            if let Some(n) = number {
                sqlx::query(
                    "update member set member_number = null where member_number = ? and sub <> ?",
                )
                .bind(n)
                .bind(sub)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "insert into member (sub, member_number, name, status, member_prices)
                 values (?, ?, ?, ?, ?)
                 on conflict (sub) do update set member_number = excluded.member_number,
                     name = excluded.name, status = excluded.status,
                     member_prices = excluded.member_prices",
            )
            .bind(sub)
            .bind(number)
            .bind(name)
            .bind(status)
            .bind(i64::from(prices))
            .execute(&mut *tx)
            .await?;
            last = Some(*id);
        }
        if let Some(after) = next_after.or(last) {
            set_cursor(&mut tx, feed, after).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` active members' ids.
    pub async fn active_members(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "select sub from member where status = 'active' order by sub limit ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn member_by_number(&self, number: &str) -> Result<Option<Member>, StoreError> {
        self.member_where("member_number = ?", number).await
    }

    pub async fn member(&self, sub: &str) -> Result<Option<Member>, StoreError> {
        self.member_where("sub = ?", sub).await
    }

    async fn member_where(&self, clause: &str, v: &str) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(&format!(
            "select sub, member_number, name, status, member_prices, offline_spent from member where {clause}"
        ))
        .bind(v)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            let prices: i64 = r.get(4);
            Member {
                sub: r.get(0),
                member_number: r.get(1),
                name: r.get(2),
                status: r.get(3),
                member_prices: prices == 1,
                offline_spent: self.minor.to_dec(r.get(5)),
            }
        }))
    }

    /// Replaces the cashiers with central's list.
    pub async fn set_cashiers(&self, cashiers: &[Cashier]) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("delete from cashier").execute(&mut *tx).await?;
        for c in cashiers {
            sqlx::query("insert into cashier (sub, name, pin_hash, manager) values (?, ?, ?, ?)")
                .bind(&c.sub)
                .bind(&c.name)
                .bind(&c.pin_hash)
                .bind(i64::from(c.manager))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn cashiers(&self) -> Result<Vec<Cashier>, StoreError> {
        let rows = sqlx::query("select sub, name, pin_hash, manager from cashier order by name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let m: i64 = r.get(3);
                Cashier {
                    sub: r.get(0),
                    name: r.get(1),
                    pin_hash: r.get(2),
                    manager: m == 1,
                }
            })
            .collect())
    }

    // ---- baskets ----

    /// The cashier's open basket, opened if there is none.
    pub async fn open_basket(&self, cashier: &str) -> Result<Uuid, StoreError> {
        let open: Option<String> = sqlx::query_scalar(
            "select basket_id from basket where status = 'open' and cashier = ? order by created_at limit 1",
        )
        .bind(cashier)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = open {
            return uuid(&id);
        }
        let id = Uuid::new_v4();
        sqlx::query(
            "insert into basket (basket_id, status, cashier, created_at) values (?, 'open', ?, ?)",
        )
        .bind(id.to_string())
        .bind(cashier)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn basket(&self, id: Uuid) -> Result<Option<Basket>, StoreError> {
        let row = sqlx::query(
            "select status, cashier, member, created_at from basket where basket_id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let lines = sqlx::query(
            "select line_no, product_id, pack_id, quantity, fixed_amount, voided,
                    open_code, open_name, open_vat_class, approved_by
             from basket_line where basket_id = ? order by line_no",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let lines = lines
            .iter()
            .map(|l| {
                let pack: Option<String> = l.get(2);
                let fixed: Option<i64> = l.get(4);
                let voided: i64 = l.get(5);
                let open_name: Option<String> = l.get(7);
                Ok(StoredLine {
                    line_no: l.get(0),
                    product_id: uuid(&l.get::<String, _>(1))?,
                    pack_id: pack.map(|p| uuid(&p)).transpose()?,
                    quantity: from_milli(l.get(3)),
                    fixed_amount: fixed.map(|f| self.minor.to_dec(f)),
                    voided: voided == 1,
                    open: open_name.map(|name| OpenItem {
                        code: l.get::<Option<String>, _>(6).unwrap_or_default(),
                        name,
                        vat_class: l.get::<Option<String>, _>(8).unwrap_or_default(),
                        approved_by: l.get::<Option<String>, _>(9).unwrap_or_default(),
                    }),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let created: String = row.get(3);
        Ok(Some(Basket {
            basket_id: id,
            status: row.get(0),
            cashier: row.get(1),
            member: row.get(2),
            created_at: DateTime::parse_from_rfc3339(&created)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default(),
            lines,
        }))
    }

    /// Adds a line; answers its number.
    /// Adds an open-price line: one item at `amount`, allowed by a manager.
    pub async fn add_open_line(
        &self,
        basket: Uuid,
        item: &OpenItem,
        amount: Decimal,
    ) -> Result<i64, StoreError> {
        self.insert_line(
            basket,
            Uuid::nil(),
            None,
            Decimal::ONE,
            Some(amount),
            Some(item),
        )
        .await
    }

    pub async fn add_line(
        &self,
        basket: Uuid,
        product: Uuid,
        pack: Option<Uuid>,
        quantity: Decimal,
        fixed_amount: Option<Decimal>,
    ) -> Result<i64, StoreError> {
        self.insert_line(basket, product, pack, quantity, fixed_amount, None)
            .await
    }

    async fn insert_line(
        &self,
        basket: Uuid,
        product: Uuid,
        pack: Option<Uuid>,
        quantity: Decimal,
        fixed_amount: Option<Decimal>,
        open: Option<&OpenItem>,
    ) -> Result<i64, StoreError> {
        let q = milli(quantity).ok_or_else(|| StoreError::Payload("quantity".into()))?;
        let fixed = fixed_amount.map(|f| self.minor.to_int(f)).transpose()?;
        let mut tx = self.write().await?;
        let exists: Option<String> =
            sqlx::query_scalar("select status from basket where basket_id = ? and status = 'open'")
                .bind(basket.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(StoreError::NoBasket);
        }
        let next: i64 = sqlx::query_scalar(
            "select coalesce(max(line_no), 0) + 1 from basket_line where basket_id = ?",
        )
        .bind(basket.to_string())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "insert into basket_line (basket_id, line_no, product_id, pack_id, quantity, fixed_amount,
                                      open_code, open_name, open_vat_class, approved_by)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(basket.to_string())
        .bind(next)
        .bind(product.to_string())
        .bind(pack.map(|p| p.to_string()))
        .bind(q)
        .bind(fixed)
        .bind(open.map(|o| o.code.as_str()))
        .bind(open.map(|o| o.name.as_str()))
        .bind(open.map(|o| o.vat_class.as_str()))
        .bind(open.map(|o| o.approved_by.as_str()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(next)
    }

    pub async fn set_quantity(
        &self,
        basket: Uuid,
        line: i64,
        quantity: Decimal,
    ) -> Result<(), StoreError> {
        let q = milli(quantity).ok_or_else(|| StoreError::Payload("quantity".into()))?;
        self.change_line(
            sqlx::query("update basket_line set quantity = ? where basket_id = ? and line_no = ? and voided = 0 and fixed_amount is null")
                .bind(q)
                .bind(basket.to_string())
                .bind(line),
        )
        .await
    }

    pub async fn void_line(&self, basket: Uuid, line: i64) -> Result<(), StoreError> {
        self.change_line(
            sqlx::query("update basket_line set voided = 1 where basket_id = ? and line_no = ?")
                .bind(basket.to_string())
                .bind(line),
        )
        .await
    }

    async fn change_line<'a>(
        &self,
        q: sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'a>>,
    ) -> Result<(), StoreError> {
        if q.execute(&self.pool).await?.rows_affected() == 0 {
            return Err(StoreError::NoBasket);
        }
        Ok(())
    }

    pub async fn set_member(&self, basket: Uuid, member: Option<&str>) -> Result<(), StoreError> {
        self.change_line(
            sqlx::query("update basket set member = ? where basket_id = ? and status = 'open'")
                .bind(member)
                .bind(basket.to_string()),
        )
        .await
    }

    /// Parks the open basket (a member went back for the milk) and opens none.
    pub async fn park(&self, basket: Uuid) -> Result<(), StoreError> {
        self.change_line(
            sqlx::query("update basket set status = 'parked', parked_at = ? where basket_id = ? and status = 'open'")
                .bind(Utc::now().to_rfc3339())
                .bind(basket.to_string()),
        )
        .await
    }

    /// Resumes a parked basket for `cashier`, parking their open one if it has lines.
    pub async fn resume(&self, basket: Uuid, cashier: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let open: Option<String> = sqlx::query_scalar(
            "select basket_id from basket where status = 'open' and cashier = ?",
        )
        .bind(cashier)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(open) = open {
            let lines: i64 =
                sqlx::query_scalar("select count(*) from basket_line where basket_id = ?")
                    .bind(&open)
                    .fetch_one(&mut *tx)
                    .await?;
            if lines == 0 {
                sqlx::query("delete from basket where basket_id = ?")
                    .bind(&open)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(
                    "update basket set status = 'parked', parked_at = ? where basket_id = ?",
                )
                .bind(Utc::now().to_rfc3339())
                .bind(&open)
                .execute(&mut *tx)
                .await?;
            }
        }
        let n = sqlx::query(
            "update basket set status = 'open', parked_at = null, cashier = ? where basket_id = ? and status = 'parked'",
        )
        .bind(cashier)
        .bind(basket.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NoBasket);
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn parked(&self) -> Result<Vec<(Uuid, DateTime<Utc>, i64)>, StoreError> {
        let rows = sqlx::query(
            "select b.basket_id, b.parked_at, count(l.line_no) from basket b
             left join basket_line l on l.basket_id = b.basket_id and l.voided = 0
             where b.status = 'parked' group by b.basket_id order by b.parked_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.get(1);
                Ok((
                    uuid(&r.get::<String, _>(0))?,
                    DateTime::parse_from_rfc3339(&at)
                        .map(|d| d.with_timezone(&Utc))
                        .unwrap_or_default(),
                    r.get(2),
                ))
            })
            .collect()
    }

    // ---- the journal ----

    /// The last record's number and hash ([`GENESIS`] before the first).
    pub async fn last_link(&self) -> Result<(i64, String), StoreError> {
        let row = sqlx::query("select seq, hash from journal order by seq desc limit 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map_or((0, GENESIS.to_owned()), |r| (r.get(0), r.get(1))))
    }

    /// Appends a completed sale: gives it the next number, links and seals it, writes it and
    /// deletes its basket, in one transaction that is on disk when this returns. Answers the
    /// sealed record.
    pub async fn append(
        &self,
        mut record: SaleRecord,
        basket: Option<Uuid>,
        wallet_offline: Option<(&str, Decimal)>,
    ) -> Result<SaleRecord, StoreError> {
        let _one = self.append.lock().await;
        let mut tx = self.write().await?;
        let row = sqlx::query("select seq, hash from journal order by seq desc limit 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev): (i64, String) =
            row.map_or((0, GENESIS.to_owned()), |r| (r.get(0), r.get(1)));
        record.seq = seq + 1;
        record.seal(&prev);
        let json = serde_json::to_string(&record).expect("a record serialises");
        sqlx::query(
            "insert into journal (seq, sale_id, record, hash, completed_at, original_sale)
             values (?, ?, ?, ?, ?, ?)",
        )
        .bind(record.seq)
        .bind(record.sale_id.to_string())
        .bind(json)
        .bind(&record.hash)
        .bind(record.completed_at.to_rfc3339())
        .bind(record.original_sale.map(|o| o.to_string()))
        .execute(&mut *tx)
        .await?;
        if let Some(b) = basket {
            // The basket goes with its sale: a second payment of the same basket (a double
            // tap) finds it gone and writes nothing.
            let gone = sqlx::query("delete from basket where basket_id = ? and status = 'open'")
                .bind(b.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone != 1 {
                return Err(StoreError::NoBasket);
            }
        }
        // A hold noted before it was asked for belongs to this sale now: nothing to give back.
        sqlx::query("delete from wallet_release where sale_id = ?")
            .bind(record.sale_id.to_string())
            .execute(&mut *tx)
            .await?;
        if let Some((member, amount)) = wallet_offline {
            sqlx::query("update member set offline_spent = offline_spent + ? where sub = ?")
                .bind(self.minor.to_int(amount)?)
                .bind(member)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// Records not yet uploaded, oldest first.
    pub async fn pending(&self, limit: i64) -> Result<Vec<SaleRecord>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "select record from journal where uploaded_at is null order by seq limit ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(|e| StoreError::Payload(e.to_string())))
            .collect()
    }

    /// How many records wait to upload, and the oldest one's time.
    pub async fn pending_count(&self) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let row = sqlx::query(
            "select count(*), min(completed_at) from journal where uploaded_at is null",
        )
        .fetch_one(&self.pool)
        .await?;
        let since: Option<String> = row.get(1);
        Ok((
            row.get(0),
            since.and_then(|s| {
                DateTime::parse_from_rfc3339(&s)
                    .ok()
                    .map(|d| d.with_timezone(&Utc))
            }),
        ))
    }

    /// Marks the records up to `seq` uploaded (central holds them). What those records paid from
    /// members' wallets offline no longer counts against the offline limit: the books have it.
    pub async fn mark_uploaded(&self, seq: i64) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let records: Vec<String> =
            sqlx::query_scalar("select record from journal where seq <= ? and uploaded_at is null")
                .bind(seq)
                .fetch_all(&mut *tx)
                .await?;
        let mut offline: BTreeMap<String, Decimal> = BTreeMap::new();
        for r in &records {
            let r: SaleRecord =
                serde_json::from_str(r).map_err(|e| StoreError::Payload(e.to_string()))?;
            if let (Some(m), false) = (&r.member, r.kind == SaleKind::Training) {
                let paid: Decimal = r
                    .tenders
                    .iter()
                    .filter(|t| {
                        t.kind == "wallet" && t.reference.is_none() && t.amount > Decimal::ZERO
                    })
                    .map(|t| t.amount)
                    .sum();
                if !paid.is_zero() {
                    *offline.entry(m.clone()).or_default() += paid;
                }
            }
        }
        for (member, paid) in offline {
            sqlx::query(
                "update member set offline_spent = max(0, offline_spent - ?) where sub = ?",
            )
            .bind(self.minor.to_int(paid)?)
            .bind(member)
            .execute(&mut *tx)
            .await?;
        }
        let n = sqlx::query(
            "update journal set uploaded_at = ? where seq <= ? and uploaded_at is null",
        )
        .bind(Utc::now().to_rfc3339())
        .bind(seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    // ---- the time clock ----

    /// `sub`'s latest clocking at this till.
    pub async fn last_clock(&self, sub: &str) -> Result<Option<crate::clock::Event>, StoreError> {
        let row = sqlx::query(
            "select event_id, kind, at from clock_event where sub = ? order by at desc, rowid desc limit 1",
        )
        .bind(sub)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| clock_event(sub, r.get(0), r.get(1), r.get(2)))
            .transpose()
    }

    /// Writes a clocking durably.
    pub async fn add_clock(&self, e: &crate::clock::Event) -> Result<(), StoreError> {
        // One width for every time, so that they sort as text.
        sqlx::query("insert into clock_event (event_id, sub, kind, at) values (?, ?, ?, ?)")
            .bind(e.event_id.to_string())
            .bind(&e.sub)
            .bind(e.kind.as_str())
            .bind(e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Who is clocked in now, with since when.
    pub async fn clocked_in(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(
            "select e.sub, e.at from clock_event e
             where e.kind = 'in' and not exists (
                 select 1 from clock_event later where later.sub = e.sub
                   and (later.at > e.at or (later.at = e.at and later.rowid > e.rowid)))
             order by e.at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.get(1);
                Ok((r.get(0), parse_time(&at)?))
            })
            .collect()
    }

    /// Clockings central does not have yet, oldest first.
    pub async fn pending_clock(&self, limit: i64) -> Result<Vec<crate::clock::Event>, StoreError> {
        let rows = sqlx::query(
            "select event_id, sub, kind, at from clock_event where uploaded_at is null
             order by at limit ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| clock_event(&r.get::<String, _>(1), r.get(0), r.get(2), r.get(3)))
            .collect()
    }

    /// Logs a drawer opened without a sale.
    pub async fn log_drawer_opening(&self, cashier: &str, manager: &str) -> Result<(), StoreError> {
        sqlx::query(
            "insert into drawer_opening (opening_id, cashier, manager, at) values (?, ?, ?, ?)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(cashier)
        .bind(manager)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The drawer openings without a sale, newest first: (cashier, manager, when).
    pub async fn drawer_openings(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query("select cashier, manager, at from drawer_opening order by at desc")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Central has these clockings.
    pub async fn clock_uploaded(&self, ids: &[Uuid]) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let now = Utc::now().to_rfc3339();
        for id in ids {
            sqlx::query(
                "update clock_event set uploaded_at = ? where event_id = ? and uploaded_at is null",
            )
            .bind(&now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- wallet holds to give back ----

    /// Notes a hold that central did not confirm giving back.
    pub async fn note_release(&self, sale: Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "insert into wallet_release (sale_id, noted_at) values (?, ?) on conflict do nothing",
        )
        .bind(sale.to_string())
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The holds still to give back: noted at least `older_than` ago, so that a checkout still
    /// under way keeps its own.
    pub async fn releases(&self, older_than: chrono::Duration) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "select sale_id from wallet_release where noted_at <= ? order by noted_at",
        )
        .bind((Utc::now() - older_than).to_rfc3339())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Uuid::parse_str(r).ok())
            .collect())
    }

    /// A hold given back.
    pub async fn released(&self, sale: Uuid) -> Result<(), StoreError> {
        sqlx::query("delete from wallet_release where sale_id = ?")
            .bind(sale.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest sales, newest first (the "last sales" list for a reprint).
    pub async fn recent(&self, limit: i64) -> Result<Vec<SaleRecord>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("select record from journal order by seq desc limit ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(|e| StoreError::Payload(e.to_string())))
            .collect()
    }

    /// The returns made against the sale `original`, oldest first.
    /// Notes the key the payment bridge knows the sale's card payment by (for its slip).
    pub async fn note_card_key(&self, sale: Uuid, key: &str) -> Result<(), StoreError> {
        sqlx::query("insert or ignore into card_key (sale_id, key) values (?, ?)")
            .bind(sale.to_string())
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The key the payment bridge knows the sale's card payment by.
    pub async fn card_key(&self, sale: Uuid) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("select key from card_key where sale_id = ?")
                .bind(sale.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn returns_of(&self, original: Uuid) -> Result<Vec<SaleRecord>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("select record from journal where original_sale = ? order by seq")
                .bind(original.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| serde_json::from_str(r).map_err(|e| StoreError::Payload(e.to_string())))
            .collect()
    }

    pub async fn sale(&self, id: Uuid) -> Result<Option<SaleRecord>, StoreError> {
        let row: Option<String> =
            sqlx::query_scalar("select record from journal where sale_id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| serde_json::from_str(&r).map_err(|e| StoreError::Payload(e.to_string())))
            .transpose()
    }
}

async fn set_cursor(
    tx: &mut sqlx::SqliteConnection,
    feed: &str,
    after: i64,
) -> Result<(), StoreError> {
    sqlx::query("insert into cursor (feed, after) values (?, ?) on conflict (feed) do update set after = excluded.after")
        .bind(feed)
        .bind(after)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// One `product.changed` payload: the product, its packs and all its codes replaced.
async fn apply_product(
    tx: &mut sqlx::SqliteConnection,
    minor: Minor,
    p: &Value,
) -> Result<(), StoreError> {
    let id = uuid(str_field(p, "product_id")?)?.to_string();
    let shelf = dec_field(p, "shelf_price")?
        .ok_or_else(|| StoreError::Payload("shelf_price is missing".into()))?;
    let member = dec_field(p, "member_price")?;
    let unit = str_field(p, "unit")?;
    if !matches!(unit, "each" | "kg" | "l") {
        return Err(StoreError::Payload(format!("unit {unit:?}")));
    }
    let changes: Vec<PriceChange> = serde_json::from_value(
        p.get("price_changes")
            .cloned()
            .unwrap_or(Value::Array(vec![])),
    )
    .map_err(|e| StoreError::Payload(format!("price_changes: {e}")))?;
    sqlx::query(
        "insert into product (product_id, sku, name, names, unit, vat_class, shelf_price,
                              member_price, active, price_changes, eligible)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (product_id) do update set sku = excluded.sku, name = excluded.name,
             names = excluded.names, unit = excluded.unit, vat_class = excluded.vat_class,
             shelf_price = excluded.shelf_price, member_price = excluded.member_price,
             active = excluded.active, price_changes = excluded.price_changes,
             eligible = excluded.eligible",
    )
    .bind(&id)
    .bind(str_field(p, "sku")?)
    .bind(str_field(p, "name")?)
    .bind(
        p.get("names")
            .cloned()
            .unwrap_or(Value::Object(serde_json::Map::new()))
            .to_string(),
    )
    .bind(unit)
    .bind(str_field(p, "vat_class")?)
    .bind(minor.to_int(shelf)?)
    .bind(member.map(|m| minor.to_int(m)).transpose()?)
    .bind(i64::from(
        p.get("active").and_then(Value::as_bool).unwrap_or(true),
    ))
    .bind(serde_json::to_string(&changes).expect("serialises"))
    .bind(
        p.get("eligible")
            .cloned()
            .unwrap_or(Value::Array(vec![]))
            .to_string(),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from code where product_id = ?")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let strings = |key: &str, v: &Value| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let packs = p
        .get("packs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    sqlx::query("delete from pack where product_id = ?")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    for k in &packs {
        let pack_id = uuid(str_field(k, "pack_id")?)?.to_string();
        let units = k
            .get("units")
            .and_then(Value::as_i64)
            .ok_or_else(|| StoreError::Payload("pack units".into()))?;
        let active = k.get("active").and_then(Value::as_bool).unwrap_or(true);
        sqlx::query(
            "insert into pack (pack_id, product_id, name, units, shelf_price, member_price, active)
             values (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&pack_id)
        .bind(&id)
        .bind(str_field(k, "name")?)
        .bind(units)
        .bind(minor.to_int(dec_field(k, "shelf_price")?.unwrap_or_default())?)
        .bind(
            dec_field(k, "member_price")?
                .map(|m| minor.to_int(m))
                .transpose()?,
        )
        .bind(i64::from(active))
        .execute(&mut *tx)
        .await?;
        for g in strings("gtins", k) {
            insert_code(tx, "gtin", &g, &id, Some(&pack_id)).await?;
        }
    }
    for g in strings("gtins", p) {
        insert_code(tx, "gtin", &g, &id, None).await?;
    }
    for plu in strings("plus", p) {
        insert_code(tx, "plu", &plu, &id, None).await?;
    }
    Ok(())
}

/// A code moves to whoever the newest event gives it to (coop-ims lets a code belong to one
/// product at a time; events arrive in order).
async fn insert_code(
    tx: &mut sqlx::SqliteConnection,
    kind: &str,
    code: &str,
    product: &str,
    pack: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into code (kind, code, product_id, pack_id) values (?, ?, ?, ?)
         on conflict (kind, code) do update set product_id = excluded.product_id, pack_id = excluded.pack_id",
    )
    .bind(kind)
    .bind(code)
    .bind(product)
    .bind(pack)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Payload(e.to_string()))
}

fn clock_event(
    sub: &str,
    id: String,
    kind: String,
    at: String,
) -> Result<crate::clock::Event, StoreError> {
    Ok(crate::clock::Event {
        event_id: uuid(&id)?,
        sub: sub.to_owned(),
        kind: crate::clock::Kind::parse(&kind)
            .ok_or_else(|| StoreError::Payload(format!("clock kind {kind}")))?,
        at: parse_time(&at)?,
    })
}
