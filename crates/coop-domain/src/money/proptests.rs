use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{Currency, Money, RoundingMode};

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL)
}

fn mode() -> impl Strategy<Value = RoundingMode> {
    prop::sample::select(vec![
        RoundingMode::HalfUp,
        RoundingMode::HalfEven,
        RoundingMode::TowardZero,
        RoundingMode::AwayFromZero,
    ])
}

/// Amounts a shop can meet, well inside the range where sums cannot overflow.
fn minor() -> impl Strategy<Value = i64> {
    -1_000_000_000_000_i64..1_000_000_000_000
}

proptest! {
    #[test]
    fn parse_never_panics(input in ".*", currency in currency()) {
        let _ = Money::parse(&input, currency);
        let _ = input.parse::<Money>();
        let _ = Currency::parse(&input);
    }

    #[test]
    fn parse_never_panics_on_numbers(input in "-?[0-9]{0,40}([.,][0-9]{0,40})?", currency in currency()) {
        if let Ok(money) = Money::parse(&input, currency) {
            prop_assert!(money.is_whole_minor_units());
        }
    }

    #[test]
    fn display_round_trips(m in minor(), currency in currency()) {
        let money = Money::from_minor(m, currency);
        let text = money.to_string();
        prop_assert_eq!(text.parse::<Money>(), Ok(money));
        prop_assert_eq!(money.to_minor(), Ok(m));
        let (amount, _) = text.split_once(' ').unwrap();
        prop_assert_eq!(Money::parse(&amount.replace('.', ","), currency), Ok(money));
    }

    #[test]
    fn addition_is_associative_and_exact(a in minor(), b in minor(), c in minor(), currency in currency()) {
        let m = |v| Money::from_minor(v, currency);
        let left = m(a).checked_add(m(b)).unwrap().checked_add(m(c)).unwrap();
        let right = m(a).checked_add(m(b).checked_add(m(c)).unwrap()).unwrap();
        prop_assert_eq!(left, right);
        prop_assert_eq!(left.to_minor(), Ok(a + b + c));
        prop_assert_eq!(m(a).checked_sub(m(b)).unwrap().to_minor(), Ok(a - b));
    }

    #[test]
    fn sum_never_loses_or_invents_a_unit(values in prop::collection::vec(minor(), 0..20), currency in currency()) {
        let total = Money::sum(currency, values.iter().map(|v| Money::from_minor(*v, currency))).unwrap();
        prop_assert_eq!(total.to_minor(), Ok(values.iter().sum::<i64>()));
    }

    #[test]
    fn allocate_parts_sum_to_the_whole(
        m in minor(),
        weights in prop::collection::vec(0_u32..1000, 1..12),
        scale in 0_u32..4,
        currency in currency(),
    ) {
        prop_assume!(weights.iter().any(|w| *w > 0));
        let weights: Vec<Decimal> = weights.iter().map(|w| Decimal::new(i64::from(*w), scale)).collect();
        let whole = Money::from_minor(m, currency);
        let parts = whole.allocate(&weights).unwrap();
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(Money::sum(currency, &parts), Ok(whole));
        let total_weight: Decimal = weights.iter().sum();
        for (part, weight) in parts.iter().zip(&weights) {
            // Each part is within one minor unit of its exact share.
            let exact = whole.amount * *weight / total_weight;
            prop_assert!((part.amount - exact).abs() < currency.minor_unit());
            if weight.is_zero() {
                prop_assert!(part.is_zero());
            }
        }
    }

    #[test]
    fn cash_rounding_lands_on_a_coin_within_half_a_coin(
        m in minor(),
        coin_minor in prop::sample::select(vec![1_i64, 5, 10, 50, 100, 500]),
        currency in currency(),
        mode in mode(),
    ) {
        let coin = Decimal::new(coin_minor, currency.minor_units());
        let money = Money::from_minor(m, currency);
        let rounding = money.cash_round(coin, mode).unwrap();
        prop_assert_eq!(rounding.rounded.checked_sub(money), Ok(rounding.difference));
        prop_assert!((rounding.rounded.amount % coin).is_zero());
        match mode {
            RoundingMode::HalfUp | RoundingMode::HalfEven => {
                prop_assert!(rounding.difference.amount.abs() * Decimal::TWO <= coin);
            }
            RoundingMode::TowardZero | RoundingMode::AwayFromZero => {
                prop_assert!(rounding.difference.amount.abs() < coin);
            }
        }
    }

    #[test]
    fn mul_decimal_gives_whole_minor_units(m in minor(), factor in -1_000_000_i64..1_000_000, scale in 0_u32..6, mode in mode()) {
        let money = Money::from_minor(m, Currency::SEK);
        let product = money.mul_decimal(Decimal::new(factor, scale), mode).unwrap();
        prop_assert!(product.is_whole_minor_units());
        let exact = money.amount * Decimal::new(factor, scale);
        prop_assert!((product.amount - exact).abs() < Currency::SEK.minor_unit());
    }
}
