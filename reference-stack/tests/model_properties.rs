//! The real stack against the model, over sockets: **what a sync extracts from a DC
//! serving a generated directory is the snapshot the model says it holds.**
//!
//! `socket_properties.rs` checks the stack only against itself (convergence, page-size
//! independence), so a consistent mistake in member resolution or primary groups would
//! pass there; and the diff properties read the model through a test-owned transform.
//! Here each case serves a generated directory (`reference_stack::testing::dc`) and compares the
//! snapshot of `run_sync`, and of a `run_delta_sync` continuing from its state, with
//! [`snapshot_of`] the model after each round of mutations, AD's built-in objects (the
//! domain's own groups such as Domain Users, which the model does not hold) left out.
//!
//! Generated directories hold at most eleven users, so a case may also add a bulk OU of
//! users and a group with more members than AD returns in one piece (1,500), nested in a
//! generated group: the ranged retrieval of `member` is then really exercised.
//!
//! Cases: `PROPTEST_CASES` if set, else 16 (and a quarter of that with bulk groups).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use futures::future::BoxFuture;
use proptest::prelude::*;
use proptest::test_runner::Config;
use reference_stack::account::Account;
use reference_stack::address::Address;
use reference_stack::delta::{DeltaState, ExtractionMode};
use reference_stack::guid::Guid;
use reference_stack::report::SyncMethod;
use reference_stack::settings::{AccountSettings, ConnectorSettings};
use reference_stack::snapshot::DirectorySnapshot;
use reference_stack::stack::{run_delta_sync, run_sync, SyncEnvironment, SyncOutcome};
use reference_stack::testing::dc::LiveDc;
use reference_stack::testing::model::{
    guid_of, AddressStyle, Directory, Group, GroupKind, Member, User,
};
use reference_stack::testing::planted;
use reference_stack::testing::strategies::scenario;
use reference_stack::testing::{snapshot_of, Scenario, AD_RANGE};

fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default);
    Config::with_cases(cases)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every GUID the model gives an object.
fn model_guids(model: &Directory) -> BTreeSet<Guid> {
    let users = model.users.iter().map(|u| u.id);
    let groups = model.groups.iter().map(|g| g.id);
    let contacts = model.contacts.iter().map(|c| c.id);
    users.chain(groups).chain(contacts).map(guid_of).collect()
}

/// `extracted` without AD's built-in objects: those whose GUID no model object has.
fn without_builtins(mut extracted: DirectorySnapshot, model: &Directory) -> DirectorySnapshot {
    let ours = model_guids(model);
    extracted.users.retain(|guid, _| ours.contains(guid));
    extracted.groups.retain(|guid, _| ours.contains(guid));
    extracted.contacts.retain(|guid, _| ours.contains(guid));
    extracted
}

/// One spelling of a DN: RFC 4514 lets `;` be escaped as `\;` (the model) or `\3B`
/// (AD); the DN is shown, never used as identity, so only its spelling may differ.
fn spelt_as_ad(dn: &mut String) {
    if let Ok(parsed) = fake_dc::dn::Dn::parse(dn) {
        *dn = parsed.to_string();
    }
}

fn same_spelling(mut snapshot: DirectorySnapshot) -> DirectorySnapshot {
    snapshot
        .users
        .values_mut()
        .for_each(|u| spelt_as_ad(&mut u.dn));
    snapshot
        .groups
        .values_mut()
        .for_each(|g| spelt_as_ad(&mut g.dn));
    snapshot
        .contacts
        .values_mut()
        .for_each(|c| spelt_as_ad(&mut c.dn));
    snapshot
}

/// The differences between two snapshots, object by object, for a failure message.
fn differences(found: &DirectorySnapshot, want: &DirectorySnapshot) -> String {
    let mut out = Vec::new();
    let keys: BTreeSet<&Guid> = found.groups.keys().chain(want.groups.keys()).collect();
    for guid in keys {
        let (f, w) = (found.groups.get(guid), want.groups.get(guid));
        if f != w {
            out.push(format!(
                "group {guid}:\n  extracted {f:?}\n  model     {w:?}"
            ));
        }
    }
    let keys: BTreeSet<&Guid> = found.users.keys().chain(want.users.keys()).collect();
    for guid in keys {
        let (f, w) = (found.users.get(guid), want.users.get(guid));
        if f != w {
            out.push(format!(
                "user {guid}:\n  extracted {f:?}\n  model     {w:?}"
            ));
        }
    }
    if found.contacts != want.contacts {
        out.push(format!(
            "contacts:\n  extracted {:?}\n  model     {:?}",
            found.contacts, want.contacts
        ));
    }
    out.truncate(6);
    out.join("\n")
}

