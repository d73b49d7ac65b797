//! The committed JSON Schema of the engine contract stays what the Rust types generate.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use engine_contract::message as contract;

/// `HARNESS_UPDATE_SCHEMA=1 cargo test -p harness --test engine_contract` rewrites the
/// file after a deliberate change to a message type; review the diff like any other.
#[test]
fn committed_schema_matches_the_types() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/engine-contract.schema.json");
    let generated = contract::schema_text();
    if std::env::var_os("HARNESS_UPDATE_SCHEMA").is_some() {
        std::fs::write(&file, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the message types; regenerate it with \
         HARNESS_UPDATE_SCHEMA=1 cargo test -p harness --test engine_contract, then review \
         the diff",
        file.display()
    );
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = contract::schema();
    jsonschema::draft202012::meta::validate(&schema).unwrap();
    for def in [
        contract::defs::REQUEST,
        contract::defs::HELLO_ANSWER,
        contract::defs::SYNC_ANSWER,
        contract::defs::SIGN_IN_ANSWER,
    ] {
        assert!(schema["$defs"].get(def).is_some(), "no $defs/{def}");
    }
}

/// Every message of real runs, both ways, is valid against the committed schema: a
/// recording wrapper sits between the runner and the Python engine and keeps each
/// request and answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_of_a_real_run_matches_the_schema() {
    use harness::subprocess::SubprocessEngine;
    use harness::suite::{self, SnapshotMode, Verdict};

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let folder = std::env::temp_dir().join(format!("harness-contract-{}", std::process::id()));
    std::fs::remove_dir_all(&folder).ok();
    let command = vec![
        test_peers::python().display().to_string(),
        root.join("harness/tests/support/record.py")
            .display()
            .to_string(),
        folder.display().to_string(),
        test_peers::python().display().to_string(),
        root.join("engines/python/engine.py").display().to_string(),
    ];
    let mut engine =
        SubprocessEngine::new("recorded", command, std::time::Duration::from_secs(60)).unwrap();
    engine.hello().await.unwrap();
    // A connector sync with a starting account, failed syncs (TLS, bind), and sign-ins.
    for name in [
        "manual-user-converted-to-directory-generated",
        "tls-strict-self-signed",
        "bind-wrong-password",
        "sign-in-pass-through-outcomes",
    ] {
        let file = root.join(format!("scenarios/{name}.yaml"));
        let result = suite::run_one(&file, &engine, SnapshotMode::Ignore).await;
        assert!(
            matches!(result.verdict, Verdict::Passed),
            "{name}: {}",
            suite::detail(&result.verdict)
        );
    }

    let validator = |def: &str| jsonschema::validator_for(&contract::schema_of(def)).unwrap();
    let request = validator(contract::defs::REQUEST);
    let answers = [
        ("hello", validator(contract::defs::HELLO_ANSWER)),
        ("sync", validator(contract::defs::SYNC_ANSWER)),
        ("sign-in", validator(contract::defs::SIGN_IN_ANSWER)),
    ];
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let message: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let (kind, side) = name[6..].split_once('.').unwrap();
        let validator = if side.starts_with("request") {
            &request
        } else {
            &answers.iter().find(|(k, _)| *k == kind).unwrap().1
        };
        let errors: Vec<String> = validator
            .iter_errors(&message)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        *seen.entry(format!("{kind} {side}")).or_default() += 1;
    }
    for what in [
        "hello request.json",
        "hello answer.json",
        "sync request.json",
        "sync answer.json",
        "sign-in request.json",
        "sign-in answer.json",
    ] {
        assert!(
            seen.get(what).is_some_and(|n| *n > 0),
            "no {what}: {seen:?}"
        );
    }
    std::fs::remove_dir_all(&folder).ok();
}
