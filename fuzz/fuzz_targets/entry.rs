//! libFuzzer target: the same check as `fuzz_search_result_entries` in
//! harness/tests/fuzz_responses.rs.
#![no_main]

#[path = "../../harness/tests/fuzz_support/entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    entry::entry(data);
});
