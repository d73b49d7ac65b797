//! One test per SPEC "Apply" rule, each through [`check`], which also asserts that a
//! second run right after the first changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::settings::Region;
use crate::snapshot::GroupKind;

mod convergence;

fn guid(n: u8) -> Guid {
    let mut bytes = [0; 16];
    bytes[0] = n;
    Guid(bytes)
}

fn addr(text: &str) -> Address {
    Address::parse(text).expect("test address")
}

fn addrs(texts: &[&str]) -> BTreeSet<Address> {
    texts.iter().map(|text| addr(text)).collect()
}

/// A directory user `n` with the given primary, enabled, no aliases or attributes.
fn dir_user(n: u8, primary: &str) -> DirUser {
    DirUser {
        guid: guid(n),
        dn: format!(
            "CN={},OU=Staff,DC=corp,DC=test",
            primary.split('@').next().unwrap_or("")
        ),
        primary: addr(primary),
        aliases: BTreeSet::new(),
        disabled: false,
        attributes: BTreeMap::new(),
    }
}

fn dir_group(n: u8, name: &str, address: Option<&str>, members: &[u8]) -> DirGroup {
    DirGroup {
        guid: guid(n),
        dn: format!("CN={name},OU=Groups,DC=corp,DC=test"),
        name: name.to_owned(),
        kind: GroupKind::Group,
        address: address.map(addr),
        members: members.iter().map(|&m| guid(m)).collect(),
    }
}

fn dir_contact(n: u8, name: &str, primary: &str) -> DirContact {
    DirContact {
        guid: guid(n),
        dn: format!("CN={name},OU=Contacts,DC=corp,DC=test"),
        name: name.to_owned(),
        primary: addr(primary),
        aliases: BTreeSet::new(),
    }
}

fn manual(address: &str) -> CloudUser {
    CloudUser::manual(addr(address))
}

fn linked(address: &str, n: u8) -> CloudUser {
    CloudUser {
        origin: Origin::DirectoryGenerated { guid: guid(n) },
        ..manual(address)
    }
}

fn cloud_group(n: u8, name: &str, address: Option<&str>, members: &[&str]) -> CloudGroup {
    CloudGroup {
        guid: guid(n),
        name: name.to_owned(),
        kind: GroupKind::Group,
        address: address.map(addr),
        members: addrs(members),
    }
}

fn cloud_contact(address: &str, name: &str, origin: Origin) -> CloudContact {
    CloudContact {
        address: addr(address),
        origin,
        name: name.to_owned(),
    }
}

fn account(users: Vec<CloudUser>) -> Account {
    Account {
        users: users
            .into_iter()
            .map(|user| (user.address.clone(), user))
            .collect(),
        ..Account::default()
    }
}

fn snapshot(users: Vec<DirUser>) -> DirectorySnapshot {
    DirectorySnapshot {
        users: users.into_iter().map(|user| (user.guid, user)).collect(),
        ..DirectorySnapshot::default()
    }
}

fn with_groups(mut snapshot: DirectorySnapshot, groups: Vec<DirGroup>) -> DirectorySnapshot {
    snapshot.groups = groups
        .into_iter()
        .map(|group| (group.guid, group))
        .collect();
    snapshot
}

fn with_contacts(mut snapshot: DirectorySnapshot, contacts: Vec<DirContact>) -> DirectorySnapshot {
    snapshot.contacts = contacts
        .into_iter()
        .map(|contact| (contact.guid, contact))
        .collect();
    snapshot
}

/// Every option off, `corp.test` registered.
fn settings() -> AccountSettings {
    AccountSettings {
        domains: vec!["corp.test".into()],
        ..AccountSettings::new(Region::Europe)
    }
}

/// The plan as report lines: changes, then conflicts, out-of-domain, stop, warnings.
fn lines(plan: &Plan) -> Vec<String> {
    let mut lines: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
    lines.extend(plan.conflicts.iter().map(ToString::to_string));
    lines.extend(plan.out_of_domain.iter().map(ToString::to_string));
    lines.extend(plan.stopped.iter().map(ToString::to_string));
    lines.extend(
        plan.warnings
            .iter()
            .map(|warning| format!("warning: {warning}")),
    );
    lines
}

