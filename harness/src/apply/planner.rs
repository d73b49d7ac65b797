//! Steps 1, 2 and 4 of a plan (see the [`super`] module docs): directory facts, matching
//! and the resolution of address collisions; step 3, the target account, is in [`target`].

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::diff::diff;
use crate::account::{Account, CloudContact, CloudGroup, CloudUser, Origin};
use crate::address::Address;
use crate::change::{
    AddressRole, Change, Conflict, MaxUnlinkStop, ObjectKind, ObjectRef, OutOfDomain, Party, Plan,
};
use crate::guid::Guid;
use crate::settings::AccountSettings;
use crate::snapshot::{DirContact, DirGroup, DirUser, DirectorySnapshot};

mod target;

/// Works out what a run would change: see [`super::plan`].
pub(super) fn plan(
    account: &Account,
    snapshot: &DirectorySnapshot,
    settings: &AccountSettings,
) -> Plan {
    Planner::new(account, snapshot, settings).plan()
}

/// Something in the target account that can own addresses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Entity {
    /// A cloud user already in the account, by its current key.
    User(Address),
    /// A user this run adds.
    NewUser(Guid),
    /// A group, by GUID (new or not: groups are keyed by GUID either way).
    Group(Guid),
    /// A cloud contact already in the account, by its current key.
    Contact(Address),
    /// A contact this run adds.
    NewContact(Guid),
}

/// A target object and the directory object it mirrors this run, if any.
///
/// `by` is `None` for objects the run leaves as they are (manual, held) or only unlinks:
/// those cannot be responsible for a new claim on an address.
pub(super) struct Driven<T> {
    /// The object as it will be.
    pub(super) value: T,
    /// The directory object responsible for its state this run.
    by: Option<Guid>,
}

/// The account as it should be after the run, each object under its [`Entity`].
pub(super) struct Target {
    /// Users, existing ones under their current key so the diff can find them.
    pub(super) users: BTreeMap<Entity, Driven<CloudUser>>,
    /// Groups by GUID.
    pub(super) groups: BTreeMap<Guid, Driven<CloudGroup>>,
    /// Contacts, like users.
    pub(super) contacts: BTreeMap<Entity, Driven<CloudContact>>,
}

/// How an owner uses an address, which decides what gives way in a collision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Claim {
    /// The object's own address: the object gives way whole.
    Own,
    /// A user's alias: only the alias gives way.
    Alias,
}

/// The working state of one [`plan`] call.
struct Planner<'a> {
    /// The account before the run.
    account: &'a Account,
    /// The directory as extracted.
    snapshot: &'a DirectorySnapshot,
    /// What the run may do.
    settings: &'a AccountSettings,
    /// Directory objects whose cloud counterpart this run leaves as it was.
    held: BTreeSet<Guid>,
    /// Aliases a user may not link this run because another owner keeps them.
    blocked_aliases: BTreeSet<(Guid, Address)>,
    /// Contested addresses and everyone involved.
    conflicts: BTreeMap<Address, BTreeSet<Party>>,
    /// Addresses set aside for being outside the registered domains.
    out_of_domain: BTreeSet<OutOfDomain>,
    /// Sorted and deduplicated, since collision rounds may meet the same fact twice.
    warnings: BTreeSet<String>,
    /// Each directory group's member addresses, resolved once.
    group_members: BTreeMap<Guid, BTreeSet<Address>>,
    /// Directory user → the cloud user linked to it by GUID.
    user_links: BTreeMap<Guid, Address>,
    /// Directory user → the cloud user it adopts by address (manual or orphaned).
    user_adoptions: BTreeMap<Guid, Address>,
    /// Directory contact → the cloud contact linked to it (empty unless `sync contacts`).
    contact_links: BTreeMap<Guid, Address>,
    /// Directory contact → the cloud contact it adopts by address.
    contact_adoptions: BTreeMap<Guid, Address>,
}

