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

use std::collections::{BTreeMap, BTreeSet};

use crate::account::{Account, CloudContact, CloudGroup, CloudUser, Origin};
use crate::address::Address;
use crate::change::{
    AddressRole, Change, Conflict, MaxUnlinkStop, ObjectKind, ObjectRef, OutOfDomain, Party, Plan,
};
use crate::guid::Guid;
use crate::settings::AccountSettings;
use crate::snapshot::{DirContact, DirGroup, DirUser, DirectorySnapshot};

/// Plans a run and applies it: the new account and the plan that produced it.
pub fn sync(
    account: &Account,
    snapshot: &DirectorySnapshot,
    settings: &AccountSettings,
) -> (Account, Plan) {
    let plan = plan(account, snapshot, settings);
    (apply(account, &plan), plan)
}

/// Works out what a run would change, without changing anything.
pub fn plan(account: &Account, snapshot: &DirectorySnapshot, settings: &AccountSettings) -> Plan {
    Planner::new(account, snapshot, settings).plan()
}

/// Carries out a plan made by [`plan`] for this account.
///
/// Removals go first, then every address change at once (so two users may swap
/// addresses), then the rest in plan order. A change that does not fit the account (a
/// plan made for another account) is skipped rather than panicking or overwriting an
/// object; plans from [`plan`] on the same account always fit.
pub fn apply(account: &Account, plan: &Plan) -> Account {
    let mut next = account.clone();
    if plan.stopped.is_some() {
        return next;
    }
    for change in &plan.changes {
        match change {
            Change::RemoveUser { address, .. } => {
                next.users.remove(address);
            }
            Change::RemoveContact { address, .. } => {
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
            Change::ChangeUserAddress { from, to, .. } => Some((from, to)),
            _ => None,
        }),
        |user, to| user.address = to,
    );
    move_all(
        &mut next.contacts,
        plan.changes.iter().filter_map(|change| match change {
            Change::ChangeContactAddress { from, to, .. } => Some((from, to)),
            _ => None,
        }),
        |contact, to| contact.address = to,
    );
    for change in &plan.changes {
        apply_one(&mut next, change);
    }
    next
}

