//! `harness preview` and the `preview` step against the reference engine: the change list
//! of a sync that is not applied, and what max unlink would do, through the contract's
//! dry run; the account stays as it was.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A customer's settings: the root domain of the two-domain forest, max unlink 3, and a
/// cloud account holding four directory-generated users whose objects no longer exist.
fn settings(max_unlink: usize) -> String {
    let mut account = String::from("account:\n  users:\n");
    for n in 1..=4 {
        account.push_str(&format!(
            "    - {{ address: gone{n}@corp.example.test, origin: {{ directory-generated: 00000000-0000-0000-0000-00000000000{n} }} }}\n"
        ));
    }
    format!(
        "connector:\n  primary-host: dc1.corp.example.test\n  encryption: strict\n  port: 636\n  \
         bind-dn: \"CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test\"\n  \
         password: \"Sync-Secret-1\"\n  root-dn: \"DC=corp,DC=example,DC=test\"\n\
         settings:\n  region: europe\n  domains: [corp.example.test]\n  max-unlink: {max_unlink}\n{account}"
    )
}

fn preview(tag: &str, settings_text: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("harness-preview-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("settings.yaml");
    std::fs::write(&file, settings_text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("preview")
        .arg("--fixture")
        .arg(repo().join("fixtures/two-domain-forest.yaml"))
        .arg("--settings")
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_preview_lists_the_changes_and_applies_none() {
    let (code, out) = preview("changes", &settings(10));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("dry run: nothing applied"), "{out}");
    // Alice, Bob and Carol would be added; the four gone users unlinked.
    assert!(out.contains("users: 3 added"), "{out}");
    assert!(out.contains("4 unlinked"), "{out}");
    assert!(out.contains("alice.archer@corp.example.test"), "{out}");
    // The account after the preview is the one given: the gone users still linked, no
    // Alice.
    let after = out
        .split("== cloud account after the last step")
        .nth(1)
        .unwrap();
    assert!(after.contains("gone1@corp.example.test"), "{after}");
    assert!(!after.contains("alice.archer"), "{after}");
}

#[test]
fn a_preview_shows_what_max_unlink_would_do() {
    let (code, out) = preview("unlink", &settings(3));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("stopped: this run would unlink or remove 4 directory-generated users, more than max unlink (3)"),
        "{out}"
    );
    assert!(out.contains("what max unlink (3) holds back"), "{out}");
    let held = out.split("holds back").nth(1).unwrap();
    assert!(held.contains("4 unlinked"), "{held}");
    assert!(held.contains("gone3@corp.example.test"), "{held}");
}

#[test]
fn bad_settings_are_refused_with_their_place() {
    let (code, out) = preview(
        "bad",
        "connector:\n  primary-host: x\nsettings: {}\nbogus: 1\n",
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("settings.yaml:"), "{out}");
}

#[test]
fn a_preview_step_feeds_expectations_and_keeps_the_account() {
    let text = format!(
        "description: a preview step\ndirectory:\n  fixture: {}\n{}steps:\n  - preview\n  - expect:\n      last-sync: {{ outcome: applied }}\n      users:\n        gone1@corp.example.test: {{ origin: directory-generated }}\n",
        repo().join("fixtures/two-domain-forest.yaml").display(),
        settings(10),
    );
    let loaded = harness::scenario::LoadedScenario::parse(Path::new("preview.yaml"), text).unwrap();
    let engine = harness::ReferenceEngine::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let output = runtime
        .block_on(harness::scenario::run(&loaded, &engine))
        .unwrap();
    assert!(
        output.failures.is_empty(),
        "{:?}\n{}",
        output.failures,
        output.transcript
    );
    assert!(
        output.transcript.contains("preview a sync (dry run)"),
        "{}",
        output.transcript
    );
}
