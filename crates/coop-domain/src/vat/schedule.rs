//! Which VAT rate applies on which day. Rates change by law on set dates (Sweden's food rate
//! drops from 12 % to 6 % on 2026-04-01 and returns to 12 % on 2028-01-01), so a rate is never
//! a constant: it is looked up for the date of the sale.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{VatClassId, VatError, VatRate};

/// A rate that applies from `from` (inclusive) until the next rate in the schedule starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectiveRate {
    pub from: NaiveDate,
    pub percent: VatRate,
}

/// The rates of one VAT class over time: never empty, oldest first, one rate per start date.
/// On the wire: `{"rates":[{"from":"2026-04-01","percent":"6"}, ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleRepr", into = "ScheduleRepr")]
pub struct VatSchedule {
    rates: Vec<EffectiveRate>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleRepr {
    rates: Vec<EffectiveRate>,
}

impl VatSchedule {
    pub fn new(rates: Vec<EffectiveRate>) -> Result<VatSchedule, VatError> {
        if rates.is_empty() {
            return Err(VatError::EmptySchedule);
        }
        for pair in rates.windows(2) {
            let (previous, next) = (pair[0].from, pair[1].from);
            if previous == next {
                return Err(VatError::DuplicateDate { date: next });
            }
            if next < previous {
                return Err(VatError::UnsortedDates { previous, next });
            }
        }
        Ok(VatSchedule { rates })
    }

    /// A schedule with one rate that has always applied and never changes.
    pub fn constant(percent: VatRate) -> VatSchedule {
        VatSchedule {
            rates: vec![EffectiveRate {
                from: NaiveDate::MIN,
                percent,
            }],
        }
    }

    /// The rate in force on `date`, or `None` before the first rate starts.
    pub fn rate_on(&self, date: NaiveDate) -> Option<VatRate> {
        let started = self.rates.partition_point(|rate| rate.from <= date);
        started
            .checked_sub(1)
            .map(|index| self.rates[index].percent)
    }

    pub fn rates(&self) -> &[EffectiveRate] {
        &self.rates
    }

    pub fn first_date(&self) -> NaiveDate {
        // `new` guarantees at least one rate; MIN is only a formality.
        self.rates.first().map_or(NaiveDate::MIN, |rate| rate.from)
    }
}

impl TryFrom<ScheduleRepr> for VatSchedule {
    type Error = VatError;

    fn try_from(value: ScheduleRepr) -> Result<Self, Self::Error> {
        VatSchedule::new(value.rates)
    }
}

impl From<VatSchedule> for ScheduleRepr {
    fn from(value: VatSchedule) -> Self {
        ScheduleRepr { rates: value.rates }
    }
}

/// The shop's VAT classes and their schedules. On the wire, an object keyed by class:
/// `{"food": {"rates": [...]}, "standard": {"rates": [...]}}`; a class listed twice or an
/// empty table is an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct VatTable {
    classes: BTreeMap<VatClassId, VatSchedule>,
}

impl VatTable {
    pub fn new(classes: BTreeMap<VatClassId, VatSchedule>) -> Result<VatTable, VatError> {
        if classes.is_empty() {
            return Err(VatError::EmptyTable);
        }
        Ok(VatTable { classes })
    }

    /// The rate of `class` on `date`: what a sale on that day is taxed at.
    pub fn rate_on(&self, class: &VatClassId, date: NaiveDate) -> Result<VatRate, VatError> {
        let schedule = self
            .classes
            .get(class)
            .ok_or_else(|| VatError::UnknownClass {
                class: class.clone(),
            })?;
        schedule.rate_on(date).ok_or_else(|| VatError::NoRateYet {
            class: class.clone(),
            date,
            first: schedule.first_date(),
        })
    }

    pub fn schedule(&self, class: &VatClassId) -> Option<&VatSchedule> {
        self.classes.get(class)
    }

    pub fn classes(&self) -> impl Iterator<Item = (&VatClassId, &VatSchedule)> {
        self.classes.iter()
    }
}

impl<'de> Deserialize<'de> for VatTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TableVisitor)
    }
}

struct TableVisitor;

impl<'de> Visitor<'de> for TableVisitor {
    type Value = VatTable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object mapping VAT classes to their schedules")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VatTable, A::Error> {
        let mut classes = BTreeMap::new();
        while let Some(class) = map.next_key::<VatClassId>()? {
            let schedule = map.next_value::<VatSchedule>()?;
            if classes.contains_key(&class) {
                return Err(serde::de::Error::custom(VatError::DuplicateClass { class }));
            }
            classes.insert(class, schedule);
        }
        VatTable::new(classes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rate(s: &str) -> VatRate {
        VatRate::parse(s).unwrap()
    }

    fn class(s: &str) -> VatClassId {
        VatClassId::parse(s).unwrap()
    }

    const SWEDEN: &str = r#"{
        "food": {"rates": [
            {"from": "1996-01-01", "percent": "12"},
            {"from": "2026-04-01", "percent": "6"},
            {"from": "2028-01-01", "percent": "12"}
        ]},
        "standard": {"rates": [{"from": "1990-07-01", "percent": "25"}]},
        "books": {"rates": [{"from": "2002-01-01", "percent": "6"}]}
    }"#;

