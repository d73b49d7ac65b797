//! Steps 1, 2 and 4 of a plan (see the [`super`] module docs): directory facts, matching
//! and the resolution of address collisions; step 3, the target account, is in [`target`].
//!
//! A run over a million objects where 1% changed must stay under a second, and at that
//! size the time goes into cache misses, not arithmetic: the account is in address
//! order, the snapshot in GUID order, and reading one in the other's order lands at
//! random. So the snapshot's users are read in GUID order by two walks that need
//! nothing from each other and run side by side on a large snapshot: one for their
//! facts and their images ([`image`]: the fields "unchanged" compares, packed), the
//! other for their links ([`links`]) and the group members they are ([`members`]).
//! Everything else found by GUID is found by sorting and walking in step; contested
//! addresses by hashing fingerprints ([`contested`]); the working state borrows (hash
//! maps of borrowed keys are only probed: nothing that reaches the plan depends on their
//! order); the target borrows what does not change; and every ordered output (changes,
//! conflicts, warnings) is sorted where it is produced.

use std::collections::{BTreeMap, BTreeSet};

use super::diff::diff;
use crate::account::{Account, Origin};
use crate::address::Address;
use crate::change::{
    AddressRole, Change, Conflict, MaxUnlinkStop, ObjectKind, ObjectRef, OutOfDomain, Party,
};
use crate::guid::Guid;
use crate::plan::Plan;
use crate::settings::AccountSettings;
use crate::snapshot::{DirContact, DirUser, DirectorySnapshot};

mod contested;
mod entity;
mod image;
mod links;
mod members;
mod parallel;
mod refs;
mod target;

use contested::Claims;
use entity::{claims, held_before, Claim};
pub(super) use entity::{Driven, Entity, Existing, Fate, Target};
use image::Images;
use links::{LinkWalk, Links, Owner};
use members::{GroupMembers, MemberWalk};
pub(super) use parallel::both;
use parallel::PARALLEL_USERS;

/// The planner's lookup tables hash rather than order: they are only ever probed.
/// foldhash is several times faster than SipHash on these short keys, and a plan is
/// not exposed to anyone who could choose keys to collide.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// Works out what a run would change: see [`super::plan`].
pub(super) fn plan(
    account: &Account,
    snapshot: &DirectorySnapshot,
    settings: &AccountSettings,
) -> Plan {
    let parallel = snapshot.users.len() >= PARALLEL_USERS;
    Planner::new(account, snapshot, settings, parallel).plan()
}

/// An address the directory gives an object, and the object.
type DirectoryClaim<'a> = (&'a Address, ObjectKind, Guid);

/// What [`Planner::user_facts`] finds.
struct UserFacts<'a> {
    claims: Claims<DirectoryClaim<'a>>,
    out_of_domain: Vec<OutOfDomain>,
    held: Vec<Guid>,
    foreign_aliases: FastSet<Guid>,
    images: Images,
}

/// What [`Planner::user_links_and_members`] finds.
struct LinkedUsers<'a> {
    links: Links<'a, DirUser>,
    members: GroupMembers<'a>,
    /// Snapshot users no cloud user is linked to, in GUID order.
    unlinked: Vec<&'a DirUser>,
    warnings: Vec<String>,
}

