//! Writes SIE 4 records, and a fiscal year's ledger as a whole file, streamed from the database
//! so a year of 200,000 vouchers never sits in memory at once.

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::NaiveDate;
use futures_util::TryStreamExt as _;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;

use super::{to_cp437, Checksum};
use crate::ledger::AccountKind;

/// 4E, a full export of the year; 4I, vouchers for another program to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    E,
    I,
}

/// Who the file is about and what made it.
#[derive(Debug, Clone)]
pub struct Company {
    pub name: String,
    /// The organisation number (`556677-8899`), if the co-op has one.
    pub orgnr: Option<String>,
    pub currency: String,
    pub program_version: String,
    /// The day the file is made (`#GEN`).
    pub generated_on: NaiveDate,
}

/// A field of a record.
pub(crate) enum Field<'a> {
    /// Written as is (numbers, dates, codes); must hold no space or quote.
    Bare(&'a str),
    /// Always quoted; `"` escaped.
    Text(&'a str),
    /// An empty object list, `{}`.
    NoObjects,
}

/// Writes records in CP437 with CRLF, summing the `#KSUMMA` checksum of those between the markers.
pub(crate) struct RecordWriter<W: Write> {
    out: W,
    sum: Checksum,
    summing: bool,
    pub(crate) bytes: u64,
}

impl<W: Write> RecordWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out,
            sum: Checksum::default(),
            summing: false,
            bytes: 0,
        }
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.bytes += b.len() as u64;
        self.out.write_all(b)
    }

    pub(crate) fn record(&mut self, label: &str, fields: &[Field<'_>]) -> io::Result<()> {
        let mut line = Vec::with_capacity(64);
        line.extend_from_slice(label.as_bytes());
        if self.summing {
            self.sum.add(label.as_bytes());
        }
        for f in fields {
            line.push(b' ');
            match f {
                Field::Bare(s) => {
                    debug_assert!(!s.contains([' ', '"', '{', '}']) && !s.is_empty());
                    let b = to_cp437(s);
                    if self.summing {
                        self.sum.add(&b);
                    }
                    line.extend_from_slice(&b);
                }
                Field::Text(s) => {
                    // One line per record: line breaks and tabs become spaces.
                    let clean: String = s
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect();
                    let b = to_cp437(&clean);
                    if self.summing {
                        self.sum.add(&b);
                    }
                    line.push(b'"');
                    for &c in &b {
                        if c == b'"' || c == b'\\' {
                            line.push(b'\\');
                        }
                        line.push(c);
                    }
                    line.push(b'"');
                }
                Field::NoObjects => line.extend_from_slice(b"{}"),
            }
        }
        line.extend_from_slice(b"\r\n");
        self.put(&line)
    }

    /// A voucher's `{` or `}` line (braces are not summed).
    pub(crate) fn brace(&mut self, open: bool) -> io::Result<()> {
        self.put(if open { b"{\r\n" } else { b"}\r\n" })
    }

    /// The bare `#KSUMMA` after `#FLAGGA`: the records from here on are summed.
    pub(crate) fn start_checksum(&mut self) -> io::Result<()> {
        self.put(b"#KSUMMA\r\n")?;
        self.summing = true;
        Ok(())
    }

    /// The closing `#KSUMMA <crc>` (printed as a signed 32-bit number, which every reader takes).
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        let crc = i32::from_ne_bytes(self.sum.value().to_ne_bytes());
        self.summing = false;
        self.put(format!("#KSUMMA {crc}\r\n").as_bytes())?;
        self.out.flush()?;
        Ok((self.out, self.bytes))
    }
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// An amount with exactly two decimals, `.` as the separator.
pub(crate) fn amount(a: Decimal) -> String {
    format!("{:.2}", a.round_dp(2))
}

fn ktyp(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Asset => "T",
        AccountKind::Liability => "S",
        AccountKind::Revenue => "I",
        AccountKind::Expense => "K",
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub vouchers: u64,
    pub transactions: u64,
    pub bytes: u64,
    pub checksum: i64,
}

/// The retained-earnings account that takes earlier years' results in the opening balance, so
/// the balance sheet's opening balances sum to zero although no year-end entry moved them.
const RETAINED_EARNINGS: i32 = 2091;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no such fiscal year")]
    NoYear,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Balances of the balance-sheet accounts before `before`, with earlier results moved to
/// retained earnings.
async fn balance_sheet_before(
    db: &PgPool,
    before: NaiveDate,
) -> Result<BTreeMap<i32, Decimal>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select l.account_number, sum(l.amount) as "sum!"
           from journal_line l join journal_entry e using (journal_entry_id)
           where e.entry_date < $1 group by l.account_number"#,
        before
    )
    .fetch_all(db)
    .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let key = if r.account_number < 3000 {
            r.account_number
        } else {
            RETAINED_EARNINGS
        };
        *out.entry(key).or_insert(Decimal::ZERO) += r.sum;
    }
    out.retain(|_, v: &mut Decimal| !v.is_zero());
    Ok(out)
}

