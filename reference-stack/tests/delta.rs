//! Delta sync against a real in-process fake DC: what a delta run reads, that it reaches
//! what a full run reaches, and each reason it reads everything instead.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::directory::{Directory, NewEntry};
use fake_dc::dn::{Dn, Rdn};
use fake_dc::schema::ObjectKind;
use fake_dc::server::{FakeDc, Fault};
use fake_dc::tls::CertProfile;
use reference_stack::account::{Account, Origin};
use reference_stack::delta::{DeltaState, ExtractionMode, FullReason};
use reference_stack::report::SyncMethod;
use reference_stack::settings::{AccountSettings, ConnectorSettings, EncryptionMode};
use reference_stack::stack::{
    run_delta_sync, run_delta_sync_owned, DeltaSyncOutcome, SyncEnvironment,
};

const STAFF: &str = "OU=Staff,DC=corp,DC=example,DC=test";
const ENGINEERING: &str = "OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test";

async fn delta(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    let outcome = run_delta_sync(env, connector, settings, account, state).await;
    assert_ok(&outcome.sync);
    outcome
}

fn mode(outcome: &DeltaSyncOutcome) -> &ExtractionMode {
    outcome.sync.report.extraction.as_ref().unwrap()
}

fn is_delta(outcome: &DeltaSyncOutcome) -> bool {
    matches!(mode(outcome), ExtractionMode::Delta { .. })
}

fn full_because(outcome: &DeltaSyncOutcome) -> FullReason {
    match mode(outcome) {
        ExtractionMode::Full { reason } => reason.clone(),
        delta => panic!("expected a full run, got {delta}"),
    }
}

fn assert_no_changes(outcome: &DeltaSyncOutcome) {
    assert!(
        outcome.sync.report.changes.is_empty(),
        "{}",
        outcome.sync.report
    );
}

fn id(dir: &Directory, dn: &str) -> fake_dc::directory::EntryId {
    dir.resolve(&Dn::parse(dn).unwrap()).unwrap()
}

fn change(dc: &FakeDc, f: impl FnOnce(&mut Directory)) {
    dc.with_directory(f);
}

/// Asserts that `delta` and a full run from the same account agree, and returns nothing
/// else: the full run is the specification.
async fn assert_matches_full(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    delta: &DeltaSyncOutcome,
) {
    let full = sync(env, connector, settings, account).await;
    assert_ok(&full);
    assert_eq!(
        delta.sync.report.changes, full.report.changes,
        "delta:\n{}\nfull:\n{}",
        delta.sync.report, full.report
    );
    assert_eq!(delta.sync.report.conflicts, full.report.conflicts);
    assert_eq!(delta.sync.account, full.account);
    assert_eq!(delta.sync.snapshot, full.snapshot);
}