/// The working state of one [`plan`] call.
struct Planner<'a> {
    /// The account before the run.
    account: &'a Account,
    /// Whether to use a second thread where work splits (the plan is the same).
    parallel: bool,
    /// The directory as extracted.
    snapshot: &'a DirectorySnapshot,
    /// What the run may do.
    settings: &'a AccountSettings,
    /// The registered domains, trimmed as `AccountSettings::is_registered` trims them
    /// and in lower case, as addresses are compared.
    domains: Vec<String>,
    /// Users with an alias outside the registered domains, found in step 1 when `link
    /// aliases` is on (the only time aliases are linked): every other user's aliases
    /// need no second look.
    foreign_aliases: FastSet<Guid>,
    /// For each account user (in key order), the directory user linked to it by GUID.
    user_owners: Vec<Option<Owner<'a, DirUser>>>,
    /// Each snapshot user's image (see [`image`]), in GUID order.
    images: Images,
    /// Directory objects whose cloud counterpart this run leaves as it was.
    held: FastSet<Guid>,
    /// Aliases a user may not link this run because another owner keeps them.
    blocked_aliases: FastSet<(Guid, Address)>,
    /// The users in `blocked_aliases`: their images (which know nothing of blocked
    /// aliases) cannot decide for them.
    alias_blocked_users: FastSet<Guid>,
    /// Contested addresses and everyone involved.
    conflicts: BTreeMap<Address, BTreeSet<Party>>,
    /// Addresses set aside for being outside the registered domains.
    out_of_domain: BTreeSet<OutOfDomain>,
    /// Sorted and deduplicated, since collision rounds may meet the same fact twice.
    warnings: BTreeSet<String>,
    /// Each directory group's member addresses, resolved once and deduplicated:
    /// compared with a cloud group's member set, and copied into one only when they
    /// differ (large groups are the bulk of a directory's links, and copying every
    /// member on every run dominated).
    group_members: GroupMembers<'a>,
    /// Snapshot users no cloud user is linked to, in GUID order: the ones that may
    /// adopt a cloud user by address, or be added.
    unlinked_users: Vec<&'a DirUser>,
    /// Directory user → the key of the cloud user it adopts by address (manual or
    /// orphaned).
    user_adoptions: FastMap<Guid, &'a Address>,
    /// The same adoptions, by cloud key.
    adopted_users: FastMap<&'a Address, Guid>,
    /// For each account contact (in key order), the directory contact linked to it
    /// (all `None` unless `sync contacts`).
    contact_owners: Vec<Option<Owner<'a, DirContact>>>,
    /// Snapshot contacts no cloud contact is linked to, in GUID order.
    unlinked_contacts: Vec<&'a DirContact>,
    /// Directory contact → the cloud contact it adopts by address.
    contact_adoptions: FastMap<Guid, &'a Address>,
    /// The same adoptions, by cloud key.
    adopted_contacts: FastMap<&'a Address, Guid>,
}

