//! The target account's objects as the planner holds them (what becomes of each account
//! object, what each new one is and which directory object drives it), and every claim
//! on an address among them, for resolving collisions.

use super::contested::Claims;
use crate::account::{CloudContact, CloudGroup, CloudUser};
use crate::address::Address;
use crate::guid::Guid;

/// Something in the target account that can own addresses: an index into one of
/// [`Target`]'s lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    /// A cloud user already in the account (`Target::users`).
    User(usize),
    /// A user this run adds (`Target::new_users`).
    NewUser(usize),
    /// A group already in the account (`Target::groups`).
    Group(usize),
    /// A group this run adds (`Target::new_groups`).
    NewGroup(usize),
    /// A cloud contact already in the account (`Target::contacts`).
    Contact(usize),
    /// A contact this run adds (`Target::new_contacts`).
    NewContact(usize),
}

/// A target object and the directory object it mirrors this run, if any.
///
/// `by` is `None` for objects the run leaves as they are (manual, held) or only unlinks:
/// those cannot be responsible for a new claim on an address.
pub(crate) struct Driven<T> {
    /// The object as it will be.
    pub(crate) value: T,
    /// The directory object responsible for its state this run.
    pub(crate) by: Option<Guid>,
}

/// What becomes of an object already in the account. Unchanged objects (nearly all, on
/// most runs) are not copied: a million-user target would otherwise be a second copy
/// of the account.
pub(crate) enum Fate<T> {
    /// Left out of the target: removed.
    Removed,
    /// Kept exactly as it is.
    Same {
        /// The directory object responsible for it this run, if any.
        by: Option<Guid>,
    },
    /// Changed into `value`.
    Changed {
        /// The object as it will be.
        value: Box<T>,
        /// The directory object responsible for it this run, if any.
        by: Option<Guid>,
    },
}

impl<T> Fate<T> {
    pub(crate) fn by(&self) -> Option<Guid> {
        match self {
            Fate::Removed => None,
            Fate::Same { by } | Fate::Changed { by, .. } => *by,
        }
    }

    /// The object as it will be, given the object as it is.
    pub(crate) fn value<'v>(&'v self, before: &'v T) -> Option<&'v T> {
        match self {
            Fate::Removed => None,
            Fate::Same { .. } => Some(before),
            Fate::Changed { value, .. } => Some(value),
        }
    }
}

/// An object already in the account, and what becomes of it.
pub(crate) type Existing<'a, K, T> = (&'a K, &'a T, Fate<T>);

/// The account as it should be after the run.
pub(crate) struct Target<'a> {
    /// Every account user, in key order.
    pub(crate) users: Vec<Existing<'a, Address, CloudUser>>,
    /// Users this run adds, in GUID order.
    pub(crate) new_users: Vec<(Guid, Driven<CloudUser>)>,
    /// Every account group, in GUID order.
    pub(crate) groups: Vec<Existing<'a, Guid, CloudGroup>>,
    /// Groups this run adds, in GUID order.
    pub(crate) new_groups: Vec<(Guid, Driven<CloudGroup>)>,
    /// Every account contact, in key order.
    pub(crate) contacts: Vec<Existing<'a, Address, CloudContact>>,
    /// Contacts this run adds, in GUID order.
    pub(crate) new_contacts: Vec<(Guid, Driven<CloudContact>)>,
}

impl Target<'_> {
    /// The directory object responsible for an entity's state this run.
    pub(crate) fn driver(&self, entity: Entity) -> Option<Guid> {
        fn by<T>(driven: Option<&Driven<T>>) -> Option<Guid> {
            driven.and_then(|driven| driven.by)
        }
        match entity {
            Entity::User(i) => self.users.get(i).and_then(|(_, _, fate)| fate.by()),
            Entity::NewUser(i) => by(self.new_users.get(i).map(|(_, d)| d)),
            Entity::Group(i) => self.groups.get(i).and_then(|(_, _, fate)| fate.by()),
            Entity::NewGroup(i) => by(self.new_groups.get(i).map(|(_, d)| d)),
            Entity::Contact(i) => self.contacts.get(i).and_then(|(_, _, fate)| fate.by()),
            Entity::NewContact(i) => by(self.new_contacts.get(i).map(|(_, d)| d)),
        }
    }

    pub(crate) fn user(&self, entity: Entity) -> Option<&CloudUser> {
        match entity {
            Entity::User(i) => self
                .users
                .get(i)
                .and_then(|(_, before, fate)| fate.value(before)),
            Entity::NewUser(i) => self.new_users.get(i).map(|(_, d)| &d.value),
            _ => None,
        }
    }

    pub(crate) fn group(&self, entity: Entity) -> Option<&CloudGroup> {
        match entity {
            Entity::Group(i) => self
                .groups
                .get(i)
                .and_then(|(_, before, fate)| fate.value(before)),
            Entity::NewGroup(i) => self.new_groups.get(i).map(|(_, d)| &d.value),
            _ => None,
        }
    }

    pub(crate) fn contact(&self, entity: Entity) -> Option<&CloudContact> {
        match entity {
            Entity::Contact(i) => self
                .contacts
                .get(i)
                .and_then(|(_, before, fate)| fate.value(before)),
            Entity::NewContact(i) => self.new_contacts.get(i).map(|(_, d)| &d.value),
            _ => None,
        }
    }
}

