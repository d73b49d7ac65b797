//! One test per SPEC "Apply" rule, each through [`check`], which also asserts that a
//! second run right after the first changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::account::{CloudContact, CloudGroup, CloudUser};
use crate::guid::Guid;
use crate::settings::Region;
use crate::snapshot::{DirContact, DirGroup, DirUser, GroupKind};

mod convergence;
mod groups;
mod safety;
mod users;

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
