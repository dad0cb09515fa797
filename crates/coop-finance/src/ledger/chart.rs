//! The chart of accounts: the Swedish BAS accounts a co-op shop uses, as the default template.
//! A co-op may use another chart: [`seed`] takes any list.

use super::{AccountNumber, LedgerError};

/// One account of a chart template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateAccount {
    pub number: AccountNumber,
    pub name: &'static str,
}

/// (number, Swedish name) of the BAS 2026 accounts a member-owned food shop needs.
const BAS: &[(i32, &str)] = &[
    (1460, "Lager av handelsvaror"),
    (1510, "Kundfordringar"),
    (1580, "Fordringar för kontokort och kuponger"),
    (1910, "Kassa"),
    (1930, "Företagskonto / checkkonto / affärskonto"),
    (2081, "Insatskapital"),
    (2091, "Balanserad vinst eller förlust"),
    (2099, "Årets resultat"),
    (2420, "Förskott från kunder"),
    (2440, "Leverantörsskulder"),
    (2611, "Utgående moms på försäljning inom Sverige, 25 %"),
    (2621, "Utgående moms på försäljning inom Sverige, 12 %"),
    (2631, "Utgående moms på försäljning inom Sverige, 6 %"),
    (2641, "Debiterad ingående moms"),
    (2650, "Redovisningskonto för moms"),
    (3001, "Försäljning inom Sverige, 25 % moms"),
    (3002, "Försäljning inom Sverige, 12 % moms"),
    (3003, "Försäljning inom Sverige, 6 % moms"),
    (3740, "Öres- och kronutjämning"),
    (4010, "Inköp av handelsvaror"),
    (4990, "Lagerförändring"),
    (5010, "Lokalhyra"),
    (6570, "Bankkostnader"),
    (7960, "Valutakursförluster"),
    (8999, "Årets resultat"),
];

/// The default chart: BAS accounts for a food co-op's shop.
pub fn bas_default() -> Vec<TemplateAccount> {
    BAS.iter()
        .map(|&(n, name)| TemplateAccount {
            number: AccountNumber(n),
            name,
        })
        .collect()
}

/// The output VAT and sales accounts for a VAT rate in percent, in the BAS default chart.
pub fn bas_vat_accounts(
    percent: rust_decimal::Decimal,
) -> Result<(AccountNumber, AccountNumber), LedgerError> {
    let p = percent.normalize().to_string();
    let (vat, sales) = match p.as_str() {
        "25" => (2611, 3001),
        "12" => (2621, 3002),
        "6" => (2631, 3003),
        other => {
            return Err(LedgerError::AccountNumber(format!(
                "no BAS VAT account for {other} %"
            )))
        }
    };
    Ok((AccountNumber(vat), AccountNumber(sales)))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn the_default_chart_is_valid_and_has_the_shop_accounts() {
        let chart = bas_default();
        let mut numbers: Vec<i32> = chart.iter().map(|a| a.number.get()).collect();
        for n in &numbers {
            assert!(AccountNumber::new(*n).is_ok());
        }
        numbers.dedup();
        assert_eq!(numbers.len(), chart.len(), "sorted and unique");
        for n in [
            1910, 1930, 1580, 2420, 2440, 2611, 2621, 2631, 2641, 2650, 3001, 3002, 3003,
        ] {
            assert!(numbers.contains(&n), "{n}");
        }
    }

    #[test]
    fn each_swedish_rate_has_its_vat_and_sales_account() {
        assert_eq!(
            bas_vat_accounts(dec!(25)).unwrap(),
            (AccountNumber(2611), AccountNumber(3001))
        );
        assert_eq!(
            bas_vat_accounts(dec!(12.00)).unwrap(),
            (AccountNumber(2621), AccountNumber(3002))
        );
        assert_eq!(
            bas_vat_accounts(dec!(6)).unwrap(),
            (AccountNumber(2631), AccountNumber(3003))
        );
        assert!(bas_vat_accounts(dec!(7)).is_err());
    }
}
