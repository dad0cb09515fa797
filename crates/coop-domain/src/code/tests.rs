//! Scanning, end to end: classification and variable-measure layouts.

use rust_decimal::Decimal;

use super::*;
use crate::quantity::{Quantity, Unit};

fn rule(json: &str) -> VariableMeasureRule {
    serde_json::from_str(json).unwrap()
}

fn rule_error(json: &str) -> String {
    serde_json::from_str::<VariableMeasureRule>(json)
        .unwrap_err()
        .to_string()
}

/// GS1 Sweden: prefix 23 carries the weight in kilograms with three decimals (grams) in
/// positions 9-12, after a 5-6 digit weight-item prefix and a serial number.
const SWEDISH_WEIGHT: &str = r#"{"prefix": "23", "item_start": 3, "item_len": 6,
    "value_start": 9, "value_len": 4, "value_kind": "weight_grams"}"#;

/// Prefix 24: kilograms with two decimals, so each step is 10 g.
const SWEDISH_WEIGHT_10G: &str = r#"{"prefix": "24", "item_start": 3, "item_len": 6,
    "value_start": 9, "value_len": 4, "value_kind": "weight_grams", "value_multiplier": 10}"#;

/// A common European price layout: 2 prefix digits, a 4-digit item, the price verifier digit,
/// a 5-digit price in minor units.
const PRICE_WITH_CHECK: &str = r#"{"prefix": ["20", "21"], "item_start": 3, "item_len": 4,
    "price_check_digit": 7, "value_start": 8, "value_len": 5, "value_kind": "price_minor_units"}"#;

/// The same with a 4-digit price: 5-digit item, verifier at 8, price at 9-12.
const PRICE_WITH_CHECK_4: &str = r#"{"prefix": "22", "item_start": 3, "item_len": 5,
    "price_check_digit": 8, "value_start": 9, "value_len": 4, "value_kind": "price_minor_units"}"#;

fn scan(input: &str) -> Result<ProductCode, CodeError> {
    let rules = [
        rule(SWEDISH_WEIGHT),
        rule(SWEDISH_WEIGHT_10G),
        rule(PRICE_WITH_CHECK),
        rule(PRICE_WITH_CHECK_4),
    ];
    ProductCode::parse_scan(input, &rules)
}

fn variable(input: &str) -> VariableMeasureCode {
    match scan(input).unwrap() {
        ProductCode::VariableMeasure(code) => code,
        other => panic!("expected a variable-measure code, got {other:?}"),
    }
}

#[test]
fn classifies_real_gtins() {
    for (code, kind) in [
        ("4006381333931", GtinKind::Gtin13),
        ("036000291452", GtinKind::Gtin12),
        ("96385074", GtinKind::Gtin8),
        ("10036000291459", GtinKind::Gtin14),
    ] {
        match scan(code).unwrap() {
            ProductCode::Gtin(gtin) => assert_eq!(gtin.kind(), kind, "{code}"),
            other => panic!("{code} read as {other:?}"),
        }
    }
}

#[test]
fn classifies_plu_and_refuses_other_lengths_and_text() {
    assert_eq!(
        scan("4011"),
        Ok(ProductCode::Plu(Plu::parse("4011").unwrap()))
    );
    assert_eq!(scan("94011").unwrap().as_str(), "94011");
    assert_eq!(
        scan("123456").unwrap_err().to_string(),
        "a scanned code of 6 digits is neither a GTIN (8, 12, 13 or 14 digits) nor a PLU (3 to 5 digits)"
    );
    assert_eq!(scan("12").unwrap_err(), CodeError::ScanLength { len: 2 });
    assert_eq!(
        scan("OAT-1KG").unwrap_err().to_string(),
        "'O' at position 1 is not a digit"
    );
    assert_eq!(scan("  \n"), Err(CodeError::Empty));
    assert_eq!(
        ProductCode::parse_sku(" OAT-1KG ").unwrap(),
        ProductCode::Sku(Sku::parse("OAT-1KG").unwrap())
    );
}

