//! Shared by the capture and import tests: two directories compared entry by entry,
//! attribute by attribute, identities included.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use fake_dc::directory::{Directory, Scope};
use fake_dc::fixture::{self, LoadOptions};

/// DN key → attribute (lower case) → values.
pub type Picture = BTreeMap<String, BTreeMap<String, BTreeSet<Vec<u8>>>>;

/// The fixture file under `fixtures/`, loaded with the clock pinned.
pub fn shipped(name: &str) -> Directory {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    fixture::load_file(
        &path,
        LoadOptions {
            fixed_time: Some(1_795_300_000),
        },
    )
    .unwrap()
}

/// Every live entry of the domain naming contexts with every attribute a `*` search
/// returns (objectGUID and objectSid among them), or only the Global Catalog's partial
/// attribute set.
pub fn picture(dir: &Directory, gc_only: bool) -> Picture {
    let mut out = Picture::new();
    for d in &dir.domains {
        for id in dir.scope(d.head, Scope::Subtree) {
            if dir.entry(id).deleted {
                continue;
            }
            let mut attrs = BTreeMap::new();
            for name in dir.attribute_names(id) {
                let in_gc = fake_dc::schema::attribute(&name).is_some_and(|a| a.in_gc);
                if gc_only && !in_gc {
                    continue;
                }
                let values: BTreeSet<Vec<u8>> = dir.values(id, &name).iter().cloned().collect();
                attrs.insert(name.to_ascii_lowercase(), values);
            }
            out.insert(dir.dn_key(id), attrs);
        }
    }
    out
}

/// Fails with the first differences, readable.
pub fn assert_same(expected: &Picture, actual: &Picture, what: &str) {
    let mut diffs = Vec::new();
    for (dn, attrs) in expected {
        match actual.get(dn) {
            None => diffs.push(format!("missing entry {dn}")),
            Some(got) => {
                for (name, values) in attrs {
                    let other = got.get(name);
                    if other != Some(values) {
                        diffs.push(format!(
                            "{dn}: {name}: expected {:?}, got {:?}",
                            show(values),
                            other.map(show)
                        ));
                    }
                }
                for name in got.keys().filter(|n| !attrs.contains_key(*n)) {
                    diffs.push(format!(
                        "{dn}: {name}: not expected, got {:?}",
                        show(&got[name])
                    ));
                }
            }
        }
    }
    for dn in actual.keys().filter(|d| !expected.contains_key(*d)) {
        diffs.push(format!("unexpected entry {dn}"));
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differences, the first:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn show(values: &BTreeSet<Vec<u8>>) -> Vec<String> {
    values
        .iter()
        .take(5)
        .map(|v| match std::str::from_utf8(v) {
            Ok(t) => t.to_string(),
            Err(_) => format!("{v:02x?}"),
        })
        .collect()
}

/// Loads fixture text as `fake-dc serve` would (no pinned clock: identities and times
/// must come from the file).
pub fn load(yaml: &str) -> Directory {
    fixture::load_str(yaml, "reproduced.yaml", LoadOptions::default()).unwrap_or_else(|e| {
        panic!(
            "the reproduced fixture does not load:\n{e}\n---\n{}",
            &yaml[..yaml.len().min(4000)]
        )
    })
}
