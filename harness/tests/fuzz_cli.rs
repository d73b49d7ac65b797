//! `harness fuzz` through the real command line: the Python engine passes the properties
//! it claims, and copies of it with a bug planted are each caught, shrunk to a scenario
//! of a handful of objects, and that scenario fails against the broken copy and passes
//! against the real engine under `harness run`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn harness(args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

fn engine(script: &Path) -> String {
    format!("{} {}", test_peers::python_word(), script.display())
}

/// A temporary folder of this test's own, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("harness-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Small cases, so a run and its shrinking take seconds with a Python engine.
const SMALL: [&str; 8] = [
    "--max-users",
    "3",
    "--max-groups",
    "2",
    "--max-steps",
    "3",
    "--jobs",
    "2",
];

#[test]
fn the_python_engine_passes_the_properties_it_claims() {
    let out = scratch("python");
    let real = root().join("engines/python/engine.py");
    let (output, text) = harness(
        &[
            &[
                "fuzz",
                "--engine",
                &engine(&real),
                "--cases",
                "6",
                "--seed",
                "11",
            ][..],
            &SMALL,
            &["--out", &out.display().to_string()],
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(0), "{text}");
    // Every property the engine claims was checked on every case.
    for property in [
        "convergence",
        "identity-by-guid",
        "membership-closure",
        "max-unlink",
    ] {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(property))
            .unwrap_or_else(|| panic!("no row for {property} in\n{text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[1..], ["6", "0"], "{text}");
    }
    assert!(std::fs::read_dir(&out).unwrap().next().is_none(), "{text}");
}

/// A copy of the Python engine with `from` replaced by `to`, in `dir`.
fn planted(dir: &Path, from: &str, to: &str) -> PathBuf {
    let source = std::fs::read_to_string(root().join("engines/python/engine.py")).unwrap();
    assert_eq!(
        source.matches(from).count(),
        1,
        "the code to break is not there once: {from}"
    );
    let broken = source.replace(from, to);
    let path = dir.join("engine.py");
    std::fs::write(&path, broken).unwrap();
    path
}

/// Directory users (not the service account), groups, contacts, dynamic lists and
/// seeded cloud users of a written scenario.
fn objects(scenario: &serde_yaml::Value) -> usize {
    let mut n = 0;
    for domain in scenario["directory"]["inline"]["domains"]
        .as_sequence()
        .unwrap()
    {
        for ou in domain["ous"].as_sequence().unwrap() {
            for kind in ["users", "groups", "contacts", "dynamicLists"] {
                n += ou[kind].as_sequence().map_or(0, |s| {
                    s.iter()
                        .filter(|o| o["cn"].as_str() != Some("Sync Service"))
                        .count()
                });
            }
        }
    }
    n + scenario["account"]["users"]
        .as_sequence()
        .map_or(0, Vec::len)
}

/// Fuzzes the broken copy for `property`; checks the shrunk scenario it writes.
fn caught(name: &str, property: &str, from: &str, to: &str) {
    let dir = scratch(name);
    let broken = planted(&dir, from, to);
    let out = dir.join("found");
    let (output, text) = harness(
        &[
            &["fuzz", "--engine", &engine(&broken), "--property", property][..],
            &["--cases", "80", "--seed", "5", "--shrink-steps", "80"],
            &SMALL,
            &["--out", &out.display().to_string()],
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("seed: 5"), "{text}");
    let files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{text}");
    let file = &files[0];
    let written = std::fs::read_to_string(file).unwrap();
    let scenario: serde_yaml::Value = serde_yaml::from_str(&written).unwrap();
    assert!(written.contains(property), "{written}");
    let count = objects(&scenario);
    assert!(count <= 5, "{count} objects is not a handful:\n{written}");

    let file = file.display().to_string();
    let (output, text) = harness(&["run", "--engine", &engine(&broken), &file]);
    assert_eq!(output.status.code(), Some(1), "{text}\n{written}");
    let real = root().join("engines/python/engine.py");
    let (output, text) = harness(&["run", "--engine", &engine(&real), &file]);
    assert_eq!(output.status.code(), Some(0), "{text}\n{written}");
}

#[test]
fn an_engine_keying_objects_by_dn_is_caught_by_identity() {
    caught(
        "identity",
        "identity-by-guid",
        "        guid = str(uuid.UUID(bytes_le=raw_guid))\n        dn = entry[\"dn\"]\n",
        "        dn = entry[\"dn\"]\n        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, dn.lower()))\n",
    );
}

#[test]
fn an_engine_ignoring_membership_removals_is_caught_by_the_closure() {
    caught(
        "removals",
        "membership-closure",
        "\"members\": sorted(dg[\"members\"], key=key)}",
        "\"members\": sorted(set(dg[\"members\"]) | set((groups_before.get(guid) or {})\
         .get(\"members\", [])), key=key)}",
    );
}

#[test]
fn an_engine_applying_a_partial_extraction_is_caught_by_failed_run() {
    caught(
        "partial",
        "failed-run-keeps-account",
        "        except LDAPException as error:\n            raise SyncFailure(f\"extraction \
         from {host} did not complete: {error}\", host)\n        result = conn.result or {}",
        "        except LDAPException:\n            return entries\n        result = \
         conn.result or {}",
    );
}