/// Runs one sync, compares its report lines, checks that a second sync changes nothing,
/// and returns the account after the first.
fn check(
    before: &Account,
    directory: &DirectorySnapshot,
    settings: &AccountSettings,
    expected: &[&str],
) -> Account {
    let (after, plan) = sync(before, directory, settings);
    assert_eq!(lines(&plan), expected, "first run");
    let again = super::plan(&after, directory, settings);
    assert_eq!(
        again.changes,
        Vec::new(),
        "second run is not empty: {:#?}",
        lines(&again)
    );
    after
}

#[test]
fn new_users_are_added_as_directory_generated() {
    let after = check(
        &Account::default(),
        &snapshot(vec![
            dir_user(1, "alice@corp.test"),
            dir_user(2, "Bob@Corp.test"),
        ]),
        &settings(),
        &[
            "+ user alice@corp.test (directory generated)",
            "+ user Bob@Corp.test (directory generated)",
        ],
    );
    assert_eq!(
        after.users[&addr("bob@corp.test")].origin,
        Origin::DirectoryGenerated { guid: guid(2) }
    );
}

#[test]
fn manual_users_matching_a_directory_address_are_converted() {
    let after = check(
        &account(vec![manual("ALICE@corp.test"), manual("carol@corp.test")]),
        &snapshot(vec![dir_user(1, "alice@corp.test")]),
        &settings(),
        &["~ user ALICE@corp.test: manual -> directory generated"],
    );
    assert_eq!(after.users[&addr("carol@corp.test")].origin, Origin::Manual);
    assert_eq!(
        after.users[&addr("alice@corp.test")].address.original(),
        "ALICE@corp.test",
        "a case-only difference is not a change"
    );
}

#[test]
fn groups_with_mail_enabled_members_are_added_and_membership_follows() {
    let users = vec![
        dir_user(1, "alice@corp.test"),
        dir_user(2, "bob@corp.test"),
        dir_user(3, "carol@corp.test"),
    ];
    let first = with_groups(
        snapshot(users.clone()),
        vec![dir_group(10, "Sales", Some("sales@corp.test"), &[1, 2])],
    );
    let after = check(
        &Account::default(),
        &first,
        &settings(),
        &[
            "+ user alice@corp.test (directory generated)",
            "+ user bob@corp.test (directory generated)",
            "+ user carol@corp.test (directory generated)",
            "+ group Sales <sales@corp.test>: alice@corp.test, bob@corp.test",
        ],
    );
    let second = with_groups(
        snapshot(users),
        vec![dir_group(10, "Sales", Some("sales@corp.test"), &[2, 3])],
    );
    check(
        &after,
        &second,
        &settings(),
        &[
            "~ group Sales: - member alice@corp.test",
            "~ group Sales: + member carol@corp.test",
        ],
    );
}

#[test]
fn a_group_without_mail_enabled_members_is_not_a_cloud_group() {
    let directory = with_groups(
        snapshot(vec![dir_user(1, "alice@corp.test")]),
        vec![
            dir_group(10, "Empty", Some("empty@corp.test"), &[]),
            dir_group(11, "Emptied", None, &[]),
        ],
    );
    let before = Account {
        groups: [(
            guid(11),
            cloud_group(11, "Emptied", None, &["alice@corp.test"]),
        )]
        .into(),
        ..account(vec![linked("alice@corp.test", 1)])
    };
    check(&before, &directory, &settings(), &["- group Emptied"]);
}

#[test]
fn dynamic_lists_and_security_groups_sync_like_groups() {
    let mut list = dir_group(10, "All Staff", Some("all@corp.test"), &[1]);
    list.kind = GroupKind::DynamicList;
    let directory = with_groups(
        snapshot(vec![dir_user(1, "alice@corp.test")]),
        vec![list, dir_group(11, "VPN Users", None, &[1])],
    );
    let after = check(
        &account(vec![linked("alice@corp.test", 1)]),
        &directory,
        &settings(),
        &[
            "+ group All Staff <all@corp.test>: alice@corp.test",
            "+ group VPN Users: alice@corp.test",
        ],
    );
    assert_eq!(after.groups[&guid(10)].kind, GroupKind::DynamicList);
}

