//! A broken till's unsent sales, taken off its SD card (`coop-pos till export-unsent`). The
//! till's store is one SQLite file in write-ahead-log mode: what the till had written is in
//! `till.sqlite` and `till.sqlite-wal` together. Both are copied aside and read there, so the
//! card is never written to and a store the till left mid-write is read as SQLite would after a
//! crash. The export holds the sales and clockings central has not acknowledged, sealed as the
//! till sealed them; central takes it with `coop-pos import-till-sales`, checking each record
//! against that till's chain and storing each sale once, however often it is imported.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Event;
use crate::journal::SaleRecord;
use crate::store::Store;

/// The export's format, for the reader to check.
pub const FORMAT: &str = "cooperage-till-unsent/1";

/// What a till had not handed to central.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsent {
    pub format: String,
    /// The till's id at coop-sso (central files the sales under it).
    pub till_id: String,
    pub exported_at: DateTime<Utc>,
    /// Oldest first, as the till numbered them.
    pub sales: Vec<SaleRecord>,
    pub clockings: Vec<Event>,
}

/// The store file a path names: the file itself, or the till's state directory holding it
/// (`/var/lib/cooperage-till` on the card).
fn store_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("till.sqlite")
    } else {
        path.to_owned()
    }
}

/// Reads the unsent sales and clockings of the store at `path` (left unchanged). `till`, when
/// given, must agree with the pairing the store holds; a till run from a token file kept none,
/// and then `till` is needed.
///
/// # Errors
/// No store there, a store that does not open, no till id, or one that disagrees with `till`.
pub async fn export_unsent(path: &Path, till: Option<&str>) -> anyhow::Result<Unsent> {
    let file = store_file(path);
    anyhow::ensure!(
        file.is_file(),
        "{} is not a till's store (till.sqlite, in the till's state directory)",
        file.display()
    );
    let aside = tempfile::tempdir().context("a folder to copy the store into")?;
    let copy = aside.path().join("till.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", file.display()));
        if from.exists() {
            std::fs::copy(&from, aside.path().join(format!("till.sqlite{suffix}")))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    let store = Store::open(&copy, 2)
        .await
        .with_context(|| format!("opening the copy of {}", file.display()))?;
    let paired = store
        .setting("pairing")
        .await?
        .and_then(|p| p["till_id"].as_str().map(str::to_owned));
    let till_id = match (paired, till) {
        (Some(p), Some(t)) if p != t => anyhow::bail!(
            "--till {t}: this store belongs to the till paired as {p}; leave --till out"
        ),
        (Some(p), _) => p,
        (None, Some(t)) if !t.trim().is_empty() => t.trim().to_owned(),
        (None, _) => anyhow::bail!(
            "this store keeps no pairing (the till ran from a token file): give the till's id with --till"
        ),
    };
    // Records are kept as the till sealed them (JSON, amounts as decimals), so the store's
    // currency does not matter for reading them.
    let sales = store.pending(i64::MAX).await?;
    let clockings = store.pending_clock(i64::MAX).await?;
    store.pool().close().await;
    Ok(Unsent {
        format: FORMAT.into(),
        till_id,
        exported_at: Utc::now(),
        sales,
        clockings,
    })
}