#[test]
fn decodes_a_swedish_weighed_item() {
    // 23 123456 1234 + check digit 2 (hand-computed: weighted sum 78).
    let code = variable("2312345612342");
    assert_eq!(code.prefix, "23");
    assert_eq!(code.item, "123456");
    assert_eq!(
        code.value,
        MeasuredValue::Weight(Quantity::new(Decimal::from(1234), Unit::Gram).unwrap())
    );
    assert_eq!(code.gtin.as_str(), "2312345612342");
    let MeasuredValue::Weight(weight) = code.value else {
        unreachable!()
    };
    assert_eq!(
        weight.convert_to(Unit::Kilogram).unwrap().to_string(),
        "1.234 kg"
    );
}

#[test]
fn applies_the_value_multiplier() {
    let gtin = Gtin::with_check_digit("241234561234").unwrap();
    assert_eq!(gtin.as_str(), "2412345612349");
    let code = variable(gtin.as_str());
    assert_eq!(
        code.value,
        MeasuredValue::Weight(Quantity::new(Decimal::from(12_340), Unit::Gram).unwrap())
    );
}

#[test]
fn decodes_an_embedded_price_with_its_verifier() {
    // 20 1234, verifier 5 for price 02875 (see price_check tests), EAN check digit 3.
    let code = variable("2012345028753");
    assert_eq!((code.prefix.as_str(), code.item.as_str()), ("20", "1234"));
    assert_eq!(code.value, MeasuredValue::Price(2875));
    // The second prefix of the rule.
    let other = Gtin::with_check_digit("211234502875").unwrap();
    assert_eq!(variable(other.as_str()).prefix, "21");
    // 4-digit price 2875 with verifier 9, EAN check digit 0.
    let code = variable("2212345928750");
    assert_eq!(
        (code.item.as_str(), code.value),
        ("12345", MeasuredValue::Price(2875))
    );
}

#[test]
fn a_wrong_price_verifier_is_refused() {
    // Verifier 4 instead of 5, with the EAN check digit recomputed so only the verifier is off.
    assert_eq!(
        scan("2012344028754").unwrap_err().to_string(),
        "price check digit is 4, expected 5"
    );
}

#[test]
fn the_whole_code_check_digit_is_verified_first() {
    assert_eq!(
        scan("2312345612343").unwrap_err().to_string(),
        "check digit is 3, expected 2"
    );
}

#[test]
fn without_a_matching_rule_an_in_store_code_is_a_plain_gtin() {
    let gtin = Gtin::with_check_digit("291234561234").unwrap();
    assert_eq!(scan(gtin.as_str()), Ok(ProductCode::Gtin(gtin.clone())));
    assert_eq!(
        ProductCode::parse_scan("2312345612342", &[]).unwrap(),
        ProductCode::Gtin(Gtin::parse("2312345612342").unwrap())
    );
}

