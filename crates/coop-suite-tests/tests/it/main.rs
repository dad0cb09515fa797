//! Tests across services, in one binary.

mod buyers_club;
mod finance_ims;
mod pos_finance_ims;
mod till_central;
mod till_pairing;
mod till_wallet;
