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