#[tokio::test]
async fn a_delta_run_reads_only_the_changes_and_reaches_what_a_full_run_reaches() {
    let dc = start("small-org.yaml", &[DC1, DC2], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let settings = settings();

    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    assert_eq!(full_because(&first), FullReason::NoPreviousState);
    let state = first.state.clone().unwrap();
    assert!(first.sync.stats.entries > 1_600, "{:?}", first.sync.stats);

    // Nothing changed: nothing read, nothing to do.
    let idle = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        Some(&state),
    )
    .await;
    assert!(is_delta(&idle), "{}", idle.sync.report);
    assert_eq!(idle.sync.stats.entries, 0, "{:?}", idle.sync.stats);
    assert_no_changes(&idle);

    change(&dc, |d| {
        // A user disabled, one deleted (a member of two groups), one renamed.
        let bob = id(d, &format!("CN=Bob Baker,{ENGINEERING}"));
        d.set(bob, "userAccountControl", &["514"]).unwrap();
        let dan = id(d, &format!("CN=Dan Dubois,{ENGINEERING}"));
        d.delete(dan).unwrap();
        let alice = id(d, &format!("CN=Alice Archer,{ENGINEERING}"));
        d.rename(alice, Rdn::new("CN", "Alice Archer-Smith"), None)
            .unwrap();
        // A member of two unchanged groups gets mail: it joins them by identity.
        let kurt = id(d, &format!("CN=Kurt Klein,OU=Operations,{STAFF}"));
        d.set(kurt, "mail", &["kurt.klein@corp.example.test"])
            .unwrap();
        // A new Sales user joins the dynamic list without the list changing.
        let sales = id(d, &format!("OU=Sales,{STAFF}"));
        d.create(
            NewEntry::new(sales, Rdn::new("CN", "New Seller"), ObjectKind::User)
                .with("sAMAccountName", &["nseller"])
                .with("mail", &["new.seller@corp.example.test"])
                .with("department", &["Sales"])
                .with("userAccountControl", &["512"]),
        )
        .unwrap();
        // The OU renamed: its users' DNs change, their uSNChanged does not.
        let engineering = id(d, ENGINEERING);
        d.rename(engineering, Rdn::new("OU", "Engineering Dept"), None)
            .unwrap();
    });

    let second = delta(
        &env,
        &connector,
        &settings,
        &idle.sync.account,
        Some(&state),
    )
    .await;
    assert!(is_delta(&second), "{}", second.sync.report);
    let stats = &second.sync.stats;
    assert_eq!(stats.tombstones, 1, "{stats:?}");
    assert_eq!(stats.containers, 1, "{stats:?}");
    assert!(stats.entries < 60, "read too much: {stats:?}");
    assert_matches_full(&env, &connector, &settings, &idle.sync.account, &second).await;
    // Handing the account over (applied in place) reaches the same account and report.
    let owned = run_delta_sync_owned(
        &env,
        &connector,
        &settings,
        idle.sync.account.clone(),
        Some(&state),
    )
    .await;
    assert_eq!(owned.sync.report.changes, second.sync.report.changes);
    assert_eq!(owned.sync.account, second.sync.account);
    assert_eq!(owned.state, second.state);

    let account = &second.sync.account;
    let dan = account
        .users
        .values()
        .find(|u| u.address.normalized() == "dan.dubois@corp.example.test");
    assert_eq!(
        dan.map(|u| &u.origin),
        Some(&Origin::Manual),
        "dan unlinked"
    );
    let ops = account
        .groups
        .values()
        .find(|g| g.name == "Operations Team")
        .unwrap();
    assert!(ops
        .members
        .iter()
        .any(|m| m.normalized() == "kurt.klein@corp.example.test"));
    let dns: Vec<&str> = second
        .sync
        .snapshot
        .as_ref()
        .unwrap()
        .users
        .values()
        .map(|u| u.dn.as_str())
        .collect();
    assert!(
        dns.contains(
            &"CN=Alice Archer-Smith,OU=Engineering Dept,OU=Staff,DC=corp,DC=example,DC=test"
        ),
        "{dns:?}"
    );
    assert!(
        !dns.iter().any(|dn| dn.contains("OU=Engineering,")),
        "{dns:?}"
    );

    // The state moved on: the next run starts from the second's watermark.
    let next = second.state.as_ref().unwrap();
    assert!(next.watermark().usn > state.watermark().usn);
    let third = delta(&env, &connector, &settings, account, Some(next)).await;
    assert_eq!(third.sync.stats.entries, 0, "{:?}", third.sync.stats);
    assert_no_changes(&third);
    dc.shutdown().await;
}

#[tokio::test]
async fn a_changed_group_over_1500_members_is_read_whole_in_ranges() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    change(&dc, |d| {
        let group = id(
            d,
            "CN=Contractors Group 0,OU=Contractors,DC=corp,DC=example,DC=test",
        );
        let maya = id(d, &format!("CN=Maya Müller,OU=Sales,{STAFF}"));
        d.add_member(group, maya).unwrap();
    });
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        first.state.as_ref(),
    )
    .await;
    assert!(is_delta(&second), "{}", second.sync.report);
    assert!(
        second.sync.stats.ranged_fetches >= 1,
        "{:?}",
        second.sync.stats
    );
    let contractors = second
        .sync
        .snapshot
        .as_ref()
        .unwrap()
        .groups
        .values()
        .find(|g| g.name == "Contractors Group 0")
        .unwrap();
    assert_eq!(contractors.members.len(), 1_601);
    assert_matches_full(&env, &connector, &settings, &first.sync.account, &second).await;
    dc.shutdown().await;
}

#[tokio::test]
async fn objects_moved_out_of_the_root_dn_leave_and_moved_in_arrive() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let mut connector = connector(EncryptionMode::Strict);
    connector.root_dn = STAFF.into();
    let settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    assert!(first.sync.snapshot.as_ref().unwrap().contacts.is_empty());

    change(&dc, |d| {
        // One user moved out, one whole OU moved out, and the contacts' OU moved in.
        let maya = id(d, &format!("CN=Maya Müller,OU=Sales,{STAFF}"));
        let groups = id(d, "OU=Groups,DC=corp,DC=example,DC=test");
        d.rename(maya, Rdn::new("CN", "Maya Müller"), Some(groups))
            .unwrap();
        let finance = id(d, &format!("OU=Finance,{STAFF}"));
        d.rename(finance, Rdn::new("OU", "Finance"), Some(groups))
            .unwrap();
        let contacts = id(d, "OU=Contacts,DC=corp,DC=example,DC=test");
        let staff = id(d, STAFF);
        d.rename(contacts, Rdn::new("OU", "Contacts"), Some(staff))
            .unwrap();
    });
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        first.state.as_ref(),
    )
    .await;
    assert!(is_delta(&second), "{}", second.sync.report);
    assert_eq!(second.sync.stats.containers, 2, "{:?}", second.sync.stats);
    assert_matches_full(&env, &connector, &settings, &first.sync.account, &second).await;
    let unlinked = second
        .sync
        .report
        .changes
        .iter()
        .filter(|c| matches!(c, reference_stack::change::Change::UnlinkUser { .. }))
        .count();
    assert_eq!(
        unlinked, 9,
        "Maya and Finance's eight:\n{}",
        second.sync.report
    );
    assert_eq!(second.sync.snapshot.as_ref().unwrap().contacts.len(), 2);
    dc.shutdown().await;
}

