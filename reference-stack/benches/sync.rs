//! A full sync of fixtures/large-100k.yaml over LDAPS against an in-process fake DC:
//! connect, extraction, transform and apply times, and peak memory (VmHWM).
//!
//! `cargo bench -p reference-stack --bench sync`. The DC serves from the same process, so the
//! peak includes its directory; the resident size after loading is printed first so the
//! stack's own share can be read off. A second, no-op sync is timed too: it is what
//! most scheduled runs look like. Last, a delta run after 1% of the users changed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fake_dc::directory::{ModOp, Modification};
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::schema::ObjectKind;
use fake_dc::server::{FakeDc, HostConfig};
use reference_stack::account::Account;
use reference_stack::report::SyncMethod;
use reference_stack::resolve::Resolver;
use reference_stack::settings::{AccountSettings, ConnectorSettings, EncryptionMode, Region};
use reference_stack::stack::{run_delta_sync, run_sync, SyncEnvironment, SyncOutcome};

const HOST: &str = "dc1.corp.example.test";

/// A line of /proc/self/status, in MiB.
fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn mib(field: &str) -> String {
    proc_status_mib(field).map_or_else(|| "n/a".into(), |value| format!("{value:.0} MiB"))
}

fn print_run(label: &str, outcome: &SyncOutcome, total: Duration) {
    let s = &outcome.stats;
    println!(
        "{label}: total {total:.2?} = connect {:.2?} + extract {:.2?} + transform {:.2?} + apply {:.2?}",
        s.connect, s.extract, s.transform, s.apply
    );
    println!(
        "  {} entries in {} pages, {} ranged fetches, {} member lookups, {} dynamic lists; \
         {} users, {} groups added, {} changes",
        s.entries,
        s.pages,
        s.ranged_fetches,
        s.lookups,
        s.dynamic_lists,
        outcome.report.counts.users_added,
        outcome.report.counts.groups_added,
        outcome.report.changes.len()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/large-100k.yaml");
    let started = Instant::now();
    let directory = fixture::load_file(&path, LoadOptions::default())
        .with_context(|| format!("loading {}", path.display()))?;
    println!(
        "fixture loaded in {:.2?}; RSS {}",
        started.elapsed(),
        mib("VmRSS:")
    );

    let dc = FakeDc::builder(directory)
        .host(HOST, HostConfig::loopback())
        .start()
        .await?;
    let addrs = dc.addresses(HOST).context("dc1 listens")?;
    let ldaps = addrs.ldaps.context("LDAPS listener")?;
    let mut env = SyncEnvironment::new(
        Resolver::pinned().with(HOST, 636, ldaps),
        vec![dc.ca_pem().to_owned()],
        SyncMethod::DirectoryConnector,
    );
    env.timeout = Duration::from_secs(60);
    let connector = ConnectorSettings {
        primary_host: HOST.into(),
        secondary_host: None,
        encryption: EncryptionMode::Strict,
        port: 636,
        bind_dn: "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test".into(),
        password: "Sync-Secret-1".into(),
        root_dn: "DC=corp,DC=example,DC=test".into(),
        change_tracking: Default::default(),
    };
    let settings = AccountSettings {
        link_aliases: true,
        acknowledge_disabled: true,
        additional_attributes: vec!["department".into()],
        domains: vec!["corp.example.test".into()],
        max_unlink: 1_000,
        ..AccountSettings::new(Region::Europe)
    };
    let rss_before = mib("VmRSS:");

    let started = Instant::now();
    let first = run_sync(&env, &connector, &settings, &Account::default()).await;
    let total = started.elapsed();
    if !first.report.errors.is_empty() {
        bail!("first sync failed: {}", first.report.errors.join("; "));
    }
    print_run("first sync", &first, total);
    println!(
        "  RSS before the sync {rss_before}, peak (VmHWM) {}",
        mib("VmHWM:")
    );

    let started = Instant::now();
    let second = run_sync(&env, &connector, &settings, &first.account).await;
    let total = started.elapsed();
    if !second.report.errors.is_empty() {
        bail!("second sync failed: {}", second.report.errors.join("; "));
    }
    print_run("second sync (no changes expected)", &second, total);
    println!("  peak (VmHWM) {}", mib("VmHWM:"));

    // Delta: a full run to take the watermark, 1% of the users change department, then
    // a delta run reads only those.
    let base = run_delta_sync(&env, &connector, &settings, &second.account, None).await;
    let state = base.state.context("the full run left delta state")?;
    let changed = dc.with_directory(|directory| {
        let users: Vec<_> = directory.of_kind(ObjectKind::User).collect();
        let mut changed = 0;
        for id in users.iter().step_by(100) {
            let department = Modification {
                op: ModOp::Replace,
                attr: "department".into(),
                values: vec![b"Moved".to_vec()],
            };
            if directory.modify(*id, &[department], true).is_ok() {
                changed += 1;
            }
        }
        changed
    });
    let started = Instant::now();
    let delta = run_delta_sync(
        &env,
        &connector,
        &settings,
        &base.sync.account,
        Some(&state),
    )
    .await;
    let total = started.elapsed();
    if !delta.sync.report.errors.is_empty() {
        bail!("delta sync failed: {}", delta.sync.report.errors.join("; "));
    }
    print_run(
        &format!("delta sync after {changed} users changed department"),
        &delta.sync,
        total,
    );
    dc.shutdown().await;
    Ok(())
}
