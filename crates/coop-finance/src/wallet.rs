//! Member wallets: top-ups that a bookkeeper confirmed, and holds, captures and releases by the
//! services that sell (the till, the buyers club). Each call is idempotent by the caller's key;
//! the database refuses any state in which a wallet's available balance is below zero, so
//! concurrent holds cannot overspend it.
//!
//! A confirmed top-up (see [`crate::topup`]) is credited here with its ledger entry (bank 1930 to
//! wallets 2420) in one transaction.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ledger::store::{post_in, StoreError};
use crate::ledger::{AccountNumber, Entry, Line, Series};
use crate::reference::OcrReference;

/// The BAS account of the wallets' total (advances from customers).
pub const WALLETS_ACCOUNT: i32 = 2420;
/// The BAS account a confirmed bank transfer lands on.
pub const BANK_ACCOUNT: i32 = 1930;

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("the amount must be positive and in whole minor units")]
    Amount,
    #[error("the wallet's available balance is too low")]
    Insufficient,
    #[error("no such wallet")]
    NoWallet,
    #[error("no such hold")]
    NoHold,
    #[error("the hold is {0} already")]
    Settled(HoldStatus),
    #[error("the key was used for a different request")]
    KeyReused,
    #[error("the capture is larger than the hold")]
    OverCapture,
    #[error(transparent)]
    Ledger(#[from] StoreError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum HoldStatus {
    Held,
    Captured,
    Released,
}

impl std::fmt::Display for HoldStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Held => "held",
            Self::Captured => "captured",
            Self::Released => "released",
        })
    }
}

/// A wallet's state: its balance, what is held, and what is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub balance: Decimal,
    pub held: Decimal,
    pub available: Decimal,
}

/// A hold as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub wallet_hold_id: Uuid,
    pub amount: Decimal,
    pub status: HoldStatus,
    pub captured: Option<Decimal>,
}

/// A hold as stored.
#[derive(Debug)]
struct HoldRow {
    wallet_hold_id: Uuid,
    wallet_id: Uuid,
    amount: Decimal,
    status: HoldStatus,
    captured: Option<Decimal>,
}

impl HoldRow {
    fn view(&self) -> Hold {
        Hold {
            wallet_hold_id: self.wallet_hold_id,
            amount: self.amount,
            status: self.status,
            captured: self.captured,
        }
    }
}

/// The hold of `caller`'s request `key`, locked for the rest of the transaction.
async fn lock_hold(
    tx: &mut sqlx::PgConnection,
    caller: &str,
    key: &str,
) -> Result<Option<HoldRow>, sqlx::Error> {
    sqlx::query_as!(
        HoldRow,
        r#"select wallet_hold_id, wallet_id, amount, status as "status: HoldStatus", captured
           from wallet_hold where caller = $1 and idempotency_key = $2 for update"#,
        caller,
        key
    )
    .fetch_optional(tx)
    .await
}

fn check_amount(amount: Decimal, minor_units: u32) -> Result<(), WalletError> {
    if amount <= Decimal::ZERO || amount.normalize().scale() > minor_units {
        Err(WalletError::Amount)
    } else {
        Ok(())
    }
}

/// The wallet of `owner`, made on first use with its payment reference, and named as the member
/// feed names its owner.
pub async fn wallet_of(db: &PgPool, owner: Uuid) -> Result<Uuid, sqlx::Error> {
    let mut conn = db.acquire().await?;
    wallet_in(&mut conn, owner).await
}

