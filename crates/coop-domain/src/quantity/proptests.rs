use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{Quantity, Unit};

fn unit() -> impl Strategy<Value = Unit> {
    prop::sample::select(vec![
        Unit::Each,
        Unit::Gram,
        Unit::Kilogram,
        Unit::Millilitre,
        Unit::Litre,
    ])
}

fn quantity() -> impl Strategy<Value = Quantity> {
    (0_i64..10_000_000_000, 0_u32..6, unit()).prop_map(|(mantissa, scale, unit)| {
        let scale = if unit == Unit::Each { 0 } else { scale };
        Quantity::new(Decimal::new(mantissa, scale), unit).unwrap()
    })
}

proptest! {
    #[test]
    fn parse_never_panics(input in ".*") {
        let _ = Quantity::parse(&input);
        let _ = Unit::parse(&input);
    }

    #[test]
    fn parse_never_panics_on_numbers(input in "-?[0-9]{0,40}([.,][0-9]{0,40})? ?(kg|g|l|ml|st)?") {
        if let Ok(quantity) = Quantity::parse(&input) {
            prop_assert!(!quantity.value().is_sign_negative() || quantity.is_zero());
        }
    }

    #[test]
    fn display_round_trips(quantity in quantity()) {
        prop_assert_eq!(Quantity::parse(&quantity.to_string()), Ok(quantity));
    }

    #[test]
    fn conversion_round_trips(quantity in quantity(), to in unit()) {
        if let Ok(converted) = quantity.convert_to(to) {
            prop_assert_eq!(converted.convert_to(quantity.unit()), Ok(quantity));
        } else {
            prop_assert!(quantity.unit().dimension() != to.dimension());
        }
    }

    #[test]
    fn addition_is_exact_and_commutative_in_a_common_unit(a in quantity(), b in quantity()) {
        if let (Ok(ab), Ok(ba)) = (a.checked_add(b), b.checked_add(a)) {
            prop_assert_eq!(ab.convert_to(ba.unit()), Ok(ba));
        } else {
            prop_assert!(a.unit().dimension() != b.unit().dimension());
        }
    }
}
