use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{split_gross, split_net, EffectiveRate, VatClassId, VatRate, VatSchedule, VatSummary};
use crate::money::{Currency, Money};

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL)
}

/// Any rate with up to two decimals, below 100 %.
fn rate() -> impl Strategy<Value = VatRate> {
    (0_i64..10_000).prop_map(|hundredths| VatRate::new(Decimal::new(hundredths, 2)).unwrap())
}

fn minor() -> impl Strategy<Value = i64> {
    -1_000_000_000_000_i64..1_000_000_000_000
}

proptest! {
    #[test]
    fn parsers_never_panic(input in ".*") {
        let _ = VatRate::parse(&input);
        let _ = VatClassId::parse(&input);
        let _ = serde_json::from_str::<VatSchedule>(&input);
    }

    #[test]
    fn rate_parser_never_panics_on_numbers(input in "-?[0-9]{0,40}([.,][0-9]{0,40})?%?") {
        if let Ok(rate) = VatRate::parse(&input) {
            prop_assert!(rate.percent() >= Decimal::ZERO && rate.percent() < Decimal::ONE_HUNDRED);
        }
    }

    #[test]
    fn rate_display_round_trips(rate in rate()) {
        prop_assert_eq!(VatRate::parse(&rate.to_string()), Ok(rate));
    }

    #[test]
    fn class_id_display_round_trips(id in "[a-z][a-z0-9_-]{0,30}[a-z0-9]") {
        let class = VatClassId::parse(&id).unwrap();
        let text = class.to_string();
        prop_assert_eq!(VatClassId::parse(&text), Ok(class));
    }

    #[test]
    fn split_gross_adds_back_up(m in minor(), rate in rate(), currency in currency()) {
        let gross = Money::from_minor(m, currency);
        let split = split_gross(gross, rate).unwrap();
        prop_assert_eq!(split.net.checked_add(split.vat), Ok(gross));
        prop_assert!(split.vat.is_whole_minor_units());
        // VAT never has the opposite sign of the price, and never exceeds it.
        prop_assert!(split.vat.amount.abs() <= gross.amount.abs());
        prop_assert!(split.vat.is_zero() || split.vat.is_negative() == gross.is_negative());
    }

    #[test]
    fn split_net_adds_back_up(m in minor(), rate in rate(), currency in currency()) {
        let net = Money::from_minor(m, currency);
        let split = split_net(net, rate).unwrap();
        prop_assert_eq!(split.net.checked_add(split.vat), Ok(split.gross));
        prop_assert_eq!(split.net, net);
    }

    #[test]
    fn summary_totals_equal_the_sum_of_lines(
        lines in prop::collection::vec((minor(), rate()), 0..30),
        currency in currency(),
    ) {
        let mut summary = VatSummary::new(currency);
        let mut expected = 0_i64;
        for (m, rate) in &lines {
            summary.add(Money::from_minor(*m, currency), *rate).unwrap();
            expected += m;
        }
        let totals = summary.totals().unwrap();
        prop_assert_eq!(totals.gross.to_minor(), Ok(expected));
        prop_assert_eq!(totals.net.checked_add(totals.vat), Ok(totals.gross));
        let per_rate_gross = Money::sum(currency, totals.by_rate.iter().map(|t| t.gross)).unwrap();
        prop_assert_eq!(per_rate_gross, totals.gross);
        for total in &totals.by_rate {
            prop_assert_eq!(total.net.checked_add(total.vat), Ok(total.gross));
        }
    }

    #[test]
    fn schedule_picks_the_latest_rate_started(
        mut days in prop::collection::btree_set(0_i32..20_000, 1..8).prop_map(|s| s.into_iter().collect::<Vec<_>>()),
        probe in 0_i32..20_000,
    ) {
        let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        let at = |d: i32| epoch + chrono::Days::new(u64::try_from(d).unwrap());
        let rates: Vec<EffectiveRate> = days
            .iter()
            .enumerate()
            .map(|(i, d)| EffectiveRate { from: at(*d), percent: VatRate::new(Decimal::from(i)).unwrap() })
            .collect();
        let schedule = VatSchedule::new(rates).unwrap();
        let expected = days.iter().rposition(|d| *d <= probe).map(|i| VatRate::new(Decimal::from(i)).unwrap());
        prop_assert_eq!(schedule.rate_on(at(probe)), expected);
        days.reverse();
        if days.len() > 1 {
            let reversed: Vec<EffectiveRate> = days
                .iter()
                .map(|d| EffectiveRate { from: at(*d), percent: VatRate::ZERO })
                .collect();
            prop_assert!(VatSchedule::new(reversed).is_err());
        }
    }
}
