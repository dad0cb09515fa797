#![no_main]
// The body is coop_fuzz::codes (crates/coop-fuzz/src/lib.rs), which says what it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coop_fuzz::codes(data));