#[test]
fn group_renames_and_address_changes_are_updates() {
    let directory = with_groups(
        snapshot(vec![dir_user(1, "alice@corp.test")]),
        vec![dir_group(10, "Sales EMEA", Some("emea@corp.test"), &[1])],
    );
    let before = Account {
        groups: [(
            guid(10),
            cloud_group(10, "Sales", Some("sales@corp.test"), &["alice@corp.test"]),
        )]
        .into(),
        ..account(vec![linked("alice@corp.test", 1)])
    };
    check(
        &before,
        &directory,
        &settings(),
        &[
            "~ group Sales EMEA: renamed from \"Sales\"",
            "~ group Sales EMEA: address sales@corp.test -> emea@corp.test",
        ],
    );
}

#[test]
fn additional_attributes_are_updated_and_others_left_alone() {
    let mut alice = dir_user(1, "alice@corp.test");
    alice.attributes = [
        ("Department".to_owned(), vec!["Sales".to_owned()]),
        (
            "otherTelephone".to_owned(),
            vec!["2".to_owned(), "1".to_owned(), "2".to_owned()],
        ),
        ("title".to_owned(), vec!["Boss".to_owned()]),
    ]
    .into();
    let mut before = linked("alice@corp.test", 1);
    before.attributes = [
        ("department".to_owned(), vec!["Marketing".to_owned()]),
        ("telephoneNumber".to_owned(), vec!["555".to_owned()]),
        ("manualNote".to_owned(), vec!["keep".to_owned()]),
    ]
    .into();
    let settings = AccountSettings {
        additional_attributes: vec![
            "department".into(),
            "otherTelephone".into(),
            "telephoneNumber".into(),
        ],
        ..settings()
    };
    let after = check(
        &account(vec![before]),
        &snapshot(vec![alice]),
        &settings,
        &[
            "~ user alice@corp.test: department = [\"Sales\"]",
            "~ user alice@corp.test: otherTelephone = [\"1\", \"2\"]",
            "~ user alice@corp.test: telephoneNumber cleared",
        ],
    );
    let attributes = &after.users[&addr("alice@corp.test")].attributes;
    assert_eq!(attributes["manualNote"], ["keep"]);
    assert!(!attributes.contains_key("title"), "title is not configured");
}

#[test]
fn link_aliases_on_links_and_unlinks_aliases() {
    let mut alice = dir_user(1, "alice@corp.test");
    alice.aliases = addrs(&["al@corp.test", "a.smith@corp.test"]);
    let mut before = linked("alice@corp.test", 1);
    before.aliases = addrs(&["old@corp.test", "al@corp.test"]);
    let settings = AccountSettings {
        link_aliases: true,
        ..settings()
    };
    check(
        &account(vec![before]),
        &snapshot(vec![alice, dir_user(2, "bob@corp.test")]),
        &settings,
        &[
            "+ user bob@corp.test (directory generated)",
            "~ user alice@corp.test: - alias old@corp.test",
            "~ user alice@corp.test: + alias a.smith@corp.test",
        ],
    );
    let mut carol = dir_user(3, "carol@corp.test");
    carol.aliases = addrs(&["c@corp.test"]);
    check(
        &Account::default(),
        &snapshot(vec![carol]),
        &settings,
        &["+ user carol@corp.test (directory generated, aliases c@corp.test)"],
    );
}

#[test]
fn link_aliases_off_leaves_aliases_alone() {
    let mut alice = dir_user(1, "alice@corp.test");
    alice.aliases = addrs(&["al@corp.test"]);
    let mut before = linked("alice@corp.test", 1);
    before.aliases = addrs(&["set-by-hand@corp.test"]);
    let mut bob = dir_user(2, "bob@corp.test");
    bob.aliases = addrs(&["b@corp.test"]);
    let after = check(
        &account(vec![before]),
        &snapshot(vec![alice, bob]),
        &settings(),
        &["+ user bob@corp.test (directory generated)"],
    );
    assert_eq!(
        after.users[&addr("alice@corp.test")].aliases,
        addrs(&["set-by-hand@corp.test"])
    );
}