impl<'a> Planner<'a> {
    fn new(
        account: &'a Account,
        snapshot: &'a DirectorySnapshot,
        settings: &'a AccountSettings,
        parallel: bool,
    ) -> Self {
        Self {
            account,
            snapshot,
            settings,
            parallel,
            domains: settings
                .domains
                .iter()
                .map(|domain| domain.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            foreign_aliases: FastSet::default(),
            user_owners: Vec::new(),
            images: Images::with_capacity(0),
            held: FastSet::default(),
            blocked_aliases: FastSet::default(),
            alias_blocked_users: FastSet::default(),
            conflicts: BTreeMap::new(),
            out_of_domain: BTreeSet::new(),
            warnings: BTreeSet::new(),
            group_members: GroupMembers::default(),
            unlinked_users: Vec::new(),
            user_adoptions: FastMap::default(),
            adopted_users: FastMap::default(),
            contact_owners: vec![None; account.contacts.len()],
            unlinked_contacts: Vec::new(),
            contact_adoptions: FastMap::default(),
            adopted_contacts: FastMap::default(),
        }
    }

    fn plan(mut self) -> Plan {
        let (mut claims, user_links) = self.walk_users();
        self.group_and_contact_facts(&mut claims);
        self.directory_conflicts(claims);
        self.match_users(user_links);
        if self.settings.sync_contacts {
            self.match_contacts();
        }
        let target = self.settle();
        let mut changes = diff(target);
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

    /// `AccountSettings::is_registered`, with the registered names trimmed once.
    fn in_domain(&self, address: &Address) -> bool {
        // The address's domain is already in lower case (Unicode lower case leaves no
        // ASCII capitals), so this is `eq_ignore_ascii_case` without the folding.
        let wanted = address.domain().trim_end_matches('.');
        self.domains.iter().any(|registered| *registered == wanted)
    }

    /// Whether a user's alias is in a registered domain, for a user step 1 has seen.
    pub(super) fn alias_in_domain(&self, user: &Guid, alias: &Address) -> bool {
        self.foreign_aliases.is_empty()
            || !self.foreign_aliases.contains(user)
            || self.in_domain(alias)
    }

    fn object_ref(&self, guid: &Guid) -> Option<ObjectRef> {
        let snapshot = self.snapshot;
        snapshot
            .users
            .get(guid)
            .map(refs::user_ref)
            .or_else(|| snapshot.groups.get(guid).map(refs::group_ref))
            .or_else(|| snapshot.contacts.get(guid).map(refs::contact_ref))
    }

    /// Steps 1 and 2 for users. Two walks over the snapshot's users, in GUID order,
    /// each reading it once: one for the directory facts and the users' images, the
    /// other for the links by GUID and the group members that are users (rather than
    /// once per step with a map lookup per member). Neither needs the other, so on a
    /// large snapshot they run side by side.
    fn walk_users(&mut self) -> (Claims<DirectoryClaim<'a>>, Links<'a, DirUser>) {
        let (facts, walked) = both(
            self.parallel,
            || self.user_facts(),
            || self.user_links_and_members(),
        );
        let UserFacts {
            claims,
            out_of_domain,
            held,
            foreign_aliases,
            images,
        } = facts;
        let LinkedUsers {
            links,
            members,
            unlinked,
            warnings,
        } = walked;
        self.out_of_domain.extend(out_of_domain);
        self.held.extend(held);
        self.foreign_aliases = foreign_aliases;
        self.images = images;
        self.group_members = members;
        self.unlinked_users = unlinked;
        self.warnings.extend(warnings);
        (claims, links)
    }

    /// Step 1 for every user, and its image.
    fn user_facts(&self) -> UserFacts<'a> {
        let snapshot = self.snapshot;
        let mut facts = UserFacts {
            // A primary and an alias per user, an address per group and contact (step 1
            // goes on with those): the common shape, and regrowing a two-million-claim
            // buffer is a copy of it.
            claims: Claims::with_capacity(
                snapshot.users.len() * 2 + snapshot.groups.len() + snapshot.contacts.len(),
            ),
            out_of_domain: Vec::new(),
            held: Vec::new(),
            foreign_aliases: FastSet::default(),
            images: Images::with_capacity(snapshot.users.len()),
        };
        for user in snapshot.users.values() {
            let aliases_in_domain = self.one_user_facts(user, &mut facts);
            facts
                .images
                .push(|image| self.directory_image(user, aliases_in_domain, image));
        }
        facts
    }

    /// The links by GUID, and the group members that are users, in one walk.
    fn user_links_and_members(&self) -> LinkedUsers<'a> {
        let snapshot = self.snapshot;
        let mut links = LinkWalk::new(
            self.account
                .users
                .iter()
                .map(|(key, user)| (key, user.origin)),
            "user",
        );
        let mut members = MemberWalk::new(&snapshot.groups);
        let mut unlinked = Vec::new();
        for (position, (guid, user)) in snapshot.users.iter().enumerate() {
            members.visit(
                guid,
                Some(&user.primary).filter(|primary| self.in_domain(primary)),
            );
            if !links.visit(position, guid, user, |user| &user.primary) {
                unlinked.push(user);
            }
        }
        let mut warnings = Vec::new();
        let members = members.finish(&snapshot.groups, &snapshot.contacts, &mut warnings);
        LinkedUsers {
            links: links.finish(),
            members,
            unlinked,
            warnings,
        }
    }

    fn is_cloud_group(&self, guid: &Guid) -> bool {
        self.group_members.any(guid)
    }

