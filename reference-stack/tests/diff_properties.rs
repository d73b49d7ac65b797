//! The diff (`plan` + `apply`) as a proven pure function: properties over generated
//! directories, accounts and mutation sequences (see `reference_stack::testing`).
//!
//! Each property is a function of the planner, so the same checks run against the real
//! [`reference_stack::apply::plan`] here and against deliberately broken planners in
//! `planted_bugs_are_caught`, which proves the properties can fail.
//!
//! Cases: `PROPTEST_CASES` if set, else 256 per property. Shrunk failures are kept in
//! `proptest-regressions/diff_properties.txt` (created when one first fails; commit it).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use reference_stack::account::{Account, Origin};
use reference_stack::address::Address;
use reference_stack::apply::{apply, plan};
use reference_stack::change::{Change, Party};
use reference_stack::guid::Guid;
use reference_stack::plan::Plan;
use reference_stack::settings::AccountSettings;
use reference_stack::snapshot::DirectorySnapshot;
use reference_stack::testing::entries::{extract, transform, Delivery};
use reference_stack::testing::model::{
    guid_of, is_under, ou_dn, Directory, GroupKind, Member, ROOT_DN,
};
use reference_stack::testing::strategies::{delivery, rename_or_move, scenario, scenario_with};
use reference_stack::testing::{Planner, Scenario};

/// 256 cases unless `PROPTEST_CASES` asks for another number.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256);
    Config::with_cases(cases)
}

/// The GUIDs of directory objects a plan left as they were because of a conflict.
fn held(plan: &Plan) -> BTreeSet<Guid> {
    plan.conflicts
        .iter()
        .flat_map(|conflict| &conflict.parties)
        .filter_map(|party| match party {
            Party::Directory { object } => Some(object.guid),
            _ => None,
        })
        .collect()
}

fn in_domain(settings: &AccountSettings, address: &Address) -> bool {
    settings.is_registered(address.domain())
}

// ---------------------------------------------------------------------------------------
// The properties, each generic over the planner.
// ---------------------------------------------------------------------------------------

/// After applying a plan, planning again finds nothing to do.
fn converges(planner: Planner, scenario: &Scenario) -> Result<(), TestCaseError> {
    for (number, run) in scenario.runs(planner).iter().enumerate() {
        let again = planner(&run.after, &run.snapshot, &scenario.settings);
        prop_assert!(
            again.changes.is_empty(),
            "run {number}: a second plan right after applying is not empty\nfirst: {:#?}\nsecond: {:#?}",
            run.plan.changes,
            again.changes
        );
    }
    Ok(())
}

/// Applying the same plan twice leaves the account as applying it once; so does
/// syncing twice.
fn is_idempotent(planner: Planner, scenario: &Scenario) -> Result<(), TestCaseError> {
    for (number, run) in scenario.runs(planner).iter().enumerate() {
        let twice = apply(&run.after, &run.plan);
        prop_assert_eq!(
            &twice,
            &run.after,
            "run {}: applying the plan again changed the account; plan: {:#?}",
            number,
            run.plan.changes
        );
        let resynced = apply(
            &run.after,
            &planner(&run.after, &run.snapshot, &scenario.settings),
        );
        prop_assert_eq!(
            &resynced,
            &run.after,
            "run {}: syncing again changed the account",
            number
        );
    }
    Ok(())
}

/// Entry order, value order, attribute order, page size and range size do not change
/// the snapshot nor the plan.
fn ignores_delivery(
    planner: Planner,
    scenario: &Scenario,
    delivery: &Delivery,
    range: usize,
) -> Result<(), TestCaseError> {
    for (number, run) in scenario.runs(planner).iter().enumerate() {
        let pages = extract(run.directory.entries(range), delivery);
        let shuffled = transform(&pages, &scenario.settings.additional_attributes);
        prop_assert_eq!(
            &shuffled,
            &run.snapshot,
            "run {}: the snapshot depends on delivery (page size {}, range {})",
            number,
            delivery.page_size,
            range
        );
        let replanned = planner(&run.before, &shuffled, &scenario.settings);
        prop_assert_eq!(
            &replanned,
            &run.plan,
            "run {}: the plan depends on delivery",
            number
        );
    }
    Ok(())
}

