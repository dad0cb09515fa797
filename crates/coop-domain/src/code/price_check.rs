//! The price/weight verifier digit of GS1 variable-measure codes (GS1 General Specifications,
//! "check digit calculation for price/weight fields"). It protects the embedded value on its
//! own, so a misread price is caught even when the whole code's check digit happens to match.

/// The GS1 weighting factors. Each maps a digit to a one-digit "product":
/// `2-`: 2 × d, units digit minus tens digit; `3`: units digit of 3 × d;
/// `5+`: 5 × d, units digit plus tens digit; `5-`: 5 × d, units digit minus tens digit;
/// all modulo 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    TwoMinus,
    Three,
    FivePlus,
    FiveMinus,
}

fn product(digit: u8, weight: Weight) -> u8 {
    let split = |p: u8| (p / 10, p % 10);
    match weight {
        Weight::TwoMinus => {
            let (tens, units) = split(2 * digit);
            (units + 10 - tens) % 10
        }
        Weight::Three => 3 * digit % 10,
        Weight::FivePlus => {
            let (tens, units) = split(5 * digit);
            (units + tens) % 10
        }
        Weight::FiveMinus => {
            let (tens, units) = split(5 * digit);
            (units + 10 - tens) % 10
        }
    }
}

const FOUR_DIGIT_WEIGHTS: [Weight; 4] = [
    Weight::TwoMinus,
    Weight::TwoMinus,
    Weight::Three,
    Weight::FiveMinus,
];

const FIVE_DIGIT_WEIGHTS: [Weight; 5] = [
    Weight::FivePlus,
    Weight::TwoMinus,
    Weight::FiveMinus,
    Weight::FivePlus,
    Weight::TwoMinus,
];

/// The verifier digit of a 4- or 5-digit price or weight field given as digit values 0-9;
/// `None` for any other length or a value above 9.
pub(super) fn price_check_digit(field: &[u8]) -> Option<u8> {
    if field.iter().any(|d| *d > 9) {
        return None;
    }
    match field.len() {
        4 => {
            // Four digits: sum the products, multiply by 3, keep the units digit.
            let sum: u32 = field
                .iter()
                .zip(FOUR_DIGIT_WEIGHTS)
                .map(|(d, w)| u32::from(product(*d, w)))
                .sum();
            u8::try_from(sum * 3 % 10).ok()
        }
        5 => {
            // Five digits: take the sum up to the next multiple of ten; the check digit is the
            // digit whose 5- product is that difference.
            let sum: u32 = field
                .iter()
                .zip(FIVE_DIGIT_WEIGHTS)
                .map(|(d, w)| u32::from(product(*d, w)))
                .sum();
            let target = u8::try_from((10 - sum % 10) % 10).ok()?;
            (0..=9).find(|d| product(*d, Weight::FiveMinus) == target)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products(weight: Weight) -> Vec<u8> {
        (0..=9).map(|d| product(d, weight)).collect()
    }

    /// The product rows as tabulated by hand from the definitions:
    /// e.g. 2- of 7: 14 -> 4 - 1 = 3; 5- of 3: 15 -> 5 - 1 = 4; 5+ of 7: 35 -> 5 + 3 = 8.
    #[test]
    fn weighting_factor_products() {
        assert_eq!(products(Weight::TwoMinus), [0, 2, 4, 6, 8, 9, 1, 3, 5, 7]);
        assert_eq!(products(Weight::Three), [0, 3, 6, 9, 2, 5, 8, 1, 4, 7]);
        assert_eq!(products(Weight::FivePlus), [0, 5, 1, 6, 2, 7, 3, 8, 4, 9]);
        assert_eq!(products(Weight::FiveMinus), [0, 5, 9, 4, 8, 3, 7, 2, 6, 1]);
    }

    /// 2875: 2- of 2 = 4, 2- of 8 = 5, 3 of 7 = 1, 5- of 5 = 3; sum 13, × 3 = 39 -> 9.
    /// 1234: 2 + 4 + 9 + 8 = 23, × 3 = 69 -> 9.
    /// 0000 -> 0. 9999: 7 + 7 + 7 + 1 = 22, × 3 = 66 -> 6.
    #[test]
    fn four_digit_examples() {
        assert_eq!(price_check_digit(&[2, 8, 7, 5]), Some(9));
        assert_eq!(price_check_digit(&[1, 2, 3, 4]), Some(9));
        assert_eq!(price_check_digit(&[0, 0, 0, 0]), Some(0));
        assert_eq!(price_check_digit(&[9, 9, 9, 9]), Some(6));
    }

    /// 14685: 5+ of 1 = 5, 2- of 4 = 8, 5- of 6 = 7, 5+ of 8 = 4, 2- of 5 = 9; sum 33,
    /// 40 - 33 = 7, and 5- of 6 = 7 -> 6.
    /// 02875: 0 + 4 + 6 + 8 + 9 = 27, 30 - 27 = 3, 5- of 5 = 3 -> 5.
    /// 00000 -> 0.
    #[test]
    fn five_digit_examples() {
        assert_eq!(price_check_digit(&[1, 4, 6, 8, 5]), Some(6));
        assert_eq!(price_check_digit(&[0, 2, 8, 7, 5]), Some(5));
        assert_eq!(price_check_digit(&[0, 0, 0, 0, 0]), Some(0));
    }

    #[test]
    fn other_lengths_have_no_verifier() {
        assert_eq!(price_check_digit(&[1, 2, 3]), None);
        assert_eq!(price_check_digit(&[1, 2, 3, 4, 5, 6]), None);
        assert_eq!(price_check_digit(&[1, 2, 3, 10]), None);
    }

    /// The verifier catches any single wrong digit in the field.
    #[test]
    fn detects_every_single_digit_error() {
        for len in [4_usize, 5] {
            // Every 4-digit field; a spread of 5-digit ones to keep the test quick.
            let step = if len == 4 { 1 } else { 7 };
            for n in (0..10_u32.pow(u32::try_from(len).unwrap())).step_by(step) {
                let field: Vec<u8> = format!("{n:0len$}").bytes().map(|b| b - b'0').collect();
                let check = price_check_digit(&field).unwrap();
                for position in 0..len {
                    for wrong in 0..=9 {
                        if wrong == field[position] {
                            continue;
                        }
                        let mut altered = field.clone();
                        altered[position] = wrong;
                        assert_ne!(
                            price_check_digit(&altered),
                            Some(check),
                            "{field:?} at {position}"
                        );
                    }
                }
            }
        }
    }
}