#[test]
fn acknowledge_disabled_disables_and_enables_again() {
    let settings = AccountSettings {
        acknowledge_disabled: true,
        ..settings()
    };
    let mut alice = dir_user(1, "alice@corp.test");
    alice.disabled = true;
    let mut bob = dir_user(2, "bob@corp.test");
    bob.disabled = true;
    let after = check(
        &account(vec![linked("alice@corp.test", 1)]),
        &snapshot(vec![alice.clone(), bob]),
        &settings,
        &[
            "+ user bob@corp.test (directory generated, disabled)",
            "~ user alice@corp.test: disabled",
        ],
    );
    alice.disabled = false;
    check(
        &after,
        &snapshot(vec![alice, dir_user(2, "bob@corp.test")]),
        &settings,
        &[
            "~ user alice@corp.test: enabled",
            "~ user bob@corp.test: enabled",
        ],
    );
}

#[test]
fn without_acknowledge_disabled_the_cloud_flag_is_left_alone() {
    let mut alice = dir_user(1, "alice@corp.test");
    alice.disabled = true;
    let mut bob_cloud = linked("bob@corp.test", 2);
    bob_cloud.disabled = true;
    let after = check(
        &account(vec![linked("alice@corp.test", 1), bob_cloud]),
        &snapshot(vec![alice, dir_user(2, "bob@corp.test"), {
            let mut carol = dir_user(3, "carol@corp.test");
            carol.disabled = true;
            carol
        }]),
        &settings(),
        &["+ user carol@corp.test (directory generated)"],
    );
    assert!(!after.users[&addr("alice@corp.test")].disabled);
    assert!(after.users[&addr("bob@corp.test")].disabled);
}

#[test]
fn users_who_left_are_unlinked_and_kept_by_default() {
    let after = check(
        &account(vec![
            linked("alice@corp.test", 1),
            linked("bob@corp.test", 2),
        ]),
        &snapshot(vec![dir_user(1, "alice@corp.test")]),
        &settings(),
        &["~ user bob@corp.test: unlinked (left the directory; kept as a manual user)"],
    );
    assert_eq!(after.users[&addr("bob@corp.test")].origin, Origin::Manual);
}

#[test]
fn users_who_left_are_removed_with_delete_users() {
    let settings = AccountSettings {
        delete_users: true,
        ..settings()
    };
    let after = check(
        &account(vec![
            linked("alice@corp.test", 1),
            linked("bob@corp.test", 2),
        ]),
        &snapshot(vec![dir_user(1, "alice@corp.test")]),
        &settings,
        &["- user bob@corp.test (left the directory)"],
    );
    assert!(!after.users.contains_key(&addr("bob@corp.test")));
}

#[test]
fn manual_users_are_never_deleted() {
    let settings = AccountSettings {
        delete_users: true,
        ..settings()
    };
    let before = account(vec![manual("admin@corp.test"), manual("alice@corp.test")]);
    let after = check(&before, &DirectorySnapshot::default(), &settings, &[]);
    assert_eq!(after, before);
}

#[test]
fn sync_contacts_mirrors_directory_contacts() {
    let settings = AccountSettings {
        sync_contacts: true,
        ..settings()
    };
    let before = Account {
        contacts: [
            (
                addr("gone@partner.example"),
                cloud_contact(
                    "gone@partner.example",
                    "Gone",
                    Origin::DirectoryGenerated { guid: guid(31) },
                ),
            ),
            (
                addr("typed@partner.example"),
                cloud_contact("typed@partner.example", "Typed", Origin::Manual),
            ),
            (
                addr("kept@partner.example"),
                cloud_contact("kept@partner.example", "Kept by hand", Origin::Manual),
            ),
        ]
        .into(),
        ..Account::default()
    };
    let directory = with_contacts(
        DirectorySnapshot::default(),
        vec![
            dir_contact(30, "Partner", "partner@partner.example"),
            dir_contact(32, "Typed In", "typed@partner.example"),
        ],
    );
    check(
        &before,
        &directory,
        &settings,
        &[
            "- contact gone@partner.example (left the directory)",
            "~ contact typed@partner.example: manual -> directory generated",
            "+ contact partner@partner.example (Partner)",
            "~ contact typed@partner.example: renamed from \"Typed\" to \"Typed In\"",
        ],
    );
}