/// Result accounts' sums within a year.
async fn results(
    db: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<i32, Decimal>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select l.account_number, sum(l.amount) as "sum!"
           from journal_line l join journal_entry e using (journal_entry_id)
           where e.entry_date between $1 and $2 and l.account_number >= 3000
           group by l.account_number order by l.account_number"#,
        from,
        to
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| !r.sum.is_zero())
        .map(|r| (r.account_number, r.sum))
        .collect())
}

/// Writes fiscal year `year` as a SIE 4 file of `kind` to `out`.
pub async fn export<W: Write>(
    db: &PgPool,
    year: i32,
    kind: Kind,
    company: &Company,
    out: W,
) -> Result<(W, ExportSummary), ExportError> {
    let y = sqlx::query!(
        "select starts_on, ends_on from fiscal_year where fiscal_year_id = $1",
        year
    )
    .fetch_optional(db)
    .await?
    .ok_or(ExportError::NoYear)?;
    let previous = sqlx::query!(
        "select starts_on, ends_on from fiscal_year where ends_on < $1
         order by ends_on desc limit 1",
        y.starts_on
    )
    .fetch_optional(db)
    .await?;

    let mut w = RecordWriter::new(out);
    w.record("#FLAGGA", &[Field::Bare("0")])?;
    w.start_checksum()?;
    w.record(
        "#PROGRAM",
        &[
            Field::Text("Cooperage coop-finance"),
            Field::Bare(&company.program_version),
        ],
    )?;
    w.record("#FORMAT", &[Field::Bare("PC8")])?;
    w.record("#GEN", &[Field::Bare(&date(company.generated_on))])?;
    // 4E and 4I share the type number; what they hold tells them apart (4I has no balances).
    w.record("#SIETYP", &[Field::Bare("4")])?;
    w.record(
        "#PROSA",
        &[Field::Text(match kind {
            Kind::E => "SIE 4E: full export of the fiscal year",
            Kind::I => "SIE 4I: vouchers for import",
        })],
    )?;
    if let Some(orgnr) = &company.orgnr {
        w.record("#ORGNR", &[Field::Bare(orgnr)])?;
    }
    w.record("#FNAMN", &[Field::Text(&company.name)])?;
    w.record(
        "#RAR",
        &[
            Field::Bare("0"),
            Field::Bare(&date(y.starts_on)),
            Field::Bare(&date(y.ends_on)),
        ],
    )?;
    if kind == Kind::E {
        if let Some(p) = &previous {
            w.record(
                "#RAR",
                &[
                    Field::Bare("-1"),
                    Field::Bare(&date(p.starts_on)),
                    Field::Bare(&date(p.ends_on)),
                ],
            )?;
        }
    }
    // The chart is BAS; EUBAS97 is the newest chart type SIE 4B names.
    w.record("#KPTYP", &[Field::Bare("EUBAS97")])?;
    w.record("#VALUTA", &[Field::Bare(&company.currency)])?;

    let accounts = sqlx::query!(
        r#"select account_number, name, kind as "kind: AccountKind" from account
           order by account_number"#
    )
    .fetch_all(db)
    .await?;
    for a in &accounts {
        let n = a.account_number.to_string();
        w.record("#KONTO", &[Field::Bare(&n), Field::Text(&a.name)])?;
        w.record("#KTYP", &[Field::Bare(&n), Field::Bare(ktyp(a.kind))])?;
    }

    if kind == Kind::E {
        let mut years = vec![("0", y.starts_on, y.ends_on)];
        if let Some(p) = &previous {
            years.push(("-1", p.starts_on, p.ends_on));
        }
        for (code, from, to) in &years {
            let ib = balance_sheet_before(db, *from).await?;
            for (acc, sum) in &ib {
                w.record(
                    "#IB",
                    &[
                        Field::Bare(code),
                        Field::Bare(&acc.to_string()),
                        Field::Bare(&amount(*sum)),
                    ],
                )?;
            }
            let ub = balance_sheet_before(db, *to + chrono::Days::new(1)).await?;
            // Closing balances before any year-end entry: the year's result stays out of equity.
            let res = results(db, *from, *to).await?;
            let year_result: Decimal = res.values().copied().sum();
            for (acc, sum) in &ub {
                let sum = if *acc == RETAINED_EARNINGS {
                    *sum - year_result
                } else {
                    *sum
                };
                if !sum.is_zero() {
                    w.record(
                        "#UB",
                        &[
                            Field::Bare(code),
                            Field::Bare(&acc.to_string()),
                            Field::Bare(&amount(sum)),
                        ],
                    )?;
                }
            }
            for (acc, sum) in &res {
                w.record(
                    "#RES",
                    &[
                        Field::Bare(code),
                        Field::Bare(&acc.to_string()),
                        Field::Bare(&amount(*sum)),
                    ],
                )?;
            }
        }
    }

    // The vouchers, in series and number order, each with its lines.
    let mut summary = ExportSummary::default();
    let mut rows = sqlx::query!(
        r#"select e.journal_entry_id, e.series, e.number, e.entry_date, e.text,
                  l.account_number, l.amount
           from journal_entry e join journal_line l using (journal_entry_id)
           where e.fiscal_year_id = $1
           order by e.series, e.number, l.line_no"#,
        year
    )
    .fetch(db);
    let mut open: Option<i64> = None;
    while let Some(r) = rows.try_next().await? {
        if open != Some(r.journal_entry_id) {
            if open.is_some() {
                w.brace(false)?;
            }
            open = Some(r.journal_entry_id);
            summary.vouchers += 1;
            w.record(
                "#VER",
                &[
                    Field::Bare(&r.series),
                    Field::Bare(&r.number.to_string()),
                    Field::Bare(&date(r.entry_date)),
                    Field::Text(&r.text),
                ],
            )?;
            w.brace(true)?;
        }
        summary.transactions += 1;
        w.record(
            "#TRANS",
            &[
                Field::Bare(&r.account_number.to_string()),
                Field::NoObjects,
                Field::Bare(&amount(r.amount)),
            ],
        )?;
    }
    if open.is_some() {
        w.brace(false)?;
    }
    summary.checksum = i64::from(w.sum.value());
    let (out, bytes) = w.finish()?;
    summary.bytes = bytes;
    Ok((out, summary))
}

