//! A checkout at the till, over its store: a scanned or typed code becomes a line (a GTIN, a
//! pack's barcode, a PLU, an SKU, or a variable-measure code carrying a weight or a price), the
//! basket is priced with [`crate::pricing`] on the day, and completing it settles the tenders
//! with [`crate::tender`] and appends the sale to the journal in one durable transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use coop_domain::code::{MeasuredValue, ProductCode, VariableMeasureRule};
use coop_domain::money::{Currency, Money};
use coop_domain::vat::{VatClassId, VatTable};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::journal::{RecordLine, RecordRate, RecordTender, SaleKind, SaleRecord};
use crate::pricing::{self, LineInput, Priced, PricingRules, SaleUnit};
use crate::store::{Basket, Found, Product, Store, StoreError};
use crate::tender::{self, Given, TenderKind, TenderType};

/// What central tells a till about the co-op (`GET /api/till/settings`), kept in its store so
/// that it sells the same way offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TillSettings {
    pub org_name: String,
    pub org_number: Option<String>,
    pub currency: String,
    pub vat: VatTable,
    pub prices_include_vat: bool,
    pub member_only: bool,
    pub tenders: Vec<TenderType>,
    /// The smallest coin taken in cash.
    pub cash_coin: Decimal,
    pub variable_measure: Vec<VariableMeasureRule>,
    pub offline_wallet_limit: Decimal,
    /// An IANA zone: the business day is the co-op's.
    pub time_zone: String,
    /// A return paying back more than this needs a manager's PIN.
    #[serde(default = "default_return_pin_above")]
    pub return_pin_above: Decimal,
}

/// Settings kept by a till before the limit existed: every return needs a manager.
fn default_return_pin_above() -> Decimal {
    Decimal::ZERO
}

impl TillSettings {
    pub fn currency(&self) -> Result<Currency, CheckoutError> {
        Currency::parse(&self.currency).map_err(|e| CheckoutError::Settings(e.to_string()))
    }

    pub fn business_day(&self, at: DateTime<Utc>) -> NaiveDate {
        self.time_zone
            .parse::<chrono_tz::Tz>()
            .map_or_else(|_| at.date_naive(), |tz| at.with_timezone(&tz).date_naive())
    }
}