/// Takes every moving object out, then puts each back under its new key.
fn move_all<'a, T>(
    map: &mut BTreeMap<Address, T>,
    moves: impl Iterator<Item = (&'a Address, &'a Address)>,
    set_address: impl Fn(&mut T, Address),
) {
    let taken: Vec<(&Address, &Address, T)> = moves
        .filter_map(|(from, to)| map.remove(from).map(|value| (from, to, value)))
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
        Change::UnlinkUser { address, .. } => {
            if let Some(user) = account.users.get_mut(address) {
                user.origin = Origin::Manual;
            }
        }
        Change::ConvertUser { address, guid }
        | Change::RelinkUser {
            address, to: guid, ..
        } => {
            if let Some(user) = account.users.get_mut(address) {
                user.origin = Origin::DirectoryGenerated { guid: *guid };
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

/// Something in the target account that can own addresses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Entity {
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
struct Driven<T> {
    /// The object as it will be.
    value: T,
    /// The directory object responsible for its state this run.
    by: Option<Guid>,
}

/// The account as it should be after the run, each object under its [`Entity`].
struct Target {
    /// Users, existing ones under their current key so the diff can find them.
    users: BTreeMap<Entity, Driven<CloudUser>>,
    /// Groups by GUID.
    groups: BTreeMap<Guid, Driven<CloudGroup>>,
    /// Contacts, like users.
    contacts: BTreeMap<Entity, Driven<CloudContact>>,
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
        let mut changes = self.diff(&target);
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

    /// Step 3: the account as it should be, given what is held and blocked so far.
    fn target(&self) -> Target {
        Target {
            users: self.target_users(),
            groups: self.target_groups(),
            contacts: self.target_contacts(),
        }
    }

    fn target_users(&self) -> BTreeMap<Entity, Driven<CloudUser>> {
        let mut owner: BTreeMap<&Address, Guid> = BTreeMap::new();
        for (guid, key) in self.user_links.iter().chain(&self.user_adoptions) {
            owner.insert(key, *guid);
        }
        let mut users = BTreeMap::new();
        for (key, cloud) in &self.account.users {
            let entity = Entity::User(key.clone());
            let directory = owner
                .get(key)
                .and_then(|guid| self.snapshot.users.get(guid));
            let driven = match (directory, cloud.origin) {
                (Some(user), _) if !self.held.contains(&user.guid) => Driven {
                    value: self.user_target(user, Some(cloud)),
                    by: Some(user.guid),
                },
                (Some(_), _) | (None, Origin::Manual) => Driven {
                    value: cloud.clone(),
                    by: None,
                },
                (None, Origin::DirectoryGenerated { .. }) if self.settings.delete_users => {
                    continue;
                }
                (None, Origin::DirectoryGenerated { .. }) => Driven {
                    value: CloudUser {
                        origin: Origin::Manual,
                        ..cloud.clone()
                    },
                    by: None,
                },
            };
            users.insert(entity, driven);
        }
        for (guid, user) in &self.snapshot.users {
            if self.held.contains(guid)
                || self.user_links.contains_key(guid)
                || self.user_adoptions.contains_key(guid)
            {
                continue;
            }
            users.insert(
                Entity::NewUser(*guid),
                Driven {
                    value: self.user_target(user, None),
                    by: Some(*guid),
                },
            );
        }
        users
    }

    fn user_target(&self, user: &DirUser, base: Option<&CloudUser>) -> CloudUser {
        let settings = self.settings;
        let address = match base {
            Some(base) if base.address == user.primary => base.address.clone(),
            _ => user.primary.clone(),
        };
        let disabled = if settings.acknowledge_disabled {
            user.disabled
        } else {
            base.is_some_and(|base| base.disabled)
        };
        let mut aliases: BTreeSet<Address> = if settings.link_aliases {
            user.aliases
                .iter()
                .filter(|alias| {
                    self.in_domain(alias)
                        && !self
                            .blocked_aliases
                            .contains(&(user.guid, (*alias).clone()))
                })
                .cloned()
                .collect()
        } else {
            base.map(|base| base.aliases.clone()).unwrap_or_default()
        };
        // A user's own address is never also its alias, whatever the setting: after a
        // primary change the old alias set may hold the new primary.
        aliases.remove(&address);
        let mut attributes = base.map(|base| base.attributes.clone()).unwrap_or_default();
        for name in &settings.additional_attributes {
            let values = directory_values(&user.attributes, name);
            if values.is_empty() {
                attributes.remove(name);
            } else {
                attributes.insert(name.clone(), values);
            }
        }
        CloudUser {
            address,
            origin: Origin::DirectoryGenerated { guid: user.guid },
            disabled,
            aliases,
            attributes,
        }
    }

    fn target_groups(&self) -> BTreeMap<Guid, Driven<CloudGroup>> {
        let mut groups = BTreeMap::new();
        for (guid, cloud) in &self.account.groups {
            let driven = if self.held.contains(guid) {
                Driven {
                    value: cloud.clone(),
                    by: None,
                }
            } else if let Some(group) = self.snapshot.groups.get(guid) {
                if !self.is_cloud_group(guid) {
                    continue;
                }
                Driven {
                    value: self.group_target(group, Some(cloud)),
                    by: Some(*guid),
                }
            } else {
                continue;
            };
            groups.insert(*guid, driven);
        }
        for (guid, group) in &self.snapshot.groups {
            if self.held.contains(guid)
                || self.account.groups.contains_key(guid)
                || !self.is_cloud_group(guid)
            {
                continue;
            }
            groups.insert(
                *guid,
                Driven {
                    value: self.group_target(group, None),
                    by: Some(*guid),
                },
            );
        }
        groups
    }

    fn group_target(&self, group: &DirGroup, base: Option<&CloudGroup>) -> CloudGroup {
        let address = group
            .address
            .as_ref()
            .filter(|address| self.in_domain(address));
        CloudGroup {
            guid: group.guid,
            name: group.name.clone(),
            kind: base.map_or(group.kind, |base| base.kind),
            address: match (base.and_then(|base| base.address.as_ref()), address) {
                // Keep the cloud's spelling when only the case differs.
                (Some(old), Some(new)) if old == new => Some(old.clone()),
                (_, new) => new.cloned(),
            },
            members: self
                .group_members
                .get(&group.guid)
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn target_contacts(&self) -> BTreeMap<Entity, Driven<CloudContact>> {
        let unchanged = |key: &Address, contact: &CloudContact| {
            (
                Entity::Contact(key.clone()),
                Driven {
                    value: contact.clone(),
                    by: None,
                },
            )
        };
        if !self.settings.sync_contacts {
            return self
                .account
                .contacts
                .iter()
                .map(|(key, contact)| unchanged(key, contact))
                .collect();
        }
        let mut owner: BTreeMap<&Address, Guid> = BTreeMap::new();
        for (guid, key) in self.contact_links.iter().chain(&self.contact_adoptions) {
            owner.insert(key, *guid);
        }
        let mut contacts = BTreeMap::new();
        for (key, cloud) in &self.account.contacts {
            let directory = owner
                .get(key)
                .and_then(|guid| self.snapshot.contacts.get(guid));
            match (directory, cloud.origin) {
                (Some(contact), _) if !self.held.contains(&contact.guid) => {
                    contacts.insert(
                        Entity::Contact(key.clone()),
                        Driven {
                            value: contact_target(contact, Some(cloud)),
                            by: Some(contact.guid),
                        },
                    );
                }
                (Some(_), _) | (None, Origin::Manual) => {
                    let (entity, driven) = unchanged(key, cloud);
                    contacts.insert(entity, driven);
                }
                (None, Origin::DirectoryGenerated { .. }) => {}
            }
        }
        for (guid, contact) in &self.snapshot.contacts {
            if self.held.contains(guid)
                || self.contact_links.contains_key(guid)
                || self.contact_adoptions.contains_key(guid)
            {
                continue;
            }
            contacts.insert(
                Entity::NewContact(*guid),
                Driven {
                    value: contact_target(contact, None),
                    by: Some(*guid),
                },
            );
        }
        contacts
    }

    /// Step 5: the changes that turn the account into the target.
    fn diff(&self, target: &Target) -> Vec<Change> {
        let mut changes = Vec::new();
        for (key, before) in &self.account.users {
            match target.users.get(&Entity::User(key.clone())) {
                Some(after) => user_changes(before, &after.value, &mut changes),
                None => {
                    if let Some(guid) = before.origin.guid() {
                        changes.push(Change::RemoveUser {
                            address: key.clone(),
                            guid,
                        });
                    }
                }
            }
        }
        for (entity, user) in &target.users {
            if let Entity::NewUser(_) = entity {
                changes.push(Change::AddUser {
                    user: user.value.clone(),
                });
            }
        }

        for (guid, before) in &self.account.groups {
            match target.groups.get(guid) {
                Some(after) => group_changes(before, &after.value, &mut changes),
                None => changes.push(Change::RemoveGroup {
                    guid: *guid,
                    name: before.name.clone(),
                }),
            }
        }
        for (guid, group) in &target.groups {
            if !self.account.groups.contains_key(guid) {
                changes.push(Change::AddGroup {
                    group: group.value.clone(),
                });
            }
        }

        for (key, before) in &self.account.contacts {
            match target.contacts.get(&Entity::Contact(key.clone())) {
                Some(after) => contact_changes(before, &after.value, &mut changes),
                None => {
                    if let Some(guid) = before.origin.guid() {
                        changes.push(Change::RemoveContact {
                            address: key.clone(),
                            guid,
                        });
                    }
                }
            }
        }
        for (entity, contact) in &target.contacts {
            if let Entity::NewContact(_) = entity {
                changes.push(Change::AddContact {
                    contact: contact.value.clone(),
                });
            }
        }
        changes
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

/// A configured attribute's directory values, sorted and deduplicated; LDAP attribute
/// names are case-insensitive, so `Department` in the snapshot serves `department`.
fn directory_values(attributes: &BTreeMap<String, Vec<String>>, name: &str) -> Vec<String> {
    let values = attributes.get(name).or_else(|| {
        attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, values)| values)
    });
    values
        .into_iter()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn contact_target(contact: &DirContact, base: Option<&CloudContact>) -> CloudContact {
    CloudContact {
        address: match base {
            Some(base) if base.address == contact.primary => base.address.clone(),
            _ => contact.primary.clone(),
        },
        origin: Origin::DirectoryGenerated { guid: contact.guid },
        name: contact.name.clone(),
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

#[cfg(test)]
mod tests;
