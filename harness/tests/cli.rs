//! `harness run` end to end: a passing suite exits 0 with a summary and JUnit XML; a
//! deliberately wrong expectation, and a changed snapshot, each make it fail, naming the
//! scenario and showing the difference.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private copy of one scenario, its snapshot and its fixture.
struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    fn new(tag: &str, scenario: &str) -> Sandbox {
        let root = std::env::temp_dir().join(format!("harness-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::create_dir_all(root.join("scenarios/snapshots")).unwrap();
        std::fs::create_dir_all(root.join("fixtures")).unwrap();
        std::fs::copy(
            repo.join("fixtures/minimal.yaml"),
            root.join("fixtures/minimal.yaml"),
        )
        .unwrap();
        std::fs::copy(
            repo.join(format!("scenarios/{scenario}.yaml")),
            root.join(format!("scenarios/{scenario}.yaml")),
        )
        .unwrap();
        std::fs::copy(
            repo.join(format!("scenarios/snapshots/{scenario}.snap")),
            root.join(format!("scenarios/snapshots/{scenario}.snap")),
        )
        .unwrap();
        Sandbox { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let p = self.path(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    }

    fn run(&self, extra: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .arg("run")
            .arg(self.path("scenarios"))
            .args(extra)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const SCENARIO: &str = "tls-strict-ca-signed";

#[test]
fn a_passing_suite_exits_zero_with_a_summary_and_junit() {
    let sb = Sandbox::new("pass", SCENARIO);
    let junit = sb.path("junit.xml");
    let (ok, out) = sb.run(&["--junit", junit.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("{SCENARIO}  passed")), "{out}");
    assert!(
        out.contains("1 passed, 0 failed, 0 changed snapshot, 0 not claimed"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(&format!("name=\"{SCENARIO}\""))
            && xml.contains("tests=\"1\"")
            && xml.contains("failures=\"0\""),
        "{xml}"
    );
}

#[test]
fn a_wrong_expectation_fails_naming_the_scenario_and_the_difference() {
    let sb = Sandbox::new("expect", SCENARIO);
    sb.edit(
        &format!("scenarios/{SCENARIO}.yaml"),
        "totals: { users: 3 }",
        "totals: { users: 4 }",
    );
    let junit = sb.path("junit.xml");
    let (ok, out) = sb.run(&["--junit", junit.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("{SCENARIO}  FAILED")), "{out}");
    assert!(out.contains("expected 4 users, found 3"), "{out}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("failures=\"1\"") && xml.contains("expected 4 users, found 3"),
        "{xml}"
    );
}

#[test]
fn a_changed_snapshot_fails_with_a_diff() {
    let sb = Sandbox::new("snap", SCENARIO);
    sb.edit(
        &format!("scenarios/snapshots/{SCENARIO}.snap"),
        "tls: verified",
        "tls: relaxed",
    );
    let (ok, out) = sb.run(&[]);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("{SCENARIO}  CHANGED")), "{out}");
    assert!(
        out.contains("-tls: relaxed") && out.contains("+tls: verified"),
        "{out}"
    );
    assert!(sb
        .path(&format!("scenarios/snapshots/{SCENARIO}.snap.new"))
        .exists());
    // Accepting writes the transcript back and the suite passes again.
    let (ok, out) = sb.run(&["--accept"]);
    assert!(ok, "{out}");
    let (ok, out) = sb.run(&[]);
    assert!(ok, "{out}");
}

#[test]
fn filter_selects_by_name_and_an_empty_selection_is_an_error() {
    let sb = Sandbox::new("filter", SCENARIO);
    let (ok, out) = sb.run(&["--filter", "no-such-scenario"]);
    assert!(!ok);
    assert!(out.contains("no scenario files found"), "{out}");
}

#[test]
fn zero_jobs_is_refused_by_name() {
    let sb = Sandbox::new("jobs", SCENARIO);
    let (ok, out) = sb.run(&["--jobs", "0"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("--jobs") && out.contains("must be at least 1"),
        "{out}"
    );
}