#[test]
fn without_sync_contacts_contacts_only_count_as_group_members() {
    let directory = with_groups(
        with_contacts(
            snapshot(vec![dir_user(1, "alice@corp.test")]),
            vec![dir_contact(30, "Partner", "partner@partner.example")],
        ),
        vec![
            dir_group(10, "Suppliers", None, &[30]),
            dir_group(11, "Project", None, &[1, 30]),
        ],
    );
    let before = Account {
        contacts: [(
            addr("old@partner.example"),
            cloud_contact(
                "old@partner.example",
                "Old",
                Origin::DirectoryGenerated { guid: guid(39) },
            ),
        )]
        .into(),
        ..account(vec![linked("alice@corp.test", 1)])
    };
    let after = check(
        &before,
        &directory,
        &settings(),
        &[
            "+ group Suppliers: partner@partner.example",
            "+ group Project: alice@corp.test, partner@partner.example",
        ],
    );
    assert_eq!(after.contacts, before.contacts, "contacts are left alone");
}

#[test]
fn out_of_domain_addresses_are_reported_not_applied() {
    let mut alice = dir_user(1, "alice@corp.test");
    alice.aliases = addrs(&["alice@personal.example", "al@corp.test"]);
    let settings = AccountSettings {
        link_aliases: true,
        ..settings()
    };
    let directory = with_groups(
        snapshot(vec![alice, dir_user(2, "bob@subsidiary.test")]),
        vec![dir_group(10, "Sales", Some("sales@other.test"), &[1, 2])],
    );
    let after = check(
        &account(vec![linked("bob@subsidiary.test", 2)]),
        &directory,
        &settings,
        &[
            "+ user alice@corp.test (directory generated, aliases al@corp.test)",
            "+ group Sales: alice@corp.test",
            "? out of domain alice@personal.example: alias of user CN=alice,OU=Staff,DC=corp,DC=test",
            "? out of domain bob@subsidiary.test: primary address of user CN=bob,OU=Staff,DC=corp,DC=test",
            "? out of domain sales@other.test: group address of group CN=Sales,OU=Groups,DC=corp,DC=test",
        ],
    );
    assert_eq!(
        after.users[&addr("bob@subsidiary.test")].origin,
        Origin::DirectoryGenerated { guid: guid(2) },
        "an out-of-domain user has not left the directory: it is left as it was"
    );
}

#[test]
fn no_registered_domain_means_everything_is_out_of_domain() {
    let settings = AccountSettings {
        domains: Vec::new(),
        ..settings()
    };
    check(
        &Account::default(),
        &snapshot(vec![dir_user(1, "alice@corp.test")]),
        &settings,
        &["? out of domain alice@corp.test: primary address of user CN=alice,OU=Staff,DC=corp,DC=test"],
    );
}

#[test]
fn two_objects_claiming_one_address_conflict_and_the_rest_applies() {
    let settings = AccountSettings {
        link_aliases: true,
        ..settings()
    };
    let mut alice = dir_user(1, "alice@corp.test");
    alice.disabled = true;
    let mut shared = dir_user(3, "dave@corp.test");
    shared.aliases = addrs(&["Sales@corp.test"]);
    let directory = with_groups(
        snapshot(vec![
            alice,
            dir_user(2, "ALICE@corp.test"),
            shared,
            dir_user(4, "erin@corp.test"),
        ]),
        vec![dir_group(10, "Sales", Some("sales@corp.test"), &[1, 4])],
    );
    let before = account(vec![manual("alice@corp.test")]);
    let after = check(
        &before,
        &directory,
        &AccountSettings {
            acknowledge_disabled: true,
            ..settings
        },
        &[
            "+ user erin@corp.test (directory generated)",
            "! conflict alice@corp.test: directory user CN=alice,OU=Staff,DC=corp,DC=test, \
             directory user CN=ALICE,OU=Staff,DC=corp,DC=test",
            "! conflict Sales@corp.test: directory user CN=dave,OU=Staff,DC=corp,DC=test, \
             directory group CN=Sales,OU=Groups,DC=corp,DC=test",
        ],
    );
    assert_eq!(
        after.users[&addr("alice@corp.test")],
        manual("alice@corp.test"),
        "left as it was: not converted, not disabled"
    );
}

