//! The invariants ARCHITECTURE.md states about how the crates depend on one another,
//! checked over `cargo metadata` and the sources, so the map cannot drift from the code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace's packages as `cargo metadata` describes them.
fn packages() -> Vec<Value> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"].as_array().unwrap().clone()
}

/// The workspace crates `package` depends on, by kind: `None` for normal dependencies
/// (optional ones marked with a trailing `?`), `Some("dev")` for dev-dependencies.
fn workspace_deps(packages: &[Value], package: &str, kind: Option<&str>) -> BTreeSet<String> {
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let package = packages
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("no package {package}"));
    package["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].as_str() == kind)
        .filter_map(|d| {
            let name = d["name"].as_str()?;
            let optional = d["optional"].as_bool().unwrap_or(false);
            names
                .contains(name)
                .then(|| format!("{name}{}", if optional { "?" } else { "" }))
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_contract_depends_on_no_workspace_crate() {
    let packages = packages();
    assert_eq!(workspace_deps(&packages, "engine-contract", None), set(&[]));
}

#[test]
fn the_reference_stack_knows_the_contract_and_only_its_test_kit_knows_fake_dc() {
    let packages = packages();
    assert_eq!(
        workspace_deps(&packages, "reference-stack", None),
        set(&["engine-contract", "fake-dc?"])
    );
}

#[test]
fn the_runner_depends_on_the_contract_fake_dc_and_the_stack_only_to_register_it() {
    let packages = packages();
    assert_eq!(
        workspace_deps(&packages, "harness", None),
        set(&["engine-contract", "fake-dc", "reference-stack"])
    );
    // The stack is named in one place, for one thing: its adapter, the default engine.
    let mut uses = Vec::new();
    for file in rust_files(&root().join("harness/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("reference_stack") && !line.trim_start().starts_with("//") {
                uses.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert_eq!(uses.len(), 1, "{uses:#?}");
    assert!(
        uses[0].contains("harness/src/lib.rs")
            && uses[0].contains("reference_stack::reference::{ReferenceEngine, REFERENCE_ENGINE}"),
        "{uses:#?}"
    );
}

#[test]
fn fake_dc_knows_nothing_of_the_sync_side() {
    let packages = packages();
    assert_eq!(workspace_deps(&packages, "fake-dc", None), set(&[]));
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut long = Vec::new();
    for krate in [
        "engine-contract",
        "reference-stack",
        "harness",
        "fake-dc",
        "test-peers",
    ] {
        for file in rust_files(&root().join(krate).join("src")) {
            // Unit tests in files of their own are test code, not source.
            let is_test = file.file_name().is_some_and(|n| n == "tests.rs")
                || file.components().any(|c| c.as_os_str() == "tests");
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if !is_test && lines > 600 {
                long.push(format!("{}: {lines} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "over 600 lines: {long:#?}");
}