impl<'a> Planner<'a> {
    fn new(
        account: &'a Account,
        snapshot: &'a DirectorySnapshot,
        settings: &'a AccountSettings,
    ) -> Self {
        Self {
            account,
            snapshot,
            settings,
            held: BTreeSet::new(),
            blocked_aliases: BTreeSet::new(),
            conflicts: BTreeMap::new(),
            out_of_domain: BTreeSet::new(),
            warnings: BTreeSet::new(),
            group_members: BTreeMap::new(),
            user_links: BTreeMap::new(),
            user_adoptions: BTreeMap::new(),
            contact_links: BTreeMap::new(),
            contact_adoptions: BTreeMap::new(),
        }
    }

    fn plan(mut self) -> Plan {
        self.resolve_group_members();
        self.directory_facts();
        self.match_users();
        if self.settings.sync_contacts {
            self.match_contacts();
        }
        let target = self.settle();
        let mut changes = diff(self.account, &target);
        changes.sort();

        let would_unlink = changes
            .iter()
            .filter(|change| {
                matches!(
                    change,
                    Change::UnlinkUser { .. } | Change::RemoveUser { .. }
                )
            })
            .count();
        let stopped = (would_unlink > self.settings.max_unlink).then_some(MaxUnlinkStop {
            would_unlink,
            max_unlink: self.settings.max_unlink,
        });
        if stopped.is_some() {
            changes.clear();
        }
        Plan {
            changes,
            conflicts: self
                .conflicts
                .into_iter()
                .map(|(address, parties)| Conflict {
                    address,
                    parties: parties.into_iter().collect(),
                })
                .collect(),
            out_of_domain: self.out_of_domain.into_iter().collect(),
            warnings: self.warnings.into_iter().collect(),
            stopped,
        }
    }

    fn in_domain(&self, address: &Address) -> bool {
        self.settings.is_registered(address.domain())
    }

    fn user_ref(user: &DirUser) -> ObjectRef {
        ObjectRef {
            kind: ObjectKind::User,
            guid: user.guid,
            dn: user.dn.clone(),
        }
    }

    fn group_ref(group: &DirGroup) -> ObjectRef {
        ObjectRef {
            kind: ObjectKind::Group,
            guid: group.guid,
            dn: group.dn.clone(),
        }
    }

    fn contact_ref(contact: &DirContact) -> ObjectRef {
        ObjectRef {
            kind: ObjectKind::Contact,
            guid: contact.guid,
            dn: contact.dn.clone(),
        }
    }

    fn object_ref(&self, guid: &Guid) -> Option<ObjectRef> {
        let snapshot = self.snapshot;
        snapshot
            .users
            .get(guid)
            .map(Self::user_ref)
            .or_else(|| snapshot.groups.get(guid).map(Self::group_ref))
            .or_else(|| snapshot.contacts.get(guid).map(Self::contact_ref))
    }

    /// Member GUIDs to the addresses the account can hold: in-domain users and contacts.
    fn resolve_group_members(&mut self) {
        for (guid, group) in &self.snapshot.groups {
            let mut members = BTreeSet::new();
            for member in &group.members {
                if let Some(user) = self.snapshot.users.get(member) {
                    if self.in_domain(&user.primary) {
                        members.insert(user.primary.clone());
                    }
                } else if let Some(contact) = self.snapshot.contacts.get(member) {
                    members.insert(contact.primary.clone());
                } else {
                    self.warnings.insert(format!(
                        "group {} lists member {member}, which is not a mail-enabled user or \
                         contact in the snapshot; skipped",
                        group.dn
                    ));
                }
            }
            self.group_members.insert(*guid, members);
        }
    }

    fn is_cloud_group(&self, guid: &Guid) -> bool {
        self.group_members
            .get(guid)
            .is_some_and(|members| !members.is_empty())
    }

