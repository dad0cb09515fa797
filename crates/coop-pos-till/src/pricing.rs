//! What a basket costs, apart from how it is paid: each line's price (shelf or member, on the
//! day, per unit, pack or kilogram), its amount rounded to the currency's minor unit, and the
//! VAT per rate computed once on each rate's sum, as Swedish receipts show it. Prices are
//! VAT-inclusive (shops) or exclusive (a wholesale-style buyers' club) by config. By
//! construction the lines, the VAT breakdown and the total agree to the öre: the property tests
//! below hold that for any basket.

use chrono::NaiveDate;
use coop_domain::money::{Currency, Money, MoneyError, RoundingMode};
use coop_domain::vat::{split_gross, split_net, VatError, VatRate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a product is sold: by the piece, or weighed or measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaleUnit {
    Each,
    Kg,
    L,
}

impl SaleUnit {
    /// Decimals a quantity may have: whole pieces, grams or millilitres.
    pub fn decimals(self) -> u32 {
        match self {
            SaleUnit::Each => 0,
            SaleUnit::Kg | SaleUnit::L => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SaleUnit::Each => "each",
            SaleUnit::Kg => "kg",
            SaleUnit::L => "l",
        }
    }
}

/// A price planned from a day, as the catalogue feed carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    pub effective_on: NaiveDate,
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
}

/// The shelf and member price on `day`: the latest change on or before it, else the product's
/// own. A change replaces both prices (a change without a member price has none).
pub fn prices_on(
    shelf: Decimal,
    member: Option<Decimal>,
    changes: &[PriceChange],
    day: NaiveDate,
) -> (Decimal, Option<Decimal>) {
    changes
        .iter()
        .filter(|c| c.effective_on <= day)
        .max_by_key(|c| c.effective_on)
        .map_or((shelf, member), |c| (c.shelf_price, c.member_price))
}

/// One line of a basket as the till resolved it from a code: the product (or pack), how much,
/// its prices on the day and its VAT rate on the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub product_id: Uuid,
    pub pack_id: Option<Uuid>,
    pub name: String,
    /// `Each` for a pack: its quantity counts packs.
    pub unit: SaleUnit,
    /// Pieces, packs, kilograms or litres; below zero for a return.
    pub quantity: Decimal,
    /// Per piece, pack, kilogram or litre.
    pub shelf_price: Decimal,
    pub member_price: Option<Decimal>,
    pub vat_rate: VatRate,
    /// The line's amount when the code fixed it (a price-embedded barcode) or a manager typed it
    /// (an open-price item). Signed like the quantity.
    pub fixed_amount: Option<Decimal>,
}

/// The co-op's pricing config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricingRules {
    pub currency: Currency,
    /// Shelf prices include VAT (a shop); else VAT is added on top per rate.
    pub prices_include_vat: bool,
}

/// A priced line. `amount` is VAT-inclusive when prices are, else net.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub unit_price: Decimal,
    pub member_price_applied: bool,
    pub amount: Money,
    pub vat_rate: VatRate,
}

/// One VAT rate's part of the basket: `net + vat == gross`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    pub rate: VatRate,
    pub net: Money,
    pub vat: Money,
    pub gross: Money,
}

/// The basket priced: its lines in order, the VAT per rate (lowest rate first), and the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priced {
    pub lines: Vec<PricedLine>,
    pub by_rate: Vec<RateTotal>,
    pub net: Money,
    pub vat: Money,
    /// What the basket costs, before any cash rounding (that belongs to the tender).
    pub total: Money,
}

/// Why a basket cannot be priced. Lines are numbered from 1, as the screen shows them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("line {0}: the quantity is zero")]
    ZeroQuantity(usize),
    #[error("line {line}: {unit} is sold in at most {decimals} decimals")]
    TooPrecise {
        line: usize,
        unit: &'static str,
        decimals: u32,
    },
    #[error("line {0}: a price below zero")]
    NegativePrice(usize),
    #[error("line {0}: the amount has more decimals than the currency")]
    FixedAmountTooPrecise(usize),
    #[error("line {0}: the amount and the quantity have different signs")]
    FixedAmountSign(usize),
    #[error("the basket's amounts are too large")]
    Overflow,
}

