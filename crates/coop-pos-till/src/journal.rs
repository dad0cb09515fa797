//! The till's sales journal: append-only and hash-chained. Each completed sale (or return) is a
//! [`SaleRecord`] with the till's next consecutive number, and carries the hash of the record
//! before it; its own hash is SHA-256 over its canonical JSON (every field but `hash`, in a fixed
//! order, amounts as decimal strings). Central keeps each till's last number and hash and checks
//! every upload against them ([`Chain::accept`]): a missing number is a gap, a changed record no
//! longer matches its hash, and a record that does not carry its predecessor's hash was
//! inserted or rewritten.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// The `prev_hash` of a till's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A sale, a return, or a training sale (marked as such on its receipt and never booked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaleKind {
    Sale,
    Return,
    Training,
}

/// One line as sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordLine {
    pub product_id: Uuid,
    pub pack_id: Option<Uuid>,
    pub sku: String,
    pub name: String,
    pub unit: crate::pricing::SaleUnit,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub member_price_applied: bool,
    pub vat_percent: Decimal,
    pub amount: Decimal,
}

/// One VAT rate's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRate {
    pub vat_percent: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

/// One tender: what it paid in the home currency (negative on a refund).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTender {
    /// The tender type's id in config (`cash`, `card`, `wallet`, `eur`, …).
    pub tender: String,
    /// `cash`, `card`, `wallet` or `restricted`: how central and finance treat it.
    pub kind: String,
    pub amount: Decimal,
    /// A card terminal's or the wallet's reference.
    pub reference: Option<String>,
}

/// A completed sale as the journal keeps it and central receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleRecord {
    pub sale_id: Uuid,
    /// The till's id at coop-sso (`till:<id>`'s id).
    pub till: String,
    /// The till's consecutive number, from 1, no gaps.
    pub seq: i64,
    pub kind: SaleKind,
    pub business_day: NaiveDate,
    pub completed_at: DateTime<Utc>,
    /// The cashier's member id.
    pub cashier: String,
    /// The member the sale was to, if one was attached.
    pub member: Option<String>,
    /// For a return: the sale it returns from.
    pub original_sale: Option<Uuid>,
    pub currency: String,
    pub lines: Vec<RecordLine>,
    pub by_rate: Vec<RecordRate>,
    pub total: Decimal,
    /// Cash rounding: paid beyond the exact total (may be negative).
    pub rounding: Decimal,
    pub tenders: Vec<RecordTender>,
    /// Change given in cash.
    pub change: Decimal,
    /// The manager whose PIN allowed what a cashier alone may not (a return above the limit, an
    /// open-price item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields that are hashed: everything but `hash`, in this order.
#[derive(Serialize)]
struct Hashed<'a> {
    sale_id: &'a Uuid,
    till: &'a str,
    seq: i64,
    kind: SaleKind,
    business_day: &'a NaiveDate,
    completed_at: &'a DateTime<Utc>,
    cashier: &'a str,
    member: &'a Option<String>,
    original_sale: &'a Option<Uuid>,
    currency: &'a str,
    lines: &'a [RecordLine],
    by_rate: &'a [RecordRate],
    total: Decimal,
    rounding: Decimal,
    tenders: &'a [RecordTender],
    change: Decimal,
    // Left out when absent, so that records sealed before it existed hash as they did.
    #[serde(skip_serializing_if = "absent")]
    approved_by: &'a Option<String>,
    prev_hash: &'a str,
}

#[allow(clippy::ref_option_ref, clippy::trivially_copy_pass_by_ref)] // serde hands the field by reference
fn absent(o: &&Option<String>) -> bool {
    o.is_none()
}

impl SaleRecord {
    /// The record's hash as it should be: lower-case hex SHA-256 of its canonical JSON.
    /// Amounts are normalised first (`12.50` and `12.5` hash alike), so that a store that
    /// drops trailing zeros does not break the chain.
    pub fn compute_hash(&self) -> String {
        let n = |d: Decimal| d.normalize();
        let lines: Vec<RecordLine> = self
            .lines
            .iter()
            .map(|l| RecordLine {
                quantity: n(l.quantity),
                unit_price: n(l.unit_price),
                vat_percent: n(l.vat_percent),
                amount: n(l.amount),
                ..l.clone()
            })
            .collect();
        let by_rate: Vec<RecordRate> = self
            .by_rate
            .iter()
            .map(|r| RecordRate {
                vat_percent: n(r.vat_percent),
                net: n(r.net),
                vat: n(r.vat),
                gross: n(r.gross),
            })
            .collect();
        let tenders: Vec<RecordTender> = self
            .tenders
            .iter()
            .map(|t| RecordTender {
                amount: n(t.amount),
                ..t.clone()
            })
            .collect();
        let hashed = Hashed {
            sale_id: &self.sale_id,
            till: &self.till,
            seq: self.seq,
            kind: self.kind,
            business_day: &self.business_day,
            completed_at: &self.completed_at,
            cashier: &self.cashier,
            member: &self.member,
            original_sale: &self.original_sale,
            currency: &self.currency,
            lines: &lines,
            by_rate: &by_rate,
            total: n(self.total),
            rounding: n(self.rounding),
            tenders: &tenders,
            change: n(self.change),
            approved_by: &self.approved_by,
            prev_hash: &self.prev_hash,
        };
        let json = serde_json::to_vec(&hashed).expect("a record serialises");
        data_encoding::HEXLOWER.encode(&Sha256::digest(&json))
    }

    /// Links this record after `prev` (its hash, or [`GENESIS`]) and seals it.
    pub fn seal(&mut self, prev: &str) {
        prev.clone_into(&mut self.prev_hash);
        self.hash = self.compute_hash();
    }
}

