//! Property: a second sync right after the first changes nothing, whatever the account,
//! directory and settings; and a sync never deletes a manual user.

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

use super::*;

/// A small pool so that random accounts and directories collide often.
const POOL: [&str; 7] = [
    "a@corp.test",
    "b@corp.test",
    "C@corp.test",
    "c@corp.test",
    "d@corp.test",
    "e@other.test",
    "f@other.test",
];

fn pooled() -> impl Strategy<Value = Address> {
    (0..POOL.len()).prop_map(|index| addr(POOL[index]))
}

fn pooled_set() -> impl Strategy<Value = BTreeSet<Address>> {
    btree_set(pooled(), 0..3)
}

fn attributes() -> impl Strategy<Value = BTreeMap<String, Vec<String>>> {
    btree_map(
        prop_oneof![Just("department".to_owned()), Just("title".to_owned())],
        vec(
            prop_oneof![Just("x".to_owned()), Just("y".to_owned())],
            0..3,
        ),
        0..2,
    )
}

fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![
        Just(Origin::Manual),
        (1u8..=6).prop_map(|n| Origin::DirectoryGenerated { guid: guid(n) }),
        (30u8..=32).prop_map(|n| Origin::DirectoryGenerated { guid: guid(n) }),
    ]
}

fn cloud_user() -> impl Strategy<Value = CloudUser> {
    (
        pooled(),
        origin(),
        any::<bool>(),
        pooled_set(),
        attributes(),
    )
        .prop_map(
            |(address, origin, disabled, aliases, attributes)| CloudUser {
                address,
                origin,
                disabled,
                aliases,
                attributes,
            },
        )
}

fn cloud_account() -> impl Strategy<Value = Account> {
    (
        vec(cloud_user(), 0..6),
        btree_map(
            20u8..=22,
            (
                prop::option::of(pooled()),
                pooled_set(),
                prop_oneof![Just("G"), Just("H")],
            ),
            0..3,
        ),
        vec(
            (pooled(), origin(), prop_oneof![Just("K"), Just("L")]),
            0..3,
        ),
    )
        .prop_map(|(users, groups, contacts)| Account {
            users: users
                .into_iter()
                .map(|user| (user.address.clone(), user))
                .collect(),
            groups: groups
                .into_iter()
                .map(|(n, (address, members, name))| {
                    (
                        guid(n),
                        CloudGroup {
                            guid: guid(n),
                            name: name.to_owned(),
                            kind: GroupKind::Group,
                            address,
                            members,
                        },
                    )
                })
                .collect(),
            contacts: contacts
                .into_iter()
                .map(|(address, origin, name)| {
                    (
                        address.clone(),
                        CloudContact {
                            address,
                            origin,
                            name: name.to_owned(),
                        },
                    )
                })
                .collect(),
        })
}

fn directory() -> impl Strategy<Value = DirectorySnapshot> {
    let users = btree_map(
        1u8..=6,
        (pooled(), pooled_set(), any::<bool>(), attributes()),
        0..6,
    );
    let groups = btree_map(
        20u8..=22,
        (
            prop::option::of(pooled()),
            btree_set(prop_oneof![1u8..=6, 30u8..=32, 40u8..=41], 0..4),
            prop_oneof![Just("G"), Just("H")],
        ),
        0..3,
    );
    let contacts = btree_map(
        30u8..=32,
        (pooled(), prop_oneof![Just("K"), Just("L")]),
        0..3,
    );
    (users, groups, contacts).prop_map(|(users, groups, contacts)| DirectorySnapshot {
        users: users
            .into_iter()
            .map(|(n, (primary, aliases, disabled, attributes))| {
                let mut user = dir_user(n, primary.original());
                user.aliases = aliases;
                user.aliases.remove(&primary);
                user.disabled = disabled;
                user.attributes = attributes;
                (guid(n), user)
            })
            .collect(),
        groups: groups
            .into_iter()
            .map(|(n, (address, members, name))| {
                let mut group = dir_group(n, name, None, &[]);
                group.address = address;
                group.members = members.into_iter().map(guid).collect();
                (guid(n), group)
            })
            .collect(),
        contacts: contacts
            .into_iter()
            .map(|(n, (primary, name))| (guid(n), dir_contact(n, name, primary.original())))
            .collect(),
    })
}

fn account_settings() -> impl Strategy<Value = AccountSettings> {
    (
        any::<[bool; 5]>(),
        0usize..8,
        prop_oneof![
            Just(vec!["corp.test".to_owned()]),
            Just(vec!["corp.test".to_owned(), "other.test".to_owned()]),
        ],
    )
        .prop_map(|(flags, max_unlink, domains)| AccountSettings {
            link_aliases: flags[0],
            acknowledge_disabled: flags[1],
            additional_attributes: vec!["department".into()],
            delete_users: flags[2],
            max_unlink,
            sync_contacts: flags[3],
            domains: if flags[4] {
                domains
            } else {
                vec!["corp.test".into()]
            },
            region: Region::Europe,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_second_sync_changes_nothing(
        before in cloud_account(),
        directory in directory(),
        settings in account_settings(),
    ) {
        let (after, first) = sync(&before, &directory, &settings);
        let second = plan(&after, &directory, &settings);
        prop_assert!(
            second.changes.is_empty(),
            "first: {:#?}\nsecond: {:#?}",
            lines(&first),
            lines(&second)
        );

        if first.stopped.is_some() {
            prop_assert_eq!(&after, &before);
            return Ok(());
        }
        for (address, user) in &before.users {
            if user.origin == Origin::Manual {
                prop_assert!(after.users.contains_key(address), "manual {} deleted", address);
            }
        }
        let linked: Vec<Guid> = after.users.values().filter_map(|u| u.origin.guid()).collect();
        let unique: BTreeSet<&Guid> = linked.iter().collect();
        prop_assert_eq!(unique.len(), linked.len(), "a GUID is linked twice: {:#?}", after);

        // A run never gives an address a second owner; collisions already in the account
        // may stay, but never grow.
        let owners_before = before.claimed_addresses();
        for (address, owners) in after.claimed_addresses() {
            let allowed = owners_before.get(&address).copied().unwrap_or(0).max(1);
            prop_assert!(owners <= allowed, "{} has {} owners: {:#?}", address, owners, lines(&first));
        }

        let added = first.changes.iter().filter(|c| matches!(c, Change::AddUser { .. })).count();
        let removed = first.changes.iter().filter(|c| matches!(c, Change::RemoveUser { .. })).count();
        prop_assert_eq!(after.users.len(), before.users.len() + added - removed);
    }
}
