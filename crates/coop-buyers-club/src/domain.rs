//! The buyers club's rules that need no database: an order's states and what each allows,
//! filling a supplier's cases from the members' quantities and tolerances, and money.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An order's state (the spec's three): members add purchases while it is open; the manager
/// talks to the supplier while it is closed (and may open it again); once the delivery is
/// checked and every change settled it is completed, and the members pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderState {
    Open,
    Closed,
    /// Each member's part is being captured; nothing about the order changes any more.
    Completing,
    Completed,
    /// Not sent (below its threshold, or called off): every hold released.
    Cancelled,
}

impl OrderState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Open => "open",
            OrderState::Closed => "closed",
            OrderState::Completing => "completing",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
        }
    }

    /// From the database's text.
    ///
    /// # Errors
    /// Not a state.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(OrderState::Open),
            "closed" => Ok(OrderState::Closed),
            "completing" => Ok(OrderState::Completing),
            "completed" => Ok(OrderState::Completed),
            "cancelled" => Ok(OrderState::Cancelled),
            other => Err(format!("not an order state: {other}")),
        }
    }
}

/// One member's wish for one product of an order: how much they want, and how much more they
/// would take so that the supplier's cases fill. `rank` orders the members (who asked first):
/// when cases cannot hold everything, the earlier get theirs first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub member: Uuid,
    pub quantity: Decimal,
    pub tolerance: Decimal,
    pub rank: i64,
}

/// What an order gets of one product: whole cases, and each member's share of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// Cases to order from the supplier.
    pub cases: Decimal,
    /// Units those cases hold (`cases * case_size`), all of it allocated.
    pub units: Decimal,
    /// Each member's share, in the wants' order of `rank`; a member who gets nothing is listed
    /// with zero.
    pub shares: Vec<(Uuid, Decimal)>,
}

/// Fills whole cases of `case_size` units, as Foodsoft does: as many cases as the wanted
/// quantities and the tolerances together fill completely; then the units go first to the
/// quantities, earliest member first, then to the tolerances in the same order. A case of 1
/// fills whole units (whole kilos of something weighed); a supplier who sells any weight has a
/// case size of its smallest step (0.001). Quantities beyond the last full case are not ordered
/// (the members see that in the sorting view before the order closes).
///
/// # Panics
/// Never for the values the database allows (`case_size > 0`, quantities and tolerances
/// `>= 0`); those are checked on the way in.
#[must_use]
pub fn fill_cases(case_size: Decimal, wants: &[Want]) -> Fill {
    assert!(case_size > Decimal::ZERO, "a case holds something");
    let mut ordered: Vec<&Want> = wants.iter().collect();
    ordered.sort_by_key(|w| (w.rank, w.member));
    let wanted: Decimal = ordered.iter().map(|w| w.quantity).sum();
    let tolerated: Decimal = ordered.iter().map(|w| w.tolerance).sum();
    let cases = ((wanted + tolerated) / case_size).floor();
    let units = cases * case_size;
    let mut left = units;
    let mut shares: Vec<(Uuid, Decimal)> =
        ordered.iter().map(|w| (w.member, Decimal::ZERO)).collect();
    for (share, want) in shares.iter_mut().zip(&ordered) {
        let take = want.quantity.min(left);
        share.1 += take;
        left -= take;
    }
    for (share, want) in shares.iter_mut().zip(&ordered) {
        let take = want.tolerance.min(left);
        share.1 += take;
        left -= take;
    }
    Fill {
        cases,
        units,
        shares,
    }
}

/// A line's amount: quantity times unit price, rounded half away from zero to the currency's
/// `minor` decimals (öre, cents). The one rounding of a purchase; totals are sums of lines.
#[must_use]
pub fn line_amount(quantity: Decimal, unit_price: Decimal, minor: u32) -> Decimal {
    (quantity * unit_price).round_dp_with_strategy(minor, RoundingStrategy::MidpointAwayFromZero)
}

