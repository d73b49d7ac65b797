//! What an administrator does to a directory between two syncs.
//!
//! Each mutation names its target by a [`proptest::sample::Index`], resolved against the
//! directory as it is when the mutation runs, so any sequence applies to any directory
//! (a mutation with nothing to act on does nothing) and shrinking never makes a sequence
//! invalid.

use proptest::sample::Index;

use super::model::{named, Contact, Directory, Group, GroupKind, Member, User, OUS};
use crate::address::Address;

/// A new object's fields, without its id (given when it is created).
#[derive(Debug, Clone)]
pub enum NewObject {
    /// A user; its `id` and `primary_group` are ignored.
    User(User),
    /// A group or dynamic list; its `id` is ignored and a regular group starts empty.
    Group(Group),
    /// A contact; its `id` is ignored.
    Contact(Contact),
}

/// Who a [`Mutation::AddMember`] adds, chosen among the objects of that kind.
#[derive(Debug, Clone, Copy)]
pub enum MemberPick {
    /// A user.
    User(Index),
    /// A regular group (possibly the group itself, or one that contains it: AD allows
    /// cycles).
    Group(Index),
    /// A contact.
    Contact(Index),
    /// A foreign security principal, which extraction cannot resolve.
    Foreign(u32),
}

/// One administrative change.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Creates an object.
    Add(NewObject),
    /// Deletes a user.
    DeleteUser(Index),
    /// Deletes a group or list (after moving back users whose primary group it is).
    DeleteGroup(Index),
    /// Deletes a contact.
    DeleteContact(Index),
    /// Renames a user: new cn, new DN, same GUID.
    RenameUser(Index, String),
    /// Moves a user to another OU: new DN, same GUID.
    MoveUser(Index, usize),
    /// Renames a group: new name in the cloud, same GUID.
    RenameGroup(Index, String),
    /// Moves a group to another OU.
    MoveGroup(Index, usize),
    /// Renames a contact.
    RenameContact(Index, String),
    /// Moves a contact to another OU.
    MoveContact(Index, usize),
    /// Sets or clears the ACCOUNTDISABLE bit.
    SetDisabled(Index, bool),
    /// Adds an alias (ignored if it is the user's primary).
    AddAlias(Index, Address),
    /// Removes one of a user's aliases.
    RemoveAlias(Index, Index),
    /// Gives a user a new primary address (mail-enabling it if it had none); the old
    /// one is dropped.
    SetPrimary(Index, Address),
    /// Swaps a user's primary with one of its aliases (a marriage, a new naming rule).
    PromoteAlias(Index, Index),
    /// Clears a user's addresses: it stops being mail-enabled.
    MailDisable(Index),
    /// Sets or clears a user's department.
    SetDepartment(Index, Option<String>),
    /// Sets a user's primary group to a regular group, or back to Domain Users.
    SetPrimaryGroup(Index, Option<Index>),
    /// Adds a member to a regular group.
    AddMember(Index, MemberPick),
    /// Removes one `member` value from a regular group.
    RemoveMember(Index, Index),
    /// Sets or clears a group's own address.
    SetGroupAddress(Index, Option<Address>),
    /// Changes a contact's address.
    SetContactAddress(Index, Address),
}

impl Mutation {
    /// Whether the mutation only renames or moves (the GUID-identity property's input).
    pub fn is_rename_or_move(&self) -> bool {
        matches!(
            self,
            Mutation::RenameUser(..)
                | Mutation::MoveUser(..)
                | Mutation::RenameGroup(..)
                | Mutation::MoveGroup(..)
                | Mutation::RenameContact(..)
                | Mutation::MoveContact(..)
        )
    }
}

