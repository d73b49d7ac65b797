//! Users: added, converted, updated, disabled, unlinked, removed; identity by GUID.

use super::*;

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
