//! coop-buyers-club against a real coop-finance (its wallet API over HTTP, in-process) and a
//! real PostgreSQL: the order's whole flow, every rule of the spec's validation section, and
//! the wallet holds.

mod common;
mod flow;
mod rules;
mod wallet;