    /// Step 1 for one user: its out-of-domain addresses, and its claims on the others.
    /// Returns whether all its aliases are in a registered domain.
    fn one_user_facts(&self, user: &'a DirUser, facts: &mut UserFacts<'a>) -> bool {
        let primary_in_domain = self.in_domain(&user.primary);
        if primary_in_domain {
            (facts.claims).push(&user.primary, (&user.primary, ObjectKind::User, user.guid));
        } else {
            // Held, so its aliases are neither claimed nor reported.
            facts.out_of_domain.push(OutOfDomain {
                address: user.primary.clone(),
                role: AddressRole::Primary,
                object: refs::user_ref(user),
            });
            facts.held.push(user.guid);
        }
        if !self.settings.link_aliases {
            return true;
        }
        let mut all_in_domain = true;
        for alias in &user.aliases {
            if self.in_domain(alias) {
                if primary_in_domain {
                    facts
                        .claims
                        .push(alias, (alias, ObjectKind::User, user.guid));
                }
            } else {
                all_in_domain = false;
                if primary_in_domain {
                    facts.out_of_domain.push(OutOfDomain {
                        address: alias.clone(),
                        role: AddressRole::Alias,
                        object: refs::user_ref(user),
                    });
                }
            }
        }
        if !all_in_domain {
            facts.foreign_aliases.insert(user.guid);
        }
        all_in_domain
    }

    /// Step 1 for groups and contacts, after the users.
    fn group_and_contact_facts(&mut self, claims: &mut Claims<DirectoryClaim<'a>>) {
        let snapshot = self.snapshot;
        for group in snapshot.groups.values() {
            let (Some(address), true) = (&group.address, self.is_cloud_group(&group.guid)) else {
                continue;
            };
            if self.in_domain(address) {
                claims.push(address, (address, ObjectKind::Group, group.guid));
            } else {
                self.out_of_domain.insert(OutOfDomain {
                    address: address.clone(),
                    role: AddressRole::GroupAddress,
                    object: refs::group_ref(group),
                });
            }
        }
        if self.settings.sync_contacts {
            for contact in snapshot.contacts.values() {
                claims.push(
                    &contact.primary,
                    (&contact.primary, ObjectKind::Contact, contact.guid),
                );
            }
        }
    }

    /// Step 1's conclusion: addresses the directory gives out twice are conflicts, and
    /// their owners are held.
    ///
    /// The claims are borrowed and sorted rather than a map of owned references: a run
    /// over a million objects would otherwise copy a DN per address just to find the
    /// few that are contested.
    fn directory_conflicts(&mut self, claims: Claims<DirectoryClaim<'a>>) {
        let snapshot = self.snapshot;
        for mut owners in claims.contested(|(address, ..)| address) {
            owners.sort_unstable();
            owners.dedup();
            if owners.len() < 2 {
                continue;
            }
            self.held.extend(owners.iter().map(|(_, _, guid)| *guid));
            let parties: Vec<Party> = owners
                .iter()
                .filter_map(|(_, kind, guid)| match kind {
                    ObjectKind::User => snapshot.users.get(guid).map(refs::user_ref),
                    ObjectKind::Group => snapshot.groups.get(guid).map(refs::group_ref),
                    ObjectKind::Contact => snapshot.contacts.get(guid).map(refs::contact_ref),
                })
                .map(|object| Party::Directory { object })
                .collect();
            let Some((address, ..)) = owners.first() else {
                continue;
            };
            self.conflicts
                .entry((*address).clone())
                .or_default()
                .extend(parties);
        }
    }

