//! The committed JSON Schema of the engine contract stays what the Rust types generate.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use harness::contract;

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