    /// Step 1: out-of-domain addresses and addresses the directory gives out twice.
    fn directory_facts(&mut self) {
        let snapshot = self.snapshot;
        // Borrowed and sorted rather than a map of owned references: a run over a
        // million objects would otherwise copy a DN per address just to find the few
        // that are contested.
        let mut claims: Vec<(&Address, ObjectRef)> = Vec::new();
        let user_ref = |user: &'a DirUser| ObjectRef {
            kind: ObjectKind::User,
            guid: user.guid,
            dn: String::new(),
        };
        for user in snapshot.users.values() {
            if !self.in_domain(&user.primary) {
                self.out_of_domain.insert(OutOfDomain {
                    address: user.primary.clone(),
                    role: AddressRole::Primary,
                    object: Self::user_ref(user),
                });
                self.held.insert(user.guid);
                continue;
            }
            claims.push((&user.primary, user_ref(user)));
            if self.settings.link_aliases {
                for alias in &user.aliases {
                    if self.in_domain(alias) {
                        claims.push((alias, user_ref(user)));
                    } else {
                        self.out_of_domain.insert(OutOfDomain {
                            address: alias.clone(),
                            role: AddressRole::Alias,
                            object: Self::user_ref(user),
                        });
                    }
                }
            }
        }
        for group in snapshot.groups.values() {
            let (Some(address), true) = (&group.address, self.is_cloud_group(&group.guid)) else {
                continue;
            };
            if self.in_domain(address) {
                claims.push((
                    address,
                    ObjectRef {
                        kind: ObjectKind::Group,
                        guid: group.guid,
                        dn: String::new(),
                    },
                ));
            } else {
                self.out_of_domain.insert(OutOfDomain {
                    address: address.clone(),
                    role: AddressRole::GroupAddress,
                    object: Self::group_ref(group),
                });
            }
        }
        if self.settings.sync_contacts {
            for contact in snapshot.contacts.values() {
                claims.push((
                    &contact.primary,
                    ObjectRef {
                        kind: ObjectKind::Contact,
                        guid: contact.guid,
                        dn: String::new(),
                    },
                ));
            }
        }
        for mut owners in contested(claims, |(address, _)| address) {
            owners.sort_unstable();
            owners.dedup();
            if owners.len() < 2 {
                continue;
            }
            self.held
                .extend(owners.iter().map(|(_, object)| object.guid));
            let parties: Vec<Party> = owners
                .iter()
                .filter_map(|(_, object)| {
                    let guid = &object.guid;
                    match object.kind {
                        ObjectKind::User => snapshot.users.get(guid).map(Self::user_ref),
                        ObjectKind::Group => snapshot.groups.get(guid).map(Self::group_ref),
                        ObjectKind::Contact => snapshot.contacts.get(guid).map(Self::contact_ref),
                    }
                })
                .map(|object| Party::Directory { object })
                .collect();
            let Some((address, _)) = owners.first() else {
                continue;
            };
            self.conflicts
                .entry((*address).clone())
                .or_default()
                .extend(parties);
        }
    }

    /// Step 2 for users: links by GUID, then adoptions by address.
    fn match_users(&mut self) {
        let snapshot = self.snapshot;
        let (links, orphans, warnings) = links_by_guid(
            self.account
                .users
                .iter()
                .map(|(key, user)| (key, user.origin)),
            |guid| snapshot.users.get(guid).map(|user| &user.primary),
            "user",
        );
        self.user_links = links;
        self.warnings.extend(warnings);
        for (guid, user) in &self.snapshot.users {
            if self.held.contains(guid) || self.user_links.contains_key(guid) {
                continue;
            }
            if let Some((key, cloud)) = self.account.users.get_key_value(&user.primary) {
                if cloud.origin == Origin::Manual || orphans.contains(key) {
                    self.user_adoptions.insert(*guid, key.clone());
                }
            }
        }
    }

    /// Step 2 for contacts, by the same rules as users.
    fn match_contacts(&mut self) {
        let snapshot = self.snapshot;
        let (links, orphans, warnings) = links_by_guid(
            self.account
                .contacts
                .iter()
                .map(|(key, contact)| (key, contact.origin)),
            |guid| snapshot.contacts.get(guid).map(|contact| &contact.primary),
            "contact",
        );
        self.contact_links = links;
        self.warnings.extend(warnings);
        for (guid, contact) in &self.snapshot.contacts {
            if self.held.contains(guid) || self.contact_links.contains_key(guid) {
                continue;
            }
            if let Some((key, cloud)) = self.account.contacts.get_key_value(&contact.primary) {
                if cloud.origin == Origin::Manual || orphans.contains(key) {
                    self.contact_adoptions.insert(*guid, key.clone());
                }
            }
        }
    }

    /// Steps 3 and 4: the target, recomputed until no new claim collides.
    fn settle(&mut self) -> Target {
        loop {
            let target = self.target();
            let mut gave_way = false;
            let claims = claims(&target);
            for owners in contested(claims, |(address, ..)| address) {
                let Some(&(address, ..)) = owners.first() else {
                    continue;
                };
                let newcomers: Vec<(&Entity, Claim)> = owners
                    .iter()
                    .filter(|(_, entity, claim)| !self.held_before(address, entity, *claim))
                    .map(|(_, entity, claim)| (entity.as_ref(), *claim))
                    .collect();
                if newcomers.is_empty() {
                    self.warnings.insert(format!(
                        "{address} already belongs to more than one object in the account; \
                         left as it is"
                    ));
                    continue;
                }
                let parties: Vec<Party> = owners
                    .iter()
                    .filter_map(|(_, entity, _)| self.party(&target, entity))
                    .collect();
                self.conflicts
                    .entry(address.clone())
                    .or_default()
                    .extend(parties);
                for (entity, claim) in newcomers {
                    let Some(by) = driver(&target, entity) else {
                        continue;
                    };
                    gave_way |= match claim {
                        Claim::Alias => self.blocked_aliases.insert((by, address.clone())),
                        Claim::Own => self.held.insert(by),
                    };
                }
            }
            if !gave_way {
                return target;
            }
        }
    }

    fn party(&self, target: &Target, entity: &Entity) -> Option<Party> {
        if let Some(guid) = driver(target, entity) {
            return self
                .object_ref(&guid)
                .map(|object| Party::Directory { object });
        }
        match entity {
            Entity::User(_) | Entity::NewUser(_) => {
                target.users.get(entity).map(|user| Party::CloudUser {
                    address: user.value.address.clone(),
                    origin: user.value.origin,
                })
            }
            Entity::Group(guid) => target.groups.get(guid).map(|group| Party::CloudGroup {
                guid: *guid,
                name: group.value.name.clone(),
            }),
            Entity::Contact(_) | Entity::NewContact(_) => {
                target
                    .contacts
                    .get(entity)
                    .map(|contact| Party::CloudContact {
                        address: contact.value.address.clone(),
                    })
            }
        }
    }

    /// Whether the account already held `address` this way before the run. The way
    /// counts: a user whose alias becomes its primary makes a new claim, since only
    /// primaries are keys and a manual user may already have that key.
    ///
    /// Answered from the account directly rather than from a set of every claim, which
    /// would copy every address of a million-user account on each run.
    fn held_before(&self, address: &Address, entity: &Entity, claim: Claim) -> bool {
        match (entity, claim) {
            (Entity::User(key) | Entity::Contact(key), Claim::Own) => key == address,
            (Entity::User(key), Claim::Alias) => self
                .account
                .users
                .get(key)
                .is_some_and(|user| user.aliases.contains(address)),
            (Entity::Group(guid), Claim::Own) => self
                .account
                .groups
                .get(guid)
                .is_some_and(|group| group.address.as_ref() == Some(address)),
            _ => false,
        }
    }
}

