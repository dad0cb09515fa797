//! Bank-statement import: CSV (the columns most Swedish banks export, by name) and ISO 20022
//! camt.053. A file is parsed whole before anything is stored, so a malformed line refuses the
//! file with its line number and changes nothing. Each money-in line is then matched: to an open
//! top-up claim with the same amount and reference, or (the common case) to the wallet whose
//! payment reference it carries; the rest wait for a bookkeeper to match by hand or set aside.
//! Money out is not a top-up and is left to the bookkeeping (manual entries).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::events::Event;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{Connection as _, PgConnection, PgPool};
use uuid::Uuid;

use crate::reference::{digits_of, OcrReference};
use crate::topup::{self, reference_matches, Confirmed, Policy, TopUpError};
use crate::wallet;

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("the file is not a camt.053 statement: {0}")]
    NotCamt(String),
    #[error("the file has no lines")]
    Empty,
    #[error("no such bank line, or it is not waiting to be matched")]
    NoLine,
    #[error("the claim's amount differs from the bank line's")]
    AmountDiffers,
    #[error("a note is needed (1 to 500 characters)")]
    Note,
    #[error(transparent)]
    TopUp(#[from] TopUpError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn line_error(line: usize, reason: impl Into<String>) -> BankError {
    BankError::Line {
        line,
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Camt053,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Camt053 => "camt053",
        }
    }
}

/// One money-in line of a statement, as parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedLine {
    pub booked_on: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub reference: String,
    pub counterparty: String,
    /// The bank's id of the entry (or one made from its contents): the same line imported twice
    /// is stored once.
    pub bank_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub format: Format,
    pub statement_ref: Option<String>,
    pub lines: Vec<ParsedLine>,
    /// Money-out lines, not imported.
    pub debits: usize,
}

fn clip(s: &str, max: usize) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// An amount as banks write it: `1234.50`, `1 234,50`, `-12,00`.
fn parse_amount(s: &str) -> Option<Decimal> {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let t = if t.contains(',') {
        if t.contains('.') {
            return None;
        }
        t.replace(',', ".")
    } else {
        t
    };
    let ok = !t.is_empty()
        && t.trim_start_matches(['-', '+'])
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && t.matches('.').count() <= 1;
    if !ok {
        return None;
    }
    let d: Decimal = t.parse().ok()?;
    (d.normalize().scale() <= 2).then_some(d)
}

