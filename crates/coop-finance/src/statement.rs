//! A member's (or household's) statement for a period: the wallet's opening balance, every
//! movement (money paid in, spent, adjusted), the closing balance, and what they bought with its
//! VAT per rate, as the till and the buyers club reported it. [`pdf`] lays it out as a PDF that a
//! member can keep or a bookkeeper can send.

pub mod pdf;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// One change of the wallet's balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementMovement {
    pub on: NaiveDate,
    /// `top_up`, `capture`, `sale` or `adjustment`.
    pub kind: String,
    pub amount: Decimal,
}

/// One purchase at one VAT rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purchase {
    pub on: NaiveDate,
    /// Where it was bought: the journal entry's source (`coop-pos:sale:…`).
    pub source_key: String,
    pub vat_percent: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
}

impl Purchase {
    /// `till` or `order` (or `other`), for the reader.
    pub fn origin(&self) -> &'static str {
        if self.source_key.starts_with("coop-pos:") || self.source_key.starts_with("demo:sale") {
            "till"
        } else if self.source_key.starts_with("coop-buyers-club:") {
            "order"
        } else {
            "other"
        }
    }

    /// A short receipt or order number: the source key's last part, at most 8 characters.
    pub fn short_ref(&self) -> String {
        let tail = self.source_key.rsplit(':').next().unwrap_or_default();
        tail.chars().take(8).collect()
    }
}

/// The period's purchases summed at one VAT rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatLine {
    pub vat_percent: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub wallet_id: Uuid,
    pub owner_name: String,
    pub payment_reference: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The balance at the start of `from`.
    pub opening: Decimal,
    pub paid_in: Decimal,
    /// Captured for purchases, positive.
    pub spent: Decimal,
    pub adjusted: Decimal,
    /// The balance at the end of `to`: opening + paid in − spent + adjusted.
    pub closing: Decimal,
    pub movements: Vec<StatementMovement>,
    pub purchases: Vec<Purchase>,
    pub vat: Vec<VatLine>,
    pub total_net: Decimal,
    pub total_vat: Decimal,
    pub total_gross: Decimal,
}

/// The statement of wallet `wallet` from `from` to `to` (both days included), or `None` if there
/// is no such wallet. A movement counts on its journal entry's date (the day the books have it),
/// or, without one (a capture), on its day in the co-op's time zone `tz`.
pub async fn for_wallet(
    db: &PgPool,
    wallet: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<Option<Statement>, sqlx::Error> {
    let Some(w) = sqlx::query!(
        "select owner_id, owner_name, payment_reference from wallet where wallet_id = $1",
        wallet
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let opening = sqlx::query_scalar!(
        r#"select coalesce(sum(m.amount), 0) as "sum!"
           from wallet_movement m left join journal_entry e using (journal_entry_id)
           where m.wallet_id = $1 and coalesce(e.entry_date, (m.occurred_at at time zone $3)::date) < $2"#,
        wallet,
        from,
        tz.name()
    )
    .fetch_one(db)
    .await?;
    let movements = sqlx::query_as!(
        StatementMovement,
        r#"select coalesce(e.entry_date, (m.occurred_at at time zone $4)::date) as "on!",
                  m.kind, m.amount
           from wallet_movement m left join journal_entry e using (journal_entry_id)
           where m.wallet_id = $1
             and coalesce(e.entry_date, (m.occurred_at at time zone $4)::date) between $2 and $3
           order by 1, m.wallet_movement_id"#,
        wallet,
        from,
        to,
        tz.name()
    )
    .fetch_all(db)
    .await?;
    let purchases = sqlx::query_as!(
        Purchase,
        r#"select bought_on as "on", source_key, vat_percent, net, vat
           from member_purchase
           where owner_id = $1 and bought_on between $2 and $3
           order by bought_on, member_purchase_id"#,
        w.owner_id,
        from,
        to
    )
    .fetch_all(db)
    .await?;
    let sum = |kind: &str| -> Decimal {
        movements
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| m.amount)
            .sum()
    };
    let paid_in = sum("top_up");
    // Purchases: holds captured, and till sales charged as they reached the books (less returns).
    let spent = -(sum("capture") + sum("sale"));
    let adjusted = sum("adjustment");
    let mut per_rate: BTreeMap<Decimal, (Decimal, Decimal)> = BTreeMap::new();
    for p in &purchases {
        let e = per_rate
            .entry(p.vat_percent.normalize())
            .or_insert((Decimal::ZERO, Decimal::ZERO));
        e.0 += p.net;
        e.1 += p.vat;
    }
    let vat: Vec<VatLine> = per_rate
        .into_iter()
        .map(|(vat_percent, (net, vat))| VatLine {
            vat_percent,
            net,
            vat,
            gross: net + vat,
        })
        .collect();
    let total_net = vat.iter().map(|v| v.net).sum();
    let total_vat = vat.iter().map(|v| v.vat).sum();
    Ok(Some(Statement {
        wallet_id: wallet,
        owner_name: w.owner_name,
        payment_reference: w.payment_reference,
        from,
        to,
        opening,
        paid_in,
        spent,
        adjusted,
        closing: opening + paid_in - spent + adjusted,
        movements,
        purchases,
        vat,
        total_net,
        total_vat,
        total_gross: total_net + total_vat,
    }))
}
