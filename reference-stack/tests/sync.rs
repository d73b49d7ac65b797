//! A full sync of the small organisation over LDAPS, against a real in-process fake DC:
//! what it extracts, what it applies, and that a second run changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::tls::CertProfile;
use reference_stack::account::Account;
use reference_stack::report::{SyncMethod, TlsOutcome};
use reference_stack::settings::EncryptionMode;
use reference_stack::snapshot::{DirectorySnapshot, GroupKind};

fn group<'a>(
    snapshot: &'a DirectorySnapshot,
    name: &str,
) -> &'a reference_stack::snapshot::DirGroup {
    snapshot
        .groups
        .values()
        .find(|group| group.name == name)
        .unwrap_or_else(|| panic!("group {name} missing"))
}

fn member_addresses(snapshot: &DirectorySnapshot, name: &str) -> Vec<String> {
    let mut addresses: Vec<String> = group(snapshot, name)
        .members
        .iter()
        .filter_map(|guid| snapshot.member_address(guid))
        .map(|address| address.normalized().to_owned())
        .collect();
    addresses.sort();
    addresses
}

#[tokio::test]
async fn full_sync_of_the_small_org_then_a_second_sync_changes_nothing() {
    let dc = start("small-org.yaml", &[DC1, DC2], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let settings = settings();

    let first = sync(&env, &connector, &settings, &Account::default()).await;
    assert_ok(&first);
    assert_eq!(first.report.host.as_deref(), Some(DC1));
    assert_eq!(
        first.report.tls,
        TlsOutcome::Verified {
            server_name: DC1.into()
        }
    );
    let snapshot = first.snapshot.as_ref().unwrap();

    // 1,600 contractors, about fifty staff; the service accounts have no mail.
    assert!(snapshot.users.len() > 1_600, "{}", snapshot.users.len());
    let contractors = group(snapshot, "Contractors Group 0");
    assert_eq!(
        contractors.members.len(),
        1_600,
        "ranged retrieval lost members"
    );
    assert_eq!(group(snapshot, "All Contractors").members.len(), 1_600);
    assert!(first.stats.ranged_fetches >= 1, "{:?}", first.stats);
    assert!(first.stats.pages >= 2, "{:?}", first.stats);

    // Primary-group members (Tariq, Uma) join the members AD lists in `member`.
    let sales = member_addresses(snapshot, "Sales Team");
    for expected in [
        "tariq.tanaka@corp.example.test",
        "uma.usman@corp.example.test",
        "maya.mueller@corp.example.test",
        "pavel.petrov@corp.example.test",
    ] {
        assert!(sales.contains(&expected.to_owned()), "{sales:?}");
    }
    // The Platform/Infra cycle terminates and both share members, contact included.
    let platform = member_addresses(snapshot, "Platform Team");
    assert_eq!(platform, member_addresses(snapshot, "Infra Team"));
    assert!(platform.contains(&"support@vendor.example.net".to_owned()));
    // Members without mail only: no cloud group.
    assert!(group(snapshot, "Unmailed Members").members.is_empty());
    // The dynamic list: enabled Sales users, evaluated by the DC.
    let everyone = group(snapshot, "Sales Everyone");
    assert_eq!(everyone.kind, GroupKind::DynamicList);
    let everyone = member_addresses(snapshot, "Sales Everyone");
    assert!(everyone.contains(&"maya.mueller@corp.example.test".to_owned()));
    assert!(
        !everyone.contains(&"pavel.petrov@corp.example.test".to_owned()),
        "disabled"
    );
    // Names that need escaping in a DN come through.
    assert!(snapshot
        .users
        .values()
        .any(|user| user.dn.starts_with("CN=Smith\\, John")));
    // The duplicate ops@ alias is reported, the run still applies.
    assert!(first.report.counts.users_added > 1_600);
    assert!(first.account.users.len() > 1_600);

    let second = sync(&env, &connector, &settings, &first.account).await;
    assert_ok(&second);
    assert!(second.report.changes.is_empty(), "{}", second.report);
    assert_eq!(second.account, first.account);
    assert_eq!(second.snapshot, first.snapshot, "deterministic extraction");
    dc.shutdown().await;
}

#[tokio::test]
async fn a_connection_dropped_mid_extraction_applies_nothing() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let mut connector = connector(EncryptionMode::Strict);
    connector.secondary_host = None;
    dc.fault(DC1, fake_dc::server::Fault::DropAfterEntries(1_500))
        .await
        .unwrap();
    let account = Account::default();
    let outcome = sync(&env, &connector, &settings(), &account).await;
    assert_failed(&outcome, &account, "extraction incomplete, nothing applied");
    // The connector's port, not the loopback one the resolver maps it to, nor 0.
    assert!(
        outcome.report.errors[0].contains(&format!("{DC1}:636: cannot be reached")),
        "{}",
        outcome.report
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn a_sudden_drop_in_users_is_stopped_by_max_unlink() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let settings = settings();
    let first = sync(&env, &connector, &settings, &Account::default()).await;
    assert_ok(&first);

    // 200 contractors deleted between syncs: far over the default max unlink of 50.
    dc.with_directory(|dir| {
        let ou = fake_dc::dn::Dn::parse("OU=Contractors,DC=corp,DC=example,DC=test").unwrap();
        let base = dir.lookup(&ou).unwrap();
        let users: Vec<_> = dir
            .of_kind(fake_dc::schema::ObjectKind::User)
            .filter(|id| dir.is_within(*id, base))
            .take(200)
            .collect();
        assert_eq!(users.len(), 200);
        for id in users {
            dir.delete(id).unwrap();
        }
    });
    let second = sync(&env, &connector, &settings, &first.account).await;
    let stop = second.report.stopped.expect("max unlink stops the run");
    assert_eq!(stop.would_unlink, 200);
    assert!(second.report.changes.is_empty());
    assert_eq!(
        second.account, first.account,
        "a stopped run changes nothing"
    );
    dc.shutdown().await;
}