/// The VAT inside a gross amount at `percent`, rounded as [`line_amount`].
#[must_use]
pub fn vat_in(gross: Decimal, percent: Decimal, minor: u32) -> Decimal {
    (gross * percent / (Decimal::ONE_HUNDRED + percent))
        .round_dp_with_strategy(minor, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn want(n: u128, quantity: Decimal, tolerance: Decimal) -> Want {
        Want {
            member: Uuid::from_u128(n),
            quantity,
            tolerance,
            rank: i64::try_from(n).unwrap(),
        }
    }

    #[test]
    fn tolerances_fill_a_case_the_quantities_alone_do_not() {
        // Six to a case: 4 + 3 wanted is one case and a bit; 5 of tolerance makes two.
        let f = fill_cases(
            dec!(6),
            &[want(1, dec!(4), dec!(2)), want(2, dec!(3), dec!(3))],
        );
        assert_eq!((f.cases, f.units), (dec!(2), dec!(12)));
        assert_eq!(
            f.shares,
            vec![(Uuid::from_u128(1), dec!(6)), (Uuid::from_u128(2), dec!(6))]
        );
        // Without the tolerance: one case, the first asker gets all 4, the second the 2 left.
        let f = fill_cases(
            dec!(6),
            &[want(1, dec!(4), dec!(0)), want(2, dec!(3), dec!(0))],
        );
        assert_eq!(f.cases, dec!(1));
        assert_eq!(
            f.shares,
            vec![(Uuid::from_u128(1), dec!(4)), (Uuid::from_u128(2), dec!(2))]
        );
    }

    #[test]
    fn too_little_for_a_case_orders_nothing_and_units_fill_exactly() {
        let f = fill_cases(dec!(10), &[want(1, dec!(3), dec!(2))]);
        assert_eq!(f.cases, dec!(0));
        assert_eq!(f.shares, vec![(Uuid::from_u128(1), dec!(0))]);
        // By the kilo, whole kilos from the supplier: 3.25 kg wanted and 1 kg of tolerance
        // make 4 kg; the first member's tolerance takes the 0.75 kg beyond the quantities.
        let f = fill_cases(
            dec!(1),
            &[want(1, dec!(2.5), dec!(1)), want(2, dec!(0.75), dec!(0))],
        );
        assert_eq!(f.units, dec!(4));
        assert_eq!(
            f.shares,
            vec![
                (Uuid::from_u128(1), dec!(3.25)),
                (Uuid::from_u128(2), dec!(0.75))
            ]
        );
        // Without tolerance, only whole kilos: 3 of the 3.25.
        let f = fill_cases(
            dec!(1),
            &[want(1, dec!(2.5), dec!(0)), want(2, dec!(0.75), dec!(0))],
        );
        assert_eq!(f.units, dec!(3));
        assert_eq!(f.shares[1], (Uuid::from_u128(2), dec!(0.5)));
    }

    #[test]
    fn money_rounds_half_away_from_zero_and_vat_is_inside_the_gross() {
        assert_eq!(line_amount(dec!(0.333), dec!(29.90), 2), dec!(9.96));
        assert_eq!(line_amount(dec!(1.5), dec!(0.05), 2), dec!(0.08));
        assert_eq!(vat_in(dec!(106), dec!(6), 2), dec!(6));
        assert_eq!(vat_in(dec!(125), dec!(25), 2), dec!(25));
        assert_eq!(vat_in(dec!(10), dec!(12), 2), dec!(1.07));
    }

    proptest! {
        /// Whatever the wants: whole cases; every unit allocated; nobody above quantity plus
        /// tolerance; and a member gets tolerance only once every quantity is met.
        #[test]
        fn a_fill_is_whole_cases_all_allocated_within_each_wish(
            case in 1u32..13,
            wants in proptest::collection::vec((0u32..40, 0u32..10), 0..12),
        ) {
            let case = Decimal::from(case);
            let wants: Vec<Want> = wants
                .iter()
                .enumerate()
                .map(|(i, (q, t))| want(i as u128, Decimal::from(*q), Decimal::from(*t)))
                .collect();
            let f = fill_cases(case, &wants);
            prop_assert_eq!(f.units, f.cases * case);
            prop_assert_eq!(f.cases.fract(), Decimal::ZERO);
            let total: Decimal = f.shares.iter().map(|s| s.1).sum();
            prop_assert_eq!(total, f.units);
            let wanted: Decimal = wants.iter().map(|w| w.quantity).sum();
            let tolerated: Decimal = wants.iter().map(|w| w.tolerance).sum();
            prop_assert!(f.units <= wanted + tolerated);
            prop_assert!(wanted + tolerated - f.units < case, "a whole case more would have filled");
            for (w, s) in wants.iter().zip(&f.shares) {
                prop_assert!(s.1 >= Decimal::ZERO && s.1 <= w.quantity + w.tolerance);
                if s.1 > w.quantity {
                    // tolerance used: every quantity was met
                    for (w2, s2) in wants.iter().zip(&f.shares) {
                        prop_assert!(s2.1 >= w2.quantity);
                    }
                }
            }
        }
    }
}