/// [`wallet_of`] on the caller's connection (inside its transaction).
pub async fn wallet_in(conn: &mut sqlx::PgConnection, owner: Uuid) -> Result<Uuid, sqlx::Error> {
    let row = sqlx::query!(
        "insert into wallet (wallet_id, owner_id, owner_name)
         values ($1, $2, left(coalesce(
             (select name from member where member_id = $2),
             (select string_agg(name, ' & ' order by status = 'left', member_number)
              from member where household_id = $2),
             ''), 200))
         on conflict (owner_id) do update set owner_id = excluded.owner_id
         returning wallet_id, reference_serial, payment_reference",
        Uuid::new_v4(),
        owner
    )
    .fetch_one(&mut *conn)
    .await?;
    if row.payment_reference.is_none() {
        let serial = u64::try_from(row.reference_serial).unwrap_or_default();
        let reference = OcrReference::for_serial(serial);
        sqlx::query!(
            "update wallet set payment_reference = $2
             where wallet_id = $1 and payment_reference is null",
            row.wallet_id,
            reference.as_str()
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(row.wallet_id)
}

/// The wallet of `owner` if it has one (the API looks up, it never makes wallets).
pub async fn find(db: &PgPool, owner: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("select wallet_id from wallet where owner_id = $1", owner)
        .fetch_optional(db)
        .await
}

/// The wallet's payment reference, to put on a bank transfer.
pub async fn payment_reference(db: &PgPool, wallet: Uuid) -> Result<String, WalletError> {
    sqlx::query_scalar!(
        "select payment_reference from wallet where wallet_id = $1",
        wallet
    )
    .fetch_optional(db)
    .await?
    .flatten()
    .ok_or(WalletError::NoWallet)
}

/// The wallet whose payment reference this is.
pub async fn by_reference(
    tx: &mut sqlx::PgConnection,
    reference: &OcrReference,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "select wallet_id from wallet where payment_reference = $1",
        reference.as_str()
    )
    .fetch_optional(tx)
    .await
}

pub async fn balance(db: &PgPool, wallet: Uuid) -> Result<Balance, WalletError> {
    let row = sqlx::query!(
        "select balance, held from wallet where wallet_id = $1",
        wallet
    )
    .fetch_optional(db)
    .await?
    .ok_or(WalletError::NoWallet)?;
    Ok(Balance {
        balance: row.balance,
        held: row.held,
        available: row.balance - row.held,
    })
}

/// Credits a top-up a bookkeeper confirmed against the bank statement, with its ledger entry
/// (debit bank, credit wallets) in the same transaction. The claims in [`crate::topup`] call
/// [`credit_in`] inside their own transaction; this is for callers with no claim (tests, the
/// demo data).
pub async fn credit_top_up(
    db: &PgPool,
    wallet: Uuid,
    amount: Decimal,
    date: NaiveDate,
    reference: &str,
    minor_units: u32,
) -> Result<i64, WalletError> {
    let mut tx = db.begin().await?;
    let credit = Credit {
        wallet,
        amount,
        date,
        reference,
        claim: None,
        by: None,
    };
    let id = credit_in(&mut tx, &credit, minor_units).await?;
    tx.commit().await?;
    Ok(id)
}

/// A confirmed top-up to credit.
pub(crate) struct Credit<'a> {
    pub wallet: Uuid,
    pub amount: Decimal,
    /// The day the money reached the bank: the ledger entry's date.
    pub date: NaiveDate,
    pub reference: &'a str,
    /// The top-up claim it settles.
    pub claim: Option<Uuid>,
    /// The bookkeeper who confirmed it.
    pub by: Option<Uuid>,
}

