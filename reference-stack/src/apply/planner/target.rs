//! Step 3 of a plan: the account as it should be after the run.
//!
//! Most runs change a small share of a large account, so the target notes every object
//! that stays as it is ([`Fate::Same`]) and builds only what changes: deciding
//! "unchanged" compares the directory object with its cloud object field by field,
//! without building anything, and the diff skips those objects.

use std::collections::{BTreeMap, BTreeSet};

use super::image::Image;
use super::{Driven, Existing, Fate, Planner, Target};
use crate::account::{CloudContact, CloudGroup, CloudUser, Origin};
use crate::address::Address;
use crate::guid::Guid;
use crate::snapshot::{DirContact, DirGroup, DirUser};

impl<'a> Planner<'a> {
    /// Step 3: the account as it should be, given what is held and blocked so far.
    pub(super) fn target(&self) -> Target<'a> {
        let (users, new_users) = self.target_users();
        let (groups, new_groups) = self.target_groups();
        let (contacts, new_contacts) = self.target_contacts();
        Target {
            users,
            new_users,
            groups,
            new_groups,
            contacts,
            new_contacts,
        }
    }

    /// The directory user that decides what the account user at `index` (in key order)
    /// becomes, if any: the one linked to it by GUID, else the one adopting it by
    /// address. With its GUID and, when linked, its image.
    fn user_owner(
        &self,
        index: usize,
        key: &Address,
    ) -> Option<(&'a DirUser, Guid, Option<&[u8]>)> {
        if let Some(owner) = self.user_owners.get(index).copied().flatten() {
            return Some((owner.object, owner.guid, self.images.get(owner.position)));
        }
        if self.adopted_users.is_empty() {
            return None;
        }
        let guid = self.adopted_users.get(key)?;
        let user = self.snapshot.users.get(guid)?;
        Some((user, user.guid, None))
    }

    /// What becomes of the account users at indexes `from..to` (in key order).
    fn existing_users(&self, from: usize, to: usize) -> Vec<Existing<'a, Address, CloudUser>> {
        let mut users = Vec::with_capacity(to.min(self.account.users.len()).saturating_sub(from));
        let mut cloud_image = Vec::new();
        let range = self
            .account
            .users
            .iter()
            .enumerate()
            .skip(from)
            .take(to - from);
        for (index, (key, cloud)) in range {
            let fate = match (self.user_owner(index, key), cloud.origin) {
                (Some((user, guid, image)), _) if !self.held.contains(&guid) => {
                    let by = Some(guid);
                    let unchanged = match image {
                        Some(image) if !self.alias_blocked(&guid) => {
                            cloud_image.clear();
                            self.cloud_image(cloud, &mut Image(&mut cloud_image));
                            image == cloud_image.as_slice()
                        }
                        _ => self.user_unchanged(user, cloud),
                    };
                    if unchanged {
                        Fate::Same { by }
                    } else {
                        Fate::Changed {
                            value: Box::new(self.new_user(user, Some(cloud))),
                            by,
                        }
                    }
                }
                (Some(_), _) | (None, Origin::Manual) => Fate::Same { by: None },
                (None, Origin::DirectoryGenerated { .. }) if self.settings.delete_users => {
                    Fate::Removed
                }
                (None, Origin::DirectoryGenerated { .. }) => Fate::Changed {
                    value: Box::new(CloudUser {
                        origin: Origin::Manual,
                        ..cloud.clone()
                    }),
                    by: None,
                },
            };
            users.push((key, cloud, fate));
        }
        users
    }

    #[allow(clippy::type_complexity)]
    fn target_users(
        &self,
    ) -> (
        Vec<Existing<'a, Address, CloudUser>>,
        Vec<(Guid, Driven<CloudUser>)>,
    ) {
        // Two halves of the account, side by side: deciding each user is independent.
        let half = self.account.users.len() / 2;
        let (mut users, second) = super::both(
            self.parallel,
            || self.existing_users(0, half),
            || self.existing_users(half, usize::MAX),
        );
        users.extend(second);
        let mut new_users = Vec::new();
        for user in &self.unlinked_users {
            let guid = &user.guid;
            if self.held.contains(guid) || self.user_adoptions.contains_key(guid) {
                continue;
            }
            new_users.push((
                *guid,
                Driven {
                    value: self.new_user(user, None),
                    by: Some(*guid),
                },
            ));
        }
        (users, new_users)
    }

    /// The aliases a user links this run (before its own address is taken out).
    fn linked_aliases<'u>(&self, user: &'u DirUser) -> impl Iterator<Item = &'u Address> + '_
    where
        'u: 'a,
    {
        let guid = user.guid;
        user.aliases.iter().filter(move |alias| {
            self.alias_in_domain(&guid, alias) && !self.is_blocked(guid, alias)
        })
    }

    fn alias_blocked(&self, guid: &Guid) -> bool {
        !self.alias_blocked_users.is_empty() && self.alias_blocked_users.contains(guid)
    }

    fn is_blocked(&self, guid: Guid, alias: &Address) -> bool {
        !self.blocked_aliases.is_empty() && self.blocked_aliases.contains(&(guid, alias.clone()))
    }

    /// The image (see [`super::image`]) of what [`Self::user_unchanged`] compares on the
    /// directory side, for a user without blocked aliases. Must follow it rule for rule.
    pub(super) fn directory_image(
        &self,
        user: &DirUser,
        aliases_in_domain: bool,
        image: &mut Image<'_>,
    ) {
        let settings = self.settings;
        image.byte(1); // linked to this user
        image.guid(&user.guid);
        image.byte(if settings.acknowledge_disabled {
            u8::from(user.disabled)
        } else {
            2
        });
        image.address(&user.primary);
        if settings.link_aliases {
            let linked = || {
                (user.aliases.iter()).filter(|alias| {
                    (aliases_in_domain || self.in_domain(alias)) && **alias != user.primary
                })
            };
            image.count(linked().count());
            for alias in linked() {
                image.address(alias);
            }
        } else {
            image.byte(0); // its own address is not among its aliases
        }
        for name in &settings.additional_attributes {
            match directory_values_sorted(&user.attributes, name) {
                DirValues::None => image.values(None),
                DirValues::Sorted(values) => image.values(Some(values)),
                DirValues::Unsorted(values) => image.values(Some(&sorted_values(values))),
            }
        }
    }

    /// The image of what [`Self::user_unchanged`] compares on the cloud side.
    fn cloud_image(&self, base: &CloudUser, image: &mut Image<'_>) {
        let settings = self.settings;
        match base.origin {
            Origin::DirectoryGenerated { guid } => {
                image.byte(1);
                image.guid(&guid);
            }
            Origin::Manual => image.byte(0),
        }
        image.byte(if settings.acknowledge_disabled {
            u8::from(base.disabled)
        } else {
            2
        });
        image.address(&base.address);
        if settings.link_aliases {
            image.count(base.aliases.len());
            for alias in &base.aliases {
                image.address(alias);
            }
        } else {
            image.byte(u8::from(base.aliases.contains(&base.address)));
        }
        for name in &settings.additional_attributes {
            image.values(base.attributes.get(name).map(Vec::as_slice));
        }
    }

    /// Whether [`Self::new_user`] on `(user, Some(base))` would give `base` back; decided
    /// without building anything. Must follow `new_user` rule for rule.
    fn user_unchanged(&self, user: &DirUser, base: &CloudUser) -> bool {
        let settings = self.settings;
        if base.address != user.primary
            || base.origin != (Origin::DirectoryGenerated { guid: user.guid })
            || (settings.acknowledge_disabled && base.disabled != user.disabled)
        {
            return false;
        }
        let address = &base.address;
        let aliases_same = if settings.link_aliases {
            self.linked_aliases(user)
                .filter(|alias| *alias != address)
                .eq(base.aliases.iter())
        } else {
            !base.aliases.contains(address)
        };
        aliases_same
            && settings.additional_attributes.iter().all(|name| {
                match (
                    directory_values_sorted(&user.attributes, name),
                    base.attributes.get(name),
                ) {
                    (DirValues::None, None) => true,
                    (DirValues::None, Some(_)) | (_, None) => false,
                    (DirValues::Sorted(values), Some(old)) => values == old.as_slice(),
                    (DirValues::Unsorted(values), Some(old)) => sorted_values(values) == *old,
                }
            })
    }

    /// A user as the directory says it should be, starting from `base` when it exists.
    fn new_user(&self, user: &DirUser, base: Option<&CloudUser>) -> CloudUser {
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
            self.linked_aliases(user).cloned().collect()
        } else {
            base.map(|base| base.aliases.clone()).unwrap_or_default()
        };
        // A user's own address is never also its alias, whatever the setting: after a
        // primary change the old alias set may hold the new primary.
        aliases.remove(&address);
        let mut attributes = base.map(|base| base.attributes.clone()).unwrap_or_default();
        for name in &settings.additional_attributes {
            let values = match directory_values_sorted(&user.attributes, name) {
                DirValues::None => Vec::new(),
                DirValues::Sorted(values) => values.to_vec(),
                DirValues::Unsorted(values) => sorted_values(values),
            };
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

    #[allow(clippy::type_complexity)]
    fn target_groups(
        &self,
    ) -> (
        Vec<Existing<'a, Guid, CloudGroup>>,
        Vec<(Guid, Driven<CloudGroup>)>,
    ) {
        let mut groups = Vec::with_capacity(self.account.groups.len());
        let mut scratch = Vec::new();
        for (guid, cloud) in &self.account.groups {
            let fate = if self.held.contains(guid) {
                Fate::Same { by: None }
            } else if let Some(group) = self.snapshot.groups.get(guid) {
                if self.is_cloud_group(guid) {
                    self.group_target(group, cloud, &mut scratch)
                } else {
                    Fate::Removed
                }
            } else {
                Fate::Removed
            };
            groups.push((guid, cloud, fate));
        }
        let mut new_groups = Vec::new();
        for (guid, group) in &self.snapshot.groups {
            if self.held.contains(guid)
                || self.account.groups.contains_key(guid)
                || !self.is_cloud_group(guid)
            {
                continue;
            }
            new_groups.push((
                *guid,
                Driven {
                    value: self.new_group(group, None),
                    by: Some(*guid),
                },
            ));
        }
        (groups, new_groups)
    }

    fn group_target<'c>(
        &self,
        group: &DirGroup,
        base: &'c CloudGroup,
        scratch: &mut Vec<(u64, &'c Address)>,
    ) -> Fate<CloudGroup> {
        let address = self.group_address(group);
        let unchanged = base.name == group.name
            && base.address.as_ref() == address
            && (self.group_members).same_as(&group.guid, &base.members, scratch);
        let by = Some(group.guid);
        if unchanged {
            Fate::Same { by }
        } else {
            Fate::Changed {
                value: Box::new(self.new_group(group, Some(base))),
                by,
            }
        }
    }

    fn group_address<'g>(&self, group: &'g DirGroup) -> Option<&'g Address> {
        group
            .address
            .as_ref()
            .filter(|address| self.in_domain(address))
    }

    fn new_group(&self, group: &DirGroup, base: Option<&CloudGroup>) -> CloudGroup {
        let address = self.group_address(group);
        CloudGroup {
            guid: group.guid,
            name: group.name.clone(),
            kind: base.map_or(group.kind, |base| base.kind),
            address: match (base.and_then(|base| base.address.as_ref()), address) {
                // Keep the cloud's spelling when only the case differs.
                (Some(old), Some(new)) if old == new => Some(old.clone()),
                (_, new) => new.cloned(),
            },
            members: (self.group_members.of(&group.guid).iter())
                .map(|member| member.address.clone())
                .collect(),
        }
    }

    #[allow(clippy::type_complexity)]
    fn target_contacts(
        &self,
    ) -> (
        Vec<Existing<'a, Address, CloudContact>>,
        Vec<(Guid, Driven<CloudContact>)>,
    ) {
        if !self.settings.sync_contacts {
            let contacts = self
                .account
                .contacts
                .iter()
                .map(|(key, contact)| (key, contact, Fate::Same { by: None }))
                .collect();
            return (contacts, Vec::new());
        }
        let mut contacts = Vec::with_capacity(self.account.contacts.len());
        for (index, (key, cloud)) in self.account.contacts.iter().enumerate() {
            let directory = self
                .contact_owners
                .get(index)
                .copied()
                .flatten()
                .map(|owner| owner.object)
                .or_else(|| {
                    let guid = self.adopted_contacts.get(key)?;
                    self.snapshot.contacts.get(guid)
                });
            let fate = match (directory, cloud.origin) {
                (Some(contact), _) if !self.held.contains(&contact.guid) => {
                    contact_target(contact, cloud)
                }
                (Some(_), _) | (None, Origin::Manual) => Fate::Same { by: None },
                (None, Origin::DirectoryGenerated { .. }) => Fate::Removed,
            };
            contacts.push((key, cloud, fate));
        }
        let mut new_contacts = Vec::new();
        for contact in &self.unlinked_contacts {
            let guid = &contact.guid;
            if self.held.contains(guid) || self.contact_adoptions.contains_key(guid) {
                continue;
            }
            new_contacts.push((
                *guid,
                Driven {
                    value: new_contact(contact, None),
                    by: Some(*guid),
                },
            ));
        }
        (contacts, new_contacts)
    }
}