/// A user created by hand is never deleted, whatever the settings.
fn keeps_manual_users(planner: Planner, scenario: &Scenario) -> Result<(), TestCaseError> {
    for (number, run) in scenario.runs(planner).iter().enumerate() {
        for (address, user) in &run.before.users {
            if user.origin == Origin::Manual {
                prop_assert!(
                    run.after.users.contains_key(address),
                    "run {}: manual user {} deleted; plan: {:#?}",
                    number,
                    address,
                    run.plan.changes
                );
            }
        }
    }
    Ok(())
}

/// Renames and moves keep every object: the only changes are new names and, when a
/// move crosses a dynamic list's base, that list's membership. A list that loses its
/// last member stops being a cloud group and gives up its address, so an object that
/// lost that address to it in a conflict last run may now arrive.
fn keeps_identity(planner: Planner, scenario: &Scenario) -> Result<(), TestCaseError> {
    let runs = scenario.runs(planner);
    for (number, (previous, run)) in runs.iter().zip(runs.iter().skip(1)).enumerate() {
        let number = number + 1;
        let released: BTreeSet<Guid> = previous
            .plan
            .conflicts
            .iter()
            .flat_map(|conflict| &conflict.parties)
            .filter_map(|party| match party {
                Party::Directory { object } => Some(object.guid),
                _ => None,
            })
            .collect();
        let lists: BTreeSet<Guid> = run
            .directory
            .groups
            .iter()
            .filter(|group| !group.is_group())
            .map(|group| guid_of(group.id))
            .collect();
        for change in &run.plan.changes {
            let allowed = match change {
                Change::RenameGroup { .. } | Change::RenameContact { .. } => true,
                Change::AddGroupMember { guid, .. }
                | Change::RemoveGroupMember { guid, .. }
                | Change::RemoveGroup { guid, .. } => lists.contains(guid),
                Change::AddGroup { group } => {
                    lists.contains(&group.guid) || released.contains(&group.guid)
                }
                Change::AddUser { user } => user
                    .origin
                    .guid()
                    .is_some_and(|guid| released.contains(&guid)),
                Change::AddContact { contact } => contact
                    .origin
                    .guid()
                    .is_some_and(|guid| released.contains(&guid)),
                _ => false,
            };
            prop_assert!(
                allowed,
                "run {}: a rename or move became {:?}; plan: {:#?}",
                number,
                change,
                run.plan.changes
            );
        }
    }
    Ok(())
}

/// The members of a group by brute force on the model: every user and contact reachable
/// through `member` and primary groups, following nested groups with a visited set; for
/// a dynamic list, the users under its base in its department.
fn naive_members(directory: &Directory, id: u32) -> BTreeSet<u32> {
    let Some(group) = directory.group(id) else {
        return BTreeSet::new();
    };
    if let GroupKind::DynamicList { department, base } = &group.kind {
        let base = base.map_or_else(|| ROOT_DN.to_owned(), ou_dn);
        return directory
            .users
            .iter()
            .filter(|user| user.primary.is_some() && is_under(&user.dn(), &base))
            .filter(|user| {
                user.department
                    .as_ref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(department))
            })
            .map(|user| user.id)
            .collect();
    }
    let mut seen = BTreeSet::from([id]);
    let mut todo = vec![id];
    let mut found = BTreeSet::new();
    while let Some(current) = todo.pop() {
        let by_primary = directory
            .users
            .iter()
            .filter(|user| user.primary_group == Some(current))
            .map(|user| Member::User(user.id));
        let listed = match directory.group(current).map(|group| &group.kind) {
            Some(GroupKind::Group { members }) => members.clone(),
            _ => Vec::new(),
        };
        for member in listed.into_iter().chain(by_primary) {
            match member {
                Member::User(user) => {
                    if directory.user(user).is_some_and(|u| u.primary.is_some()) {
                        found.insert(user);
                    }
                }
                Member::Contact(contact) => {
                    found.insert(contact);
                }
                Member::Group(inner) => {
                    if seen.insert(inner) {
                        todo.push(inner);
                    }
                }
                Member::Foreign(_) => {}
            }
        }
    }
    found
}

