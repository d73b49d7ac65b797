//! What a run leaves out and why: domains, conflicts, max unlink; plan order; apply
//! on a plan that does not fit.

use super::*;

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
fn registered_domains_match_whatever_the_case_and_a_trailing_dot() {
    let mut alice = dir_user(1, "alice@Corp.TEST.");
    alice.aliases = addrs(&["al@CORP.test", "al@corp.test.example"]);
    let settings = AccountSettings {
        link_aliases: true,
        domains: vec![" corp.Test. ".into()],
        ..settings()
    };
    check(
        &Account::default(),
        &snapshot(vec![alice]),
        &settings,
        &[
            "+ user alice@Corp.TEST. (directory generated, aliases al@CORP.test)",
            "? out of domain al@corp.test.example: alias of user CN=alice,OU=Staff,DC=corp,DC=test",
        ],
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

/// Found by `applying_or_syncing_twice_is_applying_once`: a contact deleted from the
/// directory while another moved onto its address. The first apply removes the one and
/// moves the other; applying the plan again used to remove the contact that had moved
/// in, since removals looked at the address only.
#[test]
fn applying_a_plan_twice_does_not_remove_what_moved_in() {
    let settings = AccountSettings {
        sync_contacts: true,
        ..settings()
    };
    let before = Account {
        contacts: [
            cloud_contact(
                "frank@partner.test",
                "Frank",
                Origin::DirectoryGenerated { guid: guid(1) },
            ),
            cloud_contact(
                "alice@partner.test",
                "Alice",
                Origin::DirectoryGenerated { guid: guid(2) },
            ),
        ]
        .into_iter()
        .map(|contact| (contact.address.clone(), contact))
        .collect(),
        ..Account::default()
    };
    let directory = with_contacts(
        DirectorySnapshot::default(),
        vec![dir_contact(2, "Alice", "frank@partner.test")],
    );
    let (once, plan) = sync(&before, &directory, &settings);
    assert_eq!(once.contacts.len(), 1, "{once:#?}");
    assert_eq!(apply(&once, &plan), once);
}