/// Parses a CSV statement: a header row naming the columns (English or Swedish: `date`/`datum`/
/// `bokföringsdag`, `amount`/`belopp`, `reference`/`referens`/`meddelande`/`ocr`,
/// `counterparty`/`avsändare`/`namn`, and optionally `currency`/`valuta` and `id`), separated by
/// `,` or `;`; dates `YYYY-MM-DD`.
pub fn parse_csv(bytes: &[u8], default_currency: &str) -> Result<Statement, BankError> {
    let text = std::str::from_utf8(bytes).map_err(|_| line_error(1, "the file is not UTF-8"))?;
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().ok_or(BankError::Empty)?;
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| line_error(1, e.to_string()))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let date = col(&["date", "datum", "bokföringsdag", "bokforingsdag", "booked"])
        .ok_or_else(|| line_error(1, "no date column (date, datum, bokföringsdag)"))?;
    let amount = col(&["amount", "belopp"])
        .ok_or_else(|| line_error(1, "no amount column (amount, belopp)"))?;
    let reference = col(&["reference", "referens", "meddelande", "ocr", "text"])
        .ok_or_else(|| line_error(1, "no reference column (reference, referens, meddelande)"))?;
    let counterparty = col(&["counterparty", "avsändare", "avsandare", "namn", "name"]);
    let currency = col(&["currency", "valuta"]);
    let id = col(&["id", "referensnummer", "transaction id"]);

    let mut lines = Vec::new();
    let mut debits = 0;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let n = i + 2;
        let r = record.map_err(|e| line_error(n, e.to_string()))?;
        let get = |c: usize| r.get(c).unwrap_or("").trim();
        let booked_on = NaiveDate::parse_from_str(get(date), "%Y-%m-%d")
            .map_err(|_| line_error(n, format!("{:?} is not a date (YYYY-MM-DD)", get(date))))?;
        let value = parse_amount(get(amount))
            .filter(|a| !a.is_zero())
            .ok_or_else(|| line_error(n, format!("{:?} is not an amount", get(amount))))?;
        let cur = currency.map_or(default_currency, get);
        let cur = if cur.is_empty() {
            default_currency
        } else {
            cur
        };
        if cur.len() != 3 || !cur.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(line_error(n, format!("{cur:?} is not a currency code")));
        }
        if value < Decimal::ZERO {
            debits += 1;
            continue;
        }
        let reference = clip(get(reference), 140);
        let counterparty = counterparty.map(|c| clip(get(c), 140)).unwrap_or_default();
        let bank_ref = if let Some(s) = id.map(get).filter(|s| !s.is_empty()) {
            format!("csv:{}", clip(s, 190))
        } else {
            // No id column: the line's contents, and which of identical lines it is.
            let body = format!("{booked_on}|{value}|{reference}|{counterparty}");
            let k = seen.entry(body.clone()).or_insert(0);
            *k += 1;
            let digest = format!("{:016x}", fnv1a(body.as_bytes()));
            format!("csv:{digest}:{k}")
        };
        lines.push(ParsedLine {
            booked_on,
            amount: value,
            currency: cur.to_owned(),
            reference,
            counterparty,
            bank_ref,
        });
    }
    if lines.is_empty() && debits == 0 {
        return Err(BankError::Empty);
    }
    Ok(Statement {
        format: Format::Csv,
        statement_ref: None,
        lines,
        debits,
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One `Ntry` of a camt.053 statement while it is read.
#[derive(Default)]
struct Entry {
    amount: Option<(String, String)>,
    credit: Option<bool>,
    reversal: bool,
    status: String,
    booked: String,
    svcr_ref: String,
    txs: Vec<Tx>,
}

#[derive(Default)]
struct Tx {
    amount: Option<(String, String)>,
    svcr_ref: String,
    end_to_end: String,
    structured_ref: String,
    unstructured: Vec<String>,
    debtor: String,
}

/// Parses an ISO 20022 camt.053 bank-to-customer statement (any version: elements are matched
/// by their local names). Booked credit entries become lines; an entry that batches several
/// transactions becomes one line per transaction.
pub fn parse_camt053(bytes: &[u8]) -> Result<Statement, BankError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut stmt_id: Option<String> = None;
    let mut saw_statement = false;
    let mut entries: Vec<Entry> = Vec::new();
    let mut cur: Option<Entry> = None;
    let mut ccy_attr = String::new();
    let mut buf = Vec::new();
    loop {
        let ev = reader.read_event_into(&mut buf).map_err(|e| {
            BankError::NotCamt(format!("at byte {}: {e}", reader.buffer_position()))
        })?;
        match ev {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                ccy_attr.clear();
                for a in e.attributes().flatten() {
                    if a.key.local_name().as_ref() == b"Ccy" {
                        ccy_attr = String::from_utf8_lossy(&a.value).into_owned();
                    }
                }
                if name == "Stmt" {
                    saw_statement = true;
                }
                if name == "Ntry" {
                    cur = Some(Entry::default());
                }
                if name == "TxDtls" {
                    if let Some(e) = cur.as_mut() {
                        e.txs.push(Tx::default());
                    }
                }
                path.push(name);
            }
            Event::End(_) => {
                let closed = path.pop();
                if closed.as_deref() == Some("Ntry") {
                    entries.extend(cur.take());
                }
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|e| BankError::NotCamt(e.to_string()))?
                    .into_owned();
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                let tail = |names: &[&str]| p.ends_with(names);
                if tail(&["Stmt", "Id"]) {
                    stmt_id = Some(text.clone());
                }
                let Some(e) = cur.as_mut() else { continue };
                let in_tx = p.contains(&"TxDtls");
                if !in_tx {
                    if tail(&["Ntry", "Amt"]) {
                        e.amount = Some((text, ccy_attr.clone()));
                    } else if tail(&["Ntry", "CdtDbtInd"]) {
                        e.credit = Some(text == "CRDT");
                    } else if tail(&["Ntry", "RvslInd"]) {
                        e.reversal = text == "true";
                    } else if tail(&["Ntry", "Sts"]) || tail(&["Ntry", "Sts", "Cd"]) {
                        e.status = text;
                    } else if tail(&["BookgDt", "Dt"]) || tail(&["BookgDt", "DtTm"]) {
                        e.booked = text;
                    } else if tail(&["Ntry", "AcctSvcrRef"]) {
                        e.svcr_ref = text;
                    }
                } else if let Some(tx) = e.txs.last_mut() {
                    if tail(&["TxDtls", "Amt"]) || tail(&["TxAmt", "Amt"]) {
                        tx.amount = Some((text, ccy_attr.clone()));
                    } else if tail(&["Refs", "AcctSvcrRef"]) {
                        tx.svcr_ref = text;
                    } else if tail(&["Refs", "EndToEndId"]) {
                        tx.end_to_end = text;
                    } else if tail(&["CdtrRefInf", "Ref"]) {
                        tx.structured_ref = text;
                    } else if tail(&["RmtInf", "Ustrd"]) {
                        tx.unstructured.push(text);
                    } else if tail(&["Dbtr", "Nm"]) || tail(&["Dbtr", "Pty", "Nm"]) {
                        tx.debtor = text;
                    }
                }
            }
            Event::Eof => {
                if let Some(open) = path.last() {
                    return Err(BankError::NotCamt(format!("the file ends inside <{open}>")));
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    if !saw_statement {
        return Err(BankError::NotCamt("it has no Stmt element".into()));
    }
    let stmt_ref = stmt_id.clone().unwrap_or_default();
    let mut lines = Vec::new();
    let mut debits = 0;
    for (i, e) in entries.into_iter().enumerate() {
        let n = i + 1;
        let bad = |reason: String| line_error(n, format!("entry {n}: {reason}"));
        let credit = e
            .credit
            .ok_or_else(|| bad("no CdtDbtInd (credit or debit)".into()))?;
        if !e.status.is_empty() && e.status != "BOOK" {
            continue; // pending or information-only entries are not money yet
        }
        // A reversed credit is money going back out.
        if !credit || e.reversal {
            debits += 1;
            continue;
        }
        let date = e.booked.get(..10).unwrap_or("");
        let booked_on = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| bad(format!("booking date {:?} is not a date", e.booked)))?;
        let entry_ref = if e.svcr_ref.is_empty() {
            format!("{stmt_ref}#{n}")
        } else {
            e.svcr_ref.clone()
        };
        let amount_of = |a: &Option<(String, String)>| -> Result<(Decimal, String), BankError> {
            let (v, c) = a.as_ref().ok_or_else(|| bad("no amount".into()))?;
            let d = parse_amount(v)
                .filter(|d| *d > Decimal::ZERO)
                .ok_or_else(|| bad(format!("{v:?} is not a positive amount")))?;
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(bad(format!("{c:?} is not a currency code")));
            }
            Ok((d, c.clone()))
        };
        let describe = |tx: Option<&Tx>| -> (String, String) {
            match tx {
                Some(tx) => {
                    let reference = if tx.structured_ref.is_empty() {
                        tx.unstructured.join(" ")
                    } else {
                        tx.structured_ref.clone()
                    };
                    (clip(&reference, 140), clip(&tx.debtor, 140))
                }
                None => (String::new(), String::new()),
            }
        };
        if e.txs.len() <= 1 {
            let (amount, currency) = amount_of(&e.amount)?;
            let (reference, counterparty) = describe(e.txs.first());
            lines.push(ParsedLine {
                booked_on,
                amount,
                currency,
                reference,
                counterparty,
                bank_ref: format!("camt:{}", clip(&entry_ref, 190)),
            });
        } else {
            for (k, tx) in e.txs.iter().enumerate() {
                let (amount, currency) = amount_of(&tx.amount)?;
                let (reference, counterparty) = describe(Some(tx));
                let own = if tx.svcr_ref.is_empty() {
                    if tx.end_to_end.is_empty() || tx.end_to_end == "NOTPROVIDED" {
                        format!("{}", k + 1)
                    } else {
                        tx.end_to_end.clone()
                    }
                } else {
                    tx.svcr_ref.clone()
                };
                lines.push(ParsedLine {
                    booked_on,
                    amount,
                    currency,
                    reference,
                    counterparty,
                    bank_ref: clip(&format!("camt:{entry_ref}/{own}"), 200),
                });
            }
        }
    }
    Ok(Statement {
        format: Format::Camt053,
        statement_ref: stmt_id.map(|s| clip(&s, 100)).filter(|s| !s.is_empty()),
        lines,
        debits,
    })
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub bank_statement_id: Uuid,
    /// New lines stored.
    pub added: usize,
    /// Lines stored by an earlier import.
    pub already_imported: usize,
    /// Money-out lines, not imported.
    pub debits: usize,
    /// New lines now in a wallet.
    pub credited: usize,
    /// New lines matched, waiting for a (second) bookkeeper.
    pub awaiting_bookkeeper: usize,
    /// New lines left for a bookkeeper to match by hand.
    pub unmatched: usize,
}

/// Stores a parsed statement and matches its lines, in one transaction.
pub async fn import(
    db: &PgPool,
    statement: &Statement,
    file_name: Option<&str>,
    by: Uuid,
    currency: &str,
    policy: &Policy,
) -> Result<ImportReport, BankError> {
    let mut tx = db.begin().await?;
    let id = Uuid::new_v4();
    sqlx::query!(
        "insert into bank_statement (bank_statement_id, format, statement_ref, file_name,
                                     imported_by)
         values ($1, $2, $3, $4, $5)",
        id,
        statement.format.as_str(),
        statement.statement_ref,
        file_name.map(|f| clip(f, 200)).filter(|f| !f.is_empty()),
        by
    )
    .execute(&mut *tx)
    .await?;
    let mut report = ImportReport {
        bank_statement_id: id,
        debits: statement.debits,
        ..ImportReport::default()
    };
    for l in &statement.lines {
        let line_id = sqlx::query_scalar!(
            "insert into bank_line (bank_statement_id, booked_on, amount, currency, reference,
                                    counterparty, bank_ref)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (bank_ref) do nothing
             returning bank_line_id",
            id,
            l.booked_on,
            l.amount,
            l.currency,
            l.reference,
            l.counterparty,
            l.bank_ref
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(line_id) = line_id else {
            report.already_imported += 1;
            continue;
        };
        report.added += 1;
        if l.currency != currency {
            report.unmatched += 1;
            continue;
        }
        match match_line(&mut tx, line_id, l, by, policy).await? {
            Some(Confirmed::Credited { .. }) => report.credited += 1,
            Some(Confirmed::AwaitingSecond) => report.awaiting_bookkeeper += 1,
            None => report.unmatched += 1,
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Matches one new line: to an open claim with its amount and reference, else to the wallet its
/// payment reference names. `Some(AwaitingSecond)` also covers a match the importer may not
/// confirm (their own claim).
async fn match_line(
    tx: &mut PgConnection,
    line_id: i64,
    l: &ParsedLine,
    by: Uuid,
    policy: &Policy,
) -> Result<Option<Confirmed>, BankError> {
    let ocr_wallet = match OcrReference::parse(&digits_of(&l.reference)) {
        Ok(r) => wallet::by_reference(tx, &r).await?,
        Err(_) => None,
    };
    let candidates = sqlx::query!(
        "select top_up_claim_id, wallet_id, bank_reference from top_up_claim
         where status in ('claimed', 'approved_once') and bank_line_id is null and amount = $1
         order by created_at for update",
        l.amount
    )
    .fetch_all(&mut *tx)
    .await?;
    let claim = candidates
        .iter()
        .find(|c| reference_matches(&l.reference, &c.bank_reference))
        .or_else(|| ocr_wallet.and_then(|w| candidates.iter().find(|c| c.wallet_id == w)))
        .map(|c| c.top_up_claim_id);
    let claim = match (claim, ocr_wallet) {
        (Some(c), _) => {
            sqlx::query!(
                "update top_up_claim set bank_line_id = $2 where top_up_claim_id = $1",
                c,
                line_id
            )
            .execute(&mut *tx)
            .await?;
            c
        }
        (None, Some(w)) => {
            // Paid with the wallet's reference and claimed nothing: the statement is the claim.
            let c = Uuid::new_v4();
            sqlx::query!(
                "insert into top_up_claim (top_up_claim_id, wallet_id, amount, paid_on,
                                           bank_reference, bank_line_id)
                 values ($1, $2, $3, $4, $5, $6)",
                c,
                w,
                l.amount,
                l.booked_on,
                if l.reference.is_empty() {
                    "-"
                } else {
                    &l.reference
                },
                line_id
            )
            .execute(&mut *tx)
            .await?;
            c
        }
        (None, None) => return Ok(None),
    };
    // The importing bookkeeper confirms what the statement shows, unless it is their own claim
    // (or they gave the first of two confirmations); a savepoint keeps the match either way.
    let mut sp = tx.begin().await?; // a savepoint: the transaction is open
    match topup::confirm_in(&mut sp, claim, by, policy).await {
        Ok(done) => {
            sp.commit().await?;
            Ok(Some(done))
        }
        Err(TopUpError::OwnClaim | TopUpError::SameBookkeeper) => {
            sp.rollback().await?;
            Ok(Some(Confirmed::AwaitingSecond))
        }
        Err(e) => Err(e.into()),
    }
}

/// A bank line as the bookkeeper sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankLine {
    pub bank_line_id: i64,
    pub booked_on: NaiveDate,
    pub amount: Decimal,
    pub currency: String,
    pub reference: String,
    pub counterparty: String,
    pub status: String,
    pub note: Option<String>,
    pub imported_at: DateTime<Utc>,
}

/// The lines waiting for a bookkeeper, oldest first.
pub async fn unmatched(db: &PgPool) -> Result<Vec<BankLine>, BankError> {
    Ok(sqlx::query_as!(
        BankLine,
        r#"select l.bank_line_id, l.booked_on, l.amount, l.currency, l.reference, l.counterparty,
                  l.status, l.note, s.imported_at
           from bank_line l join bank_statement s using (bank_statement_id)
           where l.status = 'unmatched' order by l.booked_on, l.bank_line_id limit 500"#
    )
    .fetch_all(db)
    .await?)
}

/// Locks an unmatched line.
async fn lock_unmatched(
    tx: &mut PgConnection,
    line: i64,
) -> Result<(Decimal, NaiveDate, String), BankError> {
    let row = sqlx::query!(
        "select amount, booked_on, reference from bank_line
         where bank_line_id = $1 and status = 'unmatched' for update",
        line
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(BankError::NoLine)?;
    Ok((row.amount, row.booked_on, row.reference))
}

/// A bookkeeper matches a line to an open claim by hand (the member mistyped the reference).
pub async fn match_to_claim(
    db: &PgPool,
    line: i64,
    claim: Uuid,
    by: Uuid,
    policy: &Policy,
) -> Result<Confirmed, BankError> {
    let mut tx = db.begin().await?;
    let (amount, _, _) = lock_unmatched(&mut tx, line).await?;
    let c = topup::get(db, claim).await?;
    if c.amount != amount {
        return Err(BankError::AmountDiffers);
    }
    let linked = sqlx::query!(
        "update top_up_claim set bank_line_id = $2
         where top_up_claim_id = $1 and bank_line_id is null
           and status in ('claimed', 'approved_once')",
        claim,
        line
    )
    .execute(&mut *tx)
    .await?;
    if linked.rows_affected() != 1 {
        return Err(TopUpError::Settled(c.status).into());
    }
    let done = topup::confirm_in(&mut tx, claim, by, policy).await?;
    tx.commit().await?;
    Ok(done)
}

/// A bookkeeper credits a line to a wallet by hand (the payer gave no usable reference).
pub async fn credit_to_wallet(
    db: &PgPool,
    line: i64,
    wallet: Uuid,
    by: Uuid,
    policy: &Policy,
) -> Result<Confirmed, BankError> {
    let mut tx = db.begin().await?;
    let (amount, booked_on, reference) = lock_unmatched(&mut tx, line).await?;
    let c = Uuid::new_v4();
    let inserted = sqlx::query!(
        "insert into top_up_claim (top_up_claim_id, wallet_id, amount, paid_on, bank_reference,
                                   bank_line_id)
         select $1, wallet_id, $3, $4, $5, $6 from wallet where wallet_id = $2",
        c,
        wallet,
        amount,
        booked_on,
        if reference.is_empty() {
            "-"
        } else {
            &reference
        },
        line
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(TopUpError::Wallet(wallet::WalletError::NoWallet).into());
    }
    let done = topup::confirm_in(&mut tx, c, by, policy).await?;
    tx.commit().await?;
    Ok(done)
}

/// A bookkeeper sets a line aside (not a top-up: a refund, a grant), with a note.
pub async fn set_aside(db: &PgPool, line: i64, by: Uuid, note: &str) -> Result<(), BankError> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 500 {
        return Err(BankError::Note);
    }
    let mut tx = db.begin().await?;
    lock_unmatched(&mut tx, line).await?;
    sqlx::query!(
        "update bank_line set status = 'set_aside', handled_by = $2, handled_at = now(), note = $3
         where bank_line_id = $1",
        line,
        by,
        note
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn amounts_as_banks_write_them() {
        assert_eq!(parse_amount("1 234,50"), Some(dec!(1234.50)));
        assert_eq!(parse_amount("1234.5"), Some(dec!(1234.5)));
        assert_eq!(parse_amount("-12,00"), Some(dec!(-12)));
        for bad in ["", "1,234.50", "12,345", "1.2.3", "abc", "1e5", "0.001"] {
            // "12,345" is 12.345: three decimals, refused rather than guessed.
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_malformed_csv_line_is_named() {
        let csv = "datum;belopp;referens\n2026-11-02;500,00;12345\n2026-11-31;20;x\n";
        let e = parse_csv(csv.as_bytes(), "SEK").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: \"2026-11-31\" is not a date (YYYY-MM-DD)"
        );
        let e = parse_csv(b"date,amount\n", "SEK").unwrap_err();
        assert!(e.to_string().contains("no reference column"), "{e}");
        let e = parse_csv(b"date,amount,reference\n2026-11-02,ten,x\n", "SEK").unwrap_err();
        assert_eq!(e.to_string(), "line 2: \"ten\" is not an amount");
    }

    #[test]
    fn csv_lines_without_an_id_get_a_stable_one() {
        let csv = "date,amount,reference,name\n2026-11-02,100,A,B\n2026-11-02,100,A,B\n2026-11-03,-50,rent,landlord\n";
        let s = parse_csv(csv.as_bytes(), "SEK").unwrap();
        assert_eq!(s.lines.len(), 2);
        assert_eq!(s.debits, 1);
        assert_ne!(s.lines[0].bank_ref, s.lines[1].bank_ref);
        let again = parse_csv(csv.as_bytes(), "SEK").unwrap();
        assert_eq!(s, again);
    }
}
