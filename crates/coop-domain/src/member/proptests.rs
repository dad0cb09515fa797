use proptest::prelude::*;

use super::{EmailAddress, MemberNumber, MemberNumberFormat};

fn format() -> impl Strategy<Value = MemberNumberFormat> {
    ("[A-Z]{0,4}", 3_u8..=9)
        .prop_map(|(prefix, digits)| MemberNumberFormat::new(&prefix, digits).unwrap())
}

proptest! {
    #[test]
    fn parsers_never_panic(input in ".*", format in format()) {
        let _ = format.parse(&input);
        let _ = MemberNumber::parse_any(&input);
        let _ = EmailAddress::parse(&input);
        let _ = MemberNumberFormat::new(&input, 5);
    }

    #[test]
    fn digit_strings_never_panic(input in "[A-Za-z]{0,5}[0-9]{0,12}", format in format()) {
        if let Ok(number) = format.parse(&input) {
            prop_assert!(number.value() > 0);
        }
        let _ = MemberNumber::parse_any(&input);
    }

    #[test]
    fn member_numbers_round_trip(format in format(), seed in 1_u32..=999_999_999) {
        let max = 10_u32.pow(u32::from(format.digits())) - 1;
        let value = seed % max + 1;
        let number = format.number(value).unwrap();
        let text = number.to_string();
        prop_assert_eq!(text.len(), format.prefix().len() + usize::from(format.digits()));
        prop_assert_eq!(format.parse(&text), Ok(number.clone()));
        prop_assert_eq!(format.parse(&text.to_ascii_lowercase()), Ok(number.clone()));
        prop_assert_eq!(MemberNumber::parse_any(&text), Ok(number));
    }

    #[test]
    fn emails_round_trip(
        local in "[A-Za-z0-9+_-]{1,20}(\\.[A-Za-z0-9+_-]{1,20}){0,2}",
        labels in prop::collection::vec("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 2..4),
    ) {
        let text = format!("{local}@{}", labels.join("."));
        let email = EmailAddress::parse(&text).unwrap();
        prop_assert_eq!(email.as_str(), text.as_str());
        let displayed = email.to_string();
        prop_assert_eq!(EmailAddress::parse(&displayed), Ok(email.clone()));
        prop_assert_eq!(EmailAddress::parse(&text.to_ascii_uppercase()).map(|e| e.domain().to_owned()), Ok(email.domain().to_owned()));
    }
}