/// [`credit_top_up`] inside the caller's transaction.
pub(crate) async fn credit_in(
    tx: &mut sqlx::PgConnection,
    c: &Credit<'_>,
    minor_units: u32,
) -> Result<i64, WalletError> {
    let Credit {
        wallet,
        amount,
        date,
        reference,
        claim,
        by,
    } = *c;
    check_amount(amount, minor_units)?;
    let source = match claim {
        Some(c) => format!("wallet:top-up:{c}"),
        None => format!("wallet:top-up:{wallet}:{reference}"),
    };
    let entry = Entry::new(
        Series::parse("W").map_err(|_| WalletError::Amount)?,
        date,
        &format!("Wallet top-up {reference}"),
        vec![
            Line {
                account: AccountNumber::new(BANK_ACCOUNT).map_err(|_| WalletError::Amount)?,
                amount,
            },
            Line {
                account: AccountNumber::new(WALLETS_ACCOUNT).map_err(|_| WalletError::Amount)?,
                amount: -amount,
            },
        ],
        minor_units,
    )
    .map_err(|_| WalletError::Amount)?
    .from_source(source);
    // Money in that brings an overdrawn wallet back to zero or above clears its flag.
    let updated = sqlx::query!(
        "update wallet set balance = balance + $2,
             overdrawn_at = case when balance + $2 - held >= 0 then null else overdrawn_at end
         where wallet_id = $1",
        wallet,
        amount
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(WalletError::NoWallet);
    }
    let posted = post_in(&mut *tx, &entry, by, None).await?;
    sqlx::query!(
        "insert into wallet_movement (wallet_id, kind, amount, journal_entry_id, top_up_claim_id)
         values ($1, 'top_up', $2, $3, $4)",
        wallet,
        amount,
        posted.journal_entry_id,
        claim
    )
    .execute(&mut *tx)
    .await?;
    Ok(posted.journal_entry_id)
}

/// Reserves `amount` of the wallet for `caller`'s request `key`; refused if that would take the
/// available balance below zero. The same key again answers the first hold.
pub async fn hold(
    db: &PgPool,
    wallet: Uuid,
    caller: &str,
    key: &str,
    amount: Decimal,
    minor_units: u32,
) -> Result<Hold, WalletError> {
    check_amount(amount, minor_units)?;
    let mut tx = db.begin().await?;
    let existing = lock_hold(&mut tx, caller, key).await?;
    if let Some(h) = existing {
        if h.wallet_id != wallet || h.amount != amount {
            return Err(WalletError::KeyReused);
        }
        return Ok(h.view());
    }
    // One statement: the row lock makes concurrent holds on a wallet take turns, and the
    // condition (and the table's check) keeps the available balance at zero or above.
    let reserved = sqlx::query!(
        "update wallet set held = held + $2 where wallet_id = $1 and balance - held >= $2",
        wallet,
        amount
    )
    .execute(&mut *tx)
    .await?;
    if reserved.rows_affected() != 1 {
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from wallet where wallet_id = $1) as "x!""#,
            wallet
        )
        .fetch_one(&mut *tx)
        .await?;
        return Err(if exists {
            WalletError::Insufficient
        } else {
            WalletError::NoWallet
        });
    }
    let id = Uuid::new_v4();
    let inserted = sqlx::query!(
        "insert into wallet_hold (wallet_hold_id, wallet_id, caller, idempotency_key, amount)
         values ($1, $2, $3, $4, $5) on conflict (caller, idempotency_key) do nothing",
        id,
        wallet,
        caller,
        key,
        amount
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        // The same key raced us and won: ours is undone with the transaction; retrying finds
        // the winner's hold.
        drop(tx);
        return Box::pin(hold(db, wallet, caller, key, amount, minor_units)).await;
    }
    tx.commit().await?;
    Ok(Hold {
        wallet_hold_id: id,
        amount,
        status: HoldStatus::Held,
        captured: None,
    })
}

