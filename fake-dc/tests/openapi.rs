//! docs/control-api.openapi.json is the OpenAPI document the code derives: this test
//! regenerates it and fails when the committed file differs. Set
//! FAKE_DC_UPDATE_OPENAPI=1 to rewrite the file after changing the API on purpose.

#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/control-api.openapi.json");
    let generated = fake_dc::control::openapi_document();
    if std::env::var_os("FAKE_DC_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from the document the code derives; if the API changed on purpose, \
         rerun with FAKE_DC_UPDATE_OPENAPI=1 and commit the file",
        path.display()
    );
    // It is a document a client generator accepts: every route is in it.
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for route in [
        "/changes",
        "/hosts/{host}/faults",
        "/snapshots/{name}/restore",
        "/stats",
    ] {
        assert!(doc["paths"][route].is_object(), "{route} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
}
