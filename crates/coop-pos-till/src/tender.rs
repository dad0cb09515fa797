//! How a priced basket is paid, apart from what it costs: the co-op's tender types (cash in the
//! home currency or another at a set rate, card, member wallet, and restricted tenders that pay
//! only for eligible lines), split tenders, cash rounding to the smallest coin on the part paid
//! in cash, and change, always in the home currency. Card and wallet pay exact amounts and give
//! no change. A refund pays back exactly what is due: cash rounded, no change.

use std::collections::BTreeMap;

use coop_domain::money::{Currency, Money, MoneyError, RoundingMode};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a tender type behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TenderKind {
    /// Cash in the home currency.
    Cash,
    /// Cash in another currency, worth `rate` home units per unit; change is given in the
    /// home currency.
    ForeignCash { currency: String, rate: Decimal },
    /// A card through the payment terminal.
    Card,
    /// The member's wallet at coop-finance.
    Wallet,
    /// A tender that pays only for lines whose product carries `eligible` (SNAP/EBT, a
    /// voucher for fresh produce).
    Restricted { eligible: String },
}

impl TenderKind {
    /// How books and the drawer treat it.
    pub fn class(&self) -> &'static str {
        match self {
            TenderKind::Cash | TenderKind::ForeignCash { .. } => "cash",
            TenderKind::Card => "card",
            TenderKind::Wallet => "wallet",
            TenderKind::Restricted { .. } => "restricted",
        }
    }

    fn is_cash(&self) -> bool {
        self.class() == "cash"
    }
}

/// A tender type from config: `cash`, `card`, `wallet`, `eur`, `snap`, …
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderType {
    pub id: String,
    #[serde(flatten)]
    pub kind: TenderKind,
}

/// What the cashier entered: an amount of one tender, in that tender's own currency. Always
/// positive; on a refund it is what is paid back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Given {
    pub tender: String,
    pub amount: Decimal,
}

/// One tender's part of the settlement, in the home currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paid {
    pub tender: String,
    pub class: String,
    /// What it paid toward the sale (cash net of change); negative on a refund.
    pub amount: Money,
    /// For foreign cash: the amount handed over in its own currency.
    pub foreign: Option<Decimal>,
}

/// A settled basket: the tenders' parts add up to `total + rounding` exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    pub total: Money,
    /// Cash rounding on the part paid in cash (öresavrundning); zero without cash.
    pub rounding: Money,
    pub paid: Vec<Paid>,
    /// Cash handed back, in the home currency.
    pub change: Money,
}

/// Why the tenders do not settle the basket. Nothing is recorded when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenderError {
    #[error("there is no tender {0:?}")]
    UnknownTender(String),
    #[error("a tender's amount must be above zero and in whole minor units")]
    BadAmount,
    #[error("{missing} is still to pay")]
    Short { missing: Decimal },
    #[error("card, wallet and vouchers may not pay more than is due ({over} too much)")]
    NonCashOver { over: Decimal },
    #[error("{tender} pays only for eligible items: at most {eligible} here")]
    RestrictedOverEligible { tender: String, eligible: Decimal },
    #[error("a refund pays back exactly {due}, not {given}")]
    RefundMismatch { due: Decimal, given: Decimal },
    #[error("the amounts are too large")]
    Overflow,
}

impl From<MoneyError> for TenderError {
    fn from(_: MoneyError) -> Self {
        TenderError::Overflow
    }
}

