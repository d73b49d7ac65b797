//! Step 5 of a plan: the changes that turn the account into the target.

use std::collections::BTreeSet;

use super::planner::{Existing, Fate, Target};
use crate::account::{CloudContact, CloudGroup, CloudUser, Origin};
use crate::change::Change;

/// Step 5: the changes that turn the account into the target, unsorted. Objects the
/// target keeps as they are cost nothing here.
pub(super) fn diff(target: Target<'_>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, before, fate) in &target.users {
        match fate {
            Fate::Same { .. } => {}
            Fate::Changed { value, .. } => user_changes(before, value, &mut changes),
            Fate::Removed => {
                if let Some(guid) = before.origin.guid() {
                    changes.push(Change::RemoveUser {
                        address: (*key).clone(),
                        guid,
                    });
                }
            }
        }
    }
    for (_, user) in target.new_users {
        changes.push(Change::AddUser { user: user.value });
    }

    for (guid, before, fate) in &target.groups {
        match fate {
            Fate::Same { .. } => {}
            Fate::Changed { value, .. } => group_changes(before, value, &mut changes),
            Fate::Removed => changes.push(Change::RemoveGroup {
                guid: **guid,
                name: before.name.clone(),
            }),
        }
    }
    for (_, group) in target.new_groups {
        changes.push(Change::AddGroup { group: group.value });
    }

    contacts(&target.contacts, &mut changes);
    for (_, contact) in target.new_contacts {
        changes.push(Change::AddContact {
            contact: contact.value,
        });
    }
    changes
}

fn contacts(
    existing: &[Existing<'_, crate::address::Address, CloudContact>],
    changes: &mut Vec<Change>,
) {
    for (key, before, fate) in existing {
        match fate {
            Fate::Same { .. } => {}
            Fate::Changed { value, .. } => contact_changes(before, value, changes),
            Fate::Removed => {
                if let Some(guid) = before.origin.guid() {
                    changes.push(Change::RemoveContact {
                        address: (*key).clone(),
                        guid,
                    });
                }
            }
        }
    }
}

fn user_changes(before: &CloudUser, after: &CloudUser, changes: &mut Vec<Change>) {
    let address = &after.address;
    match (before.origin, after.origin) {
        (Origin::Manual, Origin::DirectoryGenerated { guid }) => {
            changes.push(Change::ConvertUser {
                address: address.clone(),
                guid,
            });
        }
        (Origin::DirectoryGenerated { guid: from }, Origin::DirectoryGenerated { guid: to })
            if from != to =>
        {
            changes.push(Change::RelinkUser {
                address: address.clone(),
                from,
                to,
            });
        }
        (Origin::DirectoryGenerated { guid }, Origin::Manual) => {
            changes.push(Change::UnlinkUser {
                address: address.clone(),
                guid,
            });
        }
        _ => {}
    }
    if before.address != after.address {
        if let Some(guid) = after.origin.guid() {
            changes.push(Change::ChangeUserAddress {
                from: before.address.clone(),
                to: address.clone(),
                guid,
            });
        }
    }
    for alias in before.aliases.difference(&after.aliases) {
        changes.push(Change::UnlinkAlias {
            address: address.clone(),
            alias: alias.clone(),
        });
    }
    for alias in after.aliases.difference(&before.aliases) {
        changes.push(Change::LinkAlias {
            address: address.clone(),
            alias: alias.clone(),
        });
    }
    match (before.disabled, after.disabled) {
        (false, true) => changes.push(Change::DisableUser {
            address: address.clone(),
        }),
        (true, false) => changes.push(Change::EnableUser {
            address: address.clone(),
        }),
        _ => {}
    }
    if before.attributes == after.attributes {
        return;
    }
    let names: BTreeSet<&String> = before
        .attributes
        .keys()
        .chain(after.attributes.keys())
        .collect();
    for name in names {
        match (before.attributes.get(name), after.attributes.get(name)) {
            (Some(_), None) => changes.push(Change::ClearAttribute {
                address: address.clone(),
                name: name.clone(),
            }),
            (old, Some(new)) if old != Some(new) => changes.push(Change::SetAttribute {
                address: address.clone(),
                name: name.clone(),
                values: new.clone(),
            }),
            _ => {}
        }
    }
}

fn group_changes(before: &CloudGroup, after: &CloudGroup, changes: &mut Vec<Change>) {
    if before.name != after.name {
        changes.push(Change::RenameGroup {
            guid: after.guid,
            from: before.name.clone(),
            to: after.name.clone(),
        });
    }
    if before.address != after.address {
        changes.push(Change::SetGroupAddress {
            guid: after.guid,
            name: after.name.clone(),
            from: before.address.clone(),
            to: after.address.clone(),
        });
    }
    for member in before.members.difference(&after.members) {
        changes.push(Change::RemoveGroupMember {
            guid: after.guid,
            name: after.name.clone(),
            member: member.clone(),
        });
    }
    for member in after.members.difference(&before.members) {
        changes.push(Change::AddGroupMember {
            guid: after.guid,
            name: after.name.clone(),
            member: member.clone(),
        });
    }
}

fn contact_changes(before: &CloudContact, after: &CloudContact, changes: &mut Vec<Change>) {
    if before.address != after.address {
        if let Some(guid) = after.origin.guid() {
            changes.push(Change::ChangeContactAddress {
                from: before.address.clone(),
                to: after.address.clone(),
                guid,
            });
        }
    }
    if let (Origin::DirectoryGenerated { guid }, true) =
        (after.origin, before.origin != after.origin)
    {
        changes.push(Change::ConvertContact {
            address: after.address.clone(),
            guid,
        });
    }
    if before.name != after.name {
        changes.push(Change::RenameContact {
            address: after.address.clone(),
            from: before.name.clone(),
            to: after.name.clone(),
        });
    }
}