#[test]
fn a_changed_primary_address_is_an_update_of_the_same_user() {
    let mut alice = dir_user(1, "alice.smith@corp.test");
    alice.dn = "CN=Alice Smith,OU=Moved,DC=corp,DC=test".into();
    let mut before = linked("alice@corp.test", 1);
    before.attributes = [("manualNote".to_owned(), vec!["kept".to_owned()])].into();
    let after = check(
        &Account {
            groups: [(
                guid(10),
                cloud_group(10, "Sales", None, &["alice@corp.test"]),
            )]
            .into(),
            ..account(vec![before])
        },
        &with_groups(
            snapshot(vec![alice]),
            vec![dir_group(10, "Sales", None, &[1])],
        ),
        &settings(),
        &[
            "~ user alice@corp.test -> alice.smith@corp.test (primary address changed)",
            "~ group Sales: - member alice@corp.test",
            "~ group Sales: + member alice.smith@corp.test",
        ],
    );
    let moved = &after.users[&addr("alice.smith@corp.test")];
    assert_eq!(moved.attributes["manualNote"], ["kept"]);
    assert_eq!(after.users.len(), 1);
}

#[test]
fn two_users_can_swap_addresses() {
    let after = check(
        &account(vec![linked("a@corp.test", 1), linked("b@corp.test", 2)]),
        &snapshot(vec![dir_user(1, "b@corp.test"), dir_user(2, "a@corp.test")]),
        &settings(),
        &[
            "~ user a@corp.test -> b@corp.test (primary address changed)",
            "~ user b@corp.test -> a@corp.test (primary address changed)",
        ],
    );
    assert_eq!(
        after.users[&addr("a@corp.test")].origin,
        Origin::DirectoryGenerated { guid: guid(2) }
    );
}

#[test]
fn moving_onto_a_manual_users_address_is_a_conflict() {
    let before = account(vec![linked("alice@corp.test", 1), manual("boss@corp.test")]);
    let after = check(
        &before,
        &snapshot(vec![dir_user(1, "boss@corp.test")]),
        &settings(),
        &[
            "! conflict boss@corp.test: directory user CN=boss,OU=Staff,DC=corp,DC=test, \
           cloud user boss@corp.test (manual)",
        ],
    );
    assert_eq!(after, before);
}

#[test]
fn a_recreated_directory_user_takes_over_its_cloud_user() {
    let mut before = linked("alice@corp.test", 1);
    before.disabled = true;
    let after = check(
        &account(vec![before]),
        &snapshot(vec![dir_user(9, "alice@corp.test")]),
        &settings(),
        &[&format!(
            "~ user alice@corp.test: relinked from {} (left the directory) to {}",
            guid(1),
            guid(9)
        )],
    );
    assert!(after.users[&addr("alice@corp.test")].disabled);
}

#[test]
fn an_alias_held_by_another_user_is_not_linked_and_the_rest_applies() {
    let settings = AccountSettings {
        link_aliases: true,
        ..settings()
    };
    let mut alice = dir_user(1, "alice@corp.test");
    alice.aliases = addrs(&["info@corp.test", "al@corp.test"]);
    check(
        &account(vec![manual("info@corp.test")]),
        &snapshot(vec![alice]),
        &settings,
        &[
            "+ user alice@corp.test (directory generated, aliases al@corp.test)",
            "! conflict info@corp.test: directory user CN=alice,OU=Staff,DC=corp,DC=test, \
             cloud user info@corp.test (manual)",
        ],
    );
}

#[test]
fn max_unlink_stops_the_whole_run() {
    let before = account(vec![
        linked("a@corp.test", 1),
        linked("b@corp.test", 2),
        linked("c@corp.test", 3),
        manual("d@corp.test"),
    ]);
    let directory = snapshot(vec![dir_user(4, "d@corp.test"), dir_user(5, "e@corp.test")]);
    let stop = AccountSettings {
        max_unlink: 2,
        ..settings()
    };
    let after = check(
        &before,
        &directory,
        &stop,
        &[
            "stopped: this run would unlink or remove 3 directory-generated users, more than \
           max unlink (2); nothing was applied. Check the root DN and the extraction, or raise \
           max unlink if the directory really lost them",
        ],
    );
    assert_eq!(after, before);

    let at_the_limit = AccountSettings {
        max_unlink: 3,
        delete_users: true,
        ..settings()
    };
    check(
        &before,
        &directory,
        &at_the_limit,
        &[
            "- user a@corp.test (left the directory)",
            "- user b@corp.test (left the directory)",
            "- user c@corp.test (left the directory)",
            "~ user d@corp.test: manual -> directory generated",
            "+ user e@corp.test (directory generated)",
        ],
    );
}

