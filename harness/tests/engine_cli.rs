//! `harness run --engine …`: the scenario suite against the Python engine
//! (engines/python/engine.py), and against a deliberately broken copy of it, through the
//! real command line.

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

/// The result column of a scenario's row in the table.
/// The reference Python engine under the tests' venv interpreter, with extra arguments.
fn python_engine(extra: &str) -> String {
    format!(
        "{} engines/python/engine.py{extra}",
        test_peers::python_word()
    )
}

fn verdict<'a>(table: &'a str, scenario: &str) -> &'a str {
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(scenario))
        .unwrap_or_else(|| panic!("no row for {scenario} in\n{table}"));
    let rest = row[scenario.len()..].trim_start();
    if rest.starts_with("not claimed") {
        "not claimed"
    } else {
        rest.split_whitespace().next().unwrap()
    }
}

/// The failure lines printed under a failed scenario's heading.
fn failures<'a>(text: &'a str, scenario: &str) -> Vec<&'a str> {
    let heading = format!("--- {scenario} (");
    text.lines()
        .skip_while(|l| !l.starts_with(&heading))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

/// The Python engine passes the scenarios it claims; the rest are reported as not
/// claimed, and the run succeeds.
///
/// A cross-section, not the whole suite: the Python engine decodes LDAP in pure Python,
/// and the 54 scenarios it claims take about 100 s on two cores, beyond this suite's
/// time budget. `harness run --engine 'python3 engines/python/engine.py' scenarios/`
/// runs them all.
#[test]
fn the_python_engine_passes_what_it_claims() {
    let scenarios = [
        "full-sync-small-org",
        "ranged-retrieval-over-1500-members",
        "paging-over-1000-entries",
        "nested-groups-with-cycle",
        "manual-user-converted-to-directory-generated",
        "max-unlink-stops-a-mass-removal",
        "read-scope-limits-what-is-synced",
        "tls-strict-ca-signed",
        "tls-strict-wrong-host",
        "tls-strict-ca-not-trusted",
        "tls-relaxed-self-signed",
        "tls-none-plain-ldap",
        "bind-locked-out",
        "failover-when-primary-down",
        "no-failover-on-bad-certificate",
        "busy-dc-fails-cleanly",
        "sign-in-pass-through-outcomes",
        "two-domain-forest-through-global-catalog",
        "address-conflict-reported-rest-applied",
        "sync-contacts-on",
        "large-100k-users",
    ]
    .map(|s| format!("scenarios/{s}.yaml"));
    let engine = python_engine("");
    let mut args = vec!["run", "--engine", &engine, "--jobs", "2"];
    args.extend(scenarios.iter().map(String::as_str));
    let (output, text) = harness(&args);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("engine: python-ldap3"), "{text}");
    for scenario in [
        "full-sync-small-org",
        "ranged-retrieval-over-1500-members",
        "paging-over-1000-entries",
        "nested-groups-with-cycle",
        "tls-strict-wrong-host",
        "tls-relaxed-self-signed",
        "tls-none-plain-ldap",
        "failover-when-primary-down",
        "sign-in-pass-through-outcomes",
        "manual-user-converted-to-directory-generated",
    ] {
        assert_eq!(verdict(&text, scenario), "passed", "{scenario}\n{text}");
    }
    for scenario in [
        "two-domain-forest-through-global-catalog",
        "address-conflict-reported-rest-applied",
        "sync-contacts-on",
        "large-100k-users",
    ] {
        assert_eq!(
            verdict(&text, scenario),
            "not claimed",
            "{scenario}\n{text}"
        );
    }
    assert!(
        text.contains("17 passed, 0 failed, 0 changed snapshot, 4 not claimed"),
        "{text}"
    );
}

/// A copy that ignores ranged retrieval fails exactly the scenarios whose groups need it,
/// with a message saying what is missing; the run fails.
#[test]
fn a_broken_engine_fails_the_right_scenarios() {
    let engine = python_engine(" --break ranged-retrieval");
    let (output, text) = harness(&[
        "run",
        "--engine",
        &engine,
        "--engine-name",
        "python-broken",
        "scenarios/ranged-retrieval-over-1500-members.yaml",
        "scenarios/full-sync-small-org.yaml",
        "scenarios/tls-strict-ca-signed.yaml",
        "scenarios/two-domain-forest-through-global-catalog.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("engine: python-broken"), "{text}");
    assert_eq!(
        verdict(&text, "ranged-retrieval-over-1500-members"),
        "FAILED",
        "{text}"
    );
    assert!(
        text.contains("group All Contractors: expected 1600 members, found 1500"),
        "{text}"
    );
    // The small organisation holds the same 1,600-member groups; its expectations count
    // every group's members, so the 100 dropped from each are seen there too.
    assert_eq!(verdict(&text, "full-sync-small-org"), "FAILED", "{text}");
    assert_eq!(
        failures(&text, "full-sync-small-org"),
        [
            "step 2: group All Contractors: expected 1600 members, found 1500",
            "step 2: group Contractors Group 0: expected 1600 members, found 1500",
        ],
        "{text}"
    );
    assert_eq!(verdict(&text, "tls-strict-ca-signed"), "passed", "{text}");
    assert_eq!(
        verdict(&text, "two-domain-forest-through-global-catalog"),
        "not claimed",
        "{text}"
    );
    assert!(
        text.contains("1 passed, 2 failed, 0 changed snapshot, 1 not claimed"),
        "{text}"
    );
}

/// An engine that cannot say hello stops the run before any scenario, saying why.
#[test]
fn an_engine_without_hello_stops_the_run() {
    let not_an_engine = format!("{} -c 'print(42)'", test_peers::python_word());
    let (output, text) = harness(&[
        "run",
        "--engine",
        &not_an_engine,
        "scenarios/tls-strict-ca-signed.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("error: the engine must answer `hello`")
            && text.contains("broke the contract: hello:"),
        "{text}"
    );
    let (output, text) = harness(&["run", "--engine", "python3 'unclosed", "scenarios/"]);
    assert!(!output.status.success());
    assert!(text.contains("a quote is not closed"), "{text}");
    let engine = python_engine("");
    let (output, text) = harness(&["run", "--accept", "--engine", &engine, "scenarios/"]);
    assert!(!output.status.success());
    assert!(text.contains("cannot be combined with --engine"), "{text}");
}
