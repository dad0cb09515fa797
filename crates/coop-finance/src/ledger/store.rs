//! The ledger's store: accounts, fiscal years and periods, and the journal. Every write runs in
//! one transaction; the database checks the rules again (balance, open period, active account,
//! append-only), so no path around this module can break them.

use chrono::{DateTime, Datelike as _, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::chart::TemplateAccount;
use super::{AccountNumber, Entry, Series};

/// Why the store refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no open period holds {0}")]
    ClosedPeriod(NaiveDate),
    #[error("no fiscal year holds {0}")]
    NoFiscalYear(NaiveDate),
    #[error("account {0} is not an active account of the chart")]
    UnknownAccount(AccountNumber),
    #[error("this source was posted already (entry {0})")]
    AlreadyPosted(i64),
    #[error("entry {0} does not exist")]
    NoSuchEntry(i64),
    #[error("entry {0} has been reversed already")]
    AlreadyReversed(i64),
    #[error("the fiscal year overlaps one that exists")]
    OverlappingYear,
    #[error(transparent)]
    Entry(#[from] super::LedgerError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The number a posted entry got: its series and number within the fiscal year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub journal_entry_id: i64,
    pub series: String,
    pub number: i32,
}

/// Adds accounts (a chart template); existing numbers keep their names.
pub async fn seed_chart(db: &PgPool, chart: &[TemplateAccount]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for a in chart {
        let kind = a.number.kind();
        sqlx::query!(
            "insert into account (account_number, name, kind) values ($1, $2, $3)
             on conflict (account_number) do nothing",
            a.number.get(),
            a.name,
            kind.as_str()
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Opens a fiscal year of twelve months from `starts_on` (the first of a month), with one
/// period per month.
pub async fn open_fiscal_year(db: &PgPool, starts_on: NaiveDate) -> Result<i32, StoreError> {
    let starts_on = starts_on.with_day(1).unwrap_or(starts_on);
    let ends_on = starts_on
        .checked_add_months(Months::new(12))
        .and_then(|d| d.pred_opt())
        .ok_or(StoreError::NoFiscalYear(starts_on))?;
    let mut tx = db.begin().await?;
    let overlapping = sqlx::query_scalar!(
        r#"select exists (select 1 from fiscal_year where starts_on <= $2 and ends_on >= $1) as "x!""#,
        starts_on,
        ends_on
    )
    .fetch_one(&mut *tx)
    .await?;
    if overlapping {
        return Err(StoreError::OverlappingYear);
    }
    let year = sqlx::query_scalar!(
        "insert into fiscal_year (starts_on, ends_on) values ($1, $2) returning fiscal_year_id",
        starts_on,
        ends_on
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut month = starts_on;
    while month <= ends_on {
        let next = month.checked_add_months(Months::new(1)).unwrap_or(ends_on);
        let last = next.pred_opt().unwrap_or(ends_on);
        sqlx::query!(
            "insert into fiscal_period (fiscal_year_id, starts_on, ends_on) values ($1, $2, $3)",
            year,
            month,
            last
        )
        .execute(&mut *tx)
        .await?;
        month = next;
    }
    tx.commit().await?;
    Ok(year)
}

/// Closes the period that holds `date`: nothing more can be posted into it.
pub async fn close_period(
    db: &PgPool,
    date: NaiveDate,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let done = sqlx::query!(
        "update fiscal_period set closed_at = $2, closed_by = $3
         where $1 between starts_on and ends_on and closed_at is null",
        date,
        now,
        by
    )
    .execute(db)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::ClosedPeriod(date))
    }
}

/// The open fiscal year and period that hold `date`.
async fn open_year_of(tx: &mut PgConnection, date: NaiveDate) -> Result<i32, StoreError> {
    let row = sqlx::query!(
        r#"select p.fiscal_year_id, (p.closed_at is null and y.closed_at is null) as "open!"
           from fiscal_period p join fiscal_year y using (fiscal_year_id)
           where $1 between p.starts_on and p.ends_on"#,
        date
    )
    .fetch_optional(tx)
    .await?;
    match row {
        None => Err(StoreError::NoFiscalYear(date)),
        Some(r) if !r.open => Err(StoreError::ClosedPeriod(date)),
        Some(r) => Ok(r.fiscal_year_id),
    }
}

/// The next voucher number of a series in a year, taken for good: numbers have no gaps,
/// because the counter row stays locked until the entry commits or rolls back.
async fn next_number(
    tx: &mut PgConnection,
    year: i32,
    series: &Series,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into voucher_series (fiscal_year_id, series, next_number) values ($1, $2, 2)
         on conflict (fiscal_year_id, series) do update set next_number = voucher_series.next_number + 1
         returning next_number - 1",
        year,
        series.as_str()
    )
    .fetch_one(tx)
    .await
    .map(|n| n.unwrap_or(1))
}

/// Posts a balanced entry in the caller's transaction; the caller commits.
pub async fn post_in(
    tx: &mut PgConnection,
    entry: &Entry,
    by: Option<Uuid>,
    reverses: Option<i64>,
) -> Result<Posted, StoreError> {
    if let Some(key) = &entry.source_key {
        let existing = sqlx::query_scalar!(
            "select journal_entry_id from journal_entry where source_key = $1",
            key
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = existing {
            return Err(StoreError::AlreadyPosted(id));
        }
    }
    let year = open_year_of(tx, entry.date).await?;
    // One query for all the entry's accounts (the lines' trigger checks again, without naming
    // the account for the caller).
    let accounts: Vec<i32> = entry.per_account().keys().map(|a| a.get()).collect();
    let inactive = sqlx::query_scalar!(
        r#"select n as "n!" from unnest($1::integer[]) n
           where not exists (select 1 from account where account_number = n and active)
           order by n limit 1"#,
        &accounts
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(n) = inactive {
        return Err(StoreError::UnknownAccount(account_from_db(n)?));
    }
    let number = next_number(tx, year, &entry.series).await?;
    let id = sqlx::query_scalar!(
        "insert into journal_entry
            (fiscal_year_id, series, number, entry_date, text, reverses, source_key, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning journal_entry_id",
        year,
        entry.series.as_str(),
        number,
        entry.date,
        entry.text,
        reverses,
        entry.source_key,
        by
    )
    .fetch_one(&mut *tx)
    .await?;
    for (i, line) in entry.lines.iter().enumerate() {
        sqlx::query!(
            "insert into journal_line (journal_entry_id, line_no, account_number, amount)
             values ($1, $2, $3, $4)",
            id,
            i16::try_from(i + 1).unwrap_or(i16::MAX),
            line.account.get(),
            line.amount
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(Posted {
        journal_entry_id: id,
        series: entry.series.as_str().to_owned(),
        number,
    })
}

/// Posts a balanced entry in a transaction of its own.
pub async fn post(db: &PgPool, entry: &Entry, by: Option<Uuid>) -> Result<Posted, StoreError> {
    let mut tx = db.begin().await?;
    let posted = post_in(&mut tx, entry, by, None).await?;
    tx.commit().await?;
    Ok(posted)
}

/// Reverses entry `id` on `date`: a new entry in the same series with every amount negated.
pub async fn reverse(
    db: &PgPool,
    id: i64,
    date: NaiveDate,
    by: Option<Uuid>,
    minor_units: u32,
) -> Result<Posted, StoreError> {
    let mut tx = db.begin().await?;
    let original = sqlx::query!(
        "select series, number, text from journal_entry where journal_entry_id = $1 for share",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NoSuchEntry(id))?;
    let reversed = sqlx::query_scalar!(
        "select journal_entry_id from journal_entry where reverses = $1",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if reversed.is_some() {
        return Err(StoreError::AlreadyReversed(id));
    }
    let lines = sqlx::query!(
        "select account_number, amount from journal_line where journal_entry_id = $1 order by line_no",
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    let lines = lines
        .into_iter()
        .map(|l| {
            Ok(super::Line {
                account: account_from_db(l.account_number)?,
                amount: -l.amount,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let series = Series::parse(&original.series).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let text = format!(
        "Reversal of {}{}: {}",
        original.series, original.number, original.text
    );
    let text: String = text.chars().take(200).collect();
    // The original balanced, so its negation does; an error here is a broken row, not input.
    let entry = Entry::new(series, date, &text, lines, minor_units)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let posted = post_in(&mut tx, &entry, by, Some(id)).await?;
    tx.commit().await?;
    Ok(posted)
}

/// An account number read back: the table's check keeps it in range, so a bad one is an error.
fn account_from_db(n: i32) -> Result<AccountNumber, sqlx::Error> {
    AccountNumber::new(n).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Each account's balance from the start of the journal up to and including `date`.
pub async fn balances(
    db: &PgPool,
    up_to: NaiveDate,
) -> Result<Vec<(AccountNumber, Decimal)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select l.account_number, sum(l.amount) as "balance!"
           from journal_line l join journal_entry e using (journal_entry_id)
           where e.entry_date <= $1
           group by l.account_number order by l.account_number"#,
        up_to
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| Ok((account_from_db(r.account_number)?, r.balance)))
        .collect()
}

/// A fiscal year as the books page lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FiscalYear {
    pub fiscal_year_id: i32,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub closed_at: Option<DateTime<Utc>>,
    pub entries: i64,
}

/// The fiscal years, newest first, with how many entries each has.
pub async fn years(db: &PgPool) -> Result<Vec<FiscalYear>, sqlx::Error> {
    sqlx::query_as!(
        FiscalYear,
        r#"select y.fiscal_year_id, y.starts_on, y.ends_on, y.closed_at,
                  (select count(*) from journal_entry e
                   where e.fiscal_year_id = y.fiscal_year_id) as "entries!"
           from fiscal_year y order by y.starts_on desc"#
    )
    .fetch_all(db)
    .await
}

/// Opens the calendar year holding `today` if no fiscal year holds it (a co-op whose year is
/// not the calendar year opens its years itself before this runs).
pub async fn ensure_year(db: &PgPool, today: NaiveDate) -> Result<(), StoreError> {
    let held = sqlx::query_scalar!(
        r#"select exists (select 1 from fiscal_year where $1 between starts_on and ends_on) as "x!""#,
        today
    )
    .fetch_one(db)
    .await?;
    if !held {
        let start = NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("1 January");
        match open_fiscal_year(db, start).await {
            Ok(_) | Err(StoreError::OverlappingYear) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A month of a fiscal year as the books page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PeriodRow {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub closed_at: Option<DateTime<Utc>>,
    pub entries: i64,
}

/// The months of fiscal year `year`, in order, with how many entries each holds.
pub async fn periods(db: &PgPool, year: i32) -> Result<Vec<PeriodRow>, sqlx::Error> {
    sqlx::query_as!(
        PeriodRow,
        r#"select p.starts_on, p.ends_on, p.closed_at,
                  (select count(*) from journal_entry e where e.fiscal_year_id = p.fiscal_year_id
                     and e.entry_date between p.starts_on and p.ends_on) as "entries!"
           from fiscal_period p where p.fiscal_year_id = $1 order by p.starts_on"#,
        year
    )
    .fetch_all(db)
    .await
}

/// Why a period may not be closed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseRefusal {
    /// The month has not ended.
    NotOver,
    /// An earlier month of the year is still open: months close in order.
    EarlierOpen,
    /// Closed already, or no such month.
    NotOpen,
}

/// Closes the month of `year` that starts on `starts_on`, once it is over and every earlier
/// month of the year is closed.
pub async fn close_month(
    db: &PgPool,
    year: i32,
    starts_on: NaiveDate,
    today: NaiveDate,
    by: Uuid,
) -> Result<Result<(), CloseRefusal>, StoreError> {
    let months = periods(db, year).await?;
    let Some(i) = months
        .iter()
        .position(|p| p.starts_on == starts_on && p.closed_at.is_none())
    else {
        return Ok(Err(CloseRefusal::NotOpen));
    };
    if months[i].ends_on >= today {
        return Ok(Err(CloseRefusal::NotOver));
    }
    if months[..i].iter().any(|p| p.closed_at.is_none()) {
        return Ok(Err(CloseRefusal::EarlierOpen));
    }
    if i + 1 == months.len() {
        return close_year(db, year, by).await;
    }
    match close_period(db, starts_on, by, Utc::now()).await {
        Ok(()) => Ok(Ok(())),
        Err(StoreError::ClosedPeriod(_)) => Ok(Err(CloseRefusal::NotOpen)),
        Err(e) => Err(e),
    }
}

/// The BAS account that takes the year's result when the year closes (class 8, "Årets
/// resultat"), and the equity account it goes to. Reports leave the closing entry out of the
/// income statement, so a closed year still shows its result.
pub const YEAR_RESULT: i32 = 8999;
pub const YEAR_RESULT_EQUITY: i32 = 2099;

/// The source key of a year's closing entry: a year is closed once.
fn year_close_key(year: i32) -> String {
    format!("coop-finance:year-close:{year}")
}

/// Closes fiscal year `year` with its last month, in one transaction: books the year's result
/// (revenue less expenses) from 8999 to 2099 on the year's last day, so every revenue and
/// expense account of the year sums to zero and the result stands in equity, then closes the
/// last month and the year. The caller ([`close_month`]) has checked that the month is over and
/// every earlier month closed.
async fn close_year(
    db: &PgPool,
    year: i32,
    by: Uuid,
) -> Result<Result<(), CloseRefusal>, StoreError> {
    let mut tx = db.begin().await?;
    let y = sqlx::query!(
        "select ends_on, closed_at from fiscal_year where fiscal_year_id = $1 for update",
        year
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(y) = y else {
        return Ok(Err(CloseRefusal::NotOpen));
    };
    if y.closed_at.is_some() {
        return Ok(Err(CloseRefusal::NotOpen));
    }
    // Every revenue and expense line of the year: credit (revenue) is negative, so a surplus
    // makes this negative.
    let total = sqlx::query_scalar!(
        r#"select coalesce(sum(l.amount), 0) as "sum!"
           from journal_line l join journal_entry e using (journal_entry_id)
           join account a using (account_number)
           where e.fiscal_year_id = $1 and a.kind in ('revenue', 'expense')"#,
        year
    )
    .fetch_one(&mut *tx)
    .await?;
    if !total.is_zero() {
        let lines = vec![
            super::Line {
                account: AccountNumber(YEAR_RESULT),
                amount: -total,
            },
            super::Line {
                account: AccountNumber(YEAR_RESULT_EQUITY),
                amount: total,
            },
        ];
        let entry = Entry::new(
            Series("A".to_owned()),
            y.ends_on,
            "Årets resultat",
            lines,
            2,
        )?
        .from_source(year_close_key(year));
        post_in(&mut tx, &entry, Some(by), None).await?;
    }
    let now = Utc::now();
    sqlx::query!(
        "update fiscal_period set closed_at = $2, closed_by = $3
         where fiscal_year_id = $1 and closed_at is null",
        year,
        now,
        by
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update fiscal_year set closed_at = $2 where fiscal_year_id = $1",
        year,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}