    /// Step 2 for users: the links by GUID found by [`Self::walk_users`], then
    /// adoptions by address.
    fn match_users(&mut self, links: Links<'a, DirUser>) {
        self.user_owners = links.owners;
        self.warnings.extend(links.warnings);
        let unlinked = std::mem::take(&mut self.unlinked_users);
        for user in &unlinked {
            if self.held.contains(&user.guid) {
                continue;
            }
            if let Some((key, cloud)) = self.account.users.get_key_value(&user.primary) {
                let orphan = || {
                    links.losers.contains(key)
                        || cloud
                            .origin
                            .guid()
                            .is_some_and(|linked| !self.snapshot.users.contains_key(&linked))
                };
                if cloud.origin == Origin::Manual || orphan() {
                    self.user_adoptions.insert(user.guid, key);
                    self.adopted_users.insert(key, user.guid);
                }
            }
        }
        self.unlinked_users = unlinked;
    }

    /// Step 2 for contacts, by the same rules as users.
    fn match_contacts(&mut self) {
        let mut walk = LinkWalk::new(
            self.account
                .contacts
                .iter()
                .map(|(key, contact)| (key, contact.origin)),
            "contact",
        );
        let mut unlinked = Vec::new();
        for (position, (guid, contact)) in self.snapshot.contacts.iter().enumerate() {
            if !walk.visit(position, guid, contact, |contact| &contact.primary) {
                unlinked.push(contact);
            }
        }
        let links = walk.finish();
        self.contact_owners = links.owners;
        self.warnings.extend(links.warnings);
        for contact in &unlinked {
            let guid = &contact.guid;
            if self.held.contains(guid) {
                continue;
            }
            if let Some((key, cloud)) = self.account.contacts.get_key_value(&contact.primary) {
                let orphan = || {
                    links.losers.contains(key)
                        || cloud
                            .origin
                            .guid()
                            .is_some_and(|linked| !self.snapshot.contacts.contains_key(&linked))
                };
                if cloud.origin == Origin::Manual || orphan() {
                    self.contact_adoptions.insert(*guid, key);
                    self.adopted_contacts.insert(key, *guid);
                }
            }
        }
        self.unlinked_contacts = unlinked;
    }

    /// Steps 3 and 4: the target, recomputed until no new claim collides.
    fn settle(&mut self) -> Target<'a> {
        loop {
            let target = self.target();
            let mut gave_way = false;
            for owners in claims(&target).contested(|(address, ..)| address) {
                let Some(&(address, ..)) = owners.first() else {
                    continue;
                };
                let newcomers: Vec<(Entity, Claim)> = owners
                    .iter()
                    .filter(|(_, entity, claim)| !held_before(&target, address, *entity, *claim))
                    .map(|(_, entity, claim)| (*entity, *claim))
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
                    .filter_map(|(_, entity, _)| self.party(&target, *entity))
                    .collect();
                self.conflicts
                    .entry(address.clone())
                    .or_default()
                    .extend(parties);
                for (entity, claim) in newcomers {
                    let Some(by) = target.driver(entity) else {
                        continue;
                    };
                    gave_way |= match claim {
                        Claim::Alias => {
                            self.alias_blocked_users.insert(by);
                            self.blocked_aliases.insert((by, address.clone()))
                        }
                        Claim::Own => self.held.insert(by),
                    };
                }
            }
            if !gave_way {
                return target;
            }
        }
    }

    fn party(&self, target: &Target<'_>, entity: Entity) -> Option<Party> {
        if let Some(guid) = target.driver(entity) {
            return self
                .object_ref(&guid)
                .map(|object| Party::Directory { object });
        }
        match entity {
            Entity::User(_) | Entity::NewUser(_) => {
                target.user(entity).map(|user| Party::CloudUser {
                    address: user.address.clone(),
                    origin: user.origin,
                })
            }
            Entity::Group(_) | Entity::NewGroup(_) => {
                target.group(entity).map(|group| Party::CloudGroup {
                    guid: group.guid,
                    name: group.name.clone(),
                })
            }
            Entity::Contact(_) | Entity::NewContact(_) => {
                target.contact(entity).map(|contact| Party::CloudContact {
                    address: contact.address.clone(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
