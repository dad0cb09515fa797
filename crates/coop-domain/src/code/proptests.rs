use proptest::prelude::*;

use super::{Gtin, Plu, ProductCode, Sku, VariableMeasureRule};

fn rules() -> Vec<VariableMeasureRule> {
    vec![
        serde_json::from_str(
            r#"{"prefix": "23", "item_start": 3, "item_len": 6, "value_start": 9, "value_len": 4, "value_kind": "weight_grams"}"#,
        )
        .unwrap(),
        serde_json::from_str(
            r#"{"prefix": ["20", "21"], "item_start": 3, "item_len": 4, "price_check_digit": 7, "value_start": 8, "value_len": 5, "value_kind": "price_minor_units"}"#,
        )
        .unwrap(),
    ]
}

fn gtin_body() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{7}", "[0-9]{11}", "[0-9]{12}", "[0-9]{13}"]
}

proptest! {
    #[test]
    fn parsers_never_panic(input in ".*") {
        let rules = rules();
        let _ = ProductCode::parse_scan(&input, &rules);
        let _ = ProductCode::parse_sku(&input);
        let _ = Gtin::parse(&input);
        let _ = Gtin::with_check_digit(&input);
        let _ = Plu::parse(&input);
        let _ = serde_json::from_str::<VariableMeasureRule>(&input);
    }

    #[test]
    fn digit_strings_never_panic(input in "[0-9]{0,20}") {
        let rules = rules();
        let _ = ProductCode::parse_scan(&input, &rules);
        let _ = Gtin::parse(&input);
    }

    #[test]
    fn in_store_codes_never_panic(body in "2[0-9]{11}") {
        // Every in-store code with a valid check digit decodes or names its price check digit.
        let gtin = Gtin::with_check_digit(&body).unwrap();
        let _ = ProductCode::parse_scan(gtin.as_str(), &rules());
    }

    #[test]
    fn with_check_digit_always_parses(body in gtin_body()) {
        let gtin = Gtin::with_check_digit(&body).unwrap();
        prop_assert_eq!(Gtin::parse(gtin.as_str()), Ok(gtin.clone()));
        prop_assert_eq!(Gtin::parse(&gtin.to_string()), Ok(gtin.clone()));
        prop_assert_eq!(Gtin::parse(gtin.to_gtin14().as_str()), Ok(gtin.to_gtin14()));
    }

    #[test]
    fn flipping_any_one_digit_fails_the_check(body in gtin_body(), position in any::<prop::sample::Index>(), delta in 1_u8..10) {
        let gtin = Gtin::with_check_digit(&body).unwrap();
        let mut digits: Vec<u8> = gtin.as_str().bytes().collect();
        let at = position.index(digits.len());
        digits[at] = b'0' + (digits[at] - b'0' + delta) % 10;
        let altered = String::from_utf8(digits).unwrap();
        prop_assert!(Gtin::parse(&altered).is_err(), "{} accepted", altered);
    }

    #[test]
    fn plu_and_sku_display_round_trips(plu in "[0-9]{3,5}", sku in "[^\\p{Cc}]{1,64}") {
        let parsed = Plu::parse(&plu).unwrap();
        prop_assert_eq!(Plu::parse(&parsed.to_string()), Ok(parsed));
        if let Ok(parsed) = Sku::parse(&sku) {
            prop_assert_eq!(Sku::parse(&parsed.to_string()), Ok(parsed.clone()));
            prop_assert_eq!(parsed.as_str(), sku.trim());
        } else {
            prop_assert!(sku.trim().is_empty());
        }
    }
}
