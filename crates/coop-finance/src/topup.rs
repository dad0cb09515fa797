//! Top-ups: a member claims what they paid in, a bookkeeper confirms it against the bank
//! statement (and a second bookkeeper too above the co-op's threshold), and only then is the
//! money in the wallet. The database enforces the four eyes as well (migration 0003): nobody
//! confirms their own claim, and the second confirmation is someone else's than the first.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::reference::digits_of;
use crate::wallet::{credit_in, Credit, WalletError};

/// What the co-op's config says about confirming top-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Above this amount a second bookkeeper confirms too; `None`: one is always enough.
    pub second_bookkeeper_above: Option<Decimal>,
    pub minor_units: u32,
}

impl Policy {
    fn needs_two(&self, amount: Decimal) -> bool {
        self.second_bookkeeper_above.is_some_and(|t| amount > t)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Waiting for a bookkeeper.
    Claimed,
    /// One bookkeeper confirmed; the amount is above the threshold, so a second one must.
    ApprovedOnce,
    /// In the wallet.
    Confirmed,
    Rejected,
}

impl ClaimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::ApprovedOnce => "approved_once",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TopUpError {
    #[error("the amount must be positive and in whole minor units")]
    Amount,
    #[error("the payment date cannot be in the future")]
    FutureDate,
    #[error("give the reference you put on the transfer (1 to 140 characters)")]
    Reference,
    #[error("no such claim")]
    NoClaim,
    #[error("the claim is {} already", .0.as_str())]
    Settled(ClaimStatus),
    #[error("nobody may confirm or reject their own top-up")]
    OwnClaim,
    #[error("this amount needs a second bookkeeper, someone else than the first")]
    SameBookkeeper,
    #[error("a reason for the rejection is needed (1 to 500 characters)")]
    Reason,
    #[error("too many payments are waiting for a bookkeeper already")]
    TooManyOpen,
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A claim as members and bookkeepers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    pub top_up_claim_id: Uuid,
    pub wallet_id: Uuid,
    pub claimed_by: Option<Uuid>,
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    pub bank_reference: String,
    pub status: ClaimStatus,
    pub bank_line_id: Option<i64>,
    pub first_by: Option<Uuid>,
    pub confirmed_by: Option<Uuid>,
    pub reject_reason: Option<String>,
    pub journal_entry_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// What a confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Confirmed {
    /// The first of two confirmations: the money is not in the wallet yet.
    AwaitingSecond,
    /// In the wallet, with this ledger entry.
    Credited { journal_entry_id: i64 },
}

fn check_amount(amount: Decimal, minor_units: u32) -> Result<(), TopUpError> {
    if amount <= Decimal::ZERO
        || amount.normalize().scale() > minor_units
        || amount > Decimal::new(1_000_000_000, 0)
    {
        Err(TopUpError::Amount)
    } else {
        Ok(())
    }
}

/// What a member says they paid in.
#[derive(Debug, Clone)]
pub struct NewClaim<'a> {
    pub wallet: Uuid,
    pub member: Uuid,
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    /// What they wrote on the transfer.
    pub bank_reference: &'a str,
}

/// How many claims of one wallet may wait for a bookkeeper at once.
pub const MAX_OPEN_CLAIMS: i64 = 10;

/// A member's claim that they paid `amount` into the co-op's account on `paid_on`.
pub async fn claim(
    db: &PgPool,
    new: &NewClaim<'_>,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Claim, TopUpError> {
    let NewClaim {
        wallet,
        member,
        amount,
        paid_on,
        bank_reference,
    } = *new;
    check_amount(amount, policy.minor_units)?;
    if paid_on > today {
        return Err(TopUpError::FutureDate);
    }
    let reference = bank_reference.trim();
    if reference.is_empty() || reference.chars().count() > 140 {
        return Err(TopUpError::Reference);
    }
    // A member cannot flood the bookkeepers' list.
    let open = sqlx::query_scalar!(
        r#"select count(*) as "n!" from top_up_claim
           where wallet_id = $1 and status in ('claimed', 'approved_once')"#,
        wallet
    )
    .fetch_one(db)
    .await?;
    if open >= MAX_OPEN_CLAIMS {
        return Err(TopUpError::TooManyOpen);
    }
    let id = Uuid::new_v4();
    let inserted = sqlx::query!(
        "insert into top_up_claim (top_up_claim_id, wallet_id, claimed_by, amount, paid_on,
                                   bank_reference)
         select $1, wallet_id, $3, $4, $5, $6 from wallet where wallet_id = $2",
        id,
        wallet,
        member,
        amount,
        paid_on,
        reference
    )
    .execute(db)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(WalletError::NoWallet.into());
    }
    get(db, id).await
}

pub async fn get(db: &PgPool, id: Uuid) -> Result<Claim, TopUpError> {
    let mut conn = db.acquire().await?;
    fetch(&mut conn, id, false).await
}

