//! Returns against the original sale: the cashier picks what comes back from a sale in this
//! till's journal, at the prices and VAT rates it was sold at, and pays it back in cash (rounded
//! to the coin) or to the member's wallet. Nothing comes back twice: each line's quantity less
//! what earlier returns took is the most. Above the co-op's limit a manager's PIN allows it, and
//! the record names the manager. A return is a journal record like a sale, with negative
//! quantities and amounts and the original's id.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use coop_domain::money::Money;
use coop_domain::vat::VatRate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::checkout::{CheckoutError, QuantityProblem, TillSettings};
use crate::journal::{RecordLine, RecordRate, RecordTender, SaleKind, SaleRecord};
use crate::pricing::{self, LineInput, PricingRules};
use crate::store::Store;
use crate::tender::{self, Given};

/// Why a return was refused. Nothing is written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum ReturnError {
    #[error("no sale {0} in this till's journal")]
    NoSale(Uuid),
    #[error("a return or a training sale cannot be returned")]
    NotASale,
    #[error("nothing was picked to come back")]
    Nothing,
    #[error("line {line}: at most {left} can come back")]
    TooMuch { line: usize, left: Decimal },
    #[error("line {0}: {1}")]
    Quantity(usize, QuantityProblem),
    #[error("returns are paid back in cash, to the member's wallet or to a card, not {0}")]
    Tender(String),
    #[error("this sale had no member: it cannot be paid back to a wallet")]
    NoWallet,
    #[error("a return of {0} needs a manager's PIN")]
    NeedsManager(Decimal),
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
}

impl From<crate::store::StoreError> for ReturnError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Checkout(e.into())
    }
}

/// One line of the original sale as the return form shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Returnable {
    /// From 1, as the receipt numbers them.
    pub line: usize,
    pub name: String,
    pub sold: Decimal,
    /// What earlier returns took back already.
    pub returned: Decimal,
    /// What earlier returns paid back of it.
    pub returned_amount: Decimal,
    pub left: Decimal,
    pub unit: pricing::SaleUnit,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

/// Lines match across a sale and its returns by product, pack and the price they were sold at.
fn key(l: &RecordLine) -> (Uuid, Option<Uuid>, Decimal) {
    (l.product_id, l.pack_id, l.unit_price.normalize())
}

/// The original's lines with what can still come back of each.
pub async fn returnable(
    store: &Store,
    original: &SaleRecord,
) -> Result<Vec<Returnable>, ReturnError> {
    let earlier = store.returns_of(original.sale_id).await?;
    // Per key: the quantity and the amount earlier returns took back (both positive).
    let mut back: BTreeMap<(Uuid, Option<Uuid>, Decimal), (Decimal, Decimal)> = BTreeMap::new();
    for r in &earlier {
        for l in &r.lines {
            let e = back.entry(key(l)).or_default();
            e.0 -= l.quantity;
            e.1 -= l.amount;
        }
    }
    // Earlier returns are charged to the first lines with the same key.
    Ok(original
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let taken = back.entry(key(l)).or_default();
            let returned = taken.0.min(l.quantity).max(Decimal::ZERO);
            let returned_amount = taken.1.min(l.amount).max(Decimal::ZERO);
            taken.0 -= returned;
            taken.1 -= returned_amount;
            Returnable {
                line: i + 1,
                name: l.name.clone(),
                sold: l.quantity,
                returned,
                returned_amount,
                left: l.quantity - returned,
                unit: l.unit,
                unit_price: l.unit_price,
                amount: l.amount,
            }
        })
        .collect())
}

/// What the cashier asked to come back.
#[derive(Clone, Copy)]
pub struct ReturnRequest<'a> {
    pub till: &'a str,
    pub cashier: &'a str,
    pub original: Uuid,
    /// (line from 1, quantity) for each line that comes back.
    pub quantities: &'a [(usize, Decimal)],
    /// `cash` (or another cash tender in the home currency) or the wallet tender's id.
    pub tender: &'a str,
    /// The manager whose PIN the till checked, if one did.
    pub approved_by: Option<&'a str>,
    pub now: DateTime<Utc>,
    /// The card terminal, for a return paid back to a card.
    pub card: Option<&'a dyn crate::terminal::Terminal>,
}

