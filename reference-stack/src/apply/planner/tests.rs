//! The planner's own checks; the behaviour of plans is tested in `apply/tests/`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Planner, PARALLEL_USERS};
use crate::account::{Account, CloudUser, Origin};
use crate::address::Address;
use crate::guid::Guid;
use crate::settings::{AccountSettings, Region};
use crate::snapshot::{DirContact, DirGroup, DirUser, DirectorySnapshot, GroupKind};

fn address(text: &str) -> Address {
    Address::parse(text).expect("valid address")
}

fn guid(n: usize) -> Guid {
    // Scattered, as real GUIDs are, so GUID order is not creation order.
    let mut bytes = [0u8; 16];
    let mixed = (n as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(29);
    bytes[..8].copy_from_slice(&mixed.to_le_bytes());
    bytes[8..].copy_from_slice(&(n as u64).to_le_bytes());
    Guid(bytes)
}

/// Enough users for two threads, with every kind of case the walks handle: links,
/// orphans, adoptions, conflicts, out-of-domain primaries and aliases, members that
/// are users, contacts and nothing.
#[test]
fn two_threads_plan_as_one_does() {
    let users = PARALLEL_USERS + 500;
    let mut snapshot = DirectorySnapshot::default();
    let mut account = Account::default();
    for n in 0..users {
        let domain = if n % 97 == 0 {
            "elsewhere.test"
        } else {
            "corp.test"
        };
        let primary = match n % 211 {
            0 => address("shared@corp.test"),
            _ => address(&format!("user{n}@{domain}")),
        };
        let mut aliases = BTreeSet::from([address(&format!("u{n}@corp.test"))]);
        if n % 89 == 0 {
            aliases.insert(address(&format!("u{n}@personal.example")));
        }
        let user = DirUser {
            guid: guid(n),
            dn: format!("CN=User {n},DC=corp,DC=test"),
            primary: primary.clone(),
            aliases,
            disabled: n % 7 == 0,
            attributes: BTreeMap::from([(
                "department".to_owned(),
                vec![format!("Dept {}", n % 13)],
            )]),
        };
        snapshot.users.insert(user.guid, user);
        let origin = match n % 5 {
            0 => Origin::Manual,
            1 => Origin::DirectoryGenerated {
                guid: guid(n + users),
            },
            _ => Origin::DirectoryGenerated { guid: guid(n) },
        };
        if n % 3 != 0 {
            account.users.insert(
                primary.clone(),
                CloudUser {
                    origin,
                    disabled: n % 11 == 0,
                    ..CloudUser::manual(primary)
                },
            );
        }
    }
    for c in 0..50 {
        let contact = DirContact {
            guid: guid(3 * users + c),
            dn: format!("CN=Contact {c},DC=corp,DC=test"),
            name: format!("Contact {c}"),
            primary: address(&format!("contact{c}@partner.test")),
            aliases: BTreeSet::new(),
        };
        snapshot.contacts.insert(contact.guid, contact);
    }
    for g in 0..100 {
        let members = (0..40)
            .map(|m| guid((g * 131 + m * 17) % (users + 100)))
            .chain([guid(3 * users + g % 50), guid(5 * users + g)])
            .collect();
        let group = DirGroup {
            guid: guid(4 * users + g),
            dn: format!("CN=Group {g},DC=corp,DC=test"),
            name: format!("Group {g}"),
            kind: GroupKind::Group,
            address: Some(address(&format!("group{g}@corp.test"))),
            members,
        };
        snapshot.groups.insert(group.guid, group);
    }
    let settings = AccountSettings {
        link_aliases: true,
        acknowledge_disabled: true,
        additional_attributes: vec!["department".to_owned()],
        sync_contacts: true,
        domains: vec!["corp.test".to_owned()],
        ..AccountSettings::new(Region::Europe)
    };
    let one = Planner::new(&account, &snapshot, &settings, false).plan();
    let two = Planner::new(&account, &snapshot, &settings, true).plan();
    assert!(
        one.changes.len() > users / 2,
        "{} changes",
        one.changes.len()
    );
    assert!(!one.conflicts.is_empty() && !one.out_of_domain.is_empty());
    assert!(!one.warnings.is_empty());
    assert_eq!(one, two);
}