/// A voucher as [`write_vouchers`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    /// The series' letter or code (bare: no space, quote or brace).
    pub series: String,
    pub number: i64,
    pub date: NaiveDate,
    pub text: String,
    /// Each line's account and amount.
    pub lines: Vec<(i32, Decimal)>,
}

/// Writes a SIE 4I file of `vouchers` (no balances) from memory: the same records, quoting,
/// code page and checksum as [`export`], for the fuzz targets and for tests that pair the
/// writer with the reader without a database.
///
/// # Errors
/// Never from memory; the writer's own I/O errors otherwise.
pub fn write_vouchers(
    company: &Company,
    year: (NaiveDate, NaiveDate),
    accounts: &[(i32, String)],
    vouchers: &[Voucher],
) -> io::Result<(Vec<u8>, ExportSummary)> {
    let mut w = RecordWriter::new(Vec::new());
    w.record("#FLAGGA", &[Field::Bare("0")])?;
    w.start_checksum()?;
    w.record(
        "#PROGRAM",
        &[
            Field::Text("Cooperage coop-finance"),
            Field::Bare(&company.program_version),
        ],
    )?;
    w.record("#FORMAT", &[Field::Bare("PC8")])?;
    w.record("#GEN", &[Field::Bare(&date(company.generated_on))])?;
    w.record("#SIETYP", &[Field::Bare("4")])?;
    if let Some(orgnr) = &company.orgnr {
        w.record("#ORGNR", &[Field::Bare(orgnr)])?;
    }
    w.record("#FNAMN", &[Field::Text(&company.name)])?;
    w.record(
        "#RAR",
        &[
            Field::Bare("0"),
            Field::Bare(&date(year.0)),
            Field::Bare(&date(year.1)),
        ],
    )?;
    w.record("#KPTYP", &[Field::Bare("EUBAS97")])?;
    w.record("#VALUTA", &[Field::Bare(&company.currency)])?;
    for (n, name) in accounts {
        let n = n.to_string();
        w.record("#KONTO", &[Field::Bare(&n), Field::Text(name)])?;
    }
    let mut summary = ExportSummary::default();
    for v in vouchers {
        summary.vouchers += 1;
        w.record(
            "#VER",
            &[
                Field::Bare(&v.series),
                Field::Bare(&v.number.to_string()),
                Field::Bare(&date(v.date)),
                Field::Text(&v.text),
            ],
        )?;
        w.brace(true)?;
        for (account, a) in &v.lines {
            summary.transactions += 1;
            w.record(
                "#TRANS",
                &[
                    Field::Bare(&account.to_string()),
                    Field::NoObjects,
                    Field::Bare(&amount(*a)),
                ],
            )?;
        }
        w.brace(false)?;
    }
    summary.checksum = i64::from(w.sum.value());
    let (out, bytes) = w.finish()?;
    summary.bytes = bytes;
    Ok((out, summary))
}
