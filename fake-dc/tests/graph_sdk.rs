//! Microsoft's Graph SDK for Python (msgraph-sdk with azure-identity, pinned in
//! scripts/requirements-test.txt) against `fake-dc serve` on fixtures/azure-tenant.yaml:
//! refused secrets, every user across nextLink pages with their immutable IDs, `$filter`
//! with `$count`, transitive members, a delta round trip around a change made through
//! the control API, and throttling waited out by the SDK's retry handler. The script is
//! `tests/graph_sdk/sdk_client.py`; what it must find comes from the fixture, read here
//! through the directory (not through fake-dc's Graph code).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod serve_support;

use std::collections::BTreeMap;
use std::process::Command;

use fake_dc::directory::Scope;
use fake_dc::fixture::{load_file, LoadOptions};
use serde_json::{json, Value};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the tenant must hold: every ordinary user of the forest by UPN with its
/// objectGUID, and the fixture's two cloud users.
fn expectations() -> Value {
    let path = serve_support::fixture("azure-tenant.yaml");
    let dir = load_file(&path, LoadOptions::default()).expect("the fixture loads");
    let filter = "(&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE)))"
        .parse()
        .expect("filter");
    let mut guids = BTreeMap::new();
    for id in dir.search(dir.domains[0].head, Scope::Subtree, &filter, false) {
        let e = dir.entry(id);
        let upn = e.get_str("userPrincipalName").expect("upn").to_lowercase();
        guids.insert(upn, hex(&e.guid.0));
    }
    let cloud = [
        "frank.cloud@hybridexample.onmicrosoft.com",
        "gina.cloud@hybridexample.onmicrosoft.com",
    ];
    let mut upns: Vec<String> = guids.keys().cloned().collect();
    upns.extend(cloud.iter().map(|s| s.to_string()));
    json!({
        "app_id": "0e2c3f5a-7b44-4a0c-8d1e-52b7c9f1a6d3",
        "secret": "graph-secret-1",
        "upns": upns,
        "guids": guids,
        "cloud_upns": cloud,
        "changed_dn": "CN=Bob Baker,OU=Staff,DC=hybrid,DC=example,DC=test",
        "deleted_dn": "CN=Erin Eriksen,OU=Staff,DC=hybrid,DC=example,DC=test",
    })
}

#[test]
fn msgraph_sdk_lists_pages_and_runs_a_delta_round_trip_against_fake_dc() {
    let expect = expectations();
    assert_eq!(expect["upns"].as_array().map(Vec::len), Some(32));
    let served = serve_support::serve(&serve_support::fixture("azure-tenant.yaml"), &[]);
    let ready = &served.ready;
    assert!(
        ready["graph"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://127.0.0.1:") && u.ends_with("/v1.0")),
        "{ready}"
    );
    let ca = ready["ca"]["path"].as_str().expect("ca path");
    let python = test_peers::python();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graph_sdk/sdk_client.py");
    let output = Command::new(&python)
        .arg(&script)
        .env("FAKE_DC_READY", ready.to_string())
        .env("EXPECT", expect.to_string())
        .env("SSL_CERT_FILE", ca)
        .env("REQUESTS_CA_BUNDLE", ca)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; {}",
                python.display(),
                test_peers::SETUP_HINT
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the SDK script failed ({}):\n{stdout}\n{stderr}\nfake-dc: {}",
        output.status,
        served.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    );
    let found: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(found["users"], 32, "{found}");
    assert_eq!(found["pages"], 5, "{found}");
    assert_eq!(
        found["refused"],
        json!(["AADSTS7000215", "AADSTS7000222", "AADSTS7000215"])
    );
    assert_eq!(found["delta_changed"], json!(["bob.b@hybrid.example.test"]));
    assert_eq!(found["delta_removed"], json!([{"reason": "changed"}]));
}