/// An address in the target, who claims it and how.
pub(crate) type TargetClaim<'t> = (&'t Address, Entity, Claim);

/// How an owner uses an address, which decides what gives way in a collision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Claim {
    /// The object's own address: the object gives way whole.
    Own,
    /// A user's alias: only the alias gives way.
    Alias,
}

/// Whether the account already held `address` this way before the run. The way counts:
/// a user whose alias becomes its primary makes a new claim, since only primaries are
/// keys and a manual user may already have that key.
///
/// Answered from the account objects the target keeps next to each entity rather than
/// from a set of every claim, which would copy every address of a million-user account
/// on each run.
pub(crate) fn held_before(
    target: &Target<'_>,
    address: &Address,
    entity: Entity,
    claim: Claim,
) -> bool {
    match (entity, claim) {
        (Entity::User(i), Claim::Own) => {
            target.users.get(i).is_some_and(|(key, ..)| *key == address)
        }
        (Entity::Contact(i), Claim::Own) => target
            .contacts
            .get(i)
            .is_some_and(|(key, ..)| *key == address),
        (Entity::User(i), Claim::Alias) => target
            .users
            .get(i)
            .is_some_and(|(_, before, _)| before.aliases.contains(address)),
        (Entity::Group(i), Claim::Own) => target
            .groups
            .get(i)
            .is_some_and(|(_, before, _)| before.address.as_ref() == Some(address)),
        _ => false,
    }
}

/// Every address in the target and who claims it, in target order (users, groups,
/// contacts; within each, account objects by key before new ones, groups all by GUID).
pub(crate) fn claims<'t>(target: &'t Target<'_>) -> Claims<TargetClaim<'t>> {
    let mut claims = Claims::with_capacity(
        (target.users.len() + target.new_users.len()) * 2
            + target.groups.len()
            + target.new_groups.len()
            + target.contacts.len()
            + target.new_contacts.len(),
    );
    let user = |claims: &mut Claims<TargetClaim<'t>>, u: &'t CloudUser, e| {
        claims.push(&u.address, (&u.address, e, Claim::Own));
        for alias in &u.aliases {
            claims.push(alias, (alias, e, Claim::Alias));
        }
    };
    for (i, (_, before, fate)) in target.users.iter().enumerate() {
        if let Some(value) = fate.value(before) {
            user(&mut claims, value, Entity::User(i));
        }
    }
    for (i, (_, driven)) in target.new_users.iter().enumerate() {
        user(&mut claims, &driven.value, Entity::NewUser(i));
    }
    // Account groups and new ones, merged in GUID order as one list of groups.
    let mut old = target.groups.iter().enumerate().peekable();
    let mut new = target.new_groups.iter().enumerate().peekable();
    loop {
        let take_old = match (old.peek(), new.peek()) {
            (Some((_, (a, ..))), Some((_, (b, _)))) => **a < *b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let (address, entity) = if take_old {
            let Some((i, (_, before, fate))) = old.next() else {
                break;
            };
            (
                fate.value(before).and_then(|group| group.address.as_ref()),
                Entity::Group(i),
            )
        } else {
            let Some((i, (_, driven))) = new.next() else {
                break;
            };
            (driven.value.address.as_ref(), Entity::NewGroup(i))
        };
        if let Some(address) = address {
            claims.push(address, (address, entity, Claim::Own));
        }
    }
    for (i, (_, before, fate)) in target.contacts.iter().enumerate() {
        if let Some(contact) = fate.value(before) {
            claims.push(
                &contact.address,
                (&contact.address, Entity::Contact(i), Claim::Own),
            );
        }
    }
    for (i, (_, driven)) in target.new_contacts.iter().enumerate() {
        claims.push(
            &driven.value.address,
            (&driven.value.address, Entity::NewContact(i), Claim::Own),
        );
    }
    claims
}
