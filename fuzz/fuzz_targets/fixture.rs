//! libFuzzer target: the same check as `fuzz_fixture_loader` in fake-dc/tests/fuzz.rs.
#![no_main]

#[path = "../../fake-dc/tests/fuzz_support/mod.rs"]
mod fuzz_support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_support::checks::fixture(data);
});
