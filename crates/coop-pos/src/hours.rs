//! Hours from the time clock: each worker's clockings in time order, paired in → out into
//! stretches of work. A stretch counts in the period its start falls in. An "in" with no "out"
//! after it is open (still at work, or a forgotten clock-out), an "out" with no "in" before it
//! is a stray; both are shown for a manager to correct, and neither counts as hours.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

/// A clocking that counts (not voided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clocking {
    pub event_id: Uuid,
    pub inward: bool,
    pub at: DateTime<Utc>,
}

/// A stretch of work, or a clocking that could not be paired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stretch {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Hours to two decimals; zero when open or stray.
    pub hours: Decimal,
}

impl Stretch {
    pub fn is_complete(&self) -> bool {
        self.start.is_some() && self.end.is_some()
    }

    /// When it belongs: its start, or a stray's end.
    pub fn when(&self) -> Option<DateTime<Utc>> {
        self.start.or(self.end)
    }
}

/// Hours between two times, to two decimals (half up).
pub fn hours_between(start: DateTime<Utc>, end: DateTime<Utc>) -> Decimal {
    let secs = (end - start).num_seconds().max(0);
    (Decimal::from(secs) / Decimal::from(3600))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// One worker's clockings, sorted by time, as stretches in time order.
pub fn stretches(clockings: &[Clocking]) -> Vec<Stretch> {
    let mut out = Vec::new();
    let mut open: Option<DateTime<Utc>> = None;
    for c in clockings {
        match (c.inward, open) {
            (true, None) => open = Some(c.at),
            // In twice: the first was never closed.
            (true, Some(start)) => {
                out.push(Stretch {
                    start: Some(start),
                    end: None,
                    hours: Decimal::ZERO,
                });
                open = Some(c.at);
            }
            (false, Some(start)) => {
                out.push(Stretch {
                    start: Some(start),
                    end: Some(c.at),
                    hours: hours_between(start, c.at),
                });
                open = None;
            }
            (false, None) => out.push(Stretch {
                start: None,
                end: Some(c.at),
                hours: Decimal::ZERO,
            }),
        }
    }
    if let Some(start) = open {
        out.push(Stretch {
            start: Some(start),
            end: None,
            hours: Decimal::ZERO,
        });
    }
    out
}

/// Stores a till's clockings, each once by its id; answers the ids central holds of them now
/// (stored now or before). Another till's event of the same id is not this till's.
///
/// # Errors
/// The database's.
pub async fn store_clockings(
    db: &sqlx::PgPool,
    till: &str,
    events: &[coop_pos_till::clock::Event],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let subs: Vec<String> = events.iter().map(|e| e.sub.clone()).collect();
    let kinds: Vec<String> = events.iter().map(|e| e.kind.as_str().to_owned()).collect();
    let ats: Vec<DateTime<Utc>> = events.iter().map(|e| e.at).collect();
    sqlx::query_scalar!(
        r#"with seen as (
               insert into till (till_id) values ($1)
               on conflict (till_id) do update set last_seen_at = now()
           ), ins as (
               insert into clock_event (event_id, sub, kind, at, till_id)
               select e.id, e.sub, e.kind, e.at, $1
               from unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) as e(id, sub, kind, at)
               on conflict (event_id) do nothing
               returning event_id
           )
           select event_id as "event_id!" from ins
           union
           select event_id from clock_event where event_id = any($2) and till_id = $1"#,
        till,
        &ids,
        &subs,
        &kinds,
        &ats
    )
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-30T{h:02}:{m:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn c(inward: bool, h: u32, m: u32) -> Clocking {
        Clocking {
            event_id: Uuid::new_v4(),
            inward,
            at: at(h, m),
        }
    }

    #[test]
    fn ins_and_outs_pair_into_hours_and_the_rest_is_shown_not_counted() {
        let s = stretches(&[
            c(true, 8, 0),
            c(false, 12, 20),
            c(false, 12, 25), // a stray out
            c(true, 13, 0),
            c(true, 14, 0), // in again: the 13:00 was never closed
            c(false, 16, 40),
            c(true, 18, 0), // still in
        ]);
        let hours: Vec<Decimal> = s.iter().map(|x| x.hours).collect();
        assert_eq!(
            hours,
            vec![dec!(4.33), dec!(0), dec!(0), dec!(2.67), dec!(0)]
        );
        assert_eq!(s.iter().filter(|x| x.is_complete()).count(), 2);
        assert_eq!(s[1].start, None);
        assert_eq!(s[4].end, None);
    }

    #[test]
    fn hours_round_half_up_to_the_hundredth() {
        // 18 seconds is 0.005 hours.
        let start = at(8, 0);
        assert_eq!(
            hours_between(start, start + chrono::Duration::seconds(18)),
            dec!(0.01)
        );
        assert_eq!(
            hours_between(start, start - chrono::Duration::hours(1)),
            dec!(0)
        );
    }
}