impl Directory {
    /// Applies one mutation; one with nothing to act on changes nothing.
    pub fn mutate(&mut self, mutation: &Mutation) {
        match mutation {
            Mutation::Add(object) => self.add(object.clone()),
            Mutation::DeleteUser(index) => {
                if let Some(id) = self.pick_user(index).map(|user| user.id) {
                    self.users.retain(|user| user.id != id);
                    self.forget(id);
                }
            }
            Mutation::DeleteGroup(index) => {
                if let Some(id) = self.pick_group(index).map(|group| group.id) {
                    self.groups.retain(|group| group.id != id);
                    self.forget(id);
                }
            }
            Mutation::DeleteContact(index) => {
                if let Some(id) = self.pick_contact(index).map(|contact| contact.id) {
                    self.contacts.retain(|contact| contact.id != id);
                    self.forget(id);
                }
            }
            Mutation::RenameUser(index, name) => {
                if let Some(user) = self.pick_user(index) {
                    user.cn = named(name, user.id);
                }
            }
            Mutation::MoveUser(index, ou) => {
                if let Some(user) = self.pick_user(index) {
                    user.ou = ou % OUS.len();
                }
            }
            Mutation::RenameGroup(index, name) => {
                if let Some(group) = self.pick_group(index) {
                    group.cn = named(name, group.id);
                }
            }
            Mutation::MoveGroup(index, ou) => {
                if let Some(group) = self.pick_group(index) {
                    group.ou = ou % OUS.len();
                }
            }
            Mutation::RenameContact(index, name) => {
                if let Some(contact) = self.pick_contact(index) {
                    contact.cn = named(name, contact.id);
                }
            }
            Mutation::MoveContact(index, ou) => {
                if let Some(contact) = self.pick_contact(index) {
                    contact.ou = ou % OUS.len();
                }
            }
            Mutation::SetDisabled(index, disabled) => {
                if let Some(user) = self.pick_user(index) {
                    user.disabled = *disabled;
                }
            }
            Mutation::AddAlias(index, alias) => {
                if let Some(user) = self.pick_user(index) {
                    if user.primary.as_ref() != Some(alias) {
                        user.aliases.insert(alias.clone());
                    }
                }
            }
            Mutation::RemoveAlias(index, which) => {
                if let Some(user) = self.pick_user(index) {
                    let alias = (!user.aliases.is_empty())
                        .then(|| user.aliases.iter().nth(which.index(user.aliases.len())))
                        .flatten()
                        .cloned();
                    if let Some(alias) = alias {
                        user.aliases.remove(&alias);
                    }
                }
            }
            Mutation::SetPrimary(index, primary) => {
                if let Some(user) = self.pick_user(index) {
                    user.aliases.remove(primary);
                    user.primary = Some(primary.clone());
                }
            }
            Mutation::PromoteAlias(index, which) => {
                if let Some(user) = self.pick_user(index) {
                    let alias = (!user.aliases.is_empty())
                        .then(|| user.aliases.iter().nth(which.index(user.aliases.len())))
                        .flatten()
                        .cloned();
                    if let (Some(alias), Some(old)) = (alias, user.primary.clone()) {
                        user.aliases.remove(&alias);
                        user.aliases.insert(old);
                        user.primary = Some(alias);
                    }
                }
            }
            Mutation::MailDisable(index) => {
                if let Some(user) = self.pick_user(index) {
                    user.primary = None;
                    user.aliases.clear();
                }
            }
            Mutation::SetDepartment(index, department) => {
                if let Some(user) = self.pick_user(index) {
                    user.department.clone_from(department);
                }
            }
            Mutation::SetPrimaryGroup(index, group) => {
                let groups = self.regular_groups();
                let group = group.as_ref().and_then(|group| {
                    (!groups.is_empty()).then(|| groups[group.index(groups.len())])
                });
                if let Some(user) = self.pick_user(index) {
                    user.primary_group = group;
                }
            }
            Mutation::AddMember(index, pick) => {
                let groups = self.regular_groups();
                if groups.is_empty() {
                    return;
                }
                let target = groups[index.index(groups.len())];
                let member = match pick {
                    MemberPick::User(which) => (!self.users.is_empty())
                        .then(|| Member::User(self.users[which.index(self.users.len())].id)),
                    MemberPick::Group(which) => {
                        Some(Member::Group(groups[which.index(groups.len())]))
                    }
                    MemberPick::Contact(which) => (!self.contacts.is_empty()).then(|| {
                        Member::Contact(self.contacts[which.index(self.contacts.len())].id)
                    }),
                    MemberPick::Foreign(n) => Some(Member::Foreign(*n)),
                };
                let group = self.groups.iter_mut().find(|group| group.id == target);
                if let (
                    Some(member),
                    Some(Group {
                        kind: GroupKind::Group { members },
                        ..
                    }),
                ) = (member, group)
                {
                    // `member` is a set in AD: adding a present value is refused.
                    if !members.contains(&member) {
                        members.push(member);
                    }
                }
            }
            Mutation::RemoveMember(index, which) => {
                if let Some(Group {
                    kind: GroupKind::Group { members },
                    ..
                }) = self.pick_group(index)
                {
                    if !members.is_empty() {
                        members.remove(which.index(members.len()));
                    }
                }
            }
            Mutation::SetGroupAddress(index, address) => {
                if let Some(group) = self.pick_group(index) {
                    group.address.clone_from(address);
                }
            }
            Mutation::SetContactAddress(index, address) => {
                if let Some(contact) = self.pick_contact(index) {
                    contact.aliases.remove(address);
                    contact.primary = address.clone();
                }
            }
        }
    }

    /// Creates an object under a fresh id.
    fn add(&mut self, object: NewObject) {
        let id = self.fresh_id();
        match object {
            NewObject::User(mut user) => {
                user.id = id;
                user.cn = named(&user.cn, id);
                user.primary_group = None;
                if let Some(primary) = &user.primary {
                    user.aliases.remove(primary);
                }
                self.users.push(user);
            }
            NewObject::Group(mut group) => {
                group.id = id;
                group.cn = named(&group.cn, id);
                if let GroupKind::Group { members } = &mut group.kind {
                    members.clear();
                }
                self.groups.push(group);
            }
            NewObject::Contact(mut contact) => {
                contact.id = id;
                contact.cn = named(&contact.cn, id);
                contact.aliases.remove(&contact.primary);
                self.contacts.push(contact);
            }
        }
    }
}
