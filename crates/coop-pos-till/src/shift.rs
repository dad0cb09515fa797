//! Shifts at the till: opened with a float, cash taken in or out (each logged with who and
//! why), closed with the drawer counted. The X report is the open shift's totals so far; the Z
//! report is the closed shift's, with the cash expected and how far the count is over or short.
//! A shift's sales are the journal's records from its first number to its last, so a report
//! is always what the journal says.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row as _;
use uuid::Uuid;

use crate::journal::{SaleKind, SaleRecord};
use crate::store::{Store, StoreError};

/// Why a shift action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ShiftError {
    #[error("a shift is open already")]
    AlreadyOpen,
    #[error("no shift is open")]
    NoneOpen,
    #[error("an amount must be zero or more, in whole öre")]
    Amount,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ShiftError {
    fn from(e: sqlx::Error) -> Self {
        ShiftError::Store(StoreError::Database(e))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shift {
    pub shift_id: Uuid,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub float: Decimal,
    pub first_seq: i64,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_seq: Option<i64>,
    pub expected: Option<Decimal>,
    pub counted: Option<Decimal>,
    /// The card terminal's total for its day, ended when the shift closed (when it reports
    /// one).
    pub terminal_total: Option<Decimal>,
    /// Why the terminal's day could not be ended at the close.
    pub terminal_problem: Option<String>,
    /// The close asked the terminal to end its day and it answered (with or without a total).
    pub terminal_reported: bool,
}

/// One VAT rate's part of a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLine {
    pub vat_percent: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

/// A tender's part of a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenderLine {
    pub tender: String,
    pub class: String,
    pub amount: Decimal,
}

/// The X (open) or Z (closed) report of a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub shift: Shift,
    pub sales: i64,
    pub returns: i64,
    pub training: i64,
    pub by_rate: Vec<RateLine>,
    pub by_tender: Vec<TenderLine>,
    pub total: Decimal,
    pub rounding: Decimal,
    pub cash_in: Decimal,
    pub cash_out: Decimal,
    /// The float, plus cash taken in sales, plus cash in, less cash out.
    pub expected_cash: Decimal,
    /// Counted less expected, once closed.
    pub over_short: Option<Decimal>,
    /// What card tenders took, less card refunds.
    pub card_total: Decimal,
    /// The terminal's day total less the till's card total, once the terminal reported one.
    pub terminal_difference: Option<Decimal>,
    /// The terminal reported a total that is not the till's card total.
    pub terminal_mismatch: bool,
    /// The terminal's day was ended at the close (with or without a total).
    pub terminal_reported: bool,
}

fn time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.with_timezone(&Utc))
}

impl Store {
    fn shift_of(&self, r: &sqlx::sqlite::SqliteRow) -> Result<Shift, StoreError> {
        let m = self.minor();
        let id: String = r.get(0);
        Ok(Shift {
            shift_id: Uuid::parse_str(&id).map_err(|e| StoreError::Payload(e.to_string()))?,
            opened_by: r.get(1),
            opened_at: time(Some(r.get(2))).unwrap_or_default(),
            float: m.to_dec(r.get(3)),
            first_seq: r.get(4),
            closed_by: r.get(5),
            closed_at: time(r.get(6)),
            last_seq: r.get(7),
            expected: r.get::<Option<i64>, _>(8).map(|x| m.to_dec(x)),
            counted: r.get::<Option<i64>, _>(9).map(|x| m.to_dec(x)),
            terminal_total: r.get::<Option<i64>, _>(10).map(|x| m.to_dec(x)),
            terminal_problem: r.get(11),
            terminal_reported: r.get::<Option<i64>, _>(12).unwrap_or(0) != 0,
        })
    }

    const SHIFT_COLUMNS: &'static str = "shift_id, opened_by, opened_at, float, first_seq, \
         closed_by, closed_at, last_seq, expected, counted, terminal_total, terminal_problem, terminal_reported";