impl std::fmt::Debug for ReturnRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReturnRequest")
            .field("original", &self.original)
            .field("tender", &self.tender)
            .finish_non_exhaustive()
    }
}

/// The return priced: its lines and what it pays back, before a tender is chosen.
#[derive(Debug)]
pub struct Planned {
    pub original: SaleRecord,
    pub lines: Vec<RecordLine>,
    pub priced: pricing::Priced,
}

/// Prices what comes back, checking each quantity against what is left of its line.
pub async fn plan(
    store: &Store,
    settings: &TillSettings,
    original: Uuid,
    quantities: &[(usize, Decimal)],
) -> Result<Planned, ReturnError> {
    let sale = store
        .sale(original)
        .await?
        .ok_or(ReturnError::NoSale(original))?;
    if sale.kind != SaleKind::Sale {
        return Err(ReturnError::NotASale);
    }
    let left = returnable(store, &sale).await?;
    let mut lines = Vec::new();
    let mut inputs = Vec::new();
    for &(n, q) in quantities.iter().filter(|(_, q)| !q.is_zero()) {
        let (Some(l), Some(r)) = (
            sale.lines.get(n.wrapping_sub(1)),
            left.get(n.wrapping_sub(1)),
        ) else {
            return Err(ReturnError::Nothing);
        };
        if q.is_sign_negative() {
            return Err(ReturnError::Quantity(n, QuantityProblem::NotPositive));
        }
        if q.normalize().scale() > l.unit.decimals() {
            return Err(ReturnError::Quantity(
                n,
                if l.unit.decimals() == 0 {
                    QuantityProblem::Whole
                } else {
                    QuantityProblem::Grams
                },
            ));
        }
        if q > r.left {
            return Err(ReturnError::TooMuch {
                line: n,
                left: r.left,
            });
        }
        // All of what is left of the line: exactly its amount less what earlier returns paid
        // back, so that a line returned in parts never pays back more than it cost.
        let fixed = if q == r.left {
            Some(-(l.amount - r.returned_amount))
        } else {
            None
        };
        inputs.push(LineInput {
            product_id: l.product_id,
            pack_id: l.pack_id,
            name: l.name.clone(),
            unit: l.unit,
            quantity: -q,
            shelf_price: l.unit_price,
            member_price: None,
            vat_rate: VatRate::new(l.vat_percent)
                .map_err(|e| CheckoutError::Settings(e.to_string()))?,
            fixed_amount: fixed,
        });
        lines.push(l.clone());
    }
    if inputs.is_empty() {
        return Err(ReturnError::Nothing);
    }
    let priced = pricing::price(
        &inputs,
        false,
        &PricingRules {
            currency: settings.currency()?,
            prices_include_vat: settings.prices_include_vat,
        },
    )
    .map_err(CheckoutError::from)?;
    let lines = lines
        .into_iter()
        .zip(&inputs)
        .zip(&priced.lines)
        .map(|((l, i), p)| RecordLine {
            quantity: i.quantity,
            amount: p.amount.amount(),
            member_price_applied: false,
            ..l
        })
        .collect();
    Ok(Planned {
        original: sale,
        lines,
        priced,
    })
}

/// Whether a manager must allow this return, and for what amount: when the sale's returns,
/// this one with them, pay back more than the co-op's limit, or when it is paid back in another
/// tender than the sale was paid with (a card sale refunded in cash, say).
pub async fn manager_needed(
    store: &Store,
    settings: &TillSettings,
    planned: &Planned,
    tender: &str,
) -> Result<Option<Decimal>, ReturnError> {
    let back = -planned.priced.total.amount();
    let before: Decimal = store
        .returns_of(planned.original.sale_id)
        .await?
        .iter()
        .map(|r| -r.total)
        .sum();
    let class = settings
        .tenders
        .iter()
        .find(|t| t.id == tender)
        .map(|t| t.kind.class());
    let same_tender = planned
        .original
        .tenders
        .iter()
        .any(|t| Some(t.kind.as_str()) == class && t.amount > Decimal::ZERO);
    Ok((before + back > settings.return_pin_above || !same_tender).then_some(back))
}

