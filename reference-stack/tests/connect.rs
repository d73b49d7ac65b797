//! Connecting: every certificate profile under every encryption mode, failover only when
//! the primary cannot be reached, AD's bind refusals, and a service account with read
//! scopes.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::server::Fault;
use fake_dc::tls::CertProfile;
use reference_stack::account::Account;
use reference_stack::report::{SyncMethod, TlsOutcome};
use reference_stack::settings::EncryptionMode;

/// What a run over one profile and mode must show: `Ok(tls)` or `Err(words in the error)`.
fn expected(profile: CertProfile, mode: EncryptionMode) -> Result<TlsOutcome, &'static str> {
    use CertProfile::*;
    match (mode, profile) {
        (EncryptionMode::None, _) => Ok(TlsOutcome::Plain),
        (EncryptionMode::Relaxed, _) => Ok(TlsOutcome::Relaxed),
        (EncryptionMode::Strict, CaSigned) => Ok(TlsOutcome::Verified {
            server_name: DC1.into(),
        }),
        (EncryptionMode::Strict, SelfSigned | UntrustedCa) => Err("does not chain to a trusted CA"),
        (EncryptionMode::Strict, Expired) => Err("has expired"),
        (EncryptionMode::Strict, WrongHost) => Err("is not valid for 'dc1.corp.example.test'"),
    }
}

