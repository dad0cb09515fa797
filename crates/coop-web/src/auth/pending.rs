//! Sign-ins on their way through coop-sso, kept in the (encrypted) session cookie until the
//! provider sends the browser back.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::return_to::ReturnTo;
use crate::session::Session;

/// A sign-in not finished within this time is forgotten.
const PENDING_TTL: Duration = Duration::minutes(10);
/// Sign-ins started in parallel (several tabs) that are remembered; the oldest goes first.
const MAX_PENDING: usize = 3;
/// Clock skew tolerated on a sign-in's start time.
const SKEW: Duration = Duration::seconds(60);
const PENDING_KEY: &str = "auth.pending";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: ReturnTo,
    pub started_at: DateTime<Utc>,
}

fn live(session: &Session, now: DateTime<Utc>) -> Vec<PendingLogin> {
    let mut all: Vec<PendingLogin> = session.get(PENDING_KEY).unwrap_or_default();
    all.retain(|p| now - p.started_at < PENDING_TTL && p.started_at <= now + SKEW);
    all
}

/// Remembers a sign-in, dropping expired ones and the oldest beyond [`MAX_PENDING`].
pub(crate) fn remember(session: &Session, pending: PendingLogin, now: DateTime<Utc>) {
    let mut all = live(session, now);
    all.push(pending);
    let excess = all.len().saturating_sub(MAX_PENDING);
    all.drain(..excess);
    session.insert(PENDING_KEY, &all);
}

/// Removes and returns the pending sign-in with this `state`; each can be completed once.
pub(crate) fn take(session: &Session, state: &str, now: DateTime<Utc>) -> Option<PendingLogin> {
    let mut all = live(session, now);
    let found = all.iter().position(|p| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            p.state.as_bytes(),
            state.as_bytes(),
        ))
    })?;
    let pending = all.remove(found);
    if all.is_empty() {
        session.remove(PENDING_KEY);
    } else {
        session.insert(PENDING_KEY, &all);
    }
    Some(pending)
}
