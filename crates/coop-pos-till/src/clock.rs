//! The time clock at the till: a worker or volunteer with a till PIN clocks in when they start
//! and out when they stop, here and not from home. Each event is written durably, uploaded to
//! central with the sales, and never changed at the till; a manager corrects mistakes at
//! central, where the hours report is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{Store, StoreError};

/// In or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    In,
    Out,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::In => "in",
            Kind::Out => "out",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "in" => Some(Kind::In),
            "out" => Some(Kind::Out),
            _ => None,
        }
    }
}

/// One clocking, as the till keeps it and central receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: Uuid,
    /// The worker's member id.
    pub sub: String,
    pub kind: Kind,
    pub at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("already clocked in since {0}")]
    AlreadyIn(DateTime<Utc>),
    #[error("not clocked in")]
    NotIn,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Clocks `sub` in or out at `at`: in only when out, out only when in.
pub async fn clock(
    store: &Store,
    sub: &str,
    kind: Kind,
    at: DateTime<Utc>,
) -> Result<Event, ClockError> {
    let last = store.last_clock(sub).await?;
    match (kind, &last) {
        (Kind::In, Some(e)) if e.kind == Kind::In => return Err(ClockError::AlreadyIn(e.at)),
        (Kind::Out, None) => return Err(ClockError::NotIn),
        (Kind::Out, Some(e)) if e.kind == Kind::Out => return Err(ClockError::NotIn),
        _ => {}
    }
    let event = Event {
        event_id: Uuid::new_v4(),
        sub: sub.to_owned(),
        kind,
        at,
    };
    store.add_clock(&event).await?;
    Ok(event)
}