#[tokio::test]
async fn failover_to_the_secondary_reads_everything_then_continues_there() {
    let dc = start("small-org.yaml", &[DC1, DC2], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    assert_eq!(first.state.as_ref().unwrap().watermark().host, DC1);

    dc.fault(DC1, Fault::Down).await.unwrap();
    change(&dc, |d| {
        let bob = id(d, &format!("CN=Bob Baker,{ENGINEERING}"));
        d.delete(bob).unwrap();
    });
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        first.state.as_ref(),
    )
    .await;
    assert_eq!(second.sync.report.host.as_deref(), Some(DC2));
    assert_eq!(
        full_because(&second),
        FullReason::DcChanged {
            previous: DC1.into(),
            current: DC2.into()
        }
    );
    assert_matches_full(&env, &connector, &settings, &first.sync.account, &second).await;

    let third = delta(
        &env,
        &connector,
        &settings,
        &second.sync.account,
        second.state.as_ref(),
    )
    .await;
    assert!(is_delta(&third), "{}", third.sync.report);
    dc.shutdown().await;
}

#[tokio::test]
async fn a_dc_whose_usn_went_back_was_restored_and_is_read_whole() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    // A watermark above anything the DC has committed: the DC is older than the state.
    let mut json = serde_json::to_value(first.state.as_ref().unwrap()).unwrap();
    let usn = json["watermark"]["usn"].as_u64().unwrap();
    json["watermark"]["usn"] = (usn + 1_000).into();
    let ahead: DeltaState = serde_json::from_value(json).unwrap();
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        Some(&ahead),
    )
    .await;
    assert_eq!(
        full_because(&second),
        FullReason::UsnBelowWatermark {
            watermark: usn + 1_000,
            highest: usn
        }
    );
    assert_eq!(second.state.as_ref().unwrap().watermark().usn, usn);
    dc.shutdown().await;
}

#[tokio::test]
async fn an_account_that_cannot_read_deleted_objects_always_reads_everything() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let mut connector = connector(EncryptionMode::Strict);
    connector.bind_dn = RESTRICTED_DN.into();
    connector.password = RESTRICTED_PW.into();
    let settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        first.state.as_ref(),
    )
    .await;
    assert_eq!(full_because(&second), FullReason::DeletedObjectsHidden);
    dc.shutdown().await;
}

#[tokio::test]
async fn other_settings_read_everything() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let mut settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    settings.additional_attributes.push("title".into());
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        first.state.as_ref(),
    )
    .await;
    assert_eq!(full_because(&second), FullReason::SettingsChanged);
    assert!(second.sync.report.to_text().contains(
        "extraction: full (the root DN, service account, method or additional attributes changed)"
    ));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_failed_delta_run_applies_nothing_and_keeps_its_state() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let mut connector = connector(EncryptionMode::Strict);
    connector.secondary_host = None;
    let settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    let state = first.state.clone().unwrap();

    change(&dc, |d| {
        let bob = id(d, &format!("CN=Bob Baker,{ENGINEERING}"));
        d.delete(bob).unwrap();
    });
    dc.fault(DC1, Fault::DropOnPage(1)).await.unwrap();
    let failed = run_delta_sync(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        Some(&state),
    )
    .await;
    assert!(
        !failed.sync.report.errors.is_empty(),
        "{}",
        failed.sync.report
    );
    assert_eq!(failed.sync.account, first.sync.account);
    assert_eq!(failed.state.as_ref(), Some(&state));

    dc.clear_faults(DC1).await.unwrap();
    let retried = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        failed.state.as_ref(),
    )
    .await;
    assert!(is_delta(&retried), "{}", retried.sync.report);
    assert_eq!(retried.sync.stats.tombstones, 1);
    assert_matches_full(&env, &connector, &settings, &first.sync.account, &retried).await;
    dc.shutdown().await;
}

#[tokio::test]
async fn the_agent_reads_everything_while_it_syncs_members_of_other_domains() {
    let dc = start(
        "two-domain-forest.yaml",
        &[DC1, EMEA_DC],
        CertProfile::CaSigned,
    )
    .await;
    let env = env(&dc, SyncMethod::Agent);
    let mut connector = connector(EncryptionMode::Strict);
    connector.secondary_host = None;
    let settings = settings();
    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    assert!(first.state.as_ref().unwrap().has_cross_domain_members());
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        first.state.as_ref(),
    )
    .await;
    assert_eq!(full_because(&second), FullReason::CrossDomainMembers);
    assert_no_changes(&second);
    dc.shutdown().await;
}

#[tokio::test]
async fn the_state_survives_a_round_trip_through_json() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let first = delta(&env, &connector, &settings(), &Account::default(), None).await;
    let state = first.state.unwrap();
    let json = serde_json::to_string(&state).unwrap();
    let back: DeltaState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
    dc.shutdown().await;
}
