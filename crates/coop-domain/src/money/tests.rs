use super::*;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn sek(s: &str) -> Money {
    Money::parse(s, Currency::SEK).unwrap()
}

#[test]
fn parses_amounts_as_typed_at_a_till() {
    assert_eq!(sek("12,50").amount, dec("12.50"));
    assert_eq!(sek("12.5").amount, dec("12.5"));
    assert_eq!(sek("-3").amount, dec("-3"));
    assert_eq!(sek(" 7 ").amount, dec("7"));
    assert_eq!(
        Money::parse("1000", Currency::JPY).unwrap().to_minor(),
        Ok(1000)
    );
}

#[test]
fn rejects_amounts_a_cashier_could_misread() {
    let err = |s: &str, c: Currency| Money::parse(s, c).unwrap_err().to_string();
    assert_eq!(
        err("12.345", Currency::SEK),
        "SEK amounts have at most 2 decimals, '12.345' has 3"
    );
    assert_eq!(
        err("1,5", Currency::JPY),
        "JPY amounts have no decimals, '1,5' has 1"
    );
    assert_eq!(
        err("1,234.50", Currency::SEK),
        "amount '1,234.50' is not valid: it has more than one '.' or ','; thousands separators are not allowed"
    );
    assert_eq!(
        err("1 234", Currency::SEK),
        "amount '1 234' is not valid: ' ' at position 2 is not allowed"
    );
    assert_eq!(
        err("", Currency::SEK),
        "amount '' is not valid: it is empty"
    );
    assert_eq!(
        err("12kr", Currency::SEK),
        "amount '12kr' is not valid: 'k' at position 3 is not allowed"
    );
    assert!(Money::parse("--1", Currency::SEK).is_err());
    assert!(Money::parse("1e3", Currency::SEK).is_err());
}

#[test]
fn displays_with_all_minor_digits() {
    assert_eq!(sek("12.5").to_string(), "12.50 SEK");
    assert_eq!(sek("-0,05").to_string(), "-0.05 SEK");
    assert_eq!(
        Money::from_minor(1250, Currency::SEK).to_string(),
        "12.50 SEK"
    );
    assert_eq!(
        Money::from_minor(1250, Currency::JPY).to_string(),
        "1250 JPY"
    );
    // A struct literal skips `new`; display still pads.
    let literal = Money {
        amount: dec("3.5"),
        currency: Currency::EUR,
    };
    assert_eq!(literal.to_string(), "3.50 EUR");
}

#[test]
fn display_round_trips_through_from_str() {
    let money: Money = "12.50 SEK".parse().unwrap();
    assert_eq!(money, sek("12.50"));
    assert_eq!(
        "12.50".parse::<Money>().unwrap_err().to_string(),
        "'12.50' is not an amount with a currency, such as '12.50 SEK'"
    );
}

#[test]
fn minor_units_convert_both_ways() {
    assert_eq!(sek("12.50").to_minor(), Ok(1250));
    assert_eq!(sek("-0.01").to_minor(), Ok(-1));
    let fine = Money::new(dec("12.345"), Currency::SEK);
    assert!(!fine.is_whole_minor_units());
    assert_eq!(
        fine.to_minor().unwrap_err().to_string(),
        "12.345 SEK is not a whole number of minor units (0.01)"
    );
    let huge = Money::new(Decimal::MAX, Currency::SEK);
    assert_eq!(huge.to_minor(), Err(MoneyError::Overflow));
}

#[test]
fn arithmetic_refuses_mixed_currencies_and_overflow() {
    let eur = Money::parse("1", Currency::EUR).unwrap();
    assert_eq!(
        sek("1").checked_add(eur).unwrap_err().to_string(),
        "cannot combine SEK and EUR amounts"
    );
    assert!(sek("1").checked_sub(eur).is_err());
    assert!(sek("1").compare(eur).is_err());
    let max = Money::new(Decimal::MAX, Currency::SEK);
    assert_eq!(max.checked_add(sek("1")), Err(MoneyError::Overflow));
    assert_eq!((-max).checked_sub(sek("1")), Err(MoneyError::Overflow));
    assert_eq!(sek("5").checked_sub(sek("7.5")), Ok(sek("-2.50")));
    assert_eq!(sek("5").compare(sek("7.5")), Ok(Ordering::Less));
}

#[test]
fn multiplying_rounds_to_minor_units() {
    // 0.347 kg at 129.90 SEK/kg = 45.0753 SEK.
    let line = sek("129.90").mul_decimal(dec("0.347"), RoundingMode::HalfUp);
    assert_eq!(line, Ok(sek("45.08")));
    let half = sek("0.25").mul_decimal(dec("0.5"), RoundingMode::HalfEven);
    assert_eq!(half, Ok(sek("0.12")));
    let half = sek("0.25").mul_decimal(dec("0.5"), RoundingMode::HalfUp);
    assert_eq!(half, Ok(sek("0.13")));
    let max = Money::new(Decimal::MAX, Currency::SEK);
    assert_eq!(
        max.mul_decimal(dec("2"), RoundingMode::HalfUp),
        Err(MoneyError::Overflow)
    );
}

#[test]
fn round_follows_the_mode() {
    let m = |s: &str| Money::new(dec(s), Currency::SEK);
    assert_eq!(m("2.345").round(RoundingMode::HalfUp), sek("2.35"));
    assert_eq!(m("-2.345").round(RoundingMode::HalfUp), sek("-2.35"));
    assert_eq!(m("2.345").round(RoundingMode::HalfEven), sek("2.34"));
    assert_eq!(m("2.355").round(RoundingMode::HalfEven), sek("2.36"));
    assert_eq!(m("2.349").round(RoundingMode::TowardZero), sek("2.34"));
    assert_eq!(m("-2.349").round(RoundingMode::TowardZero), sek("-2.34"));
    assert_eq!(m("2.341").round(RoundingMode::AwayFromZero), sek("2.35"));
    assert_eq!(m("-2.341").round(RoundingMode::AwayFromZero), sek("-2.35"));
}

#[test]
fn sum_needs_one_currency() {
    let total = Money::sum(Currency::SEK, [sek("1.25"), sek("2.75"), sek("-1")]);
    assert_eq!(total, Ok(sek("3")));
    assert_eq!(Money::sum(Currency::SEK, Vec::<Money>::new()), Ok(sek("0")));
    let items = [sek("1"), Money::parse("1", Currency::NOK).unwrap()];
    assert_eq!(
        Money::sum(Currency::SEK, items),
        Err(MoneyError::CurrencyMismatch {
            left: Currency::SEK,
            right: Currency::NOK
        })
    );
    // The given currency must match too, not only the items among themselves.
    assert!(Money::sum(Currency::EUR, [sek("1")]).is_err());
}

#[test]
fn serializes_amount_as_text_with_currency_code() {
    let json = serde_json::to_string(&sek("12.5")).unwrap();
    assert_eq!(json, r#"{"amount":"12.50","currency":"SEK"}"#);
    let back: Money = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sek("12.50"));
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"SEK","x":1}"#).is_err());
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"XXX"}"#).is_err());
}

#[test]
fn sign_helpers() {
    assert!(sek("-1").is_negative());
    assert!(sek("1").is_positive());
    assert!(sek("0").is_zero());
    assert_eq!(sek("-1").abs(), sek("1"));
    assert_eq!(-sek("1"), sek("-1"));
}
