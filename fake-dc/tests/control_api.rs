//! `fake-dc serve --ready-json` as a child process, driven through its control API and
//! observed through an LDAP client, the way a test suite in another language uses it.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod serve_support;

use ldap3::{LdapConnAsync, Scope};
use serde_json::json;
use serve_support::{fixture, serve, Served};

const DC1: &str = "dc1.corp.example.test";
const DC2: &str = "dc2.corp.example.test";
const BASE: &str = "DC=corp,DC=example,DC=test";
const SVC: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";
const NEW: &str = "CN=Zoe Zed,CN=Users,DC=corp,DC=example,DC=test";

/// Binds as the sync account on `host`'s plain LDAP port.
async fn connect(served: &Served, host: &str) -> ldap3::Ldap {
    let url = format!("ldap://{}", served.addr(host, "ldap"));
    let (conn, mut ldap) = LdapConnAsync::new(&url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(SVC, "Sync-Secret-1")
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap
}

/// The result code of looking `dn` up on `host`, and how many entries came back.
async fn lookup(served: &Served, host: &str, filter: &str) -> (u32, usize) {
    let mut ldap = connect(served, host).await;
    let r = ldap
        .search(BASE, Scope::Subtree, filter, vec!["cn"])
        .await
        .unwrap();
    let n = r.0.len();
    let rc = r.1.rc;
    let _ = ldap.unbind().await;
    (rc, n)
}

#[tokio::test]
async fn a_child_serves_every_host_and_obeys_changes_faults_and_snapshots() {
    let served = serve(&fixture("small-org.yaml"), &[]);
    // Both DCs of the domain are served, each on its own free ports.
    assert_ne!(served.addr(DC1, "ldap"), served.addr(DC2, "ldap"));
    let pem = served.ready["ca"]["pem"].as_str().unwrap();
    let path = served.ready["ca"]["path"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(path).unwrap(), pem);

    let (status, snap) = served.call("POST", "/snapshots", Some(json!({"name": "clean"})));
    assert_eq!(status, 201, "{snap}");

    let (status, body) = served.call(
        "POST",
        "/changes",
        Some(json!({"changes": [
            {"add-user": {"parent": "CN=Users,DC=corp,DC=example,DC=test", "cn": "Zoe Zed",
                          "mail": "zoe@corp.example.test"}},
            {"add-member": {"group": "CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test",
                            "member": NEW}},
        ]})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], 2);
    assert_eq!(lookup(&served, DC1, "(cn=Zoe Zed)").await, (0, 1));
    assert_eq!(lookup(&served, DC2, "(cn=Zoe Zed)").await, (0, 1));

    // A fault on dc1 leaves dc2 alone.
    let (status, faults) = served.call(
        "POST",
        &format!("/hosts/{DC1}/faults"),
        Some(json!({"busy": true})),
    );
    assert_eq!((status, &faults["busy"]), (200, &json!(true)), "{faults}");
    let url = format!("ldap://{}", served.addr(DC1, "ldap"));
    let (conn, mut ldap) = LdapConnAsync::new(&url).await.unwrap();
    ldap3::drive!(conn);
    let bind = ldap.simple_bind(SVC, "Sync-Secret-1").await.unwrap();
    assert_eq!(bind.rc, 51, "dc1 should answer busy");
    assert_eq!(lookup(&served, DC2, "(cn=Zoe Zed)").await, (0, 1));
    let (status, _) = served.call("DELETE", &format!("/hosts/{DC1}/faults"), None);
    assert_eq!(status, 200);
    assert_eq!(lookup(&served, DC1, "(cn=Zoe Zed)").await, (0, 1));

    // The statistics saw the busy bind and the good ones.
    let (_, stats) = served.call("GET", &format!("/hosts/{DC1}/stats"), None);
    assert_eq!(stats["binds-other"], 1, "{stats}");
    assert!(stats["binds-success"].as_u64().unwrap() >= 2, "{stats}");

    let (status, restored) = served.call("POST", "/snapshots/clean/restore", None);
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["highest-usn"], snap["highest-usn"]);
    assert_eq!(lookup(&served, DC1, "(cn=Zoe Zed)").await, (0, 0));
    // The snapshot stays, and a restore also undoes what it restored over.
    let (status, _) = served.call("POST", "/snapshots/clean/restore", None);
    assert_eq!(status, 200);
}

