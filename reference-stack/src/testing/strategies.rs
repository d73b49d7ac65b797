//! proptest strategies: directories, cloud accounts, settings, mutations, deliveries.
//!
//! Sizes are small on purpose (about a dozen users, a handful of groups) and addresses
//! come from a small pool, so that conflicts, adoptions and relinks happen in most
//! cases while a case still runs in well under a millisecond.

use std::collections::{BTreeMap, BTreeSet};

use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;

use super::entries::Delivery;
use super::model::{guid_of, AddressStyle, Contact, Directory, Group, GroupKind, User, OUS};
use super::mutation::{MemberPick, Mutation, NewObject};
use super::Scenario;
use crate::account::{Account, CloudContact, CloudGroup, CloudUser, Origin};
use crate::address::Address;
use crate::settings::{AccountSettings, Region};
use crate::snapshot;

/// Local parts, some with characters addresses allow and DNs or filters do not like.
const LOCAL_PARTS: [&str; 16] = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "o'brien",
    "first.last",
    "x+tag",
    "zoë",
    "sales",
];

/// `corp.test` is always registered, `sales.corp.test` sometimes, `other.test` never.
const DOMAINS: [&str; 3] = ["corp.test", "sales.corp.test", "other.test"];

/// Names with every character RFC 4514 escapes, non-ASCII letters, leading `#` and
/// spaces at either end.
const NAMES: [&str; 12] = [
    "Alice Smith",
    "Smith, John",
    "O'Brien",
    "Zoë Ünal",
    "R&D #1",
    "#hash",
    " Leading",
    "Müller+Co",
    "Say \"hi\"",
    "Back\\slash",
    "semi;colon <x>",
    "a=b",
];

/// Values of `department`; the first two are what dynamic lists ask for.
const DEPARTMENTS: [&str; 3] = ["Sales", "R&D", "Ops"];

/// Ids of cloud objects linked to directory objects that no longer exist start here,
/// far above any id a directory hands out.
pub const STALE_ID: u32 = 100_000;

/// An address from the pool, its case varied (addresses compare case-insensitively,
/// and the cloud keeps the spelling it has). About sixty addresses in the registered
/// domain: enough that most objects have their own, few enough that two objects meet
/// on one address in a good share of cases.
pub fn address() -> impl Strategy<Value = Address> {
    // Mostly the always-registered domain, so most objects sync rather than being
    // reported as out of domain.
    let domain = prop_oneof![6 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)];
    (0..LOCAL_PARTS.len(), 0u8..4, domain, 0u8..4).prop_filter_map(
        "pool addresses parse",
        |(local, number, domain, case)| {
            let number = if number == 0 {
                String::new()
            } else {
                number.to_string()
            };
            let text = format!("{}{number}@{}", LOCAL_PARTS[local], DOMAINS[domain]);
            let text = match case {
                0 => text.to_uppercase(),
                1 => {
                    let mut chars = text.chars();
                    chars
                        .next()
                        .map(|first| first.to_uppercase().chain(chars).collect())
                        .unwrap_or(text)
                }
                _ => text,
            };
            Address::parse(&text).ok()
        },
    )
}

/// An address outside the organisation, for contacts; sometimes a pool address, so a
/// contact can claim a user's address.
fn contact_address() -> impl Strategy<Value = Address> {
    prop_oneof![
        3 => (0..LOCAL_PARTS.len()).prop_filter_map("partner addresses parse", |local| {
            Address::parse(&format!("{}@partner.test", LOCAL_PARTS[local])).ok()
        }),
        1 => address(),
    ]
}

fn name() -> impl Strategy<Value = String> {
    (0..NAMES.len()).prop_map(|index| NAMES[index].to_owned())
}

fn department() -> impl Strategy<Value = String> {
    (0..DEPARTMENTS.len()).prop_map(|index| DEPARTMENTS[index].to_owned())
}

fn style() -> impl Strategy<Value = AddressStyle> {
    prop_oneof![
        3 => Just(AddressStyle::Exchange),
        1 => Just(AddressStyle::ProxiesOnly),
        1 => Just(AddressStyle::MailOnly),
    ]
}

fn ou() -> impl Strategy<Value = usize> {
    0..OUS.len()
}

/// A new user: mostly mail-enabled, some disabled, some with aliases and a department.
pub fn new_user() -> impl Strategy<Value = NewObject> {
    (
        name(),
        ou(),
        prop::bool::weighted(0.9),
        address(),
        btree_set(address(), 0..3),
        style(),
        prop::bool::weighted(0.25),
        option::of(department()),
    )
        .prop_map(
            |(cn, ou, mail_enabled, primary, aliases, style, disabled, department)| {
                NewObject::User(User {
                    id: 0,
                    cn,
                    ou,
                    primary: mail_enabled.then_some(primary),
                    aliases: if mail_enabled {
                        aliases
                    } else {
                        BTreeSet::new()
                    },
                    style,
                    disabled,
                    department,
                    primary_group: None,
                })
            },
        )
}

