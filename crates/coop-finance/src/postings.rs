//! Postings from the other services' feeds: a till sale, a completed buyers-club order and a
//! stock movement each become one balanced journal entry, taken once (its source key is the
//! event's own id, so a feed applied again changes nothing). The event shapes are fixed in
//! docs/architecture.md ("The feeds"); the producers publish them as they land, and until then
//! the tests serve them.
//!
//! An event that cannot be posted (it does not balance, names an unknown VAT rate, or falls in a
//! closed period) is an error: the consumer stops at it, logs it and retries, and never skips
//! it, so the books never silently miss a sale.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use chrono::NaiveDate;
use coop_web::feed::consumer::Apply;
use coop_web::feed::Event;
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ledger::chart::bas_vat_accounts;
use crate::ledger::store::{post_in, StoreError};
use crate::ledger::{AccountNumber, Entry, Line, Series};
use crate::{members, wallet, WalletPer};

const CASH: i32 = 1910;
const CARD: i32 = 1580;
const WALLETS: i32 = 2420;
const ROUNDING: i32 = 3740;
const STOCK: i32 = 1460;
const STOCK_CHANGE: i32 = 4990;
const PURCHASES: i32 = 4010;
const INPUT_VAT: i32 = 2641;
const SUPPLIERS: i32 = 2440;

/// Net and VAT at one rate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtRate {
    pub vat_percent: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tender {
    Cash,
    Card,
    Wallet,
    /// A voucher or benefit that pays only for eligible items (SNAP/EBT, a fresh-produce
    /// voucher): owed to the co-op by its issuer, like a card payment.
    Restricted,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenderAmount {
    pub kind: Tender,
    pub amount: Decimal,
}

/// coop-pos `sale.completed` v1. A return is a sale with negative amounts. The event's other
/// fields (`items`, `location`: the stock's business) are not the books'.
#[derive(Debug, Clone, Deserialize)]
pub struct Sale {
    pub sale_id: Uuid,
    pub till: String,
    pub receipt_number: i64,
    pub business_day: NaiveDate,
    pub lines_by_rate: Vec<AtRate>,
    pub tenders: Vec<TenderAmount>,
    /// Cash rounding: what the customer paid beyond the exact total (negative: less).
    #[serde(default)]
    pub rounding: Decimal,
    /// The member (or household) the sale was to, when the cashier attached one.
    #[serde(default)]
    pub member: Option<Uuid>,
}

/// One member's purchases in a completed order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purchase {
    pub owner: Uuid,
    pub lines_by_rate: Vec<AtRate>,
}

/// coop-buyers-club `order.completed` v1: the members' purchases (paid from their wallets) and,
/// when the order manager entered it, the supplier's invoice.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub order_id: Uuid,
    pub supplier: String,
    pub completed_on: NaiveDate,
    pub purchases: Vec<Purchase>,
    #[serde(default)]
    pub supplier_invoice: Option<Vec<AtRate>>,
}

/// coop-ims `stock.moved` v1: the movement's value at cost; positive when stock grew.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockMoved {
    pub movement_id: Uuid,
    /// received, sold, returned, shrink, counted, transferred.
    pub kind: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub on: NaiveDate,
    pub cost: Decimal,
}

fn acc(n: i32) -> anyhow::Result<AccountNumber> {
    Ok(AccountNumber::new(n)?)
}

/// Adds `amount` to `account` in the lines being built.
fn add(lines: &mut BTreeMap<i32, Decimal>, account: i32, amount: Decimal) {
    *lines.entry(account).or_default() += amount;
}

/// Credits sales and output VAT per rate (for amounts a customer paid).
fn sales(lines: &mut BTreeMap<i32, Decimal>, rates: &[AtRate]) -> anyhow::Result<()> {
    for r in rates {
        let (vat, sales) = bas_vat_accounts(r.vat_percent)
            .with_context(|| format!("VAT rate {} %", r.vat_percent))?;
        add(lines, sales.get(), -r.net);
        add(lines, vat.get(), -r.vat);
    }
    Ok(())
}

