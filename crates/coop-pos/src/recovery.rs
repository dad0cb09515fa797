//! `coop-pos import-till-sales`: central takes the sales a broken till never uploaded, from the
//! export `coop-pos till export-unsent` made of its SD card. Each sale goes through the same
//! ingest as a live upload, under the till's own id: checked against the till's chain at
//! central (so a gap or a changed record is refused, and flagged on the tills page), stored once
//! (a second import, or the old till coming back, finds them there), and published to coop-ims
//! and coop-finance like any other sale.

use serde::Serialize;
use sqlx::PgPool;

use coop_pos_till::recovery::{Unsent, FORMAT};

use crate::ingest::{self, Pending, Refused, MAX_BATCH};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub till_id: String,
    /// Sales stored now.
    pub accepted: usize,
    /// Sales central had already (from the till itself, or an earlier import).
    pub duplicates: usize,
    /// Clockings central holds of the export's, now.
    pub clockings: usize,
    /// The first sale refused, and why; the sales after it were not taken.
    pub refused: Option<Refused>,
}

/// Reads an export (`coop-pos till export-unsent`).
///
/// # Errors
/// Not an export of this format, or one naming no till.
pub fn parse(text: &str) -> anyhow::Result<Unsent> {
    let unsent: Unsent = serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("not an export of a till's unsent sales: {e}"))?;
    anyhow::ensure!(
        unsent.format == FORMAT,
        "this export is `{}`; this coop-pos reads `{FORMAT}`",
        unsent.format
    );
    let id = unsent.till_id.trim();
    anyhow::ensure!(
        !id.is_empty() && id.len() <= 200 && id == unsent.till_id,
        "the export names no till"
    );
    // A till keeps far fewer unsent sales than this; the limits are an upload's, scaled.
    anyhow::ensure!(
        unsent.sales.len() <= MAX_SALES && unsent.clockings.len() <= MAX_CLOCKINGS,
        "the export holds more than {MAX_SALES} sales or {MAX_CLOCKINGS} clockings: not a till's"
    );
    if let Some(bad) = unsent
        .clockings
        .iter()
        .find(|c| c.sub.trim().is_empty() || c.sub.len() > 200)
    {
        anyhow::bail!(
            "clocking {} names no worker: not a till's clocking",
            bad.event_id
        );
    }
    Ok(unsent)
}

/// The most sales an export may hold (a till offline for weeks keeps a few thousand).
pub const MAX_SALES: usize = 1_000_000;
/// The most clockings an export may hold.
pub const MAX_CLOCKINGS: usize = 100_000;

/// Why an import took nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Central never heard from this till. Every till fetches its settings from central before
    /// its first sale, so a till that sold is known; an unknown id is a mistake or a forgery.
    #[error("central has never heard from till {0}: check the till's id (coop-sso unpair-till lists the paired tills)")]
    UnknownTill(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Takes an export's sales (in batches, in order) and clockings, for a till central knows.
///
/// # Errors
/// An unknown till; the database's.
pub async fn import(
    db: &PgPool,
    unsent: &Unsent,
    currency: &str,
    vat: Option<&coop_domain::vat::VatTable>,
    location: Option<&str>,
) -> Result<Imported, ImportError> {
    let till = unsent.till_id.as_str();
    let known: bool = sqlx::query_scalar("select exists (select 1 from till where till_id = $1)")
        .bind(till)
        .fetch_one(db)
        .await?;
    if !known {
        return Err(ImportError::UnknownTill(till.to_owned()));
    }
    let mut done = Imported {
        till_id: till.to_owned(),
        ..Imported::default()
    };
    let mut left = unsent.sales.as_slice();
    while !left.is_empty() {
        let batch = &left[..left.len().min(MAX_BATCH)];
        let pending = Pending {
            count: i32::try_from(left.len()).unwrap_or(i32::MAX),
            since: left.first().map(|r| r.completed_at),
        };
        let out = ingest::ingest(db, till, batch, pending, currency, vat, location).await?;
        done.accepted += out.accepted;
        done.duplicates += out.duplicates;
        if out.refused.is_some() {
            done.refused = out.refused;
            break;
        }
        left = &left[batch.len()..];
    }
    for chunk in unsent.clockings.chunks(500) {
        done.clockings += crate::hours::store_clockings(db, till, chunk).await?.len();
    }
    Ok(done)
}
