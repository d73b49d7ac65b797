//! libFuzzer target: the same check as `fuzz_search_result_entries` in
//! reference-stack/tests/fuzz_responses.rs.
#![no_main]

#[path = "../../reference-stack/tests/fuzz_support/entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entry::entry(data);
});