/// Why a code, a line or a sale was refused. Nothing is written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("no product has the code {0}")]
    Unknown(String),
    #[error("a code has 1 to 64 characters")]
    CodeLength,
    #[error("{0}")]
    Code(coop_domain::CodeError),
    #[error("the label's weight or count does not fit how {0} is sold")]
    LabelMismatch(String),
    #[error("{0} is not on sale")]
    Inactive(String),
    #[error("{0} is sold by weight: weigh it or type the weight")]
    NeedsWeight(String),
    #[error("{0}")]
    Quantity(QuantityProblem),
    #[error("the basket is empty")]
    Empty,
    #[error("this co-op sells to members only: attach an active member first")]
    MemberOnly,
    #[error("the member's wallet may pay at most {0} more while the till is offline")]
    OfflineWalletLimit(Decimal),
    #[error("the wallet pays only for a member attached to the sale")]
    WalletWithoutMember,
    #[error("the member's wallet has only {0} to spend")]
    WalletInsufficient(Decimal),
    #[error("the member is not active: their wallet cannot pay")]
    WalletInactive,
    #[error("{0}")]
    Pricing(#[from] pricing::PricingError),
    #[error("{0}")]
    Tender(#[from] tender::TenderError),
    #[error("the card terminal: {0:?}")]
    Card(crate::terminal::Outcome),
    #[error("the till's settings: {0}")]
    Settings(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is wrong with a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityProblem {
    #[error("a quantity above zero")]
    NotPositive,
    #[error("a quantity below 10 000")]
    TooLarge,
    #[error("a whole number")]
    Whole,
    #[error("at most three decimals (grams)")]
    Grams,
}

/// What a code resolved to: the product or pack, how much, and a fixed amount when the code
/// carries a price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub found: Found,
    pub quantity: Option<Decimal>,
    pub fixed_amount: Option<Decimal>,
}

/// Resolves what the scanner or the keypad produced. Digits are a code (their check digit
/// verified); anything else is an SKU.
pub async fn resolve(
    store: &Store,
    settings: &TillSettings,
    input: &str,
) -> Result<Resolved, CheckoutError> {
    let input = input.trim();
    if input.is_empty() || input.len() > 64 {
        return Err(CheckoutError::CodeLength);
    }
    let minor = store.minor().0;
    let all_digits = input.bytes().all(|b| b.is_ascii_digit());
    let (found, quantity, fixed) = if all_digits {
        match ProductCode::parse_scan(input, &settings.variable_measure)
            .map_err(CheckoutError::Code)?
        {
            ProductCode::Gtin(g) => (
                store.find_code("gtin", g.to_gtin14().as_str()).await?,
                None,
                None,
            ),
            ProductCode::Plu(p) => (store.find_code("plu", p.as_str()).await?, None, None),
            ProductCode::VariableMeasure(v) => {
                // The item digits are the product's PLU, leading zeros dropped down to three.
                let item = v.item.trim_start_matches('0');
                let found = store.find_code("plu", &format!("{item:0>3}")).await?;
                match v.value {
                    MeasuredValue::Weight(q) => {
                        let mismatch = || {
                            CheckoutError::LabelMismatch(
                                found
                                    .as_ref()
                                    .map_or_else(String::new, |f| f.product.name.clone()),
                            )
                        };
                        let kg = q
                            .convert_to(coop_domain::Unit::Kilogram)
                            .map_err(|_| mismatch())?;
                        if found
                            .as_ref()
                            .is_some_and(|f| f.product.unit != SaleUnit::Kg)
                        {
                            return Err(mismatch());
                        }
                        (found, Some(kg.value().normalize()), None)
                    }
                    MeasuredValue::Price(p) => (found, None, Some(Decimal::new(p, minor))),
                    MeasuredValue::Count(n) => {
                        if let Some(f) = found.as_ref().filter(|f| f.product.unit != SaleUnit::Each)
                        {
                            return Err(CheckoutError::LabelMismatch(f.product.name.clone()));
                        }
                        (found, Some(Decimal::from(n)), None)
                    }
                }
            }
            ProductCode::Sku(_) => (None, None, None),
        }
    } else {
        let p = store.find_sku(input).await?;
        (
            p.map(|product| Found {
                product,
                pack: None,
            }),
            None,
            None,
        )
    };
    let found = found.ok_or_else(|| CheckoutError::Unknown(input.to_owned()))?;
    if !found.product.active || found.pack.as_ref().is_some_and(|p| !p.active) {
        return Err(CheckoutError::Inactive(found.product.name.clone()));
    }
    Ok(Resolved {
        found,
        quantity,
        fixed_amount: fixed,
    })
}

/// Scans into the basket: `quantity` is what the cashier typed or the scale reported (for a
/// weighed product, the net weight). Answers the new line's number.
pub async fn scan(
    store: &Store,
    settings: &TillSettings,
    basket: Uuid,
    input: &str,
    quantity: Option<Decimal>,
) -> Result<i64, CheckoutError> {
    let r = resolve(store, settings, input).await?;
    let unit = if r.found.pack.is_some() {
        SaleUnit::Each
    } else {
        r.found.product.unit
    };
    let quantity = match (r.quantity, quantity, r.fixed_amount) {
        (Some(from_code), _, _) => from_code,
        (None, Some(typed), _) => typed,
        // A price-embedded code of a weighed product: the price is the line.
        (None, None, Some(_)) => Decimal::ONE,
        (None, None, None) if unit == SaleUnit::Each => Decimal::ONE,
        (None, None, None) => return Err(CheckoutError::NeedsWeight(r.found.product.name.clone())),
    };
    check_quantity(
        quantity,
        if r.fixed_amount.is_some() {
            SaleUnit::Each
        } else {
            unit
        },
    )?;
    Ok(store
        .add_line(
            basket,
            r.found.product.product_id,
            r.found.pack.as_ref().map(|p| p.pack_id),
            quantity,
            r.fixed_amount,
        )
        .await?)
}

/// A quantity the till accepts: above zero, below 10 000, in the unit's decimals.
pub fn check_quantity(q: Decimal, unit: SaleUnit) -> Result<(), CheckoutError> {
    if q <= Decimal::ZERO {
        return Err(CheckoutError::Quantity(QuantityProblem::NotPositive));
    }
    if q >= Decimal::from(10_000) {
        return Err(CheckoutError::Quantity(QuantityProblem::TooLarge));
    }
    if q.normalize().scale() > unit.decimals() {
        return Err(CheckoutError::Quantity(match unit {
            SaleUnit::Each => QuantityProblem::Whole,
            _ => QuantityProblem::Grams,
        }));
    }
    Ok(())
}

/// A basket line with what the screen and the receipt need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewLine {
    pub line_no: i64,
    pub product: Product,
    pub pack_name: Option<String>,
    pub quantity: Decimal,
    pub unit: SaleUnit,
    pub input: LineInput,
}

/// The basket with its live lines priced on `day`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedBasket {
    pub basket: Basket,
    pub lines: Vec<ViewLine>,
    pub priced: Option<Priced>,
    pub member: Option<crate::store::Member>,
}

