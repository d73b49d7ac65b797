//! Steps 1, 2 and 4 of a plan (see the [`super`] module docs): directory facts, matching
//! and the resolution of address collisions; step 3, the target account, is in [`target`].

use std::collections::{BTreeMap, BTreeSet};

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
        let mut claims: BTreeMap<Address, BTreeSet<ObjectRef>> = BTreeMap::new();
        let mut claim = |address: &Address, object: ObjectRef| {
            claims.entry(address.clone()).or_default().insert(object);
        };
        for user in self.snapshot.users.values() {
            if !self.in_domain(&user.primary) {
                self.out_of_domain.insert(OutOfDomain {
                    address: user.primary.clone(),
                    role: AddressRole::Primary,
                    object: Self::user_ref(user),
                });
                self.held.insert(user.guid);
                continue;
            }
            claim(&user.primary, Self::user_ref(user));
            if self.settings.link_aliases {
                for alias in &user.aliases {
                    if self.in_domain(alias) {
                        claim(alias, Self::user_ref(user));
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
        for group in self.snapshot.groups.values() {
            let (Some(address), true) = (&group.address, self.is_cloud_group(&group.guid)) else {
                continue;
            };
            if self.in_domain(address) {
                claim(address, Self::group_ref(group));
            } else {
                self.out_of_domain.insert(OutOfDomain {
                    address: address.clone(),
                    role: AddressRole::GroupAddress,
                    object: Self::group_ref(group),
                });
            }
        }
        if self.settings.sync_contacts {
            for contact in self.snapshot.contacts.values() {
                claim(&contact.primary, Self::contact_ref(contact));
            }
        }
        for (address, objects) in claims {
            if objects.len() < 2 {
                continue;
            }
            self.held.extend(objects.iter().map(|object| object.guid));
            self.conflicts.entry(address).or_default().extend(
                objects
                    .into_iter()
                    .map(|object| Party::Directory { object }),
            );
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
        let before = self.claims_before();
        loop {
            let target = self.target();
            let mut gave_way = false;
            for (address, owners) in claims(&target) {
                if owners.len() < 2 {
                    continue;
                }
                let newcomers: Vec<&(Entity, Claim)> = owners
                    .iter()
                    .filter(|(entity, claim)| {
                        !before.contains(&(address.clone(), entity.clone(), *claim))
                    })
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
                    .filter_map(|(entity, _)| self.party(&target, entity))
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

    /// Who holds what before the run. The way an address is held counts: a user whose
    /// alias becomes its primary makes a new claim, since only primaries are keys and a
    /// manual user may already have that key.
    fn claims_before(&self) -> BTreeSet<(Address, Entity, Claim)> {
        let mut before = BTreeSet::new();
        for (key, user) in &self.account.users {
            before.insert((key.clone(), Entity::User(key.clone()), Claim::Own));
            for alias in &user.aliases {
                before.insert((alias.clone(), Entity::User(key.clone()), Claim::Alias));
            }
        }
        for (guid, group) in &self.account.groups {
            if let Some(address) = &group.address {
                before.insert((address.clone(), Entity::Group(*guid), Claim::Own));
            }
        }
        for key in self.account.contacts.keys() {
            before.insert((key.clone(), Entity::Contact(key.clone()), Claim::Own));
        }
        before
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

/// Every address in the target and who claims it.
fn claims(target: &Target) -> BTreeMap<Address, Vec<(Entity, Claim)>> {
    let mut claims: BTreeMap<Address, Vec<(Entity, Claim)>> = BTreeMap::new();
    let mut claim = |address: &Address, entity: &Entity, how: Claim| {
        claims
            .entry(address.clone())
            .or_default()
            .push((entity.clone(), how));
    };
    for (entity, user) in &target.users {
        claim(&user.value.address, entity, Claim::Own);
        for alias in &user.value.aliases {
            claim(alias, entity, Claim::Alias);
        }
    }
    for (guid, group) in &target.groups {
        if let Some(address) = &group.value.address {
            claim(address, &Entity::Group(*guid), Claim::Own);
        }
    }
    for (entity, contact) in &target.contacts {
        claim(&contact.value.address, entity, Claim::Own);
    }
    claims
}
