//! The Azure AD method's full read of fixtures/large-100k.yaml through an in-process
//! fake Microsoft Graph: every user and every group with its members, paged through
//! nextLinks at 999 a page, then transform and apply; then a delta run after 1,000
//! users changed.
//!
//! `cargo bench -p reference-stack --bench graph`. The fixture has no tenant of its own,
//! so one is declared here (as a fixture's `azureAd:` section would), with every user
//! and group of the forest synchronized.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use engine_contract::azure_ad::{AzureAdSettings, GraphEndpoint};
use fake_dc::directory::{ModOp, Modification};
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::graph::{AzureAdSpec, GraphServer};
use fake_dc::schema::ObjectKind;
use fake_dc::server::{FakeDc, HostConfig};
use reference_stack::account::Account;
use reference_stack::graph::{self, AzureAdEnvironment, AzureAdOutcome};
use reference_stack::settings::{AccountSettings, Region};

const TENANT: &str = "6a1f0e54-3c1b-4b8e-9d2a-0f5e1c7b9a31";
const APP: &str = "0e2c3f5a-7b44-4a0c-8d1e-52b7c9f1a6d3";

fn print_run(label: &str, outcome: &AzureAdOutcome, total: Duration) {
    let s = &outcome.sync.stats;
    println!(
        "{label}: total {total:.2?} = sign-in {:.2?} + read {:.2?} + transform {:.2?} + apply {:.2?}",
        s.connect, s.extract, s.transform, s.apply
    );
    println!(
        "  {} objects in {} pages ({} graph requests, {} retried); {} users, {} groups added, {} changes; {}",
        s.entries,
        s.pages,
        outcome.graph.requests,
        outcome.graph.retries,
        outcome.sync.report.counts.users_added,
        outcome.sync.report.counts.groups_added,
        outcome.sync.report.changes.len(),
        outcome
            .sync
            .report
            .errors
            .first()
            .map_or("no errors".to_owned(), Clone::clone)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/large-100k.yaml");
    let mut directory = fixture::load_file(&path, LoadOptions::default())
        .with_context(|| format!("loading {}", path.display()))?;
    let spec: AzureAdSpec = serde_yaml::from_str(&format!(
        "{{ tenantId: {TENANT}, applications: [{{ appId: {APP}, secrets: [{{ value: s3cret }}] }}] }}"
    ))?;
    let tenant = fake_dc::graph::tenant::resolve(&spec, &directory, 0)
        .map_err(|p| anyhow::anyhow!("tenant: {p:?}"))?;
    directory.azure_ad = Some(tenant);
    let dc = FakeDc::builder(directory)
        .host("dc1.corp.example.test", HostConfig::loopback())
        .start()
        .await?;
    let server = GraphServer::start(
        dc.directory().clone(),
        dc.ca(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let env = AzureAdEnvironment {
        endpoint: Some(GraphEndpoint {
            authority: server.url(),
            graph: format!("{}/v1.0", server.url()),
        }),
        trusted_ca_pems: vec![dc.ca_pem().to_owned()],
        timeout: Duration::from_secs(120),
    };
    let azure = AzureAdSettings {
        tenant: TENANT.into(),
        application: APP.into(),
        secret: "s3cret".into(),
        groups: vec![],
    };
    let settings = AccountSettings {
        domains: vec!["corp.example.test".into(), "example.com".into()],
        max_unlink: 1_000,
        ..AccountSettings::new(Region::Europe)
    };

    let started = Instant::now();
    let full = graph::run(&env, &azure, &settings, &Account::default(), None, true).await;
    print_run("full read of the tenant", &full, started.elapsed());
    anyhow::ensure!(full.sync.report.errors.is_empty(), "the full read failed");

    // 1,000 users change an attribute Graph shows (their display name).
    dc.with_directory(|dir| {
        let users: Vec<_> = dir
            .of_kind(ObjectKind::User)
            .step_by(100)
            .take(1000)
            .collect();
        for id in users {
            let m = Modification {
                op: ModOp::Replace,
                attr: "displayName".into(),
                values: vec![b"Changed".to_vec()],
            };
            let _ = dir.modify(id, &[m], true);
        }
    });
    let started = Instant::now();
    let delta = graph::run(
        &env,
        &azure,
        &settings,
        &full.sync.account,
        full.state.as_ref(),
        true,
    )
    .await;
    print_run("delta after 1,000 users changed", &delta, started.elapsed());
    Ok(())
}
