//! Groups, dynamic lists and contacts.

use super::*;

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
fn a_member_reached_twice_keeps_the_first_members_spelling() {
    // A user and a contact at one address (in two spellings) in one group: the cloud
    // group lists the address once, spelt as the member first in GUID order spells it.
    let directory = with_contacts(
        with_groups(
            snapshot(vec![
                dir_user(1, "Dana@corp.test"),
                dir_user(2, "erin@corp.test"),
            ]),
            vec![dir_group(10, "Sales", None, &[20, 1, 2])],
        ),
        vec![dir_contact(20, "Dana outside", "dana@CORP.test")],
    );
    let after = check(
        &Account::default(),
        &directory,
        &settings(),
        &[
            "+ user Dana@corp.test (directory generated)",
            "+ user erin@corp.test (directory generated)",
            "+ group Sales: Dana@corp.test, erin@corp.test",
        ],
    );
    let members: Vec<&str> = after.groups[&guid(10)]
        .members
        .iter()
        .map(|member| member.original())
        .collect();
    assert_eq!(members, ["Dana@corp.test", "erin@corp.test"]);
}
