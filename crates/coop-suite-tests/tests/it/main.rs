//! Tests across services, in one binary.

mod finance_ims;
