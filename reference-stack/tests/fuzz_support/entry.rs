//! The sync stack's reading of one SearchResultEntry, as extraction reads every entry:
//! ldap3's BER parser, then `RawEntry::parse` and `Object::from_entry`. Shared by
//! `tests/fuzz_responses.rs` and the libFuzzer target `fuzz/fuzz_targets/entry.rs`.

use ldap3::asn1::parse_tag;
use reference_stack::extract::{Object, RawEntry};

/// Panics when reading `input` panics or refuses an entry without naming it; returns an
/// outcome label for the mutation loop.
pub fn entry(input: &[u8]) -> String {
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