#[test]
fn a_user_linked_twice_keeps_one_link_and_warns() {
    let after = check(
        &account(vec![
            linked("alice@corp.test", 1),
            linked("old-alice@corp.test", 1),
        ]),
        &snapshot(vec![dir_user(1, "alice@corp.test")]),
        &settings(),
        &[
            "~ user old-alice@corp.test: unlinked (left the directory; kept as a manual user)",
            &format!(
                "warning: cloud users alice@corp.test and old-alice@corp.test are both linked \
                 to directory object {}; old-alice@corp.test is treated as no longer in the \
                 directory",
                guid(1)
            ),
        ],
    );
    assert_eq!(after.users.len(), 2);
}

#[test]
fn changes_are_ordered_by_kind_then_key() {
    let settings = AccountSettings {
        link_aliases: true,
        acknowledge_disabled: true,
        delete_users: true,
        sync_contacts: true,
        additional_attributes: vec!["department".into()],
        ..settings()
    };
    let mut zed = dir_user(1, "zed@corp.test");
    zed.aliases = addrs(&["z@corp.test"]);
    zed.disabled = true;
    zed.attributes = [("department".to_owned(), vec!["Ops".to_owned()])].into();
    let directory = with_contacts(
        with_groups(
            snapshot(vec![
                zed,
                dir_user(2, "amy@corp.test"),
                dir_user(3, "new-name@corp.test"),
                dir_user(4, "manual@corp.test"),
            ]),
            vec![dir_group(10, "Team", None, &[1, 2, 30])],
        ),
        vec![dir_contact(30, "Vendor", "vendor@vendor.example")],
    );
    let before = Account {
        groups: [(guid(11), cloud_group(11, "Gone", None, &["x@corp.test"]))].into(),
        ..account(vec![
            linked("zed@corp.test", 1),
            linked("old-name@corp.test", 3),
            linked("left@corp.test", 5),
            manual("manual@corp.test"),
        ])
    };
    check(
        &before,
        &directory,
        &settings,
        &[
            "- user left@corp.test (left the directory)",
            "- group Gone",
            "~ user old-name@corp.test -> new-name@corp.test (primary address changed)",
            "~ user manual@corp.test: manual -> directory generated",
            "+ user amy@corp.test (directory generated)",
            "~ user zed@corp.test: + alias z@corp.test",
            "~ user zed@corp.test: disabled",
            "~ user zed@corp.test: department = [\"Ops\"]",
            "+ contact vendor@vendor.example (Vendor)",
            "+ group Team: amy@corp.test, vendor@vendor.example, zed@corp.test",
        ],
    );
}

#[test]
fn a_renamed_or_moved_user_is_the_same_user() {
    let mut alice = dir_user(1, "alice@corp.test");
    alice.dn = "CN=Alice Renamed,OU=Elsewhere,DC=corp,DC=test".into();
    check(
        &account(vec![linked("alice@corp.test", 1)]),
        &snapshot(vec![alice]),
        &settings(),
        &[],
    );
}

#[test]
fn apply_skips_changes_that_do_not_fit_instead_of_clobbering() {
    let before = account(vec![manual("a@corp.test"), manual("b@corp.test")]);
    let foreign = Plan {
        changes: vec![
            Change::ChangeUserAddress {
                from: addr("a@corp.test"),
                to: addr("b@corp.test"),
                guid: guid(1),
            },
            Change::AddUser {
                user: linked("b@corp.test", 2),
            },
            Change::DisableUser {
                address: addr("nobody@corp.test"),
            },
        ],
        ..Plan::default()
    };
    assert_eq!(apply(&before, &foreign), before);
}