/// Adds `count` mail-enabled users in `OU=R+D` and a group listing them all, itself a
/// member of the first generated group (if any), so the big group's members reach
/// another group through nesting.
fn with_bulk_group(mut directory: Directory, count: usize) -> Directory {
    let mut members = Vec::with_capacity(count);
    for n in 0..count {
        let id = directory.fresh_id();
        directory.users.push(User {
            id,
            cn: format!("Bulk {n} {id}"),
            ou: 2,
            primary: Some(Address::parse(&format!("bulk{id}@corp.test")).unwrap()),
            aliases: BTreeSet::new(),
            style: AddressStyle::Exchange,
            disabled: false,
            department: None,
            primary_group: None,
        });
        members.push(Member::User(id));
    }
    let id = directory.fresh_id();
    directory.groups.push(Group {
        id,
        cn: format!("Bulk Group {id}"),
        ou: 2,
        address: Some(Address::parse(&format!("bulk-group{id}@corp.test")).unwrap()),
        kind: GroupKind::Group { members },
    });
    if let Some(GroupKind::Group { members }) = directory
        .groups
        .iter_mut()
        .find(|g| g.id != id && matches!(g.kind, GroupKind::Group { .. }))
        .map(|g| &mut g.kind)
    {
        members.push(Member::Group(id));
    }
    directory
}

/// Two users with the same CN in two OUs, each the only member of a group of its own:
/// whichever of them a member DN is wrongly resolved to, one group has the other.
fn with_twins(mut directory: Directory) -> Directory {
    for (ou, name) in [(0, "staff"), (2, "rd")] {
        let user = directory.fresh_id();
        directory.users.push(User {
            id: user,
            cn: "Twin".into(),
            ou,
            primary: Some(Address::parse(&format!("twin-{name}@corp.test")).unwrap()),
            aliases: BTreeSet::new(),
            style: AddressStyle::Exchange,
            disabled: false,
            department: None,
            primary_group: None,
        });
        let group = directory.fresh_id();
        directory.groups.push(Group {
            id: group,
            cn: format!("Twins {name} {group}"),
            ou,
            address: Some(Address::parse(&format!("twins-{name}@corp.test")).unwrap()),
            kind: GroupKind::Group {
                members: vec![Member::User(user)],
            },
        });
    }
    directory
}

/// The shape of [`run_sync`], so a planted stack runs through the same property.
type FullSync = for<'a> fn(
    &'a SyncEnvironment,
    &'a ConnectorSettings,
    &'a AccountSettings,
    &'a Account,
) -> BoxFuture<'a, SyncOutcome>;

fn real<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
) -> BoxFuture<'a, SyncOutcome> {
    Box::pin(run_sync(env, connector, settings, account))
}

fn dropping_ranged_fetches<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
) -> BoxFuture<'a, SyncOutcome> {
    Box::pin(planted::sync_dropping_ranged_fetches(
        env, connector, settings, account,
    ))
}

fn resolving_members_by_rdn<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
) -> BoxFuture<'a, SyncOutcome> {
    Box::pin(planted::sync_resolving_members_by_rdn(
        env, connector, settings, account,
    ))
}