#[tokio::test]
async fn every_certificate_profile_under_every_encryption_mode() {
    let mut failures = Vec::new();
    for profile in CertProfile::ALL {
        // The two-domain forest is small: fifteen syncs stay fast.
        let dc = start("two-domain-forest.yaml", &[DC1], profile).await;
        let env = env(&dc, SyncMethod::DirectoryConnector);
        for mode in [
            EncryptionMode::Strict,
            EncryptionMode::Relaxed,
            EncryptionMode::None,
        ] {
            let mut connector = connector(mode);
            connector.secondary_host = None;
            let account = Account::default();
            let outcome = sync(&env, &connector, &settings(), &account).await;
            let report = &outcome.report;
            let label = format!("{} × {mode:?}", profile.name());
            match expected(profile, mode) {
                Ok(tls) => {
                    if !report.errors.is_empty()
                        || report.tls != tls
                        || report.counts.users_added == 0
                    {
                        failures.push(format!(
                            "{label}: expected success with {tls}, got:\n{report}"
                        ));
                    }
                }
                Err(words) => {
                    let error = report.errors.join("; ");
                    let tls_failed = matches!(&report.tls, TlsOutcome::Failed { reason } if reason.contains(words));
                    if !error.contains(words)
                        || !error.contains(DC1)
                        || !tls_failed
                        || outcome.account != account
                    {
                        failures.push(format!(
                            "{label}: expected failure {words:?}, got:\n{report}"
                        ));
                    }
                }
            }
        }
        dc.shutdown().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_primary_that_is_down_fails_over_to_the_secondary() {
    let dc = start("small-org.yaml", &[DC1, DC2], CertProfile::CaSigned).await;
    dc.fault(DC1, Fault::Down).await.unwrap();
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let outcome = sync(
        &env,
        &connector(EncryptionMode::Strict),
        &settings(),
        &Account::default(),
    )
    .await;
    assert_ok(&outcome);
    assert_eq!(outcome.report.host.as_deref(), Some(DC2));
    assert_eq!(
        outcome.report.tls,
        TlsOutcome::Verified {
            server_name: DC2.into()
        }
    );
    assert!(
        outcome.report.warnings.iter().any(|w| w.contains(DC1)
            && w.contains("cannot be reached")
            && w.contains("failed over to dc2")),
        "{}",
        outcome.report
    );

    dc.fault(DC2, Fault::Down).await.unwrap();
    let account = Account::default();
    let outcome = sync(
        &env,
        &connector(EncryptionMode::Strict),
        &settings(),
        &account,
    )
    .await;
    assert_failed(&outcome, &account, "no domain controller could be reached");
    let error = &outcome.report.errors[0];
    assert!(error.contains(DC1) && error.contains(DC2), "{error}");
    dc.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_or_an_untrusted_certificate_is_not_retried_elsewhere() {
    let dc = harness_dc_with(CertProfile::SelfSigned, CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let account = Account::default();

    // dc1's certificate is self-signed: strict fails there and never tries dc2.
    let outcome = sync(
        &env,
        &connector(EncryptionMode::Strict),
        &settings(),
        &account,
    )
    .await;
    assert_failed(&outcome, &account, "does not chain to a trusted CA");
    assert_eq!(outcome.report.host.as_deref(), Some(DC1));

    let mut wrong = connector(EncryptionMode::Relaxed);
    wrong.password = "not-the-password".into();
    let outcome = sync(&env, &wrong, &settings(), &account).await;
    assert_failed(&outcome, &account, "invalid credentials (AD data 52e)");
    assert_eq!(outcome.report.host.as_deref(), Some(DC1));
    assert_eq!(outcome.report.tls, TlsOutcome::Relaxed);
    assert!(
        outcome.report.errors[0].contains(&format!("{DC1}: bind as '{SVC_DN}'")),
        "{}",
        outcome.report
    );
    dc.shutdown().await;
}

async fn harness_dc_with(dc1: CertProfile, dc2: CertProfile) -> fake_dc::server::FakeDc {
    fake_dc::server::FakeDc::builder(fixture("small-org.yaml"))
        .host(
            DC1,
            fake_dc::server::HostConfig {
                cert: dc1,
                ..fake_dc::server::HostConfig::loopback()
            },
        )
        .host(
            DC2,
            fake_dc::server::HostConfig {
                cert: dc2,
                ..fake_dc::server::HostConfig::loopback()
            },
        )
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_connection_naming_the_field() {
    // No DC at all: nothing may be attempted.
    let env = reference_stack::stack::SyncEnvironment::new(
        reference_stack::resolve::Resolver::pinned(),
        Vec::new(),
        SyncMethod::DirectoryConnector,
    );
    let mut bad = connector(EncryptionMode::Strict);
    bad.password = String::new();
    bad.root_dn = "corp.example.test".into();
    let account = Account::default();
    let outcome = sync(&env, &bad, &settings(), &account).await;
    assert_failed(&outcome, &account, "password: must not be empty");
    assert!(
        outcome.report.errors[0].contains("root DN: 'corp.example.test'"),
        "{}",
        outcome.report
    );
    assert_eq!(outcome.report.host, None);
    assert_eq!(outcome.report.tls, TlsOutcome::NotConnected);

    let mut settings = settings();
    settings.additional_attributes.push("phone number".into());
    let outcome = sync(
        &env,
        &connector(EncryptionMode::Strict),
        &settings,
        &account,
    )
    .await;
    assert_failed(&outcome, &account, "additional attributes: 'phone number'");
}

#[tokio::test]
async fn a_service_account_with_read_scopes_syncs_what_it_can_see() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let mut restricted = connector(EncryptionMode::Strict);
    restricted.secondary_host = None;
    restricted.bind_dn = RESTRICTED_DN.into();
    restricted.password = RESTRICTED_PW.into();
    let outcome = sync(&env, &restricted, &settings(), &Account::default()).await;
    assert_ok(&outcome);
    let snapshot = outcome.snapshot.unwrap();
    assert!(
        snapshot
            .users
            .values()
            .all(|user| user.dn.contains("OU=Sales,OU=Staff")),
        "only Sales is readable"
    );
    assert!(snapshot.users.len() >= 8, "{}", snapshot.users.len());
    assert!(
        outcome
            .report
            .warnings
            .iter()
            .any(|w| w.contains("cannot be read") && w.contains("Engineering Team")),
        "{}",
        outcome.report
    );
    dc.shutdown().await;
}
