//! Mutation fuzzing of the sync stack's reading of server responses: a SearchResultEntry
//! as BER (`harness/fuzz-corpus/entry/`), read the way extraction reads every entry:
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

use harness::extract::{Object, RawEntry};
use ldap3::asn1::parse_tag;

fn entry(input: &[u8]) -> String {
    let Ok((_, tag)) = parse_tag(input) else {
        return "ber-refused".into();
    };
    let raw = match RawEntry::parse(tag) {
        Ok(raw) => raw,
        Err(reason) => {
            assert!(!reason.is_empty(), "an entry refused without a reason");
            return "entry-refused".into();
        }
    };
    let dn = raw.dn.clone();
    let attrs = raw.attrs.len().min(4);
    match Object::from_entry(raw, &["department".to_string()]) {
        Ok(object) => format!("{:?}:{attrs}:{}", object.kind, object.members.len().min(3)),
        Err(reason) => {
            assert!(
                reason.contains(&dn),
                "the refusal of '{dn}' does not name it: {reason}"
            );
            format!("object-refused:{attrs}")
        }
    }
}

#[test]
fn fuzz_search_result_entries() {
    driver::fuzz("entry", 1 << 16, mutate::session, &entry);
}