/// A configured attribute's directory values; LDAP attribute names are
/// case-insensitive, so `Department` in the snapshot serves `department`.
enum DirValues<'v> {
    /// No values.
    None,
    /// Already sorted and free of duplicates: usable as they are.
    Sorted(&'v [String]),
    /// To be sorted and deduplicated first.
    Unsorted(&'v [String]),
}

fn directory_values_sorted<'v>(
    attributes: &'v BTreeMap<String, Vec<String>>,
    name: &str,
) -> DirValues<'v> {
    let values = attributes.get(name).or_else(|| {
        attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, values)| values)
    });
    match values {
        None => DirValues::None,
        Some(values) if values.is_empty() => DirValues::None,
        Some(values) if values.windows(2).all(|pair| pair[0] < pair[1]) => {
            DirValues::Sorted(values)
        }
        Some(values) => DirValues::Unsorted(values),
    }
}

/// Values sorted and deduplicated, so the directory's unordered multi-valued
/// attributes never cause churn.
fn sorted_values(values: &[String]) -> Vec<String> {
    values
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn contact_target(contact: &DirContact, base: &CloudContact) -> Fate<CloudContact> {
    let unchanged = base.address == contact.primary
        && base.origin == (Origin::DirectoryGenerated { guid: contact.guid })
        && base.name == contact.name;
    let by = Some(contact.guid);
    if unchanged {
        Fate::Same { by }
    } else {
        Fate::Changed {
            value: Box::new(new_contact(contact, Some(base))),
            by,
        }
    }
}

fn new_contact(contact: &DirContact, base: Option<&CloudContact>) -> CloudContact {
    CloudContact {
        address: match base {
            Some(base) if base.address == contact.primary => base.address.clone(),
            _ => contact.primary.clone(),
        },
        origin: Origin::DirectoryGenerated { guid: contact.guid },
        name: contact.name.clone(),
    }
}
