//! VAT totals for a receipt or an invoice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{split_gross, VatError, VatRate};
use crate::money::{Currency, Money};

/// Adds up VAT-inclusive lines and computes VAT once per rate on the summed gross, as Swedish
/// receipts show it. Rounding each line's VAT instead would let the per-rate VAT drift from
/// what the gross total implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatSummary {
    currency: Currency,
    gross_by_rate: BTreeMap<VatRate, Money>,
    total_gross: Money,
}

/// The VAT of one rate on a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatRateTotal {
    pub rate: VatRate,
    pub net: Money,
    pub vat: Money,
    pub gross: Money,
}

/// Per-rate totals, lowest rate first, and the grand totals. `net + vat == gross`, per rate and
/// in total, and `gross` is exactly the sum of the lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatTotals {
    pub by_rate: Vec<VatRateTotal>,
    pub net: Money,
    pub vat: Money,
    pub gross: Money,
}

impl VatSummary {
    pub fn new(currency: Currency) -> VatSummary {
        VatSummary {
            currency,
            gross_by_rate: BTreeMap::new(),
            total_gross: Money::zero(currency),
        }
    }

    /// Adds a line's VAT-inclusive amount. A failed add leaves the summary as it was.
    pub fn add(&mut self, gross: Money, rate: VatRate) -> Result<(), VatError> {
        let total_gross = self.total_gross.checked_add(gross)?;
        let line_total = self
            .gross_by_rate
            .get(&rate)
            .copied()
            .unwrap_or(Money::zero(self.currency))
            .checked_add(gross)?;
        self.gross_by_rate.insert(rate, line_total);
        self.total_gross = total_gross;
        Ok(())
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_empty(&self) -> bool {
        self.gross_by_rate.is_empty()
    }

    /// The sum of all lines' gross amounts.
    pub fn total_gross(&self) -> Money {
        self.total_gross
    }

    pub fn totals(&self) -> Result<VatTotals, VatError> {
        let mut by_rate = Vec::with_capacity(self.gross_by_rate.len());
        let mut net = Money::zero(self.currency);
        let mut vat = Money::zero(self.currency);
        for (&rate, &gross) in &self.gross_by_rate {
            let split = split_gross(gross, rate)?;
            net = net.checked_add(split.net)?;
            vat = vat.checked_add(split.vat)?;
            by_rate.push(VatRateTotal {
                rate,
                net: split.net,
                vat: split.vat,
                gross,
            });
        }
        Ok(VatTotals {
            by_rate,
            net,
            vat,
            gross: self.total_gross,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::MoneyError;

    fn sek(s: &str) -> Money {
        Money::parse(s, Currency::SEK).unwrap()
    }

    fn rate(s: &str) -> VatRate {
        VatRate::parse(s).unwrap()
    }

    #[test]
    fn vat_is_computed_once_per_rate() {
        let mut summary = VatSummary::new(Currency::SEK);
        // Three 0.14 SEK items at 12 %: per line each VAT rounds 0.015 up to 0.02 (0.06 in all);
        // on the summed 0.42 the VAT is 0.045 -> 0.05.
        for _ in 0..3 {
            summary.add(sek("0.14"), rate("12")).unwrap();
        }
        summary.add(sek("49.90"), rate("25")).unwrap();
        summary.add(sek("-10"), rate("25")).unwrap(); // a returned item
        let totals = summary.totals().unwrap();
        assert_eq!(totals.by_rate.len(), 2);
        let food = totals.by_rate[0];
        assert_eq!(
            (food.rate, food.gross, food.vat, food.net),
            (rate("12"), sek("0.42"), sek("0.05"), sek("0.37"))
        );
        let standard = totals.by_rate[1];
        assert_eq!(
            (standard.gross, standard.vat, standard.net),
            (sek("39.90"), sek("7.98"), sek("31.92"))
        );
        assert_eq!(totals.gross, sek("40.32"));
        assert_eq!(totals.vat, sek("8.03"));
        assert_eq!(totals.net.checked_add(totals.vat), Ok(totals.gross));
        assert_eq!(summary.total_gross(), sek("40.32"));
    }

    #[test]
    fn an_empty_receipt_has_zero_totals() {
        let summary = VatSummary::new(Currency::SEK);
        assert!(summary.is_empty());
        let totals = summary.totals().unwrap();
        assert!(totals.by_rate.is_empty());
        assert_eq!(
            (totals.net, totals.vat, totals.gross),
            (sek("0"), sek("0"), sek("0"))
        );
    }

    #[test]
    fn a_line_in_another_currency_is_refused_and_changes_nothing() {
        let mut summary = VatSummary::new(Currency::SEK);
        summary.add(sek("10"), rate("25")).unwrap();
        let before = summary.clone();
        let euro = Money::parse("1", Currency::EUR).unwrap();
        assert_eq!(
            summary.add(euro, rate("25")),
            Err(VatError::Money(MoneyError::CurrencyMismatch {
                left: Currency::SEK,
                right: Currency::EUR
            }))
        );
        assert_eq!(summary, before);
        assert_eq!(summary.currency(), Currency::SEK);
    }
}
