//! Mutation fuzzing of the sync stack's reading of server responses: a SearchResultEntry
//! as BER (`reference-stack/fuzz-corpus/entry/`), read the way extraction reads every entry:
//! ldap3's BER parser, then `RawEntry::parse` and `Object::from_entry`. None of them may
//! panic on anything a DC sends; a refusal must be an error naming the entry. Same
//! driver as fake-dc's targets (fake-dc/tests/fuzz.rs, docs/fuzzing.md): `FUZZ_SECS`
//! seconds (default 10) after replaying the corpus.

// Test code: a failed expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The driver, mutators and BER tree of fake-dc's fuzz support, at the crate root where
// they find each other as `super::`; its checks need fake-dc's own dependencies, so only
// these three files are shared.
#[allow(dead_code)]
#[path = "../../fake-dc/tests/fuzz_support/ber.rs"]
mod ber;
#[allow(dead_code)]
#[path = "../../fake-dc/tests/fuzz_support/driver.rs"]
mod driver;
#[allow(dead_code)]
#[path = "../../fake-dc/tests/fuzz_support/mutate.rs"]
mod mutate;

#[path = "fuzz_support/entry.rs"]
mod entry;

#[test]
fn fuzz_search_result_entries() {
    driver::fuzz("entry", 1 << 16, mutate::session, &entry::entry);
}