/// A new group (four in five) or dynamic list, sometimes with its own address.
pub fn new_group() -> impl Strategy<Value = NewObject> {
    let kind = prop_oneof![
        4 => Just(GroupKind::Group { members: Vec::new() }),
        1 => (department(), option::of(ou()))
            .prop_map(|(department, base)| GroupKind::DynamicList { department, base }),
    ];
    (name(), ou(), option::weighted(0.3, address()), kind).prop_map(|(cn, ou, address, kind)| {
        NewObject::Group(Group {
            id: 0,
            cn,
            ou,
            address,
            kind,
        })
    })
}

/// A new contact.
pub fn new_contact() -> impl Strategy<Value = NewObject> {
    (
        name(),
        contact_address(),
        btree_set(contact_address(), 0..2),
        style(),
    )
        .prop_map(|(cn, primary, aliases, style)| {
            NewObject::Contact(Contact {
                id: 0,
                cn,
                ou: 3,
                primary,
                aliases,
                style,
            })
        })
}

fn member_pick() -> impl Strategy<Value = MemberPick> {
    prop_oneof![
        6 => any::<Index>().prop_map(MemberPick::User),
        3 => any::<Index>().prop_map(MemberPick::Group),
        2 => any::<Index>().prop_map(MemberPick::Contact),
        1 => (1u32..4).prop_map(MemberPick::Foreign),
    ]
}

/// Membership edits: what builds a directory's group structure and what changes it.
fn membership_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<Index>(), member_pick()).prop_map(|(group, pick)| Mutation::AddMember(group, pick)),
        1 => (any::<Index>(), option::of(any::<Index>()))
            .prop_map(|(user, group)| Mutation::SetPrimaryGroup(user, group)),
    ]
}

/// A directory of up to eleven users, five groups or lists and three contacts, nested
/// (cycles included), with primary groups.
pub fn directory() -> impl Strategy<Value = Directory> {
    (
        vec(new_user(), 0..12),
        vec(new_group(), 0..5),
        vec(new_contact(), 0..3),
        vec(membership_mutation(), 0..16),
    )
        .prop_map(|(users, groups, contacts, edits)| {
            let mut directory = Directory::default();
            for object in users.into_iter().chain(groups).chain(contacts) {
                directory.mutate(&Mutation::Add(object));
            }
            for edit in &edits {
                directory.mutate(edit);
            }
            directory
        })
}

/// Any administrative change, weighted towards the ones syncs see most.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => prop_oneof![new_user(), new_group(), new_contact()].prop_map(Mutation::Add),
        2 => any::<Index>().prop_map(Mutation::DeleteUser),
        1 => any::<Index>().prop_map(Mutation::DeleteGroup),
        1 => any::<Index>().prop_map(Mutation::DeleteContact),
        2 => rename_or_move(),
        3 => (any::<Index>(), any::<bool>()).prop_map(|(user, disabled)| Mutation::SetDisabled(user, disabled)),
        2 => (any::<Index>(), address()).prop_map(|(user, alias)| Mutation::AddAlias(user, alias)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(user, alias)| Mutation::RemoveAlias(user, alias)),
        2 => (any::<Index>(), address()).prop_map(|(user, primary)| Mutation::SetPrimary(user, primary)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(user, alias)| Mutation::PromoteAlias(user, alias)),
        1 => any::<Index>().prop_map(Mutation::MailDisable),
        1 => (any::<Index>(), option::of(department()))
            .prop_map(|(user, department)| Mutation::SetDepartment(user, department)),
        3 => membership_mutation(),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(group, member)| Mutation::RemoveMember(group, member)),
        1 => (any::<Index>(), option::of(address()))
            .prop_map(|(group, address)| Mutation::SetGroupAddress(group, address)),
        1 => (any::<Index>(), contact_address())
            .prop_map(|(contact, address)| Mutation::SetContactAddress(contact, address)),
    ]
}

/// Renames and moves only: changes of DN and name that keep every GUID.
pub fn rename_or_move() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), name()).prop_map(|(user, name)| Mutation::RenameUser(user, name)),
        (any::<Index>(), ou()).prop_map(|(user, ou)| Mutation::MoveUser(user, ou)),
        (any::<Index>(), name()).prop_map(|(group, name)| Mutation::RenameGroup(group, name)),
        (any::<Index>(), ou()).prop_map(|(group, ou)| Mutation::MoveGroup(group, ou)),
        (any::<Index>(), name()).prop_map(|(contact, name)| Mutation::RenameContact(contact, name)),
        (any::<Index>(), ou()).prop_map(|(contact, ou)| Mutation::MoveContact(contact, ou)),
    ]
}

