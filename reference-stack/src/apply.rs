//! The apply stage: diff a directory snapshot against the cloud account.
//!
//! [`plan`] is a pure function from (account, snapshot, settings) to a [`Plan`];
//! [`apply`] carries a plan out; [`sync`] does both. Planning never mutates, so a run
//! can be shown (or snapshot-tested) before it is applied, and a stopped run changes
//! nothing by construction.
//!
//! # How a plan is made
//!
//! 1. **Directory facts** (depend on the snapshot and settings only): addresses outside
//!    the registered domains are set aside; addresses the directory gives to two objects
//!    are conflicts, and those objects are *held* (left as they were in the cloud).
//! 2. **Matching**: each directory user is matched to the cloud user linked to its GUID;
//!    failing that, to a cloud user at its primary address that is manual (converted)
//!    or linked to an object no longer in the directory (relinked). Linked users whose
//!    object is gone are orphans: unlinked, or removed with `delete users`.
//! 3. **Target**: the account as it should be after the run.
//! 4. **Cloud collisions**: if the target gives one address to two owners and one of
//!    them is new to it (a user moving onto a manual user's address, an alias another
//!    user still holds), the newcomer is held (or, for an alias, only the alias is left
//!    out), reported as a conflict, and the target recomputed until nothing collides.
//! 5. **Diff** the account against the target into sorted [`Change`]s, then the
//!    max-unlink safety.
//!
//! # Decisions where SPEC is silent
//!
//! - Conflicts count the addresses the run would write: user primaries, user aliases
//!   only with `link aliases` on, group addresses, contact addresses only with `sync
//!   contacts` on. Two users sharing an alias that is never linked harm nothing.
//! - The domain filter applies to users (primary and aliases) and group addresses, the
//!   addresses the account receives mail for. Contacts are exempt: they are outside
//!   addresses by nature, and filtering them would make `sync contacts` pointless. A
//!   user whose primary is out of domain is left as it was (not unlinked: it has not
//!   left the directory) and is not a group member. A user held by a conflict still is
//!   a group member: its address is not in doubt, only which object owns it.
//! - A group whose members are all out of domain has no member the account can hold
//!   and is not a cloud group. A group's kind is fixed when it is added (AD cannot
//!   change an object's class).
//! - Groups that leave the directory are removed whatever `delete users` says: groups
//!   exist only as mirrors of the directory. Directory contacts that leave are removed
//!   too (with `sync contacts` on; with it off the sync leaves contacts alone).
//! - Max unlink counts directory-generated users unlinked or removed (SPEC's wording);
//!   groups and contacts do not count, but a stopped run changes nothing at all.
//! - Only configured additional attributes are managed; values are sorted so the
//!   directory's unordered multi-valued attributes never cause churn.
//! - Case-only differences in an address are not changes; the cloud keeps its spelling.

use std::collections::BTreeMap;

use crate::account::{Account, Origin};
use crate::address::Address;
use crate::change::Change;
use crate::guid::Guid;
use crate::plan::Plan;
use crate::settings::AccountSettings;
use crate::snapshot::DirectorySnapshot;

mod diff;
mod planner;

/// Plans a run and applies it: the new account and the plan that produced it.
pub fn sync(
    account: &Account,
    snapshot: &DirectorySnapshot,
    settings: &AccountSettings,
) -> (Account, Plan) {
    let plan = plan(account, snapshot, settings);
    (apply(account, &plan), plan)
}

/// [`sync`] on an account the caller gives up: applied in place, not to a copy.
pub fn sync_owned(
    account: Account,
    snapshot: &DirectorySnapshot,
    settings: &AccountSettings,
) -> (Account, Plan) {
    let plan = plan(&account, snapshot, settings);
    (apply_owned(account, &plan), plan)
}

/// Works out what a run would change, without changing anything.
pub fn plan(account: &Account, snapshot: &DirectorySnapshot, settings: &AccountSettings) -> Plan {
    planner::plan(account, snapshot, settings)
}

/// Carries out a plan made by [`plan`] for this account.
///
/// Removals go first, then every address change at once (so two users may swap
/// addresses), then the rest in plan order. A change that does not fit the account (a
/// plan made for another account) is skipped rather than panicking or overwriting an
/// object; plans from [`plan`] on the same account always fit.
///
/// Changes that name a directory object (removals, unlinks, address changes, relinks)
/// act only on the cloud object linked to it, and user conversions only on a manual
/// user:
/// the address alone may by now belong to someone else (another object moved onto it),
/// so applying a plan twice, or again after a crash, changes nothing the first
/// application did not.
pub fn apply(account: &Account, plan: &Plan) -> Account {
    apply_owned(account.clone(), plan)
}