pub async fn price_basket(
    store: &Store,
    settings: &TillSettings,
    basket: Uuid,
    day: NaiveDate,
) -> Result<PricedBasket, CheckoutError> {
    let b = store.basket(basket).await?.ok_or(StoreError::NoBasket)?;
    let member = match &b.member {
        Some(sub) => store.member(sub).await?,
        None => None,
    };
    let mut lines = Vec::new();
    for l in b.lines.iter().filter(|l| !l.voided) {
        let product = match &l.open {
            // An open-price item stands for itself: its description, class and price.
            Some(o) => Product {
                product_id: Uuid::nil(),
                sku: o.code.clone(),
                name: o.name.clone(),
                names: BTreeMap::new(),
                unit: SaleUnit::Each,
                vat_class: o.vat_class.clone(),
                shelf_price: l.fixed_amount.unwrap_or_default(),
                member_price: None,
                active: true,
                price_changes: Vec::new(),
                eligible: Vec::new(),
            },
            None => store
                .product(l.product_id)
                .await?
                .ok_or_else(|| CheckoutError::Unknown(l.product_id.to_string()))?,
        };
        let pack = match l.pack_id {
            Some(p) => store.pack(p).await?,
            None => None,
        };
        let (shelf, member_price, unit) = if let Some(p) = &pack {
            (p.shelf_price, p.member_price, SaleUnit::Each)
        } else {
            let (s, m) = pricing::prices_on(
                product.shelf_price,
                product.member_price,
                &product.price_changes,
                day,
            );
            (s, m, product.unit)
        };
        let class = VatClassId::parse(&product.vat_class)
            .map_err(|e| CheckoutError::Settings(e.to_string()))?;
        let rate = settings
            .vat
            .rate_on(&class, day)
            .map_err(|e| CheckoutError::Settings(e.to_string()))?;
        let input = LineInput {
            product_id: product.product_id,
            pack_id: pack.as_ref().map(|p| p.pack_id),
            name: product.name.clone(),
            unit: if l.fixed_amount.is_some() {
                SaleUnit::Each
            } else {
                unit
            },
            quantity: l.quantity,
            shelf_price: shelf,
            member_price,
            vat_rate: rate,
            fixed_amount: l.fixed_amount,
        };
        lines.push(ViewLine {
            line_no: l.line_no,
            pack_name: pack.map(|p| p.name),
            quantity: l.quantity,
            unit,
            product,
            input,
        });
    }
    let member_prices = member
        .as_ref()
        .is_some_and(|m| m.is_active() && m.member_prices);
    let priced = if lines.is_empty() {
        None
    } else {
        let inputs: Vec<LineInput> = lines.iter().map(|l| l.input.clone()).collect();
        Some(pricing::price(
            &inputs,
            member_prices,
            &PricingRules {
                currency: settings.currency()?,
                prices_include_vat: settings.prices_include_vat,
            },
        )?)
    };
    Ok(PricedBasket {
        basket: b,
        lines,
        priced,
        member,
    })
}