fn cloud_user(origin: impl Strategy<Value = Origin>) -> impl Strategy<Value = CloudUser> {
    (
        address(),
        origin,
        prop::bool::weighted(0.2),
        btree_set(address(), 0..2),
    )
        .prop_map(|(address, origin, disabled, mut aliases)| {
            aliases.remove(&address);
            CloudUser {
                address,
                origin,
                disabled,
                aliases,
                attributes: BTreeMap::new(),
            }
        })
}

/// The account before its first sync: manual users (some at a directory user's
/// address, to be converted), users linked to directory objects that no longer exist
/// (to be unlinked, removed or relinked), manual contacts, and a stale group.
pub fn seed_account() -> impl Strategy<Value = Account> {
    let stale = (0u32..4).prop_map(|n| Origin::DirectoryGenerated {
        guid: guid_of(STALE_ID + n),
    });
    (
        vec(cloud_user(Just(Origin::Manual)), 0..4),
        vec(cloud_user(stale), 0..3),
        vec(contact_address(), 0..2),
        option::weighted(0.3, btree_set(address(), 1..3)),
    )
        .prop_map(|(manual, stale, contacts, group)| {
            let mut account = Account::default();
            // Later users at a taken address are dropped: the cloud keys users by address.
            for user in manual.into_iter().chain(stale) {
                account.users.entry(user.address.clone()).or_insert(user);
            }
            for address in contacts {
                account.contacts.insert(
                    address.clone(),
                    CloudContact {
                        address,
                        origin: Origin::Manual,
                        name: "Partner".to_owned(),
                    },
                );
            }
            if let Some(members) = group {
                let guid = guid_of(STALE_ID + 50);
                account.groups.insert(
                    guid,
                    CloudGroup {
                        guid,
                        name: "Old group".to_owned(),
                        kind: snapshot::GroupKind::Group,
                        address: None,
                        members,
                    },
                );
            }
            account
        })
}

/// Account settings with every option drawn, no max-unlink stop ([`usize::MAX`]):
/// properties about the stop draw their own limit.
pub fn settings() -> impl Strategy<Value = AccountSettings> {
    (any::<[bool; 6]>()).prop_map(|flags| AccountSettings {
        link_aliases: flags[0],
        acknowledge_disabled: flags[1],
        additional_attributes: if flags[2] {
            vec![super::model::DEPARTMENT.to_owned()]
        } else {
            Vec::new()
        },
        delete_users: flags[3],
        max_unlink: usize::MAX,
        sync_contacts: flags[4],
        domains: if flags[5] {
            vec!["corp.test".to_owned(), "sales.corp.test".to_owned()]
        } else {
            vec!["corp.test".to_owned()]
        },
        region: Region::Europe,
    })
}

/// A starting directory and account, settings, and up to four rounds of up to six
/// mutations, a sync after each.
pub fn scenario() -> impl Strategy<Value = Scenario> {
    scenario_with(mutation())
}

/// A scenario whose rounds are made of `mutation`s only.
pub fn scenario_with(mutation: impl Strategy<Value = Mutation>) -> impl Strategy<Value = Scenario> {
    (
        directory(),
        seed_account(),
        vec((any::<Index>(), 0u32..5), 0..3),
        vec(vec(mutation, 1..7), 0..5),
        settings(),
    )
        .prop_map(|(directory, mut seed, matches, rounds, settings)| {
            add_matching_users(&mut seed, &directory, &matches);
            Scenario {
                directory,
                seed,
                rounds,
                settings,
            }
        })
}

/// Cloud users at the address of a directory user, which a pool address alone rarely
/// gives: manual ones (to be converted) and ones linked to a vanished object (to be
/// relinked, an AD account deleted and recreated). `(which user, how)`: `how` 0–1 is
/// manual, 2–4 links to one of the stale ids.
fn add_matching_users(seed: &mut Account, directory: &Directory, matches: &[(Index, u32)]) {
    let primaries: Vec<&Address> = directory
        .users
        .iter()
        .filter_map(|user| user.primary.as_ref())
        .collect();
    if primaries.is_empty() {
        return;
    }
    for (which, how) in matches {
        let address = primaries[which.index(primaries.len())].clone();
        let origin = if *how < 2 {
            Origin::Manual
        } else {
            Origin::DirectoryGenerated {
                guid: guid_of(STALE_ID + how),
            }
        };
        seed.users.entry(address.clone()).or_insert(CloudUser {
            origin,
            ..CloudUser::manual(address)
        });
    }
}

/// Any order and any page size from 1 to 7 entries.
pub fn delivery() -> impl Strategy<Value = Delivery> {
    (1usize..8, vec(any::<Index>(), 1..64))
        .prop_map(|(page_size, shuffle)| Delivery { page_size, shuffle })
}