    /// The open shift, if any.
    pub async fn open_shift(&self) -> Result<Option<Shift>, StoreError> {
        let row = sqlx::query(&format!(
            "select {} from shift where closed_at is null",
            Self::SHIFT_COLUMNS
        ))
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| self.shift_of(&r)).transpose()
    }

    pub async fn shift(&self, id: Uuid) -> Result<Option<Shift>, StoreError> {
        let row = sqlx::query(&format!(
            "select {} from shift where shift_id = ?",
            Self::SHIFT_COLUMNS
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| self.shift_of(&r)).transpose()
    }

    /// The latest shifts, newest first.
    pub async fn shifts(&self, limit: i64) -> Result<Vec<Shift>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {} from shift order by opened_at desc limit ?",
            Self::SHIFT_COLUMNS
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| self.shift_of(r)).collect()
    }
}

/// Opens a shift with `float` in the drawer.
pub async fn open(store: &Store, by: &str, float: Decimal) -> Result<Uuid, ShiftError> {
    if float.is_sign_negative() {
        return Err(ShiftError::Amount);
    }
    let float = store
        .minor()
        .to_int(float)
        .map_err(|_| ShiftError::Amount)?;
    let (last, _) = store.last_link().await?;
    let id = Uuid::new_v4();
    let r = sqlx::query(
        "insert into shift (shift_id, opened_by, opened_at, float, first_seq) values (?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(by)
    .bind(Utc::now().to_rfc3339())
    .bind(float)
    .bind(last + 1)
    .execute(store.pool())
    .await;
    match r {
        Ok(_) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.message().contains("UNIQUE") => {
            Err(ShiftError::AlreadyOpen)
        }
        Err(e) => Err(e.into()),
    }
}

/// Cash taken in (`in`) or out (`out`) of the drawer during the open shift.
pub async fn move_cash(
    store: &Store,
    by: &str,
    kind: &str,
    amount: Decimal,
    note: Option<&str>,
) -> Result<(), ShiftError> {
    if !matches!(kind, "in" | "out") || amount <= Decimal::ZERO {
        return Err(ShiftError::Amount);
    }
    let amount = store
        .minor()
        .to_int(amount)
        .map_err(|_| ShiftError::Amount)?;
    let shift = store.open_shift().await?.ok_or(ShiftError::NoneOpen)?;
    sqlx::query(
        "insert into cash_movement (movement_id, shift_id, at, kind, amount, by, note)
         values (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(shift.shift_id.to_string())
    .bind(Utc::now().to_rfc3339())
    .bind(kind)
    .bind(amount)
    .bind(by)
    .bind(note.map(|n| n.chars().take(200).collect::<String>()))
    .execute(store.pool())
    .await?;
    tracing::info!(kind, by, "cash moved in the drawer");
    Ok(())
}

/// What a closed shift's terminal day says until the terminal answered: a close whose asking
/// never finished (the till stopped) shows it, with the button to ask again.
pub const NOT_ASKED: &str = "the terminal was not asked yet";

/// Closes the open shift with the drawer counted; answers its Z report. `terminal_day`: the
/// card terminal's day is to be ended for it (marked "not asked yet" in the same write, so a
/// till that stops before asking still offers it).
pub async fn close(
    store: &Store,
    by: &str,
    counted: Decimal,
    terminal_day: bool,
) -> Result<Report, ShiftError> {
    if counted.is_sign_negative() {
        return Err(ShiftError::Amount);
    }
    let counted_int = store
        .minor()
        .to_int(counted)
        .map_err(|_| ShiftError::Amount)?;
    let shift = store.open_shift().await?.ok_or(ShiftError::NoneOpen)?;
    let (last, _) = store.last_link().await?;
    let mut x = report(store, &shift, Some(last)).await?;
    let expected = store
        .minor()
        .to_int(x.expected_cash)
        .map_err(|_| ShiftError::Amount)?;
    sqlx::query(
        "update shift set closed_by = ?, closed_at = ?, last_seq = ?, expected = ?, counted = ?,
                terminal_problem = ?, terminal_reported = ?
         where shift_id = ? and closed_at is null",
    )
    .bind(by)
    .bind(Utc::now().to_rfc3339())
    .bind(last)
    .bind(expected)
    .bind(counted_int)
    .bind(terminal_day.then_some(NOT_ASKED))
    .bind(i64::from(!terminal_day))
    .bind(shift.shift_id.to_string())
    .execute(store.pool())
    .await?;
    let closed = store
        .shift(shift.shift_id)
        .await?
        .ok_or(ShiftError::NoneOpen)?;
    x.over_short = Some(counted - x.expected_cash);
    x.shift = closed;
    tracing::info!(shift = %shift.shift_id, over_short = %(counted - x.expected_cash), "shift closed");
    Ok(x)
}

/// The shift's report: its sales from the journal (up to `last`, or all so far), its cash.
pub async fn report(store: &Store, shift: &Shift, last: Option<i64>) -> Result<Report, ShiftError> {
    let last = last.or(shift.last_seq).unwrap_or(i64::MAX);
    let rows: Vec<String> =
        sqlx::query_scalar("select record from journal where seq >= ? and seq <= ? order by seq")
            .bind(shift.first_seq)
            .bind(last)
            .fetch_all(store.pool())
            .await?;
    let (mut sales, mut returns, mut training) = (0, 0, 0);
    let mut rates: BTreeMap<Decimal, RateLine> = BTreeMap::new();
    let mut tenders: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let (mut total, mut rounding, mut cash_sales) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut card_total = Decimal::ZERO;
    for r in &rows {
        let s: SaleRecord =
            serde_json::from_str(r).map_err(|e| StoreError::Payload(e.to_string()))?;
        match s.kind {
            SaleKind::Training => {
                training += 1;
                continue;
            }
            SaleKind::Sale => sales += 1,
            SaleKind::Return => returns += 1,
        }
        total += s.total;
        rounding += s.rounding;
        for x in &s.by_rate {
            let e = rates.entry(x.vat_percent.normalize()).or_insert(RateLine {
                vat_percent: x.vat_percent.normalize(),
                net: Decimal::ZERO,
                vat: Decimal::ZERO,
                gross: Decimal::ZERO,
            });
            e.net += x.net;
            e.vat += x.vat;
            e.gross += x.gross;
        }
        for t in &s.tenders {
            *tenders
                .entry((t.tender.clone(), t.kind.clone()))
                .or_default() += t.amount;
            match t.kind.as_str() {
                "cash" => cash_sales += t.amount,
                "card" => card_total += t.amount,
                _ => {}
            }
        }
    }
    let moved = sqlx::query(
        "select coalesce(sum(amount) filter (where kind = 'in'), 0),
                coalesce(sum(amount) filter (where kind = 'out'), 0)
         from cash_movement where shift_id = ?",
    )
    .bind(shift.shift_id.to_string())
    .fetch_one(store.pool())
    .await?;
    let m = store.minor();
    let cash_in = m.to_dec(moved.get(0));
    let cash_out = m.to_dec(moved.get(1));
    let expected_cash = shift.float + cash_sales + cash_in - cash_out;
    Ok(Report {
        shift: shift.clone(),
        sales,
        returns,
        training,
        by_rate: rates.into_values().collect(),
        by_tender: tenders
            .into_iter()
            .map(|((tender, class), amount)| TenderLine {
                tender,
                class,
                amount,
            })
            .collect(),
        total,
        rounding,
        cash_in,
        cash_out,
        expected_cash,
        over_short: shift.counted.map(|c| c - expected_cash),
        card_total,
        terminal_difference: shift.terminal_total.map(|t| t - card_total),
        terminal_mismatch: shift.terminal_total.is_some_and(|t| t != card_total),
        terminal_reported: shift.terminal_reported,
    })
}

/// Writes what the card terminal answered when the shift `id` closed and it was asked to end
/// its day: its total, or why it could not. Written once; a second answer changes nothing.
pub async fn record_terminal_day(
    store: &Store,
    id: Uuid,
    answer: Result<Option<Decimal>, String>,
) -> Result<(), ShiftError> {
    let (total, problem) = match answer {
        Ok(t) => (
            t.map(|t| store.minor().to_int(t))
                .transpose()
                .map_err(|_| ShiftError::Amount)?,
            None,
        ),
        Err(e) => (None, Some(e.chars().take(200).collect::<String>())),
    };
    let problem_is_none = problem.is_none();
    sqlx::query(
        "update shift set terminal_total = ?, terminal_problem = ?, terminal_reported = ?
         where shift_id = ? and closed_at is not null and terminal_reported = 0",
    )
    .bind(total)
    .bind(problem)
    .bind(i64::from(problem_is_none))
    .bind(id.to_string())
    .execute(store.pool())
    .await?;
    Ok(())
}