/// [`apply`] on an account the caller gives up: the same result, without copying the
/// account first. A large account changes in a small part on most runs, and copying a
/// million users cost far more than the changes themselves.
pub fn apply_owned(account: Account, plan: &Plan) -> Account {
    let mut next = account;
    if plan.stopped.is_some() {
        return next;
    }
    for change in &plan.changes {
        match change {
            Change::RemoveUser { address, guid }
                if next
                    .users
                    .get(address)
                    .is_some_and(|user| is_linked(user.origin, guid)) =>
            {
                next.users.remove(address);
            }
            Change::RemoveContact { address, guid }
                if next
                    .contacts
                    .get(address)
                    .is_some_and(|contact| is_linked(contact.origin, guid)) =>
            {
                next.contacts.remove(address);
            }
            Change::RemoveGroup { guid, .. } => {
                next.groups.remove(guid);
            }
            _ => {}
        }
    }
    move_all(
        &mut next.users,
        plan.changes.iter().filter_map(|change| match change {
            Change::ChangeUserAddress { from, to, guid } => Some((from, to, guid)),
            _ => None,
        }),
        |user| user.origin,
        |user, to| user.address = to,
    );
    move_all(
        &mut next.contacts,
        plan.changes.iter().filter_map(|change| match change {
            Change::ChangeContactAddress { from, to, guid } => Some((from, to, guid)),
            _ => None,
        }),
        |contact| contact.origin,
        |contact, to| contact.address = to,
    );
    for change in &plan.changes {
        apply_one(&mut next, change);
    }
    next
}

/// Whether a cloud object is linked to this directory object.
fn is_linked(origin: Origin, guid: &Guid) -> bool {
    origin.guid().as_ref() == Some(guid)
}

/// Takes every moving object out (only if it is still the one linked to the moving
/// directory object), then puts each back under its new key.
fn move_all<'a, T>(
    map: &mut BTreeMap<Address, T>,
    moves: impl Iterator<Item = (&'a Address, &'a Address, &'a Guid)>,
    origin: impl Fn(&T) -> Origin,
    set_address: impl Fn(&mut T, Address),
) {
    let taken: Vec<(&Address, &Address, T)> = moves
        .filter_map(|(from, to, guid)| {
            let linked = map
                .get(from)
                .is_some_and(|value| is_linked(origin(value), guid));
            let value = if linked { map.remove(from) } else { None };
            value.map(|value| (from, to, value))
        })
        .collect();
    for (from, to, mut value) in taken {
        let target = if map.contains_key(to) { from } else { to };
        set_address(&mut value, target.clone());
        map.insert(target.clone(), value);
    }
}

fn apply_one(account: &mut Account, change: &Change) {
    match change {
        Change::RemoveUser { .. }
        | Change::RemoveContact { .. }
        | Change::RemoveGroup { .. }
        | Change::ChangeUserAddress { .. }
        | Change::ChangeContactAddress { .. } => {}
        Change::UnlinkUser { address, guid } => {
            if let Some(user) = account.users.get_mut(address) {
                if is_linked(user.origin, guid) {
                    user.origin = Origin::Manual;
                }
            }
        }
        Change::ConvertUser { address, guid } => {
            if let Some(user) = account.users.get_mut(address) {
                if user.origin == Origin::Manual {
                    user.origin = Origin::DirectoryGenerated { guid: *guid };
                }
            }
        }
        Change::RelinkUser { address, from, to } => {
            if let Some(user) = account.users.get_mut(address) {
                if is_linked(user.origin, from) {
                    user.origin = Origin::DirectoryGenerated { guid: *to };
                }
            }
        }
        Change::AddUser { user } => {
            account
                .users
                .entry(user.address.clone())
                .or_insert_with(|| user.clone());
        }
        Change::UnlinkAlias { address, alias } => {
            if let Some(user) = account.users.get_mut(address) {
                user.aliases.remove(alias);
            }
        }
        Change::LinkAlias { address, alias } => {
            if let Some(user) = account.users.get_mut(address) {
                user.aliases.insert(alias.clone());
            }
        }
        Change::DisableUser { address } | Change::EnableUser { address } => {
            if let Some(user) = account.users.get_mut(address) {
                user.disabled = matches!(change, Change::DisableUser { .. });
            }
        }
        Change::SetAttribute {
            address,
            name,
            values,
        } => {
            if let Some(user) = account.users.get_mut(address) {
                user.attributes.insert(name.clone(), values.clone());
            }
        }
        Change::ClearAttribute { address, name } => {
            if let Some(user) = account.users.get_mut(address) {
                user.attributes.remove(name);
            }
        }
        // Not checked like users: the planner also uses it to relink a contact whose
        // object left the directory, and setting the same link twice is harmless.
        Change::ConvertContact { address, guid } => {
            if let Some(contact) = account.contacts.get_mut(address) {
                contact.origin = Origin::DirectoryGenerated { guid: *guid };
            }
        }
        Change::AddContact { contact } => {
            account
                .contacts
                .entry(contact.address.clone())
                .or_insert_with(|| contact.clone());
        }
        Change::RenameContact { address, to, .. } => {
            if let Some(contact) = account.contacts.get_mut(address) {
                contact.name.clone_from(to);
            }
        }
        Change::AddGroup { group } => {
            account
                .groups
                .entry(group.guid)
                .or_insert_with(|| group.clone());
        }
        Change::RenameGroup { guid, to, .. } => {
            if let Some(group) = account.groups.get_mut(guid) {
                group.name.clone_from(to);
            }
        }
        Change::SetGroupAddress { guid, to, .. } => {
            if let Some(group) = account.groups.get_mut(guid) {
                group.address.clone_from(to);
            }
        }
        Change::AddGroupMember { guid, member, .. } => {
            if let Some(group) = account.groups.get_mut(guid) {
                group.members.insert(member.clone());
            }
        }
        Change::RemoveGroupMember { guid, member, .. } => {
            if let Some(group) = account.groups.get_mut(guid) {
                group.members.remove(member);
            }
        }
    }
}

#[cfg(test)]
mod tests;
