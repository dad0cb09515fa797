//! The crate as other services use it: only the re-exports at the crate root.

use chrono::NaiveDate;
use coop_domain::{
    split_gross, Currency, EmailAddress, MeasuredValue, MemberNumberFormat, Money, ProductCode,
    RoundingMode, Unit, VariableMeasureRule, VatClassId, VatSummary, VatTable,
};
use rust_decimal::Decimal;

const CONFIG: &str = r#"{
    "currency": "SEK",
    "vat_classes": {
        "food": {"rates": [{"from": "2024-01-01", "percent": "12"},
                           {"from": "2026-04-01", "percent": "6"},
                           {"from": "2028-01-01", "percent": "12"}]},
        "standard": {"rates": [{"from": "1990-07-01", "percent": "25"}]}
    },
    "member_number": {"prefix": "M", "digits": 5},
    "scale_codes": [{"prefix": "23", "item_start": 3, "item_len": 6, "value_start": 9,
                     "value_len": 4, "value_kind": "weight_grams"}]
}"#;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ShopConfig {
    currency: Currency,
    vat_classes: VatTable,
    #[serde(default)]
    member_number: MemberNumberFormat,
    scale_codes: Vec<VariableMeasureRule>,
}

/// A member buys weighed cheese and a bag at the till on the first day of the food VAT cut and
/// pays cash.
#[test]
fn a_cash_sale_at_the_till() {
    let config: ShopConfig = serde_json::from_str(CONFIG).unwrap();
    let sale_day = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let member = config.member_number.parse("m00042").unwrap();
    assert_eq!(member.to_string(), "M00042");

    // 1.234 kg of cheese at 129.90 SEK/kg.
    let ProductCode::VariableMeasure(cheese) =
        ProductCode::parse_scan("2312345612342\r\n", &config.scale_codes).unwrap()
    else {
        panic!("the scale label was not read as a weighed item");
    };
    let MeasuredValue::Weight(weight) = cheese.value else {
        panic!("the scale label carries no weight");
    };
    let kilos = weight.convert_to(Unit::Kilogram).unwrap().value();
    let cheese_price = Money::parse("129,90", config.currency)
        .unwrap()
        .mul_decimal(kilos, RoundingMode::HalfUp)
        .unwrap();
    assert_eq!(cheese_price.to_string(), "160.30 SEK"); // 160.2966

    let bag = Money::parse("2", config.currency).unwrap();
    let food = VatClassId::parse("food").unwrap();
    let standard = VatClassId::parse("standard").unwrap();
    let mut summary = VatSummary::new(config.currency);
    summary
        .add(
            cheese_price,
            config.vat_classes.rate_on(&food, sale_day).unwrap(),
        )
        .unwrap();
    summary
        .add(
            bag,
            config.vat_classes.rate_on(&standard, sale_day).unwrap(),
        )
        .unwrap();
    let totals = summary.totals().unwrap();
    assert_eq!(totals.gross.to_string(), "162.30 SEK");
    assert_eq!(totals.by_rate[0].vat.to_string(), "9.07 SEK"); // 160.30 × 6/106
    assert_eq!(totals.by_rate[1].vat.to_string(), "0.40 SEK"); // 2 × 25/125
    assert_eq!(totals.net.checked_add(totals.vat), Ok(totals.gross));

    let cash = totals
        .gross
        .cash_round(config.currency.default_cash_coin(), RoundingMode::HalfUp)
        .unwrap();
    assert_eq!(cash.rounded.to_string(), "162.00 SEK");
    assert_eq!(cash.difference.to_string(), "-0.30 SEK");
}

#[test]
fn a_shared_delivery_cost_is_split_to_the_ore() {
    let delivery = Money::from_minor(14_900, Currency::SEK);
    let order_values = [Decimal::from(1200), Decimal::from(450), Decimal::from(350)];
    let shares = delivery.allocate(&order_values).unwrap();
    let as_text: Vec<String> = shares.iter().map(ToString::to_string).collect();
    assert_eq!(as_text, ["89.40 SEK", "33.53 SEK", "26.07 SEK"]);
    assert_eq!(Money::sum(Currency::SEK, &shares), Ok(delivery));
    let split = split_gross(shares[0], "12".parse().unwrap()).unwrap();
    assert_eq!(
        (split.net.to_string(), split.vat.to_string()),
        ("79.82 SEK".into(), "9.58 SEK".into())
    );
}

#[test]
fn errors_read_well_for_people() {
    let scan = ProductCode::parse_scan("4006381333932", &[]).unwrap_err();
    assert_eq!(scan.to_string(), "check digit is 2, expected 1");
    let email = EmailAddress::parse("anna@example").unwrap_err();
    assert_eq!(
        email.to_string(),
        "the domain of 'anna@example' needs a dot, as in example.org"
    );
    let money = Money::parse("12.345", Currency::SEK).unwrap_err();
    assert_eq!(
        money.to_string(),
        "SEK amounts have at most 2 decimals, '12.345' has 3"
    );
}
