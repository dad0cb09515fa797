//! Tests across the suite's services (`tests/it`); this crate has no code of its own.