/// Which cloud object each directory object is linked to; the linked cloud objects left
/// over (their object is gone, or another cloud object claimed the same GUID first); and
/// a warning for each such duplicate.
fn links_by_guid<'k, 'd>(
    cloud: impl Iterator<Item = (&'k Address, Origin)>,
    directory_primary: impl Fn(&Guid) -> Option<&'d Address>,
    kind: &str,
) -> (BTreeMap<Guid, Address>, BTreeSet<Address>, Vec<String>) {
    let mut candidates: BTreeMap<Guid, Vec<&Address>> = BTreeMap::new();
    let mut orphans = BTreeSet::new();
    let mut warnings = Vec::new();
    for (key, origin) in cloud {
        let Some(guid) = origin.guid() else {
            continue;
        };
        if directory_primary(&guid).is_some() {
            candidates.entry(guid).or_default().push(key);
        } else {
            orphans.insert(key.clone());
        }
    }
    let mut links = BTreeMap::new();
    for (guid, keys) in candidates {
        let primary = directory_primary(&guid);
        let chosen = keys
            .iter()
            .find(|key| Some(**key) == primary)
            .or(keys.first())
            .copied();
        let Some(chosen) = chosen else {
            continue;
        };
        for other in keys.iter().filter(|key| **key != chosen) {
            // Accounts written by hand (or by an older sync) can hold this; keeping one
            // link keeps the directory object's identity unambiguous.
            orphans.insert((*other).clone());
            warnings.push(format!(
                "cloud {kind}s {chosen} and {other} are both linked to directory object \
                 {guid}; {other} is treated as no longer in the directory"
            ));
        }
        links.insert(guid, chosen.clone());
    }
    (links, orphans, warnings)
}

fn driver(target: &Target, entity: &Entity) -> Option<Guid> {
    match entity {
        Entity::User(_) | Entity::NewUser(_) => target.users.get(entity).and_then(|d| d.by),
        Entity::Group(guid) => target.groups.get(guid).and_then(|d| d.by),
        Entity::Contact(_) | Entity::NewContact(_) => {
            target.contacts.get(entity).and_then(|d| d.by)
        }
    }
}

/// Every address in the target and who claims it, in target order (users, groups,
/// contacts).
fn claims(target: &Target) -> Vec<(&Address, Cow<'_, Entity>, Claim)> {
    let mut claims = Vec::with_capacity(target.users.len() * 2 + target.contacts.len());
    for (entity, user) in &target.users {
        claims.push((&user.value.address, Cow::Borrowed(entity), Claim::Own));
        for alias in &user.value.aliases {
            claims.push((alias, Cow::Borrowed(entity), Claim::Alias));
        }
    }
    // Groups are keyed by GUID; their entity is cheap to build (no address inside).
    for (guid, group) in &target.groups {
        if let Some(address) = &group.value.address {
            claims.push((address, Cow::Owned(Entity::Group(*guid)), Claim::Own));
        }
    }
    for (entity, contact) in &target.contacts {
        claims.push((&contact.value.address, Cow::Borrowed(entity), Claim::Own));
    }
    claims
}

/// Every claim on each address claimed more than once: addresses in order, each
/// address's claims in their order in `claims`.
///
/// Almost every address has one claim, so a hash pass finds the few that do not and
/// only those are sorted: sorting every address of a million-object run to find them
/// cost more than the rest of the plan together. Callers only put the results in
/// ordered sets and maps, so the plan does not depend on hash order.
fn contested<'c, C>(claims: Vec<C>, address: impl Fn(&C) -> &'c Address) -> Vec<Vec<C>> {
    let mut first: HashMap<&Address, usize> = HashMap::with_capacity(claims.len());
    let mut contested: BTreeMap<&Address, Vec<usize>> = BTreeMap::new();
    for (index, claim) in claims.iter().enumerate() {
        match first.entry(address(claim)) {
            Entry::Vacant(entry) => {
                entry.insert(index);
            }
            Entry::Occupied(entry) => {
                let all = contested
                    .entry(address(claim))
                    .or_insert_with(|| vec![*entry.get()]);
                all.push(index);
            }
        }
    }
    let mut slots: Vec<Option<C>> = claims.into_iter().map(Some).collect();
    contested
        .into_values()
        .map(|indices| {
            indices
                .into_iter()
                .filter_map(|index| slots.get_mut(index).and_then(Option::take))
                .collect()
        })
        .collect()
}
