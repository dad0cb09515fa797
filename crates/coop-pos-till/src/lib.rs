//! The till of coop-pos: what a basket costs ([`pricing`]), how it is paid ([`tender`]), and the
//! append-only, hash-chained sales journal that central verifies ([`journal`]). These modules
//! are pure: the till's SQLite store and its UI build on them, and central uses the same types
//! to check what tills upload.

pub mod checkout;
pub mod journal;
pub mod pricing;
pub mod store;
pub mod sync;
pub mod tender;
