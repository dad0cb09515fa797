//! The till of coop-pos (`coop-pos till`): what a basket costs ([`pricing`]), how it is paid
//! ([`tender`]), and the append-only, hash-chained sales journal that central verifies
//! ([`journal`]), all pure and shared with central; then the till's SQLite store ([`store`]),
//! the checkout over it ([`checkout`]), its UI ([`web`]), and its sync with the server
//! ([`sync`], [`run`]), and the member wallet online through central ([`wallet`]).

pub mod checkout;
pub mod clock;
pub mod demo;
pub mod devices;
pub mod journal;
pub mod pairing;
pub mod pin;
pub mod pricing;
pub mod recovery;
pub mod returns;
pub mod run;
pub mod shift;
pub mod store;
pub mod sync;
pub mod tender;
pub mod terminal;
pub mod wallet;
pub mod web;