/// Each cloud group holds exactly the addresses of the group's transitive mail-enabled
/// members the account can hold, computed by [`naive_members`]; a group with none is
/// not in the account.
fn mirrors_membership(planner: Planner, scenario: &Scenario) -> Result<(), TestCaseError> {
    let settings = &scenario.settings;
    for (number, run) in scenario.runs(planner).iter().enumerate() {
        let held = held(&run.plan);
        let directory = &run.directory;
        for group in &directory.groups {
            let guid = guid_of(group.id);
            if held.contains(&guid) {
                continue;
            }
            let expected: BTreeSet<Address> = naive_members(directory, group.id)
                .into_iter()
                .filter_map(|id| {
                    if let Some(user) = directory.user(id) {
                        user.primary
                            .clone()
                            .filter(|primary| in_domain(settings, primary))
                    } else {
                        directory.contact(id).map(|contact| contact.primary.clone())
                    }
                })
                .collect();
            let actual = run.after.groups.get(&guid).map(|group| &group.members);
            if expected.is_empty() {
                prop_assert!(
                    actual.is_none(),
                    "run {}: group {} has no member the account can hold but is in the account",
                    number,
                    group.cn
                );
            } else {
                prop_assert_eq!(
                    actual,
                    Some(&expected),
                    "run {}: group {} in the account differs from the naive closure; plan: {:#?}",
                    number,
                    &group.cn,
                    &run.plan.changes
                );
            }
        }
    }
    Ok(())
}

/// Every directory-generated user mirrors its directory user: linked once, at its
/// primary, disabled and department as the directory says (when those are synced), its
/// in-domain aliases linked (when that is on); and nothing stays linked to a user that
/// left. Objects in a conflict are left out, as SPEC says they are left as they were.
fn mirrors_users(planner: Planner, scenario: &Scenario) -> Result<(), TestCaseError> {
    let settings = &scenario.settings;
    for (number, run) in scenario.runs(planner).iter().enumerate() {
        let held = held(&run.plan);
        let contested: BTreeSet<&Address> = run
            .plan
            .conflicts
            .iter()
            .map(|conflict| &conflict.address)
            .collect();
        let mut linked: BTreeMap<Guid, Vec<&reference_stack::account::CloudUser>> = BTreeMap::new();
        for user in run.after.users.values() {
            if let Some(guid) = user.origin.guid() {
                linked.entry(guid).or_default().push(user);
            }
        }
        for guid in linked.keys() {
            prop_assert!(
                run.snapshot.users.contains_key(guid),
                "run {}: a cloud user is still linked to {}, which left the directory",
                number,
                guid
            );
        }
        for user in &run.directory.users {
            let guid = guid_of(user.id);
            let Some(primary) = &user.primary else {
                continue;
            };
            if held.contains(&guid) || !in_domain(settings, primary) {
                continue;
            }
            let cloud = linked.get(&guid).map(Vec::as_slice).unwrap_or_default();
            prop_assert_eq!(
                cloud.len(),
                1,
                "run {}: {} is linked {} times",
                number,
                &user.cn,
                cloud.len()
            );
            let cloud = cloud[0];
            prop_assert_eq!(
                &cloud.address,
                primary,
                "run {}: {} address",
                number,
                &user.cn
            );
            if settings.acknowledge_disabled {
                prop_assert_eq!(
                    cloud.disabled,
                    user.disabled,
                    "run {}: {} disabled; plan: {:#?}",
                    number,
                    &user.cn,
                    &run.plan.changes
                );
            }
            if !settings.additional_attributes.is_empty() {
                let expected = user.department.clone().map(|department| vec![department]);
                prop_assert_eq!(
                    cloud.attributes.get("department"),
                    expected.as_ref(),
                    "run {}: {} department",
                    number,
                    &user.cn
                );
            }
            if settings.link_aliases {
                let expected: BTreeSet<Address> = user
                    .aliases
                    .iter()
                    .filter(|alias| in_domain(settings, alias) && !contested.contains(alias))
                    .cloned()
                    .collect();
                let actual: BTreeSet<Address> = cloud
                    .aliases
                    .iter()
                    .filter(|alias| !contested.contains(alias))
                    .cloned()
                    .collect();
                prop_assert_eq!(actual, expected, "run {}: {} aliases", number, &user.cn);
            }
        }
    }
    Ok(())
}