/// Syncs `case` after each round (and once before the first), full and delta, and
/// compares each extraction with the model's snapshot. With `ranged`, the first sync
/// must have fetched `member` in more than one piece.
async fn matches_model(
    case: &Scenario,
    page_size: i32,
    ranged: bool,
    sync: FullSync,
) -> Result<(), TestCaseError> {
    let live = LiveDc::start(&case.directory)
        .await
        .map_err(TestCaseError::fail)?;
    let result = async {
        let env = live.env(SyncMethod::DirectoryConnector, page_size);
        let connector = live.connector();
        let mut model = case.directory.clone();
        let mut account: Account = case.seed.clone();
        let mut state: Option<DeltaState> = None;
        let rounds = std::iter::once(&[][..]).chain(case.rounds.iter().map(Vec::as_slice));
        for (number, round) in rounds.enumerate() {
            for mutation in round {
                live.mutate(&mut model, mutation)
                    .map_err(TestCaseError::fail)?;
            }
            let want = same_spelling(snapshot_of(&model, &case.settings));
            let full = sync(&env, &connector, &case.settings, &account).await;
            prop_assert!(
                full.report.errors.is_empty(),
                "sync {number}: {}",
                full.report
            );
            if ranged && number == 0 {
                prop_assert!(
                    full.stats.ranged_fetches > 0,
                    "no ranged fetch: {:?}",
                    full.stats
                );
            }
            let found = same_spelling(without_builtins(
                full.snapshot.clone().unwrap_or_default(),
                &model,
            ));
            prop_assert!(
                found == want,
                "sync {number}: the extraction differs from the model:\n{}",
                differences(&found, &want)
            );
            let delta =
                run_delta_sync(&env, &connector, &case.settings, &account, state.as_ref()).await;
            let outcome = &delta.sync;
            prop_assert!(
                outcome.report.errors.is_empty(),
                "delta {number}: {}",
                outcome.report
            );
            if number > 0 {
                prop_assert!(
                    matches!(
                        outcome.report.extraction,
                        Some(ExtractionMode::Delta { .. })
                    ),
                    "delta {number} read everything: {:?}",
                    outcome.report.extraction
                );
            }
            let found = same_spelling(without_builtins(
                outcome.snapshot.clone().unwrap_or_default(),
                &model,
            ));
            prop_assert!(
                found == want,
                "delta sync {number}: the extraction differs from the model:\n{}",
                differences(&found, &want)
            );
            state = delta.state.clone();
            account = full.account;
        }
        Ok(())
    }
    .await;
    live.shutdown().await;
    result
}

proptest! {
    #![proptest_config(cases(16))]

    #[test]
    fn the_extraction_is_the_model(case in scenario(), page_size in prop_oneof![Just(1000), 1i32..6]) {
        runtime().block_on(matches_model(&case, page_size, false, real))?;
    }
}

proptest! {
    #![proptest_config(cases(4))]

    #[test]
    fn the_extraction_is_the_model_past_one_ranged_piece(
        case in scenario(),
        count in (AD_RANGE + 1)..(AD_RANGE + 200),
    ) {
        let case = Scenario { directory: with_bulk_group(case.directory, count), ..case };
        runtime().block_on(matches_model(&case, 1000, true, real))?;
    }
}

/// The property fails a stack with a planted extraction bug, naming the group it got
/// wrong, on a directory where the real stack passes: a group past one ranged piece for
/// the stack that never fetches the rest, two users named alike for the one that
/// resolves members by RDN.
#[test]
fn planted_extraction_bugs_are_caught() {
    let directory = with_twins(with_bulk_group(Directory::default(), AD_RANGE + 100));
    let group_guid = |prefix: &str| {
        let group = directory.groups.iter().find(|g| g.cn.starts_with(prefix));
        guid_of(group.unwrap().id).to_string()
    };
    let bulk = vec![group_guid("Bulk Group")];
    let twins = vec![group_guid("Twins staff"), group_guid("Twins rd")];
    let case = Scenario {
        directory: directory.clone(),
        seed: Account::default(),
        rounds: Vec::new(),
        settings: serde_yaml::from_str("region: europe\ndomains: [corp.test]").unwrap(),
    };
    runtime()
        .block_on(matches_model(&case, 1000, true, real))
        .unwrap();
    for (stack, name, groups) in [
        (
            dropping_ranged_fetches as FullSync,
            "dropping ranged fetches",
            &bulk,
        ),
        (resolving_members_by_rdn, "resolving members by RDN", &twins),
    ] {
        let failure = runtime()
            .block_on(matches_model(&case, 1000, false, stack))
            .unwrap_err()
            .to_string();
        assert!(
            failure.contains("sync 0: the extraction differs from the model"),
            "{name}: {failure}"
        );
        let named = groups
            .iter()
            .any(|g| failure.contains(&format!("group {g}:")));
        assert!(named, "{name}: {failure}");
    }
}
