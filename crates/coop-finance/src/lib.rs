//! coop-finance: the co-op's money in one place. This is its first part: the ledger core (a
//! chart of accounts, the Swedish BAS accounts by default; fiscal years with monthly periods
//! that can be closed; a double-entry journal whose entries always balance and are never
//! changed, only reversed) and the member wallet's core (holds, captures, releases, confirmed
//! top-ups). Claims and their confirmation, the wallet API, postings from the other services'
//! feeds, reports, SIE export and the web service around them are still to come (see
//! docs/finance.md).

pub mod bank;
pub mod ledger;
pub mod reference;
pub mod sie;
pub mod topup;
pub mod wallet;

use std::sync::LazyLock;

use sqlx::migrate::Migrator;

/// coop-finance's migrations, after the kit's (the feed tables).
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));