/// A run that would unlink or remove more directory-generated users than max unlink is
/// stopped and changes nothing; any other run is exactly the unlimited run.
fn stops_at_max_unlink(
    planner: Planner,
    scenario: &Scenario,
    max_unlink: usize,
) -> Result<(), TestCaseError> {
    let limited = Scenario {
        settings: AccountSettings {
            max_unlink,
            ..scenario.settings.clone()
        },
        ..scenario.clone()
    };
    for (number, run) in limited.runs(planner).iter().enumerate() {
        let unlimited = planner(&run.before, &run.snapshot, &scenario.settings);
        let would_unlink = unlimited
            .changes
            .iter()
            .filter(|change| {
                matches!(
                    change,
                    Change::UnlinkUser { .. } | Change::RemoveUser { .. }
                )
            })
            .count();
        if would_unlink > max_unlink {
            prop_assert!(run.plan.stopped.is_some(), "run {}: not stopped", number);
            prop_assert!(
                run.plan.changes.is_empty(),
                "run {}: a stopped plan has changes",
                number
            );
            prop_assert_eq!(
                &run.after,
                &run.before,
                "run {}: a stopped run changed the account",
                number
            );
        } else {
            prop_assert_eq!(
                run.plan.stopped,
                None,
                "run {}: stopped below the limit",
                number
            );
            prop_assert_eq!(&run.plan.changes, &unlimited.changes, "run {}", number);
        }
    }
    Ok(())
}

