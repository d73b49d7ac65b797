//! Every scenario in `scenarios/` parses, and a broken one is reported with its place.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use harness::scenario::{LoadedScenario, ScenarioError};
use harness::suite::discover;

#[test]
fn every_scenario_parses() {
    let files = discover(&[PathBuf::from("../scenarios")], None).unwrap();
    assert!(files.len() >= 40, "{} scenarios", files.len());
    for f in files {
        LoadedScenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_broken_scenario_names_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("harness-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.yaml");
    std::fs::write(&file, "description: x\ndirectory: { fixture: f.yaml }\nconnector: { primary-host: dc1, encryption: strict, port: 636, bind-dn: CN=a, password: p, root-dn: DC=a }\nsettings: { region: europe }\nsteps:\n  - sync\n  - teleport: now\n").unwrap();
    let err = LoadedScenario::load(&file).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ScenarioError::Invalid { .. }), "{text}");
    assert!(
        text.starts_with(&format!("{}:7:5: ", file.display())),
        "{text}"
    );
    // Settings are checked whole; their errors point at the section and name each field.
    let bad = dir.join("bad-settings.yaml");
    std::fs::write(&bad, "description: x\ndirectory: { fixture: f.yaml }\nconnector:\n  primary-host: dc1\n  encryption: strict\n  port: 0\n  bind-dn: CN=a\n  password: \"\"\n  root-dn: corp.example.test\nsettings: { region: europe }\nsteps: [sync]\n").unwrap();
    let text = LoadedScenario::load(&bad).unwrap_err().to_string();
    assert!(
        text.starts_with(&format!("{}:3:1: ", bad.display())),
        "{text}"
    );
    for field in [
        "port: 0",
        "password: must not be empty",
        "root DN: 'corp.example.test' is not a distinguished name",
    ] {
        assert!(text.contains(field), "{text} lacks {field}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A check that cannot fail is refused when the file is loaded, at its line: an empty
/// `excludes`, a group entry without a field, and a scenario that expects nothing.
#[test]
fn checks_that_check_nothing_are_refused() {
    let dir = std::env::temp_dir().join(format!("harness-scenario-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = "description: x\ndirectory: { fixture: f.yaml }\nconnector: { primary-host: dc1, encryption: strict, port: 636, bind-dn: CN=a, password: p, root-dn: DC=a }\nsettings: { region: europe }\nsteps:\n  - sync\n";
    let load = |name: &str, steps: &str| {
        let file = dir.join(name);
        std::fs::write(&file, format!("{head}{steps}")).unwrap();
        (file.display().to_string(), LoadedScenario::load(&file))
    };
    let (file, result) = load(
        "empty-excludes.yaml",
        "  - expect:\n      groups:\n        Team: { includes: [a@corp.example.test], excludes: [] }\n        Other: {}\n",
    );
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{file}:9:")), "{text}");
    assert!(
        text.contains("steps[1].expect.groups.Other: group Other without a field checks nothing")
            && text.contains(
                "steps[1].expect.groups.Team.excludes: an empty `excludes` checks nothing"
            ),
        "{text}"
    );
    let (file, result) = load("nothing.yaml", "  - advance-clock: 1d\n");
    let text = result.unwrap_err().to_string();
    assert!(text.starts_with(&format!("{file}:5:1: ")), "{text}");
    assert!(text.contains("no expectation"), "{text}");
    let (_, result) = load("empty-expect.yaml", "  - expect: {}\n");
    let text = result.unwrap_err().to_string();
    assert!(text.contains("an empty `expect` checks nothing"), "{text}");
    // Exact forms may be empty: they say "none".
    let (_, result) = load(
        "exact-empty.yaml",
        "  - expect:\n      users:\n        a@corp.example.test: { aliases: [] }\n      groups:\n        Team: { members: [] }\n",
    );
    result.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