#[test]
fn counts_are_decoded() {
    let rules = [rule(
        r#"{"prefix": "25", "item_start": 3, "item_len": 5, "value_start": 10, "value_len": 3, "value_kind": "count"}"#,
    )];
    let gtin = Gtin::with_check_digit("251234500012").unwrap();
    match ProductCode::parse_scan(gtin.as_str(), &rules).unwrap() {
        ProductCode::VariableMeasure(code) => assert_eq!(code.value, MeasuredValue::Count(12)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rule_layouts_are_validated_when_loaded() {
    let base =
        |extra: &str| format!(r#"{{"prefix": "23", "value_kind": "weight_grams", {extra}}}"#);
    assert_eq!(
        rule_error(&base(
            r#""item_start": 3, "item_len": 6, "value_start": 8, "value_len": 5"#
        )),
        "variable-measure rule is not valid: item digits 3-8 overlap value digits 8-12"
    );
    assert_eq!(
        rule_error(&base(r#""item_start": 3, "item_len": 6, "value_start": 9, "value_len": 5"#)),
        "variable-measure rule is not valid: value digits start at 9 and are 5 long; they must lie within positions 1-12"
    );
    assert_eq!(
        rule_error(&base(r#""item_start": 0, "item_len": 6, "value_start": 9, "value_len": 4"#)),
        "variable-measure rule is not valid: item digits start at 0 and are 6 long; they must lie within positions 1-12"
    );
    assert_eq!(
        rule_error(&base(
            r#""item_start": 5, "item_len": 4, "value_start": 2, "value_len": 3"#
        )),
        "variable-measure rule is not valid: value digits 2-4 overlap the prefix"
    );
    assert_eq!(
        rule_error(&base(r#""item_start": 3, "item_len": 6, "value_start": 10, "value_len": 3, "price_check_digit": 9"#)),
        "variable-measure rule is not valid: a price check digit needs a 4- or 5-digit value, not 3 digits"
    );
    assert_eq!(
        rule_error(&base(r#""item_start": 3, "item_len": 5, "value_start": 9, "value_len": 4, "price_check_digit": 7"#)),
        "variable-measure rule is not valid: the price check digit at position 7 must lie within positions 1-12, outside the prefix, item and value digits"
    );
    assert_eq!(
        rule_error(&base(
            r#""item_start": 3, "item_len": 6, "value_start": 9, "value_len": 4, "value_multiplier": 0"#
        )),
        "variable-measure rule is not valid: value_multiplier must be at least 1"
    );
    assert!(rule_error(&base(
        r#""item_start": 3, "item_len": 6, "value_start": 9, "value_len": 4, "colour": 1"#
    ))
    .contains("unknown field `colour`"));
    assert!(rule_error(r#"{"prefix": "23"}"#).contains("missing field"));
    assert!(rule_error(&SWEDISH_WEIGHT.replace("weight_grams", "kilos"))
        .contains("unknown variant `kilos`"));
}

#[test]
fn prefixes_must_be_in_store_prefixes() {
    let with_prefix = |prefix: &str| {
        SWEDISH_WEIGHT.replace(r#""prefix": "23""#, &format!(r#""prefix": {prefix}"#))
    };
    assert_eq!(
        rule_error(&with_prefix(r#""40""#)),
        "variable-measure rule is not valid: prefix '40' is not an in-store prefix: variable-measure codes start with 20-29 (or 02 for UPC-A)"
    );
    assert_eq!(
        rule_error(&with_prefix(r#""2a""#)),
        "variable-measure rule is not valid: prefix '2a' must be 1 to 12 digits"
    );
    assert_eq!(
        rule_error(&with_prefix("[]")),
        "variable-measure rule is not valid: it needs at least one prefix"
    );
    assert!(rule_error(&with_prefix("5")).contains("a prefix such as \"23\" or a list of prefixes"));
    let listed = rule(&with_prefix(r#"["23", "28"]"#));
    assert_eq!(listed.config().prefix, ["23", "28"]);
}

#[test]
fn rules_round_trip_through_json() {
    let original = rule(PRICE_WITH_CHECK);
    let json = serde_json::to_string(&original).unwrap();
    assert_eq!(rule(&json), original);
    assert!(!serde_json::to_string(&rule(SWEDISH_WEIGHT))
        .unwrap()
        .contains("value_multiplier"));
}

#[test]
fn product_codes_serialize_with_their_kind() {
    let json = serde_json::to_string(&scan("4006381333931").unwrap()).unwrap();
    assert_eq!(json, r#"{"gtin":"4006381333931"}"#);
    let back: ProductCode = serde_json::from_str(&json).unwrap();
    assert_eq!(back.to_string(), "4006381333931");
    assert!(serde_json::from_str::<ProductCode>(r#"{"gtin":"4006381333932"}"#).is_err());
}