/// A run cut short after a prefix of its changes (a crash), then planned and applied
/// again from there, ends where the uninterrupted run ends.
fn resumes_after_a_crash(
    planner: Planner,
    scenario: &Scenario,
    cut: &Index,
) -> Result<(), TestCaseError> {
    for (number, run) in scenario.runs(planner).iter().enumerate() {
        let cut = cut.index(run.plan.changes.len() + 1);
        let prefix = Plan {
            changes: run.plan.changes[..cut].to_vec(),
            ..run.plan.clone()
        };
        let crashed = apply(&run.before, &prefix);
        let resumed = apply(
            &crashed,
            &planner(&crashed, &run.snapshot, &scenario.settings),
        );
        prop_assert_eq!(
            &resumed,
            &run.after,
            "run {}: cut after {} of {} changes; plan: {:#?}",
            number,
            cut,
            run.plan.changes.len(),
            &run.plan.changes
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The properties against the real planner.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_plan_applied_leaves_nothing_to_plan(scenario in scenario()) {
        converges(plan, &scenario)?;
    }

    #[test]
    fn applying_or_syncing_twice_is_applying_once(scenario in scenario()) {
        is_idempotent(plan, &scenario)?;
    }

    #[test]
    fn order_page_size_and_ranges_do_not_matter(
        scenario in scenario(),
        delivery in delivery(),
        range in 1usize..4,
    ) {
        ignores_delivery(plan, &scenario, &delivery, range)?;
    }

    #[test]
    fn manual_users_are_never_deleted(scenario in scenario()) {
        keeps_manual_users(plan, &scenario)?;
    }

    #[test]
    fn renames_and_moves_keep_identity(scenario in scenario_with(rename_or_move())) {
        keeps_identity(plan, &scenario)?;
    }

    #[test]
    fn group_membership_is_the_naive_closure(scenario in scenario()) {
        mirrors_membership(plan, &scenario)?;
    }

    #[test]
    fn users_mirror_their_directory_object(scenario in scenario()) {
        mirrors_users(plan, &scenario)?;
    }

    #[test]
    fn a_run_stopped_by_max_unlink_changes_nothing(scenario in scenario(), max_unlink in 0usize..4) {
        stops_at_max_unlink(plan, &scenario, max_unlink)?;
    }

    #[test]
    fn a_crash_mid_apply_heals_on_the_next_run(scenario in scenario(), cut in any::<Index>()) {
        resumes_after_a_crash(plan, &scenario, &cut)?;
    }
}

// ---------------------------------------------------------------------------------------
// Planted bugs: broken planners the properties must reject.
// ---------------------------------------------------------------------------------------

/// The real planner, minus every membership removal.
fn keeps_departed_members(
    account: &Account,
    snapshot: &DirectorySnapshot,
    settings: &AccountSettings,
) -> Plan {
    let mut plan = plan(account, snapshot, settings);
    plan.changes
        .retain(|change| !matches!(change, Change::RemoveGroupMember { .. }));
    plan
}

/// The real planner, blind to disabled accounts.
fn ignores_disabled(
    account: &Account,
    snapshot: &DirectorySnapshot,
    settings: &AccountSettings,
) -> Plan {
    let mut plan = plan(account, snapshot, settings);
    plan.changes.retain(|change| {
        !matches!(
            change,
            Change::DisableUser { .. } | Change::EnableUser { .. }
        )
    });
    plan
}

/// Runs `property` with `planner` on generated scenarios (a fixed seed, so the proof
/// does not depend on luck) and returns the shrunk counterexample's message.
fn counterexample(
    planner: Planner,
    property: fn(Planner, &Scenario) -> Result<(), TestCaseError>,
) -> Option<String> {
    let config = Config {
        cases: 256,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    match runner.run(&scenario(), |scenario| property(planner, &scenario)) {
        Ok(()) => None,
        Err(TestError::Fail(reason, _)) => Some(reason.to_string()),
        Err(TestError::Abort(reason)) => Some(format!("aborted: {reason}")),
    }
}

#[test]
fn planted_bugs_are_caught() {
    // The real planner passes these properties with the same seed: what fails below is
    // the planted bug, not the generator.
    for property in [mirrors_membership, mirrors_users] {
        assert_eq!(counterexample(plan, property), None);
    }

    let found = counterexample(keeps_departed_members, mirrors_membership)
        .expect("a planner that never removes group members must fail the membership property");
    println!("dropped membership removals caught:\n{found}");
    assert!(found.contains("differs from the naive closure"), "{found}");

    let found = counterexample(ignores_disabled, mirrors_users)
        .expect("a planner that ignores disabled accounts must fail the user property");
    println!("ignored disabled caught:\n{found}");
    assert!(found.contains("disabled"), "{found}");

    // Convergence alone cannot see either bug: a planner consistent with itself
    // converges. That is why the model-based properties exist.
    assert_eq!(counterexample(keeps_departed_members, converges), None);
}

/// Guards the generators: a property over scenarios that never delete, disable or
/// conflict would pass vacuously. Over 256 scenarios every kind of change shows up, and
/// so do conflicts, out-of-domain addresses and max-unlink-sized runs.
#[test]
fn generated_scenarios_exercise_every_kind_of_change() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut note = |what: &str| *seen.entry(what.to_owned()).or_default() += 1;
    for _ in 0..256 {
        let scenario = scenario().new_tree(&mut runner).unwrap().current();
        for run in scenario.runs(plan) {
            for change in &run.plan.changes {
                let kind = format!("{change:?}");
                note(kind.split([' ', '{']).next().unwrap_or_default());
            }
            if !run.plan.conflicts.is_empty() {
                note("conflict");
            }
            if !run.plan.out_of_domain.is_empty() {
                note("out of domain");
            }
        }
    }
    for kind in [
        "RemoveUser",
        "UnlinkUser",
        "RemoveContact",
        "RemoveGroup",
        "ChangeUserAddress",
        "ChangeContactAddress",
        "ConvertUser",
        "RelinkUser",
        "AddUser",
        "UnlinkAlias",
        "LinkAlias",
        "DisableUser",
        "EnableUser",
        "SetAttribute",
        "ClearAttribute",
        "ConvertContact",
        "AddContact",
        "RenameContact",
        "AddGroup",
        "RenameGroup",
        "SetGroupAddress",
        "RemoveGroupMember",
        "AddGroupMember",
        "conflict",
        "out of domain",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 0,
            "never generated: {kind}; saw {seen:#?}"
        );
    }
}
