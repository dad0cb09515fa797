#![no_main]
// The body is coop_fuzz::scale (crates/coop-fuzz/src/lib.rs), which says what it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coop_fuzz::scale(data));