impl From<MoneyError> for PricingError {
    fn from(_: MoneyError) -> Self {
        PricingError::Overflow
    }
}

impl From<VatError> for PricingError {
    fn from(_: VatError) -> Self {
        PricingError::Overflow
    }
}

/// Prices a basket for a member (member prices apply where a line has one) or a walk-in.
/// Each line's amount is its unit price times its quantity rounded half up to minor units (or
/// its fixed amount); the VAT of each rate is computed once on that rate's sum of amounts.
pub fn price(
    lines: &[LineInput],
    member: bool,
    rules: &PricingRules,
) -> Result<Priced, PricingError> {
    let currency = rules.currency;
    let minor = currency.minor_units();
    let mut priced = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        if l.quantity.is_zero() {
            return Err(PricingError::ZeroQuantity(n));
        }
        if l.quantity.normalize().scale() > l.unit.decimals() {
            return Err(PricingError::TooPrecise {
                line: n,
                unit: l.unit.as_str(),
                decimals: l.unit.decimals(),
            });
        }
        if l.shelf_price.is_sign_negative() || l.member_price.is_some_and(|m| m.is_sign_negative())
        {
            return Err(PricingError::NegativePrice(n));
        }
        let (unit_price, member_price_applied) = match l.member_price {
            Some(m) if member && m < l.shelf_price => (m, true),
            _ => (l.shelf_price, false),
        };
        let amount = match l.fixed_amount {
            Some(a) => {
                if a.normalize().scale() > minor {
                    return Err(PricingError::FixedAmountTooPrecise(n));
                }
                if !a.is_zero() && a.is_sign_negative() != l.quantity.is_sign_negative() {
                    return Err(PricingError::FixedAmountSign(n));
                }
                Money::new(a, currency)
            }
            None => {
                Money::new(unit_price, currency).mul_decimal(l.quantity, RoundingMode::HalfUp)?
            }
        };
        priced.push(PricedLine {
            unit_price,
            member_price_applied,
            amount,
            vat_rate: l.vat_rate,
        });
    }
    let mut sums: std::collections::BTreeMap<VatRate, Money> = std::collections::BTreeMap::new();
    for p in &priced {
        let sum = sums.entry(p.vat_rate).or_insert(Money::zero(currency));
        *sum = sum.checked_add(p.amount)?;
    }
    let mut by_rate = Vec::with_capacity(sums.len());
    let (mut net, mut vat, mut total) = (
        Money::zero(currency),
        Money::zero(currency),
        Money::zero(currency),
    );
    for (rate, sum) in sums {
        let split = if rules.prices_include_vat {
            split_gross(sum, rate)?
        } else {
            split_net(sum, rate)?
        };
        net = net.checked_add(split.net)?;
        vat = vat.checked_add(split.vat)?;
        total = total.checked_add(split.gross)?;
        by_rate.push(RateTotal {
            rate,
            net: split.net,
            vat: split.vat,
            gross: split.gross,
        });
    }
    Ok(Priced {
        lines: priced,
        by_rate,
        net,
        vat,
        total,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;

    fn sek() -> Currency {
        Currency::parse("SEK").unwrap()
    }

    fn rules(inclusive: bool) -> PricingRules {
        PricingRules {
            currency: sek(),
            prices_include_vat: inclusive,
        }
    }

    fn line(unit: SaleUnit, quantity: Decimal, shelf: Decimal, rate: &str) -> LineInput {
        LineInput {
            product_id: Uuid::nil(),
            pack_id: None,
            name: "x".into(),
            unit,
            quantity,
            shelf_price: shelf,
            member_price: None,
            vat_rate: VatRate::parse(rate).unwrap(),
            fixed_amount: None,
        }
    }

    #[test]
    fn a_swedish_basket_adds_up_with_vat_per_rate() {
        let mut milk = line(SaleUnit::Each, dec!(2), dec!(15.90), "6");
        milk.member_price = Some(dec!(14.90));
        let cheese = line(SaleUnit::Kg, dec!(0.347), dec!(139.00), "6");
        let candles = line(SaleUnit::Each, dec!(1), dec!(49.00), "25");
        let p = price(&[milk.clone(), cheese, candles], false, &rules(true)).unwrap();
        // 31.80 + 48.233 -> 48.23 + 49.00
        let amounts: Vec<Decimal> = p.lines.iter().map(|l| l.amount.amount()).collect();
        assert_eq!(amounts, [dec!(31.80), dec!(48.23), dec!(49.00)]);
        assert_eq!(p.total.amount(), dec!(129.03));
        assert_eq!(p.by_rate.len(), 2);
        // 80.03 at 6 %: VAT 80.03 × 6/106 = 4.530 -> 4.53.
        assert_eq!(
            (p.by_rate[0].gross.amount(), p.by_rate[0].vat.amount()),
            (dec!(80.03), dec!(4.53))
        );
        // 49.00 at 25 %: 9.80.
        assert_eq!(p.by_rate[1].vat.amount(), dec!(9.80));
        assert_eq!(p.vat.amount(), dec!(14.33));
        // A member pays the member price on the milk.
        let m = price(&[milk], true, &rules(true)).unwrap();
        assert!(m.lines[0].member_price_applied);
        assert_eq!(m.total.amount(), dec!(29.80));
    }

    #[test]
    fn without_vat_in_the_prices_it_is_added_per_rate() {
        let p = price(
            &[
                line(SaleUnit::Each, dec!(3), dec!(10.00), "12"),
                line(SaleUnit::Each, dec!(1), dec!(0.14), "12"),
            ],
            false,
            &rules(false),
        )
        .unwrap();
        // 30.14 net at 12 %: 3.6168 -> 3.62.
        assert_eq!(p.net.amount(), dec!(30.14));
        assert_eq!(p.vat.amount(), dec!(3.62));
        assert_eq!(p.total.amount(), dec!(33.76));
    }

    #[test]
    fn the_price_on_a_day_is_the_latest_change_by_then() {
        let changes = [
            PriceChange {
                effective_on: NaiveDate::from_ymd_opt(2026, 12, 14).unwrap(),
                shelf_price: dec!(74.90),
                member_price: None,
            },
            PriceChange {
                effective_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                shelf_price: dec!(72.90),
                member_price: Some(dec!(69.90)),
            },
        ];
        let on = |d| {
            prices_on(
                dec!(69.90),
                Some(dec!(65)),
                &changes,
                NaiveDate::from_ymd_opt(2026, 12, d).unwrap(),
            )
        };
        assert_eq!(on(1), (dec!(72.90), Some(dec!(69.90))));
        assert_eq!(on(13), (dec!(72.90), Some(dec!(69.90))));
        assert_eq!(on(14), (dec!(74.90), None));
        assert_eq!(
            prices_on(
                dec!(69.90),
                Some(dec!(65)),
                &changes,
                NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
            ),
            (dec!(69.90), Some(dec!(65)))
        );
    }

    #[test]
    fn bad_lines_are_refused_naming_the_line() {
        let ok = line(SaleUnit::Each, dec!(1), dec!(10), "25");
        let cases = [
            (
                line(SaleUnit::Each, dec!(0), dec!(10), "25"),
                PricingError::ZeroQuantity(2),
            ),
            (
                line(SaleUnit::Each, dec!(1.5), dec!(10), "25"),
                PricingError::TooPrecise {
                    line: 2,
                    unit: "each",
                    decimals: 0,
                },
            ),
            (
                line(SaleUnit::Kg, dec!(0.0005), dec!(10), "25"),
                PricingError::TooPrecise {
                    line: 2,
                    unit: "kg",
                    decimals: 3,
                },
            ),
            (
                line(SaleUnit::Each, dec!(1), dec!(-1), "25"),
                PricingError::NegativePrice(2),
            ),
            (
                LineInput {
                    fixed_amount: Some(dec!(12.345)),
                    ..ok.clone()
                },
                PricingError::FixedAmountTooPrecise(2),
            ),
            (
                LineInput {
                    fixed_amount: Some(dec!(-12)),
                    ..ok.clone()
                },
                PricingError::FixedAmountSign(2),
            ),
        ];
        for (bad, expected) in cases {
            assert_eq!(
                price(&[ok.clone(), bad], false, &rules(true)),
                Err(expected)
            );
        }
    }

    fn arb_line() -> impl Strategy<Value = LineInput> {
        (
            prop_oneof![Just(SaleUnit::Each), Just(SaleUnit::Kg)],
            1i64..5_000,
            0i64..200_000,
            proptest::option::of(0i64..200_000),
            prop_oneof![Just("0"), Just("6"), Just("12"), Just("25")],
            any::<bool>(),
            proptest::option::of(1i64..100_000),
        )
            .prop_map(|(unit, q, shelf, member, rate, returned, fixed)| {
                let quantity = match unit {
                    SaleUnit::Each => Decimal::from(q % 20 + 1),
                    _ => Decimal::new(q, 3),
                };
                let sign = if returned {
                    -Decimal::ONE
                } else {
                    Decimal::ONE
                };
                LineInput {
                    product_id: Uuid::nil(),
                    pack_id: None,
                    name: "p".into(),
                    unit,
                    quantity: quantity * sign,
                    shelf_price: Decimal::new(shelf, 2),
                    member_price: member.map(|m| Decimal::new(m, 2)),
                    vat_rate: VatRate::parse(rate).unwrap(),
                    fixed_amount: fixed.map(|f| Decimal::new(f, 2) * sign),
                }
            })
    }

    proptest! {
        /// The receipt's lines, VAT breakdown and total always agree to the öre, inclusive or
        /// exclusive of VAT, for members and walk-ins, sales and returns.
        #[test]
        fn lines_vat_and_total_agree_to_the_ore(
            lines in proptest::collection::vec(arb_line(), 1..30),
            member: bool,
            inclusive: bool,
        ) {
            let p = price(&lines, member, &rules(inclusive)).unwrap();
            let minor = |m: &Money| m.amount().normalize().scale() <= 2;
            prop_assert_eq!(p.lines.len(), lines.len());
            prop_assert!(p.lines.iter().all(|l| minor(&l.amount)));
            let sum_lines = Money::sum(sek(), p.lines.iter().map(|l| l.amount)).unwrap();
            let sum_gross = Money::sum(sek(), p.by_rate.iter().map(|r| r.gross)).unwrap();
            let sum_net = Money::sum(sek(), p.by_rate.iter().map(|r| r.net)).unwrap();
            let sum_vat = Money::sum(sek(), p.by_rate.iter().map(|r| r.vat)).unwrap();
            prop_assert_eq!(sum_gross, p.total);
            prop_assert_eq!(sum_net, p.net);
            prop_assert_eq!(sum_vat, p.vat);
            prop_assert_eq!(p.net.checked_add(p.vat).unwrap(), p.total);
            if inclusive {
                prop_assert_eq!(sum_lines, p.total);
            } else {
                prop_assert_eq!(sum_lines, p.net);
            }
            for r in &p.by_rate {
                prop_assert!(minor(&r.net) && minor(&r.vat) && minor(&r.gross));
                prop_assert_eq!(r.net.checked_add(r.vat).unwrap(), r.gross);
                // The VAT is within half an öre of the exact VAT of the rate's sum.
                let exact = r.net.amount() * r.rate.percent() / Decimal::ONE_HUNDRED;
                prop_assert!((exact - r.vat.amount()).abs() <= dec!(0.01), "{:?}", r);
            }
            // Each line is its price times its quantity to the öre, or its fixed amount.
            for (l, i) in p.lines.iter().zip(&lines) {
                match i.fixed_amount {
                    Some(a) => prop_assert_eq!(l.amount.amount(), a),
                    None => prop_assert!((l.unit_price * i.quantity - l.amount.amount()).abs() <= dec!(0.005)),
                }
                prop_assert!(l.unit_price <= i.shelf_price);
                prop_assert_eq!(l.member_price_applied, member && i.member_price.is_some_and(|m| m < i.shelf_price));
            }
        }
    }
}
