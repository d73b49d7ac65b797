//! The agent method: Global Catalog lookups across a two-domain forest, and the payload
//! pushed over HTTPS to the cloud, refused when it is of another version, truncated or
//! tampered with.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::tls::CertProfile;
use reference_stack::account::Account;
use reference_stack::report::SyncMethod;
use reference_stack::settings::EncryptionMode;
use reference_stack::snapshot::DirectorySnapshot;
use reference_stack::transfer::{self, Ingest, Pusher, SiteBinding, TransferError};

fn members_of(snapshot: &DirectorySnapshot, name: &str) -> Vec<String> {
    let group = snapshot.groups.values().find(|g| g.name == name).unwrap();
    let mut addresses: Vec<String> = group
        .members
        .iter()
        .filter_map(|guid| snapshot.member_address(guid))
        .map(|a| a.normalized().to_owned())
        .collect();
    addresses.sort();
    addresses
}

#[tokio::test]
async fn the_agent_resolves_other_domains_through_the_global_catalog() {
    let dc = start(
        "two-domain-forest.yaml",
        &[DC1, EMEA_DC],
        CertProfile::CaSigned,
    )
    .await;
    let mut connector = connector(EncryptionMode::Strict);
    connector.secondary_host = None;

    let agent = sync(
        &env(&dc, SyncMethod::Agent),
        &connector,
        &settings(),
        &Account::default(),
    )
    .await;
    assert_ok(&agent);
    assert!(agent.stats.gc_lookups > 0, "{:?}", agent.stats);
    let snapshot = agent.snapshot.as_ref().unwrap();
    assert_eq!(
        members_of(snapshot, "Global Staff"),
        [
            "alice.archer@corp.example.test",
            "bob.baker@corp.example.test",
            "dieter.dorn@emea.corp.example.test",
            "eva.eklund@emea.corp.example.test",
            "francois.fabre@emea.corp.example.test",
        ]
    );
    assert!(agent
        .account
        .users
        .keys()
        .any(|a| a.normalized() == "eva.eklund@emea.corp.example.test"));

    // The directory connector has no Global Catalog: the other domain's members are
    // skipped with a warning, the run still applies.
    let connector_run = sync(
        &env(&dc, SyncMethod::DirectoryConnector),
        &connector,
        &settings(),
        &Account::default(),
    )
    .await;
    assert_ok(&connector_run);
    assert_eq!(connector_run.stats.gc_lookups, 0);
    assert_eq!(
        members_of(connector_run.snapshot.as_ref().unwrap(), "Global Staff"),
        [
            "alice.archer@corp.example.test",
            "bob.baker@corp.example.test"
        ]
    );
    assert!(
        connector_run
            .report
            .warnings
            .iter()
            .any(|w| w.contains("CN=Dieter Dorn") && w.contains("cannot be read")),
        "{}",
        connector_run.report
    );

    // The second agent run changes nothing.
    let again = sync(
        &env(&dc, SyncMethod::Agent),
        &connector,
        &settings(),
        &agent.account,
    )
    .await;
    assert_ok(&again);
    assert!(again.report.changes.is_empty(), "{}", again.report);
    dc.shutdown().await;
}

#[tokio::test]
async fn agent_syncs_of_one_environment_push_to_one_cloud_started_on_the_first() {
    let dc = start(
        "two-domain-forest.yaml",
        &[DC1, EMEA_DC],
        CertProfile::CaSigned,
    )
    .await;
    let mut connector = connector(EncryptionMode::Strict);
    connector.secondary_host = None;
    let env = env(&dc, SyncMethod::Agent);
    assert_eq!(env.cloud.addr(), None, "nothing is started before a push");

    let first = sync(&env, &connector, &settings(), &Account::default()).await;
    assert_ok(&first);
    let cloud = env
        .cloud
        .addr()
        .expect("the first agent sync starts the cloud");

    // A clone (as the reference engine hands out) and a sync with another site binding
    // reuse the same ingest; the new binding is accepted by it.
    let mut other_site = env.clone();
    other_site.site = SiteBinding::new("site-2", "another-secret");
    let second = sync(&other_site, &connector, &settings(), &first.account).await;
    assert_ok(&second);
    assert!(second.report.changes.is_empty(), "{}", second.report);
    assert_eq!(env.cloud.addr(), Some(cloud));
    assert_eq!(other_site.cloud.addr(), Some(cloud));
    dc.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_global_catalog_fails_the_agent_run() {
    let dc = start("two-domain-forest.yaml", &[DC1], CertProfile::CaSigned).await;
    let mut env = env(&dc, SyncMethod::Agent);
    env.gc_port = Some(3999); // not pinned: the lookup cannot reach it
    let mut connector = connector(EncryptionMode::Strict);
    connector.secondary_host = None;
    let account = Account::default();
    let outcome = sync(&env, &connector, &settings(), &account).await;
    assert_failed(&outcome, &account, "Global Catalog");
    dc.shutdown().await;
}

fn small_snapshot() -> DirectorySnapshot {
    serde_yaml::from_str(
        "users:\n  - { guid: 00000000-0000-0000-0000-000000000001, dn: 'CN=A,DC=x', primary: a@x.test }\n",
    )
    .unwrap()
}

/// The error and its causes, as a report shows them.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn the_cloud_refuses_payloads_of_another_version_truncated_or_tampered_with() {
    let site = SiteBinding::new("site-7", "binding-secret");
    let ingest = Ingest::start([site.clone()]).await.unwrap();
    let pusher = Pusher::new(ingest.addr(), ingest.ca_pem()).unwrap();
    let payload = transfer::encode(&site, &small_snapshot()).unwrap();

    let receipt = pusher.push("site-7", payload.clone()).await.unwrap();
    let (from, received) = ingest.take(receipt).unwrap();
    assert_eq!((from.as_str(), received), ("site-7", small_snapshot()));
    assert!(
        ingest.take(receipt).is_none(),
        "a snapshot is handed out once"
    );

    let mut other_version = payload.clone();
    other_version[5] = 9;
    let mut tampered = payload.clone();
    let last = tampered.len() - 3;
    tampered[last] ^= 1;
    let truncated = payload[..payload.len() - 10].to_vec();
    for (bytes, site_id, status, words) in [
        (other_version, "site-7", 400, "version 9 is not supported"),
        (truncated, "site-7", 400, "truncated"),
        (tampered, "site-7", 401, "authentication failed"),
        (payload.clone(), "site-8", 401, "not bound"),
        (payload.clone(), "site/7", 401, "'site/7' is not bound"),
    ] {
        match pusher.push(site_id, bytes).await {
            Err(TransferError::Refused { status: got, body }) => {
                assert_eq!(got, status, "{body}");
                assert!(body.contains(words), "{body}");
            }
            other => panic!("expected a refusal with {words:?}, got {other:?}"),
        }
    }
    assert_eq!(ingest.pending(), 0, "nothing refused is applied");

    // An agent trusting another CA does not send the payload at all.
    let other = Ingest::start([site.clone()]).await.unwrap();
    let untrusting = Pusher::new(ingest.addr(), other.ca_pem()).unwrap();
    let result = untrusting.push("site-7", payload.clone()).await;
    match &result {
        Err(error @ TransferError::Push { .. }) => {
            assert!(chain(error).contains("certificate"), "{}", chain(error));
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert_eq!(ingest.pending(), 0);
}