/// What is wrong with an uploaded record, as central flags it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("record {seq} does not match its hash: it was changed after it was written")]
    Tampered { seq: i64 },
    #[error("records {expected} to {} are missing", got - 1)]
    Gap { expected: i64, got: i64 },
    #[error("record {seq} does not follow the record before it (its previous hash differs)")]
    BrokenLink { seq: i64 },
    #[error("record {seq} was received already with other contents")]
    Conflict { seq: i64 },
}

/// Where a till's chain stands at central: the last accepted number and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub last_seq: i64,
    pub last_hash: String,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            last_seq: 0,
            last_hash: GENESIS.to_owned(),
        }
    }
}

impl Chain {
    /// Checks the next record against the chain and, when it holds, moves the chain on. A
    /// record that fails leaves the chain where it was.
    pub fn accept(&mut self, r: &SaleRecord) -> Result<(), ChainError> {
        if r.compute_hash() != r.hash {
            return Err(ChainError::Tampered { seq: r.seq });
        }
        if r.seq != self.last_seq + 1 {
            if r.seq <= self.last_seq {
                return Err(ChainError::Conflict { seq: r.seq });
            }
            return Err(ChainError::Gap {
                expected: self.last_seq + 1,
                got: r.seq,
            });
        }
        if r.prev_hash != self.last_hash {
            return Err(ChainError::BrokenLink { seq: r.seq });
        }
        self.last_seq = r.seq;
        self.last_hash.clone_from(&r.hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn record(seq: i64) -> SaleRecord {
        SaleRecord {
            sale_id: Uuid::new_v4(),
            till: "till-1".into(),
            seq,
            kind: SaleKind::Sale,
            business_day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            completed_at: DateTime::from_timestamp(1_796_000_000 + seq, 0).unwrap(),
            cashier: "cashier-1".into(),
            member: None,
            original_sale: None,
            currency: "SEK".into(),
            lines: vec![RecordLine {
                product_id: Uuid::nil(),
                pack_id: None,
                sku: "HAV".into(),
                name: "Havregryn".into(),
                unit: crate::pricing::SaleUnit::Each,
                quantity: dec!(2),
                unit_price: dec!(24.90),
                member_price_applied: false,
                vat_percent: dec!(6),
                amount: dec!(49.80),
            }],
            by_rate: vec![RecordRate {
                vat_percent: dec!(6),
                net: dec!(46.98),
                vat: dec!(2.82),
                gross: dec!(49.80),
            }],
            total: dec!(49.80),
            rounding: dec!(0.20),
            tenders: vec![RecordTender {
                tender: "cash".into(),
                kind: "cash".into(),
                amount: dec!(50),
                reference: None,
            }],
            change: dec!(0),
            approved_by: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn chain_of(n: i64) -> Vec<SaleRecord> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut r = record(seq);
                r.seal(&prev);
                prev.clone_from(&r.hash);
                r
            })
            .collect()
    }

    #[test]
    fn a_sealed_chain_is_accepted_in_order() {
        let mut chain = Chain::default();
        for r in chain_of(5) {
            chain.accept(&r).unwrap();
        }
        assert_eq!(chain.last_seq, 5);
    }

    #[test]
    fn the_hash_ignores_trailing_zeros_but_not_values() {
        let mut r = chain_of(1).remove(0);
        r.total = dec!(49.8);
        assert_eq!(r.compute_hash(), r.hash);
        r.total = dec!(49.81);
        assert_ne!(r.compute_hash(), r.hash);
    }

    #[test]
    fn a_changed_a_missing_or_an_inserted_record_is_flagged() {
        let records = chain_of(4);
        // Changed after sealing: a line's amount.
        let mut chain = Chain::default();
        chain.accept(&records[0]).unwrap();
        let mut changed = records[1].clone();
        changed.lines[0].amount = dec!(9.80);
        assert_eq!(chain.accept(&changed), Err(ChainError::Tampered { seq: 2 }));
        assert_eq!(chain.last_seq, 1, "a refused record moves nothing");
        // Resealed by someone without the rest of the chain: the link breaks at the next one.
        changed.seal(&records[0].hash);
        chain.accept(&changed).unwrap();
        assert_eq!(
            chain.accept(&records[2]),
            Err(ChainError::BrokenLink { seq: 3 })
        );
        // A gap.
        let mut chain = Chain::default();
        chain.accept(&records[0]).unwrap();
        assert_eq!(
            chain.accept(&records[3]),
            Err(ChainError::Gap {
                expected: 2,
                got: 4
            })
        );
        // A record again, or another in its place.
        chain.accept(&records[1]).unwrap();
        assert_eq!(
            chain.accept(&records[1]),
            Err(ChainError::Conflict { seq: 2 })
        );
        // A record whose link points elsewhere.
        let mut stranger = record(3);
        stranger.seal(GENESIS);
        assert_eq!(
            chain.accept(&stranger),
            Err(ChainError::BrokenLink { seq: 3 })
        );
    }

    /// Records sealed before approvals existed keep their hash: this one's was taken from the
    /// code before `approved_by` was added. An approval, when there is one, is sealed in.
    #[test]
    fn an_approval_changes_the_hash_only_when_there_is_one() {
        let mut r = record(1);
        r.sale_id = Uuid::nil();
        r.seal(GENESIS);
        assert_eq!(
            r.hash,
            "f157552ecf49d7db366f88c730d5aa1c392e5b211760d0d16462a8518bc4ee48"
        );
        r.approved_by = Some("manager-1".into());
        assert_ne!(r.compute_hash(), r.hash);
        r.seal(GENESIS);
        let json = serde_json::to_string(&r).unwrap();
        let back: SaleRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.compute_hash(), r.hash);
    }
}