/// Writes the return: priced as [`plan`], paid back in one tender, and appended to the journal
/// durably. Above `settings.return_pin_above` it needs `approved_by`.
pub async fn complete(
    store: &Store,
    settings: &TillSettings,
    req: &ReturnRequest<'_>,
) -> Result<SaleRecord, ReturnError> {
    // One return at a time: what is left is read and the return written under one lock.
    let _one = store.returns_lock().await;
    let planned = plan(store, settings, req.original, req.quantities).await?;
    let total = planned.priced.total;
    let back = -total.amount();
    let kind = settings
        .tenders
        .iter()
        .find(|t| t.id == req.tender)
        .ok_or_else(|| ReturnError::Tender(req.tender.to_owned()))?;
    let class = kind.kind.class();
    let member = planned.original.member.clone();
    match class {
        "cash" if kind.kind == crate::tender::TenderKind::Cash => {}
        "wallet" if member.is_some() => {}
        "wallet" => return Err(ReturnError::NoWallet),
        "card" if req.card.is_some() => {}
        _ => return Err(ReturnError::Tender(req.tender.to_owned())),
    }
    if let (Some(back), None) = (
        manager_needed(store, settings, &planned, req.tender).await?,
        req.approved_by,
    ) {
        return Err(ReturnError::NeedsManager(back));
    }
    // Cash is paid back rounded to the coin, as the sale was; the wallet to the öre.
    let given_amount = if class == "cash" {
        Money::new(back, total.currency())
            .cash_round(settings.cash_coin, coop_domain::money::RoundingMode::HalfUp)
            .map_err(|e| CheckoutError::Settings(e.to_string()))?
            .rounded
            .amount()
    } else {
        back
    };
    let settled = tender::settle(
        total,
        &BTreeMap::<String, Money>::new(),
        &[Given {
            tender: req.tender.to_owned(),
            amount: given_amount,
        }],
        &settings.tenders,
        settings.cash_coin,
    )
    .map_err(CheckoutError::from)?;
    // Back to a card: the terminal last, once everything else holds. The key is the sale's and
    // how many returns it had: asking again for this return never refunds twice.
    let mut card_key = None;
    let card_reference = match (class, req.card) {
        ("card", Some(terminal)) => {
            let n = store.returns_of(planned.original.sale_id).await?.len();
            let key = format!("refund:{}:{n}", planned.original.sale_id);
            match terminal.refund(key.clone(), back).await {
                crate::terminal::Outcome::Approved { reference } => {
                    card_key = Some(key);
                    Some(reference)
                }
                other => return Err(CheckoutError::Card(other).into()),
            }
        }
        _ => None,
    };
    let record = SaleRecord {
        sale_id: Uuid::new_v4(),
        till: req.till.to_owned(),
        seq: 0,
        kind: SaleKind::Return,
        business_day: settings.business_day(req.now),
        completed_at: req.now,
        cashier: req.cashier.to_owned(),
        member,
        original_sale: Some(planned.original.sale_id),
        currency: total.currency().code().to_owned(),
        lines: planned.lines,
        by_rate: planned
            .priced
            .by_rate
            .iter()
            .map(|r| RecordRate {
                vat_percent: r.rate.percent(),
                net: r.net.amount(),
                vat: r.vat.amount(),
                gross: r.gross.amount(),
            })
            .collect(),
        total: total.amount(),
        rounding: settled.rounding.amount(),
        tenders: settled
            .paid
            .iter()
            .map(|t| RecordTender {
                tender: t.tender.clone(),
                kind: t.class.clone(),
                amount: t.amount.amount(),
                reference: if t.class == "card" {
                    card_reference.clone()
                } else {
                    None
                },
            })
            .collect(),
        change: Decimal::ZERO,
        approved_by: req.approved_by.map(str::to_owned),
        prev_hash: String::new(),
        hash: String::new(),
    };
    let record = store.append(record, None, None).await?;
    if let Some(key) = card_key {
        // Only for printing the terminal's slip: a failure here loses no money.
        if let Err(e) = store.note_card_key(record.sale_id, &key).await {
            tracing::warn!(error = %e, "the refund's key was not noted");
        }
    }
    Ok(record)
}