async fn fetch(tx: &mut PgConnection, id: Uuid, lock: bool) -> Result<Claim, TopUpError> {
    let row = if lock {
        sqlx::query_as!(
            Claim,
            r#"select top_up_claim_id, wallet_id, claimed_by, amount, paid_on, bank_reference,
                      status as "status: ClaimStatus", bank_line_id, first_by, confirmed_by,
                      reject_reason, journal_entry_id, created_at
               from top_up_claim where top_up_claim_id = $1 for update"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
    } else {
        sqlx::query_as!(
            Claim,
            r#"select top_up_claim_id, wallet_id, claimed_by, amount, paid_on, bank_reference,
                      status as "status: ClaimStatus", bank_line_id, first_by, confirmed_by,
                      reject_reason, journal_entry_id, created_at
               from top_up_claim where top_up_claim_id = $1"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
    };
    row.ok_or(TopUpError::NoClaim)
}

/// The claims of one wallet, newest first.
pub async fn of_wallet(db: &PgPool, wallet: Uuid) -> Result<Vec<Claim>, TopUpError> {
    Ok(sqlx::query_as!(
        Claim,
        r#"select top_up_claim_id, wallet_id, claimed_by, amount, paid_on, bank_reference,
                  status as "status: ClaimStatus", bank_line_id, first_by, confirmed_by,
                  reject_reason, journal_entry_id, created_at
           from top_up_claim where wallet_id = $1 order by created_at desc limit 200"#,
        wallet
    )
    .fetch_all(db)
    .await?)
}

/// The claims waiting for a bookkeeper, oldest first.
pub async fn open(db: &PgPool) -> Result<Vec<Claim>, TopUpError> {
    Ok(sqlx::query_as!(
        Claim,
        r#"select top_up_claim_id, wallet_id, claimed_by, amount, paid_on, bank_reference,
                  status as "status: ClaimStatus", bank_line_id, first_by, confirmed_by,
                  reject_reason, journal_entry_id, created_at
           from top_up_claim where status in ('claimed', 'approved_once')
           order by created_at limit 500"#
    )
    .fetch_all(db)
    .await?)
}

/// A bookkeeper confirms a claim against the bank statement.
pub async fn confirm(
    db: &PgPool,
    id: Uuid,
    bookkeeper: Uuid,
    policy: &Policy,
) -> Result<Confirmed, TopUpError> {
    let mut tx = db.begin().await?;
    let out = confirm_in(&mut tx, id, bookkeeper, policy).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`confirm`] inside the caller's transaction (the bank import confirms what it matched).
pub(crate) async fn confirm_in(
    tx: &mut PgConnection,
    id: Uuid,
    bookkeeper: Uuid,
    policy: &Policy,
) -> Result<Confirmed, TopUpError> {
    let c = fetch(tx, id, true).await?;
    if c.claimed_by == Some(bookkeeper) {
        return Err(TopUpError::OwnClaim);
    }
    let second = match c.status {
        ClaimStatus::Claimed => false,
        ClaimStatus::ApprovedOnce if c.first_by == Some(bookkeeper) => {
            return Err(TopUpError::SameBookkeeper)
        }
        ClaimStatus::ApprovedOnce => true,
        other => return Err(TopUpError::Settled(other)),
    };
    if !second && policy.needs_two(c.amount) {
        sqlx::query!(
            "update top_up_claim set status = 'approved_once', first_by = $2, first_at = now()
             where top_up_claim_id = $1",
            id,
            bookkeeper
        )
        .execute(&mut *tx)
        .await?;
        return Ok(Confirmed::AwaitingSecond);
    }
    // The money reached the bank on the statement's day if a line was matched, else on the day
    // the member gave.
    let booked_on = match c.bank_line_id {
        Some(line) => {
            sqlx::query_scalar!(
                "select booked_on from bank_line where bank_line_id = $1",
                line
            )
            .fetch_one(&mut *tx)
            .await?
        }
        None => c.paid_on,
    };
    let credit = Credit {
        wallet: c.wallet_id,
        amount: c.amount,
        date: booked_on,
        reference: &c.bank_reference,
        claim: Some(id),
        by: Some(bookkeeper),
    };
    let entry = credit_in(tx, &credit, policy.minor_units).await?;
    sqlx::query!(
        "update top_up_claim set status = 'confirmed', confirmed_by = $2, confirmed_at = now(),
                                 journal_entry_id = $3
         where top_up_claim_id = $1",
        id,
        bookkeeper,
        entry
    )
    .execute(&mut *tx)
    .await?;
    Ok(Confirmed::Credited {
        journal_entry_id: entry,
    })
}

/// A bookkeeper rejects a claim (no such money on the statement), with the reason the member
/// will read.
pub async fn reject(
    db: &PgPool,
    id: Uuid,
    bookkeeper: Uuid,
    reason: &str,
) -> Result<Claim, TopUpError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(TopUpError::Reason);
    }
    let mut tx = db.begin().await?;
    let c = fetch(&mut tx, id, true).await?;
    if c.claimed_by == Some(bookkeeper) {
        return Err(TopUpError::OwnClaim);
    }
    if !matches!(c.status, ClaimStatus::Claimed | ClaimStatus::ApprovedOnce) {
        return Err(TopUpError::Settled(c.status));
    }
    sqlx::query!(
        "update top_up_claim set status = 'rejected', rejected_by = $2, rejected_at = now(),
                                 reject_reason = $3, bank_line_id = null
         where top_up_claim_id = $1",
        id,
        bookkeeper,
        reason
    )
    .execute(&mut *tx)
    .await?;
    if let Some(line) = c.bank_line_id {
        sqlx::query!(
            "update bank_line set status = 'unmatched' where bank_line_id = $1",
            line
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    get(db, id).await
}

/// Whether a bank line's reference names this claim: the same digits (an OCR number however it
/// was spaced), or the same text.
pub(crate) fn reference_matches(line_reference: &str, claim_reference: &str) -> bool {
    let (a, b) = (digits_of(line_reference), digits_of(claim_reference));
    if a.len() >= 2 && a == b {
        return true;
    }
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    !claim_reference.trim().is_empty() && norm(line_reference) == norm(claim_reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_by_digits_or_text() {
        assert!(reference_matches("OCR 12345 6", "123456"));
        assert!(reference_matches("Anna  Svensson", "anna svensson"));
        assert!(!reference_matches("123457", "123456"));
        assert!(!reference_matches("", ""));
        assert!(!reference_matches("x", "y"));
    }
}
