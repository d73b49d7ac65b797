//! Step 3 of a plan: the account as it should be after the run.

use std::collections::{BTreeMap, BTreeSet};

use super::{Driven, Entity, Planner, Target};
use crate::account::{CloudContact, CloudGroup, CloudUser, Origin};
use crate::address::Address;
use crate::guid::Guid;
use crate::snapshot::{DirContact, DirGroup, DirUser};

impl Planner<'_> {
    /// Step 3: the account as it should be, given what is held and blocked so far.
    pub(super) fn target(&self) -> Target {
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