/// Changes an open hold to `amount` (the buyers club's member changed their purchases): more is
/// refused if the available balance cannot cover the difference, less gives the difference back.
/// The request names the new total, so a retry changes nothing.
pub async fn adjust(
    db: &PgPool,
    caller: &str,
    key: &str,
    amount: Decimal,
    minor_units: u32,
) -> Result<Hold, WalletError> {
    check_amount(amount, minor_units)?;
    let mut tx = db.begin().await?;
    let h = lock_hold(&mut tx, caller, key)
        .await?
        .ok_or(WalletError::NoHold)?;
    if h.status != HoldStatus::Held {
        return Err(WalletError::Settled(h.status));
    }
    let delta = amount - h.amount;
    if !delta.is_zero() {
        let done = sqlx::query!(
            "update wallet set held = held + $2 where wallet_id = $1 and balance - held >= $2",
            h.wallet_id,
            delta
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(WalletError::Insufficient);
        }
        sqlx::query!(
            "update wallet_hold set amount = $2 where wallet_hold_id = $1",
            h.wallet_hold_id,
            amount
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Hold {
        wallet_hold_id: h.wallet_hold_id,
        amount,
        status: HoldStatus::Held,
        captured: None,
    })
}

/// Captures the final amount of a hold: at most the hold unless `allow_more` (then only as far
/// as the available balance goes). Capturing again with the same amount answers the same.
pub async fn capture(
    db: &PgPool,
    caller: &str,
    key: &str,
    amount: Decimal,
    allow_more: bool,
    minor_units: u32,
) -> Result<Hold, WalletError> {
    capture_at(
        db,
        caller,
        key,
        amount,
        allow_more,
        minor_units,
        chrono::Utc::now(),
    )
    .await
}

/// [`capture`] as if it happened at `at`: the demo's month of purchases, captured when they were
/// made rather than when the demo was seeded.
pub(crate) async fn capture_at(
    db: &PgPool,
    caller: &str,
    key: &str,
    amount: Decimal,
    allow_more: bool,
    minor_units: u32,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Hold, WalletError> {
    if amount < Decimal::ZERO || amount.normalize().scale() > minor_units {
        return Err(WalletError::Amount);
    }
    let mut tx = db.begin().await?;
    let h = lock_hold(&mut tx, caller, key)
        .await?
        .ok_or(WalletError::NoHold)?;
    match h.status {
        HoldStatus::Captured if h.captured == Some(amount) => return Ok(h.view()),
        HoldStatus::Held => {}
        other => return Err(WalletError::Settled(other)),
    }
    if amount > h.amount && !allow_more {
        return Err(WalletError::OverCapture);
    }
    let done = sqlx::query!(
        "update wallet set held = held - $2, balance = balance - $3
         where wallet_id = $1 and balance - $3 - (held - $2) >= 0",
        h.wallet_id,
        h.amount,
        amount
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(WalletError::Insufficient);
    }
    sqlx::query!(
        "update wallet_hold set status = 'captured', captured = $2, settled_at = $3
         where wallet_hold_id = $1",
        h.wallet_hold_id,
        amount,
        at
    )
    .execute(&mut *tx)
    .await?;
    if !amount.is_zero() {
        sqlx::query!(
            "insert into wallet_movement (wallet_id, kind, amount, wallet_hold_id, occurred_at)
             values ($1, 'capture', $2, $3, $4)",
            h.wallet_id,
            -amount,
            h.wallet_hold_id,
            at
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Hold {
        wallet_hold_id: h.wallet_hold_id,
        amount: h.amount,
        status: HoldStatus::Captured,
        captured: Some(amount),
    })
}

/// A till sale's wallet part, charged as the sale reaches the books, inside the feed consumer's
/// transaction (so once, with its ledger entry). A sale the till sold online has a hold under its
/// key (`caller`'s): the hold becomes the charge. A sale sold offline has none: the wallet is
/// charged directly, even below zero, and then flagged overdrawn (the goods are gone; a
/// bookkeeper follows it up). A negative amount (a return to the wallet) gives money back. The
/// wallet is made if its owner never had one.
pub(crate) async fn charge_sale(
    tx: &mut sqlx::PgConnection,
    sale: &SaleCharge<'_>,
) -> Result<Charged, WalletError> {
    let hold = lock_hold(tx, sale.caller, sale.key).await?;
    let (wallet, hold) = match hold {
        // Held for this very sale: settle it.
        Some(h) if h.status == HoldStatus::Held => (h.wallet_id, Some(h)),
        // Captured already (by the caller itself): nothing more to take.
        Some(h) if h.status == HoldStatus::Captured => {
            return Ok(Charged {
                wallet: h.wallet_id,
                online: true,
                overdrawn: false,
            })
        }
        // Released (the till gave up on it, yet the sale went through), or never held.
        _ => (wallet_in(tx, sale.owner).await?, None),
    };
    let held = hold.as_ref().map_or(Decimal::ZERO, |h| h.amount);
    let row = sqlx::query!(
        "update wallet set held = held - $2, balance = balance - $3,
             overdrawn_at = case when balance - $3 - (held - $2) < 0
                 then coalesce(overdrawn_at, $4) else null end
         where wallet_id = $1
         returning overdrawn_at is not null as \"overdrawn!\"",
        wallet,
        held,
        sale.amount,
        sale.at
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(h) = &hold {
        sqlx::query!(
            "update wallet_hold set status = 'captured', captured = $2, settled_at = $3
             where wallet_hold_id = $1",
            h.wallet_hold_id,
            sale.amount.max(Decimal::ZERO),
            sale.at
        )
        .execute(&mut *tx)
        .await?;
    }
    if !sale.amount.is_zero() {
        sqlx::query!(
            "insert into wallet_movement
                 (wallet_id, kind, amount, wallet_hold_id, journal_entry_id, occurred_at)
             values ($1, $2, $3, $4, $5, $6)",
            wallet,
            if hold.is_some() { "capture" } else { "sale" },
            -sale.amount,
            hold.as_ref().map(|h| h.wallet_hold_id),
            sale.journal_entry,
            sale.at
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(Charged {
        wallet,
        online: hold.is_some(),
        overdrawn: row.overdrawn,
    })
}

/// A sale's wallet part to charge: see [`charge_sale`].
#[derive(Debug)]
pub(crate) struct SaleCharge<'a> {
    /// The service whose hold it may be, and the hold's key.
    pub caller: &'a str,
    pub key: &'a str,
    /// The wallet's owner (member or household).
    pub owner: Uuid,
    /// What the wallet paid (negative: what a return gives back).
    pub amount: Decimal,
    pub journal_entry: i64,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What charging a sale did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charged {
    pub wallet: Uuid,
    /// Whether a hold placed online paid it.
    pub online: bool,
    /// Whether the wallet is below zero now.
    pub overdrawn: bool,
}

/// Gives a hold's money back to the available balance. Releasing again answers the same.
pub async fn release(db: &PgPool, caller: &str, key: &str) -> Result<Hold, WalletError> {
    let mut tx = db.begin().await?;
    let h = lock_hold(&mut tx, caller, key)
        .await?
        .ok_or(WalletError::NoHold)?;
    match h.status {
        HoldStatus::Released => {}
        HoldStatus::Captured => return Err(WalletError::Settled(HoldStatus::Captured)),
        HoldStatus::Held => {
            sqlx::query!(
                "update wallet set held = held - $2 where wallet_id = $1",
                h.wallet_id,
                h.amount
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "update wallet_hold set status = 'released', settled_at = now() where wallet_hold_id = $1",
                h.wallet_hold_id
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Hold {
        wallet_hold_id: h.wallet_hold_id,
        amount: h.amount,
        status: HoldStatus::Released,
        captured: None,
    })
}

/// Keeps the name bookkeepers see beside the wallet current.
pub async fn set_owner_name(db: &PgPool, wallet: Uuid, name: &str) -> Result<(), sqlx::Error> {
    let name: String = name.chars().take(200).collect();
    sqlx::query!(
        "update wallet set owner_name = $2 where wallet_id = $1 and owner_name <> $2",
        wallet,
        name
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A wallet as bookkeepers look it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalletInfo {
    pub wallet_id: Uuid,
    pub owner_id: Uuid,
    pub owner_name: String,
    pub payment_reference: Option<String>,
    pub balance: Decimal,
    pub held: Decimal,
}

/// The wallets with these ids (the bookkeepers' list of claims names their owners).
pub async fn by_ids(db: &PgPool, ids: &[Uuid]) -> Result<Vec<WalletInfo>, sqlx::Error> {
    sqlx::query_as!(
        WalletInfo,
        "select wallet_id, owner_id, owner_name, payment_reference, balance, held
         from wallet where wallet_id = any($1)",
        ids
    )
    .fetch_all(db)
    .await
}

/// A signed-in member's wallet: one read when it exists under their current name (every page
/// view), a write only to make it or to follow a new name.
pub async fn for_member(db: &PgPool, owner: Uuid, name: &str) -> Result<Uuid, sqlx::Error> {
    let found = sqlx::query!(
        "select wallet_id, owner_name from wallet where owner_id = $1",
        owner
    )
    .fetch_optional(db)
    .await?;
    let wallet = match found {
        Some(w) if w.owner_name == name.chars().take(200).collect::<String>() => {
            return Ok(w.wallet_id)
        }
        Some(w) => w.wallet_id,
        None => wallet_of(db, owner).await?,
    };
    set_owner_name(db, wallet, name).await?;
    Ok(wallet)
}

/// The wallet whose payment reference is `reference` (as typed: spaces allowed).
pub async fn find_by_reference(db: &PgPool, reference: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let Ok(r) = OcrReference::parse(reference) else {
        return Ok(None);
    };
    let mut conn = db.acquire().await?;
    by_reference(&mut conn, &r).await
}

/// One change of a wallet's balance, for the member's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Movement {
    pub kind: String,
    pub amount: Decimal,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The wallet's latest movements, newest first.
pub async fn movements(
    db: &PgPool,
    wallet: Uuid,
    limit: i64,
) -> Result<Vec<Movement>, sqlx::Error> {
    sqlx::query_as!(
        Movement,
        "select kind, amount, occurred_at from wallet_movement where wallet_id = $1
         order by occurred_at desc, wallet_movement_id desc limit $2",
        wallet,
        limit
    )
    .fetch_all(db)
    .await
}

/// A hold still open, for the member's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenHold {
    pub caller: String,
    pub amount: Decimal,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn open_holds(db: &PgPool, wallet: Uuid) -> Result<Vec<OpenHold>, sqlx::Error> {
    sqlx::query_as!(
        OpenHold,
        "select caller, amount, created_at from wallet_hold
         where wallet_id = $1 and status = 'held' order by created_at",
        wallet
    )
    .fetch_all(db)
    .await
}

/// A wallet in the bookkeepers' list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub wallet_id: Uuid,
    pub owner_name: String,
    /// The member numbers of its owner (a household's members).
    pub numbers: String,
    pub payment_reference: Option<String>,
    pub balance: Decimal,
    pub held: Decimal,
    pub available: Decimal,
    pub overdrawn_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The wallets matching `q` (part of a name, a member number or a payment reference; empty:
/// all), overdrawn ones first, at most `limit`.
pub async fn list(db: &PgPool, q: &str, limit: i64) -> Result<Vec<Listed>, sqlx::Error> {
    let q = q.trim();
    let like = coop_web::db::contains_pattern(q);
    let reference: String = q.chars().filter(char::is_ascii_digit).collect();
    sqlx::query_as!(
        Listed,
        r#"select w.wallet_id, w.owner_name,
                  coalesce((select string_agg(m.member_number, ', ' order by m.member_number)
                            from member m
                            where m.member_id = w.owner_id or m.household_id = w.owner_id), '')
                      as "numbers!",
                  w.payment_reference, w.balance, w.held, w.balance - w.held as "available!",
                  w.overdrawn_at
           from wallet w
           where $1 = ''
              or w.owner_name ilike $2
              or ($3 <> '' and w.payment_reference = $3)
              or exists (select 1 from member m
                         where (m.member_id = w.owner_id or m.household_id = w.owner_id)
                           and m.member_number = $1)
           order by w.overdrawn_at is null, w.overdrawn_at, lower(w.owner_name), w.wallet_id
           limit $4"#,
        q,
        like,
        reference,
        limit
    )
    .fetch_all(db)
    .await
}

/// How many wallets are overdrawn, and by how much in all.
pub async fn overdrawn(db: &PgPool) -> Result<(i64, Decimal), sqlx::Error> {
    let r = sqlx::query!(
        r#"select count(*) as "n!", coalesce(sum(held - balance), 0) as "owed!"
           from wallet where overdrawn_at is not null"#
    )
    .fetch_one(db)
    .await?;
    Ok((r.n, r.owed))
}