#[tokio::test]
async fn requests_without_the_right_token_get_401() {
    let served = serve(&fixture("minimal.yaml"), &[]);
    for auth in [
        None,
        Some("Bearer wrong".to_string()),
        Some(format!("Bearer {}x", served.token())),
        Some(format!("Basic {}", served.token())),
    ] {
        let (status, body) = served.call_as(auth.as_deref(), "GET", "/hosts");
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(body["field"], "Authorization");
        let (status, _) = served.call_as(auth.as_deref(), "POST", "/snapshots/x/restore");
        assert_eq!(status, 401);
    }
    let right = format!("Bearer {}", served.token());
    let (status, hosts) = served.call_as(Some(&right), "GET", "/hosts");
    assert_eq!(status, 200);
    assert_eq!(hosts.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_bad_batch_names_the_field_and_applies_nothing() {
    let served = serve(&fixture("small-org.yaml"), &[]);
    let (_, before) = served.call("GET", "/changes?since=0", None);
    let usn = before["highest-usn"].as_u64().unwrap();

    // Well-formed, but the second change's parent does not exist: 422, nothing applied.
    let (status, body) = served.call(
        "POST",
        "/changes",
        Some(json!({"changes": [
            {"add-user": {"parent": "CN=Users,DC=corp,DC=example,DC=test", "cn": "Zoe Zed"}},
            {"add-user": {"parent": "OU=Nowhere,DC=corp,DC=example,DC=test", "cn": "Yan"}},
        ]})),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "changes[1].add-user.parent");
    // Malformed: an unknown field, a DN that does not parse.
    let (status, body) = served.call(
        "POST",
        "/changes",
        Some(json!({"changes": [{"modify": {"dn": BASE, "replce": {}}}]})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "changes[0].modify.replce");
    let (status, body) = served.call(
        "POST",
        "/changes",
        Some(json!({"changes": [{"delete": "CN=Zoe Zed"}, {"disable": "not a dn"}]})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "changes[1].disable");
    let (status, body) = served.call("GET", "/changes?since=x", None);
    assert_eq!((status, body["field"].as_str()), (400, Some("since")));
    let (status, body) = served.call(
        "POST",
        &format!("/hosts/{DC1}/faults"),
        Some(json!({"drop-on-page": 0})),
    );
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("drop-on-page"))
    );
    let (status, body) = served.call("PUT", "/snapshots", None);
    assert_eq!((status, body["field"].as_str()), (405, Some("method")));
    let (status, body) = served.call("POST", "/hosts/nohost/faults", Some(json!({"busy": true})));
    assert_eq!((status, body["field"].as_str()), (404, Some("host")));

    let (_, after) = served.call("GET", &format!("/changes?since={usn}"), None);
    assert_eq!(after["highest-usn"].as_u64(), Some(usn), "{after}");
    assert_eq!(after["entries"], json!([]));
    assert_eq!(lookup(&served, DC1, "(cn=Zoe Zed)").await, (0, 0));
    let (_, faults) = served.call("GET", &format!("/hosts/{DC1}/faults"), None);
    assert_eq!(faults["busy"], false);
}

#[test]
fn closing_stdin_stops_the_server() {
    let mut served = serve(&fixture("minimal.yaml"), &[]);
    drop(served.stdin.take());
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still running 10 s after stdin closed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let ca = served.ready["ca"]["path"].as_str().unwrap();
    assert!(
        !std::path::Path::new(ca).exists(),
        "the temporary CA file is left behind"
    );
}

#[tokio::test]
async fn the_clock_moves_and_changes_since_a_usn_are_listed() {
    let served = serve(&fixture("minimal.yaml"), &["--fixed-time", "1700000000"]);
    let (_, clock) = served.call("POST", "/clock", Some(json!({"advance": "2h"})));
    assert_eq!(clock["now"], 1_700_007_200, "{clock}");
    let (status, body) = served.call("POST", "/clock", Some(json!({"advance": "2h", "set": 5})));
    assert_eq!((status, body["field"].as_str()), (400, Some("body")));
    // Past AD's last representable time: refused, the clock unmoved.
    let (status, body) = served.call("POST", "/clock", Some(json!({"set": i64::MAX})));
    assert_eq!((status, body["field"].as_str()), (400, Some("set")));
    let (status, body) = served.call("POST", "/clock", Some(json!({"advance": "100000years"})));
    assert_eq!((status, body["field"].as_str()), (400, Some("advance")));
    let (_, clock) = served.call("GET", "/clock", None);
    assert_eq!(clock["now"], 1_700_007_200, "{clock}");
    let (_, before) = served.call("GET", "/changes?since=0", None);
    let usn = before["highest-usn"].as_u64().unwrap();
    let user = "CN=Ann Lee,CN=Users,DC=corp,DC=example,DC=test";
    let (status, body) = served.call(
        "POST",
        "/changes",
        Some(json!({"changes": [
            {"add-user": {"parent": "CN=Users,DC=corp,DC=example,DC=test", "cn": "Ann Lee"}},
            {"disable": user},
        ]})),
    );
    assert_eq!(status, 200, "{body}");
    let (_, since) = served.call("GET", &format!("/changes?since={usn}"), None);
    let entries = since["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{since}");
    assert_eq!(entries[0]["dn"], user);
    assert!(entries[0]["usn-created"].as_u64().unwrap() > usn);
}

#[tokio::test]
async fn statistics_count_binds_pages_ranged_reads_and_controls_per_host() {
    use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
    let served = serve(&fixture("small-org.yaml"), &[]);
    let mut ldap = connect(&served, DC1).await;
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(500)),
    ];
    let mut stream = ldap
        .streaming_search_with(
            adapters,
            BASE,
            Scope::Subtree,
            "(objectClass=user)",
            vec!["cn"],
        )
        .await
        .unwrap();
    let mut users = 0;
    while stream.next().await.unwrap().is_some() {
        users += 1;
    }
    assert_eq!(stream.finish().await.rc, 0);
    let r = ldap
        .search(
            BASE,
            Scope::Subtree,
            "(objectClass=group)",
            vec!["member;range=0-*"],
        )
        .await
        .unwrap();
    assert_eq!(r.1.rc, 0);
    let bad = ldap.simple_bind(SVC, "wrong").await.unwrap();
    assert_eq!(bad.rc, 49);

    let (_, stats) = served.call("GET", "/stats", None);
    let dc1 = &stats["hosts"][DC1];
    assert_eq!(dc1["binds-success"], 1, "{stats}");
    assert_eq!(dc1["binds-invalid-credentials"], 1, "{stats}");
    let pages = dc1["pages"].as_u64().unwrap();
    assert_eq!(pages, (users as u64).div_ceil(500), "{stats}");
    assert_eq!(dc1["searches"].as_u64(), Some(pages + 1), "{stats}");
    assert_eq!(dc1["ranged-reads"], 1, "{stats}");
    assert_eq!(
        dc1["controls"]["1.2.840.113556.1.4.319"].as_u64(),
        Some(pages)
    );
    // dc2 saw nothing; a reset zeroes everything.
    assert_eq!(stats["hosts"][DC2]["searches"], 0, "{stats}");
    let (status, _) = served.call("DELETE", "/stats", None);
    assert_eq!(status, 204);
    let (_, stats) = served.call("GET", &format!("/hosts/{DC1}/stats"), None);
    assert_eq!(stats["searches"], 0, "{stats}");
    assert_eq!(stats["controls"], serde_json::json!({}), "{stats}");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let served = serve(&fixture("minimal.yaml"), &[]);
    let pid = served.ready["pid"].as_u64().unwrap();
    assert_eq!(u64::from(served.child.id()), pid);
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut served = served;
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still running"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(served.stderr.lock().unwrap().contains("Terminate"));
}