    /// The temporary cut of Prop. 2025/26:55: food at 12 % until 2026-03-31, 6 % from
    /// 2026-04-01 to 2027-12-31, then 12 % again.
    #[test]
    fn swedish_food_rate_changes_on_the_right_days() {
        let table: VatTable = serde_json::from_str(SWEDEN).unwrap();
        let food = class("food");
        let on = |d: &str| table.rate_on(&food, date(d)).unwrap();
        assert_eq!(on("2026-03-31"), rate("12"));
        assert_eq!(on("2026-04-01"), rate("6"));
        assert_eq!(on("2027-12-31"), rate("6"));
        assert_eq!(on("2028-01-01"), rate("12"));
        assert_eq!(on("2040-06-15"), rate("12"));
        assert_eq!(
            table.rate_on(&class("standard"), date("2026-04-01")),
            Ok(rate("25"))
        );
        assert_eq!(table.classes().count(), 3);
    }

    #[test]
    fn lookups_name_what_is_missing() {
        let table: VatTable = serde_json::from_str(SWEDEN).unwrap();
        assert_eq!(
            table
                .rate_on(&class("alcohol"), date("2026-01-01"))
                .unwrap_err()
                .to_string(),
            "there is no VAT class 'alcohol'"
        );
        assert_eq!(
            table
                .rate_on(&class("food"), date("1995-12-31"))
                .unwrap_err()
                .to_string(),
            "VAT class 'food' has no rate on 1995-12-31: its first rate starts on 1996-01-01"
        );
        let schedule = table.schedule(&class("food")).unwrap();
        assert_eq!(schedule.rate_on(date("1995-12-31")), None);
        assert_eq!(schedule.rates().len(), 3);
    }

    #[test]
    fn schedule_json_is_validated() {
        let err = |json: &str| {
            serde_json::from_str::<VatSchedule>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"rates": []}"#).contains("a VAT schedule needs at least one rate"));
        assert!(err(r#"{"rates": [{"from": "2026-04-01", "percent": "6"}, {"from": "2026-04-01", "percent": "12"}]}"#)
            .contains("two VAT rates start on 2026-04-01"));
        assert!(err(r#"{"rates": [{"from": "2028-01-01", "percent": "12"}, {"from": "2026-04-01", "percent": "6"}]}"#)
            .contains("VAT rates must be listed oldest first, but 2026-04-01 comes after 2028-01-01"));
        assert!(
            err(r#"{"rates": [{"from": "2026-04-01", "percent": "6", "note": "x"}]}"#)
                .contains("unknown field")
        );
        assert!(err(r#"{"rates": [], "extra": 1}"#).contains("unknown field"));
        assert!(
            err(r#"{"rates": [{"from": "2026-02-30", "percent": "6"}]}"#)
                .contains("input is out of range")
        );
        assert!(
            err(r#"{"rates": [{"from": "2026-04-01", "percent": "106"}]}"#)
                .contains("out of range")
        );
        assert!(err(r#"{"rates": [{"from": "2026-04-01"}]}"#).contains("missing field `percent`"));
    }

    #[test]
    fn table_json_is_validated() {
        let err = |json: &str| {
            serde_json::from_str::<VatTable>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(err("{}").contains("the VAT table needs at least one VAT class"));
        let one = r#"{"rates": [{"from": "2020-01-01", "percent": "25"}]}"#;
        assert!(err(&format!(r#"{{"food": {one}, "food": {one}}}"#))
            .contains("VAT class 'food' is listed twice"));
        assert!(err(&format!(r#"{{"Food": {one}}}"#)).contains("it must be lowercase"));
        assert!(err("[]").contains("an object mapping VAT classes"));
    }

    #[test]
    fn schedule_and_table_round_trip_through_json() {
        let table: VatTable = serde_json::from_str(SWEDEN).unwrap();
        let json = serde_json::to_string(&table).unwrap();
        assert!(json.contains(r#""food":{"rates":[{"from":"1996-01-01","percent":"12"}"#));
        assert_eq!(serde_json::from_str::<VatTable>(&json).unwrap(), table);
    }

    #[test]
    fn constant_schedule_always_applies() {
        let schedule = VatSchedule::constant(rate("25"));
        assert_eq!(schedule.rate_on(NaiveDate::MIN), Some(rate("25")));
        assert_eq!(schedule.rate_on(date("2100-01-01")), Some(rate("25")));
        assert_eq!(VatTable::new(BTreeMap::new()), Err(VatError::EmptyTable));
    }
}