/// What completing a basket needs besides the store and the settings.
#[derive(Clone, Copy)]
pub struct Completion<'a> {
    /// The till's id at coop-sso.
    pub till: &'a str,
    pub basket: Uuid,
    /// The cashier's member id.
    pub cashier: &'a str,
    pub given: &'a [Given],
    pub now: DateTime<Utc>,
    /// A training sale: marked as such, never booked.
    pub training: bool,
    /// The card terminal that takes the card part; without one the card part is recorded as
    /// the cashier typed it.
    pub card: Option<&'a dyn crate::terminal::Terminal>,
    /// The wallet online (through central); without it, or when it cannot be reached, the
    /// wallet pays offline up to the co-op's limit.
    pub wallet: Option<&'a dyn crate::wallet::Wallet>,
}

impl std::fmt::Debug for Completion<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("till", &self.till)
            .field("basket", &self.basket)
            .field("training", &self.training)
            .field("card", &self.card.is_some())
            .field("wallet", &self.wallet.is_some())
            .finish_non_exhaustive()
    }
}

/// Completes the basket: prices it, settles the tenders, and appends the sale to the journal
/// (which deletes the basket) in one durable transaction. The wallet part is held online first
/// when the wallet can be reached (the books charge the hold when the sale reaches them), and
/// paid offline otherwise, up to the co-op's limit per member. The card is taken last. A hold
/// for a sale that then fails is released.
pub async fn complete(
    store: &Store,
    settings: &TillSettings,
    sale: &Completion<'_>,
) -> Result<SaleRecord, CheckoutError> {
    let Completion {
        till,
        basket,
        cashier,
        given,
        now,
        training,
        card,
        wallet: online_wallet,
    } = *sale;
    let day = settings.business_day(now);
    let p = price_basket(store, settings, basket, day).await?;
    let priced = p.priced.as_ref().ok_or(CheckoutError::Empty)?;
    let active_member = p.member.as_ref().filter(|m| m.is_active());
    if settings.member_only && active_member.is_none() {
        return Err(CheckoutError::MemberOnly);
    }
    let currency = settings.currency()?;
    // What restricted tenders may pay: the eligible lines' amounts, per flag.
    let mut eligible: BTreeMap<String, Money> = BTreeMap::new();
    for (l, pl) in p.lines.iter().zip(&priced.lines) {
        for flag in &l.product.eligible {
            let e = eligible
                .entry(flag.clone())
                .or_insert(Money::zero(currency));
            *e = e
                .checked_add(pl.amount)
                .map_err(|e| CheckoutError::Settings(e.to_string()))?;
        }
    }
    let settled = tender::settle(
        priced.total,
        &eligible,
        given,
        &settings.tenders,
        settings.cash_coin,
    )?;
    // The wallet: only for the attached member; online when it answers, else up to the limit.
    let wallet: Decimal = settled
        .paid
        .iter()
        .filter(|t| t.class == "wallet")
        .map(|t| t.amount.amount())
        .sum();
    let sale_id = Uuid::new_v4();
    let mut held = None;
    let wallet_offline = if wallet.is_zero() {
        None
    } else {
        let m = active_member.ok_or(CheckoutError::WalletWithoutMember)?;
        let outcome = match online_wallet {
            // A training sale touches no one's money.
            Some(w) if !training && wallet > Decimal::ZERO => {
                // Noted before it is asked for: a crash before the sale is written, or an
                // answer lost on the way, leaves a hold that the sync rounds give back. Writing
                // the sale takes the note away.
                store.note_release(sale_id).await?;
                w.hold(&m.sub, sale_id, wallet).await
            }
            _ => crate::wallet::HoldOutcome::Unreachable,
        };
        match outcome {
            crate::wallet::HoldOutcome::Held => {
                held = online_wallet;
                None
            }
            // Refused: nothing is held, nothing to give back.
            crate::wallet::HoldOutcome::Insufficient { available } => {
                store.released(sale_id).await?;
                return Err(CheckoutError::WalletInsufficient(available));
            }
            crate::wallet::HoldOutcome::Inactive => {
                store.released(sale_id).await?;
                return Err(CheckoutError::WalletInactive);
            }
            crate::wallet::HoldOutcome::Unreachable => {
                let left = (settings.offline_wallet_limit - m.offline_spent).max(Decimal::ZERO);
                if wallet > left {
                    return Err(CheckoutError::OfflineWalletLimit(left));
                }
                (!training).then_some((m.sub.as_str(), wallet))
            }
        }
    };
    // Whatever fails from here gives the hold back.
    let give_back = |e: CheckoutError| async move {
        // Given back now, or (noted before the hold) by the sync rounds.
        if let Some(w) = held {
            if w.release(sale_id).await {
                if let Err(s) = store.released(sale_id).await {
                    tracing::warn!(error = %s, sale = %sale_id, "a released hold stays noted");
                }
            }
        }
        e
    };
    // The card part goes to the terminal last, once everything else holds: a refusal after
    // the card was charged would need a refund.
    let card_part: Decimal = settled
        .paid
        .iter()
        .filter(|t| t.class == "card")
        .map(|t| t.amount.amount())
        .sum();
    let card_reference = match card {
        // The basket's id is the payment's: asking again for the same basket (after a lost
        // answer, or a crash before the sale was written) gets the same payment at the bridge,
        // never a second charge.
        Some(terminal) if !card_part.is_zero() => match terminal.pay(basket, card_part).await {
            crate::terminal::Outcome::Approved { reference } => Some(reference),
            other => {
                tracing::warn!(sale = %sale_id, outcome = ?other, "the card was not taken");
                return Err(give_back(CheckoutError::Card(other)).await);
            }
        },
        _ => None,
    };
    let kinds: BTreeMap<&str, &TenderKind> = settings
        .tenders
        .iter()
        .map(|t| (t.id.as_str(), &t.kind))
        .collect();
    let record = SaleRecord {
        sale_id,
        till: till.to_owned(),
        seq: 0,
        kind: if training {
            SaleKind::Training
        } else {
            SaleKind::Sale
        },
        business_day: day,
        completed_at: now,
        cashier: cashier.to_owned(),
        member: active_member.map(|m| m.sub.clone()),
        original_sale: None,
        currency: currency.code().to_owned(),
        lines: p
            .lines
            .iter()
            .zip(&priced.lines)
            .map(|(l, pl)| RecordLine {
                product_id: l.product.product_id,
                pack_id: l.input.pack_id,
                sku: l.product.sku.clone(),
                name: match &l.pack_name {
                    Some(n) => n.clone(),
                    None => l.product.name.clone(),
                },
                unit: l.input.unit,
                quantity: l.quantity,
                unit_price: pl.unit_price,
                member_price_applied: pl.member_price_applied,
                vat_percent: pl.vat_rate.percent(),
                amount: pl.amount.amount(),
            })
            .collect(),
        by_rate: priced
            .by_rate
            .iter()
            .map(|r| RecordRate {
                vat_percent: r.rate.percent(),
                net: r.net.amount(),
                vat: r.vat.amount(),
                gross: r.gross.amount(),
            })
            .collect(),
        total: priced.total.amount(),
        rounding: settled.rounding.amount(),
        tenders: settled
            .paid
            .iter()
            .map(|t| RecordTender {
                tender: t.tender.clone(),
                kind: kinds
                    .get(t.tender.as_str())
                    .map_or("cash", |k| k.class())
                    .to_owned(),
                amount: t.amount.amount(),
                reference: match t.class.as_str() {
                    "card" => card_reference.clone(),
                    // The hold's key at coop-finance: the wallet was held online.
                    "wallet" if held.is_some() => Some(format!("sale:{sale_id}")),
                    _ => None,
                },
            })
            .collect(),
        change: settled.change.amount(),
        approved_by: p
            .basket
            .lines
            .iter()
            .filter(|l| !l.voided)
            .find_map(|l| l.open.as_ref().map(|o| o.approved_by.clone())),
        prev_hash: String::new(),
        hash: String::new(),
    };
    match store.append(record, Some(basket), wallet_offline).await {
        Ok(r) => {
            if card_reference.is_some() {
                // Only for printing the terminal's slip: a failure here loses no money.
                if let Err(e) = store.note_card_key(r.sale_id, &basket.to_string()).await {
                    tracing::warn!(error = %e, "the card payment's key was not noted");
                }
            }
            Ok(r)
        }
        Err(e) => Err(give_back(e.into()).await),
    }
}
