//! Shared setup for the stack's socket-level tests: a fake DC serving a fixture from
//! `fixtures/`, a resolver that points the DC host names at its loopback ports, and
//! settings for the sync service account.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use fake_dc::directory::Directory;
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::server::{FakeDc, HostConfig};
use fake_dc::tls::CertProfile;
use reference_stack::account::Account;
use reference_stack::report::SyncMethod;
use reference_stack::resolve::Resolver;
use reference_stack::settings::{AccountSettings, ConnectorSettings, EncryptionMode, Region};
use reference_stack::stack::{run_sync, SyncEnvironment, SyncOutcome};

pub const DC1: &str = "dc1.corp.example.test";
pub const DC2: &str = "dc2.corp.example.test";
pub const EMEA_DC: &str = "dc1.emea.corp.example.test";
pub const ROOT: &str = "DC=corp,DC=example,DC=test";
pub const SVC_DN: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";
pub const SVC_PW: &str = "Sync-Secret-1";
pub const RESTRICTED_DN: &str = "CN=Restricted Sync,OU=Service Accounts,DC=corp,DC=example,DC=test";
pub const RESTRICTED_PW: &str = "Sync-Secret-2";

pub fn fixture(name: &str) -> Directory {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    fixture::load_file(&path, LoadOptions::default()).unwrap()
}

/// A DC serving `fixture` on every listed host, each with `cert`.
pub async fn start(fixture_name: &str, hosts: &[&str], cert: CertProfile) -> FakeDc {
    let mut builder = FakeDc::builder(fixture(fixture_name));
    for host in hosts {
        builder = builder.host(
            *host,
            HostConfig {
                cert,
                ..HostConfig::loopback()
            },
        );
    }
    builder.start().await.unwrap()
}

/// A resolver pinning every host of `dc` on the AD ports (389, 636, 3268, 3269).
pub fn resolver(dc: &FakeDc) -> Resolver {
    let mut resolver = Resolver::pinned();
    for (host, addrs) in dc.all_addresses() {
        for (port, addr) in [
            (389, addrs.ldap),
            (636, addrs.ldaps),
            (3268, addrs.gc),
            (3269, addrs.gc_tls),
        ] {
            if let Some(addr) = addr {
                resolver.pin(&host, port, addr);
            }
        }
    }
    resolver
}

pub fn env(dc: &FakeDc, method: SyncMethod) -> SyncEnvironment {
    let mut env = SyncEnvironment::new(resolver(dc), vec![dc.ca_pem().to_owned()], method);
    env.timeout = Duration::from_secs(10);
    env
}

pub fn connector(encryption: EncryptionMode) -> ConnectorSettings {
    ConnectorSettings {
        primary_host: DC1.into(),
        secondary_host: Some(DC2.into()),
        encryption,
        port: match encryption {
            EncryptionMode::None => 389,
            _ => 636,
        },
        bind_dn: SVC_DN.into(),
        password: SVC_PW.into(),
        root_dn: ROOT.into(),
        change_tracking: Default::default(),
    }
}

pub fn settings() -> AccountSettings {
    AccountSettings {
        link_aliases: true,
        acknowledge_disabled: true,
        additional_attributes: vec!["department".into()],
        sync_contacts: true,
        domains: vec!["corp.example.test".into(), "emea.corp.example.test".into()],
        ..AccountSettings::new(Region::Europe)
    }
}

pub async fn sync(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
) -> SyncOutcome {
    run_sync(env, connector, settings, account).await
}

/// Asserts a run succeeded, showing its report otherwise.
pub fn assert_ok(outcome: &SyncOutcome) {
    assert!(
        outcome.report.errors.is_empty(),
        "run failed:\n{}",
        outcome.report
    );
}

/// Asserts a run failed with an error containing `needle`, and changed nothing.
pub fn assert_failed(outcome: &SyncOutcome, account: &Account, needle: &str) {
    let errors = outcome.report.errors.join("\n");
    assert!(
        errors.contains(needle),
        "expected {needle:?} in:\n{}",
        outcome.report
    );
    assert!(outcome.report.changes.is_empty(), "{}", outcome.report);
    assert_eq!(&outcome.account, account);
    assert!(outcome.snapshot.is_none());
}