/// Settles `total` (negative for a refund) with the given tenders. `eligible` is, per
/// eligibility flag, the sum of the lines that restricted tenders may pay for; `coin` is the
/// smallest coin accepted in cash.
pub fn settle(
    total: Money,
    eligible: &BTreeMap<String, Money>,
    given: &[Given],
    types: &[TenderType],
    coin: Decimal,
) -> Result<Settled, TenderError> {
    let currency = total.currency();
    let refund = total.is_negative();
    let due_abs = total.abs();
    // Each tender in home money, checked.
    let mut parts: Vec<(&TenderType, Money, Option<Decimal>)> = Vec::with_capacity(given.len());
    for g in given {
        let t = types
            .iter()
            .find(|t| t.id == g.tender)
            .ok_or_else(|| TenderError::UnknownTender(g.tender.clone()))?;
        if g.amount <= Decimal::ZERO {
            return Err(TenderError::BadAmount);
        }
        let (home, foreign) = if let TenderKind::ForeignCash {
            currency: code,
            rate,
        } = &t.kind
        {
            let foreign_minor = Currency::parse(code).map_or(2, Currency::minor_units);
            if g.amount.normalize().scale() > foreign_minor {
                return Err(TenderError::BadAmount);
            }
            let value =
                Money::new(*rate, currency).mul_decimal(g.amount, RoundingMode::TowardZero)?;
            (value, Some(g.amount))
        } else {
            if g.amount.normalize().scale() > currency.minor_units() {
                return Err(TenderError::BadAmount);
            }
            (Money::new(g.amount, currency), None)
        };
        parts.push((t, home, foreign));
    }
    // Restricted tenders only up to their eligible lines.
    let mut by_flag: BTreeMap<&str, (Money, &str)> = BTreeMap::new();
    for (t, home, _) in &parts {
        if let TenderKind::Restricted { eligible: flag } = &t.kind {
            let e = by_flag
                .entry(flag)
                .or_insert((Money::zero(currency), &t.id));
            e.0 = e.0.checked_add(*home)?;
        }
    }
    for (flag, (sum, id)) in &by_flag {
        let limit = eligible
            .get(*flag)
            .copied()
            .unwrap_or(Money::zero(currency))
            .abs();
        if sum.amount() > limit.amount() {
            return Err(TenderError::RestrictedOverEligible {
                tender: (*id).to_owned(),
                eligible: limit.amount(),
            });
        }
    }
    let non_cash = Money::sum(
        currency,
        parts.iter().filter(|p| !p.0.kind.is_cash()).map(|p| p.1),
    )?;
    if non_cash.amount() > due_abs.amount() {
        return Err(TenderError::NonCashOver {
            over: non_cash.checked_sub(due_abs)?.amount(),
        });
    }
    let cash_given = Money::sum(
        currency,
        parts.iter().filter(|p| p.0.kind.is_cash()).map(|p| p.1),
    )?;
    let remainder = due_abs.checked_sub(non_cash)?;
    let (cash_due, rounding) = if cash_given.is_zero() {
        (Money::zero(currency), Money::zero(currency))
    } else {
        let r = remainder.cash_round(coin, RoundingMode::HalfUp)?;
        (r.rounded, r.difference)
    };
    if cash_given.is_zero() && !remainder.is_zero() {
        return Err(TenderError::Short {
            missing: remainder.amount(),
        });
    }
    if cash_given.amount() < cash_due.amount() {
        return Err(TenderError::Short {
            missing: cash_due.checked_sub(cash_given)?.amount(),
        });
    }
    let change = cash_given.checked_sub(cash_due)?;
    if refund && !change.is_zero() {
        let paid_back = non_cash.checked_add(cash_given)?;
        return Err(TenderError::RefundMismatch {
            due: non_cash.checked_add(cash_due)?.amount(),
            given: paid_back.amount(),
        });
    }
    // Change comes off the home cash first, then off foreign cash.
    let mut left = change;
    let mut paid = Vec::with_capacity(parts.len());
    let order: Vec<usize> = {
        let mut o: Vec<usize> = (0..parts.len()).collect();
        o.sort_by_key(|&i| !matches!(parts[i].0.kind, TenderKind::Cash));
        o
    };
    let mut nets = vec![Money::zero(currency); parts.len()];
    for i in order {
        let (t, home, _) = &parts[i];
        let net = if t.kind.is_cash() && left.is_positive() {
            let off = if left.amount() <= home.amount() {
                left
            } else {
                *home
            };
            left = left.checked_sub(off)?;
            home.checked_sub(off)?
        } else {
            *home
        };
        nets[i] = net;
    }
    for (i, (t, _, foreign)) in parts.iter().enumerate() {
        let amount = if refund {
            Money::zero(currency).checked_sub(nets[i])?
        } else {
            nets[i]
        };
        paid.push(Paid {
            tender: t.id.clone(),
            class: t.kind.class().to_owned(),
            amount,
            foreign: *foreign,
        });
    }
    let rounding = if refund {
        Money::zero(currency).checked_sub(rounding)?
    } else {
        rounding
    };
    Ok(Settled {
        total,
        rounding,
        paid,
        change,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;

    fn sek(a: Decimal) -> Money {
        Money::new(a, Currency::parse("SEK").unwrap())
    }

    fn types() -> Vec<TenderType> {
        vec![
            TenderType {
                id: "cash".into(),
                kind: TenderKind::Cash,
            },
            TenderType {
                id: "card".into(),
                kind: TenderKind::Card,
            },
            TenderType {
                id: "wallet".into(),
                kind: TenderKind::Wallet,
            },
            TenderType {
                id: "eur".into(),
                kind: TenderKind::ForeignCash {
                    currency: "EUR".into(),
                    rate: dec!(11.20),
                },
            },
            TenderType {
                id: "frukt".into(),
                kind: TenderKind::Restricted {
                    eligible: "fresh".into(),
                },
            },
        ]
    }

    fn g(tender: &str, amount: Decimal) -> Given {
        Given {
            tender: tender.into(),
            amount,
        }
    }

    fn none() -> BTreeMap<String, Money> {
        BTreeMap::new()
    }

    #[test]
    fn cash_is_rounded_to_the_krona_and_change_given() {
        let s = settle(
            sek(dec!(129.03)),
            &none(),
            &[g("cash", dec!(200))],
            &types(),
            dec!(1),
        )
        .unwrap();
        assert_eq!(s.rounding.amount(), dec!(-0.03));
        assert_eq!(s.change.amount(), dec!(71));
        assert_eq!(s.paid[0].amount.amount(), dec!(129));
        let s = settle(
            sek(dec!(129.50)),
            &none(),
            &[g("cash", dec!(130))],
            &types(),
            dec!(1),
        )
        .unwrap();
        assert_eq!(
            (s.rounding.amount(), s.change.amount()),
            (dec!(0.50), dec!(0))
        );
    }

    #[test]
    fn a_card_pays_exactly_and_cash_the_rest() {
        let s = settle(
            sek(dec!(129.03)),
            &none(),
            &[g("card", dec!(100)), g("cash", dec!(50))],
            &types(),
            dec!(1),
        )
        .unwrap();
        // 29.03 in cash rounds to 29.
        assert_eq!(s.rounding.amount(), dec!(-0.03));
        assert_eq!(s.change.amount(), dec!(21));
        let amounts: Vec<Decimal> = s.paid.iter().map(|p| p.amount.amount()).collect();
        assert_eq!(amounts, [dec!(100), dec!(29)]);
        // Card alone pays the exact total, no rounding.
        let s = settle(
            sek(dec!(129.03)),
            &none(),
            &[g("card", dec!(129.03))],
            &types(),
            dec!(1),
        )
        .unwrap();
        assert_eq!(s.rounding.amount(), dec!(0));
        assert_eq!(
            settle(
                sek(dec!(129.03)),
                &none(),
                &[g("card", dec!(130))],
                &types(),
                dec!(1)
            ),
            Err(TenderError::NonCashOver { over: dec!(0.97) })
        );
    }

    #[test]
    fn euros_pay_at_the_rate_and_change_comes_in_kronor() {
        // 10 EUR = 112.00 SEK toward 100.40: change 12 kr after rounding to 100.
        let s = settle(
            sek(dec!(100.40)),
            &none(),
            &[g("eur", dec!(10))],
            &types(),
            dec!(1),
        )
        .unwrap();
        assert_eq!(s.change.amount(), dec!(12));
        assert_eq!(s.paid[0].amount.amount(), dec!(100));
        assert_eq!(s.paid[0].foreign, Some(dec!(10)));
        assert_eq!(s.paid[0].class, "cash");
    }

    #[test]
    fn a_restricted_tender_pays_only_for_eligible_lines() {
        let fresh: BTreeMap<String, Money> = [("fresh".to_owned(), sek(dec!(40)))].into();
        assert_eq!(
            settle(
                sek(dec!(100)),
                &fresh,
                &[g("frukt", dec!(50)), g("cash", dec!(50))],
                &types(),
                dec!(1)
            ),
            Err(TenderError::RestrictedOverEligible {
                tender: "frukt".into(),
                eligible: dec!(40)
            })
        );
        let s = settle(
            sek(dec!(100)),
            &fresh,
            &[g("frukt", dec!(40)), g("card", dec!(60))],
            &types(),
            dec!(1),
        )
        .unwrap();
        assert_eq!(s.paid[0].class, "restricted");
    }

    #[test]
    fn short_unknown_and_bad_amounts_are_refused() {
        assert_eq!(
            settle(
                sek(dec!(129.03)),
                &none(),
                &[g("cash", dec!(100))],
                &types(),
                dec!(1)
            ),
            Err(TenderError::Short { missing: dec!(29) })
        );
        assert_eq!(
            settle(
                sek(dec!(129.03)),
                &none(),
                &[g("card", dec!(100))],
                &types(),
                dec!(1)
            ),
            Err(TenderError::Short {
                missing: dec!(29.03)
            })
        );
        assert_eq!(
            settle(
                sek(dec!(10)),
                &none(),
                &[g("bitcoin", dec!(10))],
                &types(),
                dec!(1)
            ),
            Err(TenderError::UnknownTender("bitcoin".into()))
        );
        for bad in [dec!(0), dec!(-5), dec!(10.001)] {
            assert_eq!(
                settle(sek(dec!(10)), &none(), &[g("cash", bad)], &types(), dec!(1)),
                Err(TenderError::BadAmount)
            );
        }
    }

    #[test]
    fn a_refund_pays_back_exactly_what_is_due() {
        let s = settle(
            sek(dec!(-49.80)),
            &none(),
            &[g("cash", dec!(50))],
            &types(),
            dec!(1),
        )
        .unwrap();
        assert_eq!(s.paid[0].amount.amount(), dec!(-50));
        assert_eq!(s.rounding.amount(), dec!(-0.20));
        assert_eq!(
            settle(
                sek(dec!(-49.80)),
                &none(),
                &[g("cash", dec!(60))],
                &types(),
                dec!(1)
            ),
            Err(TenderError::RefundMismatch {
                due: dec!(50),
                given: dec!(60)
            })
        );
        let s = settle(
            sek(dec!(-49.80)),
            &none(),
            &[g("wallet", dec!(49.80))],
            &types(),
            dec!(1),
        )
        .unwrap();
        assert_eq!(s.paid[0].amount.amount(), dec!(-49.80));
    }

    proptest! {
        /// Whatever the split, the tenders' parts add up to the total plus the rounding, the
        /// change is never negative, and only cash is rounded.
        #[test]
        fn the_parts_add_up(
            total in 1i64..1_000_000,
            card in 0i64..1_000_000,
            cash in 0i64..2_000_000,
            eur in 0i64..10_000,
        ) {
            let total = sek(Decimal::new(total, 2));
            let mut given = Vec::new();
            if card > 0 { given.push(g("card", Decimal::new(card, 2))); }
            if cash > 0 { given.push(g("cash", Decimal::new(cash, 2))); }
            if eur > 0 { given.push(g("eur", Decimal::new(eur, 2))); }
            match settle(total, &none(), &given, &types(), dec!(1)) {
                Ok(s) => {
                    let sum = Money::sum(total.currency(), s.paid.iter().map(|p| p.amount)).unwrap();
                    prop_assert_eq!(sum, total.checked_add(s.rounding).unwrap());
                    prop_assert!(!s.change.is_negative());
                    prop_assert!(s.rounding.amount().abs() <= dec!(0.50));
                    let has_cash = s.paid.iter().any(|p| p.class == "cash");
                    prop_assert!(has_cash || s.rounding.is_zero());
                    prop_assert!(s.paid.iter().all(|p| !p.amount.is_negative()));
                }
                Err(TenderError::Short { missing }) => prop_assert!(missing > Decimal::ZERO),
                Err(TenderError::NonCashOver { over }) => prop_assert!(over > Decimal::ZERO),
                Err(e) => prop_assert!(given.is_empty() && matches!(e, TenderError::Short { .. }), "{e}"),
            }
        }
    }
}
