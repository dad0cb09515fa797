//! Manual entries as bookkeepers see them: the journal page by page, one entry with its lines,
//! accounts and attachments, and the evidence (a scanned invoice or receipt) kept with an entry.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::Digest as _;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The largest attachment (the database checks it too).
pub const MAX_ATTACHMENT: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub journal_entry_id: i64,
    pub series: String,
    pub number: i32,
    pub entry_date: NaiveDate,
    pub text: String,
    /// The sum of the debits.
    pub amount: Decimal,
    pub reversed: bool,
    pub attachments: i64,
}

/// The journal, newest first, `limit` entries before `before` (an entry id) if given.
pub async fn journal(
    db: &PgPool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Summary>, sqlx::Error> {
    sqlx::query_as!(
        Summary,
        r#"select e.journal_entry_id, e.series, e.number, e.entry_date, e.text,
                  (select coalesce(sum(amount), 0) from journal_line l
                   where l.journal_entry_id = e.journal_entry_id and l.amount > 0) as "amount!",
                  exists (select 1 from journal_entry r
                          where r.reverses = e.journal_entry_id) as "reversed!",
                  (select count(*) from entry_attachment a
                   where a.journal_entry_id = e.journal_entry_id) as "attachments!"
           from journal_entry e
           where $1::bigint is null or e.journal_entry_id < $1
           order by e.journal_entry_id desc limit $2"#,
        before,
        limit
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineView {
    pub account_number: i32,
    pub name: String,
    pub debit: Option<Decimal>,
    pub credit: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentInfo {
    pub entry_attachment_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryView {
    pub journal_entry_id: i64,
    pub series: String,
    pub number: i32,
    pub entry_date: NaiveDate,
    pub text: String,
    pub source_key: Option<String>,
    pub reverses: Option<i64>,
    pub reversed_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<LineView>,
    pub attachments: Vec<AttachmentInfo>,
}

pub async fn entry(db: &PgPool, id: i64) -> Result<Option<EntryView>, sqlx::Error> {
    let Some(h) = sqlx::query!(
        r#"select e.series, e.number, e.entry_date, e.text, e.source_key, e.reverses,
                  e.created_at,
                  (select r.journal_entry_id from journal_entry r where r.reverses = e.journal_entry_id)
                      as reversed_by
           from journal_entry e where e.journal_entry_id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query!(
        "select l.account_number, a.name, l.amount from journal_line l
         join account a using (account_number)
         where l.journal_entry_id = $1 order by l.line_no",
        id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|l| LineView {
        account_number: l.account_number,
        name: l.name,
        debit: (l.amount > Decimal::ZERO).then_some(l.amount),
        credit: (l.amount < Decimal::ZERO).then_some(-l.amount),
    })
    .collect();
    let attachments = sqlx::query_as!(
        AttachmentInfo,
        r#"select entry_attachment_id, file_name, content_type,
                  octet_length(content) as "size!"
           from entry_attachment where journal_entry_id = $1 order by entry_attachment_id"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(Some(EntryView {
        journal_entry_id: id,
        series: h.series,
        number: h.number,
        entry_date: h.entry_date,
        text: h.text,
        source_key: h.source_key,
        reverses: h.reverses,
        reversed_by: h.reversed_by,
        created_at: h.created_at,
        lines,
        attachments,
    }))
}

/// The content type of a file, by its first bytes: PDF, JPEG or PNG, else `None`.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Keeps `bytes` with entry `id`; the caller has checked the type and size.
pub async fn attach(
    tx: &mut PgConnection,
    id: i64,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
    by: Uuid,
) -> Result<i64, sqlx::Error> {
    let name: String = file_name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
        .take(200)
        .collect();
    let name = if name.trim().is_empty() {
        "attachment".to_owned()
    } else {
        name
    };
    let digest = sha2::Sha256::digest(bytes);
    let hex = digest.iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    });
    sqlx::query_scalar!(
        "insert into entry_attachment (journal_entry_id, file_name, content_type, content, sha256,
                                       added_by)
         values ($1, $2, $3, $4, $5, $6) returning entry_attachment_id",
        id,
        name,
        content_type,
        bytes,
        hex,
        by
    )
    .fetch_one(tx)
    .await
}

/// An attachment of entry `id`: its name, type and bytes.
pub async fn attachment(
    db: &PgPool,
    id: i64,
    attachment: i64,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    Ok(sqlx::query!(
        "select file_name, content_type, content from entry_attachment
         where journal_entry_id = $1 and entry_attachment_id = $2",
        id,
        attachment
    )
    .fetch_optional(db)
    .await?
    .map(|r| (r.file_name, r.content_type, r.content)))
}

/// The active accounts, for the entry form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountOption {
    pub account_number: i32,
    pub name: String,
}

pub async fn accounts(db: &PgPool) -> Result<Vec<AccountOption>, sqlx::Error> {
    sqlx::query_as!(
        AccountOption,
        "select account_number, name from account where active order by account_number"
    )
    .fetch_all(db)
    .await
}