fn entry(
    series: &str,
    date: NaiveDate,
    text: &str,
    lines: BTreeMap<i32, Decimal>,
    source: String,
) -> anyhow::Result<Option<Entry>> {
    let lines: Vec<Line> = lines
        .into_iter()
        .filter(|(_, a)| !a.is_zero())
        .map(|(n, amount)| {
            Ok(Line {
                account: acc(n)?,
                amount,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        Entry::new(Series::parse(series)?, date, text, lines, 2)
            .with_context(|| format!("{source} cannot be booked"))?
            .from_source(source),
    ))
}

/// The entry of a till sale.
pub fn sale_entry(s: &Sale) -> anyhow::Result<Option<Entry>> {
    let mut lines = BTreeMap::new();
    for t in &s.tenders {
        let account = match t.kind {
            Tender::Cash => CASH,
            Tender::Card | Tender::Restricted => CARD,
            Tender::Wallet => WALLETS,
        };
        add(&mut lines, account, t.amount);
    }
    sales(&mut lines, &s.lines_by_rate)?;
    add(&mut lines, ROUNDING, -s.rounding);
    entry(
        "S",
        s.business_day,
        &format!("Kvitto {} {}", s.till, s.receipt_number),
        lines,
        format!("coop-pos:sale:{}", s.sale_id),
    )
}

/// The entry of a completed buyers-club order: members' wallets to sales and VAT, and the
/// supplier's invoice to purchases, input VAT and supplier payables.
pub fn order_entry(o: &Order) -> anyhow::Result<Option<Entry>> {
    let mut lines = BTreeMap::new();
    for p in &o.purchases {
        let paid: Decimal = p.lines_by_rate.iter().map(|r| r.net + r.vat).sum();
        add(&mut lines, WALLETS, paid);
        sales(&mut lines, &p.lines_by_rate)?;
    }
    if let Some(invoice) = &o.supplier_invoice {
        for r in invoice {
            add(&mut lines, PURCHASES, r.net);
            add(&mut lines, INPUT_VAT, r.vat);
            add(&mut lines, SUPPLIERS, -(r.net + r.vat));
        }
    }
    let supplier: String = o.supplier.chars().take(120).collect();
    entry(
        "K",
        o.completed_on,
        &format!("Inköpsgrupp {supplier}"),
        lines,
        format!("coop-buyers-club:order:{}", o.order_id),
    )
}

/// The entry of a stock movement: the stock's value against the change in stock.
pub fn stock_entry(m: &StockMoved) -> anyhow::Result<Option<Entry>> {
    const KINDS: [&str; 6] = [
        "received",
        "sold",
        "returned",
        "shrink",
        "counted",
        "transferred",
    ];
    if !KINDS.contains(&m.kind.as_str()) {
        bail!("stock movement kind {:?} is not one of {KINDS:?}", m.kind);
    }
    let mut lines = BTreeMap::new();
    add(&mut lines, STOCK, m.cost);
    add(&mut lines, STOCK_CHANGE, -m.cost);
    let what = match (&*m.kind, m.reason.as_deref()) {
        ("shrink", Some(r)) => format!("Svinn ({})", r.chars().take(40).collect::<String>()),
        ("shrink", None) => "Svinn".to_owned(),
        ("sold", _) => "Såld vara".to_owned(),
        ("received", _) => "Inleverans".to_owned(),
        ("returned", _) => "Retur".to_owned(),
        ("counted", _) => "Inventering".to_owned(),
        _ => "Flytt mellan lager".to_owned(),
    };
    entry(
        "I",
        m.on,
        &format!("Lager: {what}"),
        lines,
        format!("coop-ims:movement:{}", m.movement_id),
    )
}

/// What a member bought in one sale or order, per rate.
struct Bought<'a> {
    owner: Uuid,
    on: NaiveDate,
    lines: &'a [AtRate],
}

/// Posts `entry` in the consumer's transaction with the members' purchases it carries; a source
/// posted before is no error (the same event again, or the same thing booked by hand) and adds
/// nothing. Answers the new entry's id, if it posted one.
async fn book(
    tx: &mut PgConnection,
    entry: Option<Entry>,
    bought: &[Bought<'_>],
) -> anyhow::Result<Option<i64>> {
    let Some(entry) = entry else { return Ok(None) };
    let posted = match post_in(tx, &entry, None, None).await {
        Ok(p) => p.journal_entry_id,
        Err(StoreError::AlreadyPosted(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let source = entry.source_key().unwrap_or_default();
    for b in bought {
        // One row per rate, a rate named twice summed.
        let mut per_rate: BTreeMap<Decimal, (Decimal, Decimal)> = BTreeMap::new();
        for l in b.lines {
            let e = per_rate.entry(l.vat_percent.normalize()).or_default();
            e.0 += l.net;
            e.1 += l.vat;
        }
        for (rate, (net, vat)) in per_rate {
            sqlx::query!(
                "insert into member_purchase (owner_id, source_key, bought_on, vat_percent, net, vat)
                 values ($1, $2, $3, $4, $5, $6)
                 on conflict (source_key, owner_id, vat_percent)
                 do nothing",
                b.owner,
                source,
                b.on,
                rate,
                net,
                vat
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(Some(posted))
}

fn payload<T: serde::de::DeserializeOwned>(event: &Event) -> anyhow::Result<T> {
    if event.version != 1 {
        bail!(
            "{} version {} is not one this coop-finance reads (1)",
            event.kind,
            event.version
        );
    }
    serde_json::from_value(event.payload.clone()).with_context(|| {
        format!(
            "event {} ({}) has an unexpected payload",
            event.id, event.kind
        )
    })
}

/// Follows coop-pos's sales feed: books each sale and charges its wallet part to the member's
/// wallet (their household's, when the co-op keeps one per household).
#[derive(Debug, Clone, Copy, Default)]
pub struct PosFeed {
    pub wallet_per: WalletPer,
}

/// The service whose wallet holds a sale's hold: the till's central side.
const POS_CALLER: &str = "coop-pos";

impl Apply for PosFeed {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> anyhow::Result<()> {
        match event.kind.as_str() {
            "sale.completed" => {
                let sale: Sale = payload(event)?;
                let wallet: Decimal = sale
                    .tenders
                    .iter()
                    .filter(|t| t.kind == Tender::Wallet)
                    .map(|t| t.amount)
                    .sum();
                let owner = match sale.member {
                    Some(m) => Some(members::wallet_owner(tx, self.wallet_per, m).await?.0),
                    None if wallet.is_zero() => None,
                    None => bail!(
                        "sale {} is paid from a wallet but names no member",
                        sale.sale_id
                    ),
                };
                let bought: Vec<Bought<'_>> = owner
                    .map(|owner| Bought {
                        owner,
                        on: sale.business_day,
                        lines: &sale.lines_by_rate,
                    })
                    .into_iter()
                    .collect();
                let Some(entry) = book(tx, sale_entry(&sale)?, &bought).await? else {
                    return Ok(());
                };
                if let (Some(owner), false) = (owner, wallet.is_zero()) {
                    let key = format!("sale:{}", sale.sale_id);
                    let charged = wallet::charge_sale(
                        tx,
                        &wallet::SaleCharge {
                            caller: POS_CALLER,
                            key: &key,
                            owner,
                            amount: wallet,
                            journal_entry: entry,
                            at: event.occurred_at,
                        },
                    )
                    .await?;
                    if charged.overdrawn {
                        tracing::warn!(
                            sale = %sale.sale_id,
                            wallet = %charged.wallet,
                            "an offline wallet sale took the wallet below zero: flagged"
                        );
                    }
                }
                Ok(())
            }
            _ => Ok(()), // other kinds are not money
        }
    }
}

/// Follows coop-buyers-club's order feed.
#[derive(Debug, Clone, Copy)]
pub struct BuyersClubFeed;

impl Apply for BuyersClubFeed {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> anyhow::Result<()> {
        match event.kind.as_str() {
            "order.completed" => {
                let order: Order = payload(event)?;
                let bought: Vec<Bought<'_>> = order
                    .purchases
                    .iter()
                    .map(|p| Bought {
                        owner: p.owner,
                        on: order.completed_on,
                        lines: &p.lines_by_rate,
                    })
                    .collect();
                book(tx, order_entry(&order)?, &bought).await.map(drop)
            }
            _ => Ok(()),
        }
    }
}

/// Follows coop-ims's stock feed.
#[derive(Debug, Clone, Copy)]
pub struct ImsFeed;

impl Apply for ImsFeed {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> anyhow::Result<()> {
        match event.kind.as_str() {
            "stock.moved" => book(tx, stock_entry(&payload(event)?)?, &[])
                .await
                .map(drop),
            _ => Ok(()),
        }
    }
}
