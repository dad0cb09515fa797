//! coop-buyers-club: pooled orders from suppliers, as a co-op's buyers club runs them each week
//! (`../shared/seeds/plenty-buyers-club.md`). Any member keeps the suppliers and their products
//! and starts an order from one supplier; the members add purchases while it is open, each
//! covered by a hold on their wallet at coop-finance; the supplier's cases are filled from the
//! members' tolerances; after delivery the manager asks for changes that the members approve;
//! the completed order is published on this service's feed, from which coop-finance charges
//! each member and books the sale.
//!
//! This crate is being built in stages (issue 13): the rules, the data and the wallet holds are
//! here; the web pages, the service's binary and its NixOS module come next.

pub mod domain;
pub mod store;
pub mod wallet;

use std::sync::LazyLock;

use sqlx::migrate::Migrator;

/// The buyers club's migrations, after the kit's (the feed tables).
pub static MIGRATOR: LazyLock<Migrator> =
    LazyLock::new(|| coop_web::db::with_kit_migrations(sqlx::migrate!("./migrations")));
