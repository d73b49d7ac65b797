//! The items of a run's report: what one sync changed in the account, the addresses it
//! left contested or out of domain, and the max-unlink stop. Each [`Change`] displays as
//! one report line: `+` adds, `-` removes, `~` updates.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::account::{CloudContact, CloudGroup, CloudUser, Origin};
use crate::address::Address;
use crate::guid::Guid;

/// One itemized change to the account.
///
/// The variant order is the order of a plan (the derived `Ord` sorts by variant, then by
/// the fields, which start with the object's key): removals and unlinks first, then
/// address changes, then additions and updates. Replayed in that order, everything an
/// earlier change frees is free when a later one claims it; an engine applying them moves
/// all changed addresses at once so that two users can swap addresses.
///
/// Changes after an address change name the user or contact by its new address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "change",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Change {
    /// A directory-generated user left the directory and `delete users` is on.
    RemoveUser {
        /// The user's address.
        address: Address,
        /// The directory object it was linked to.
        guid: Guid,
    },
    /// A directory-generated user left the directory: it stays, as a manual user.
    UnlinkUser {
        /// The user's address.
        address: Address,
        /// The directory object it was linked to.
        guid: Guid,
    },
    /// A directory contact left the directory (or is no longer mail-enabled).
    RemoveContact {
        /// The contact's address.
        address: Address,
        /// The directory object it was linked to.
        guid: Guid,
    },
    /// A directory group left the directory or no longer has a mail-enabled member.
    RemoveGroup {
        /// The directory group's GUID.
        guid: Guid,
        /// Its name, for the report.
        name: String,
    },
    /// The directory user's primary address changed; same user, same GUID.
    ChangeUserAddress {
        /// The address before.
        from: Address,
        /// The address after.
        to: Address,
        /// The directory object it is linked to.
        guid: Guid,
    },
    /// The directory contact's address changed.
    ChangeContactAddress {
        /// The address before.
        from: Address,
        /// The address after.
        to: Address,
        /// The directory object it is linked to.
        guid: Guid,
    },
    /// A manual user matching a directory user's address becomes directory generated.
    ConvertUser {
        /// The user's address.
        address: Address,
        /// The directory object it is now linked to.
        guid: Guid,
    },
    /// A user linked to an object that left the directory is taken over by a new object
    /// with the same address (an AD account deleted and recreated, typically), instead
    /// of being unlinked and then colliding with the newcomer.
    RelinkUser {
        /// The user's address.
        address: Address,
        /// The object it was linked to, now gone.
        from: Guid,
        /// The object it is now linked to.
        to: Guid,
    },
    /// A new directory user, added as directory generated.
    AddUser {
        /// The user as added, aliases and attributes included.
        user: CloudUser,
    },
    /// An alias is no longer the directory user's, or no longer in a registered domain.
    UnlinkAlias {
        /// The user's address.
        address: Address,
        /// The alias.
        alias: Address,
    },
    /// An alias linked to its primary user (`link aliases` on).
    LinkAlias {
        /// The user's address.
        address: Address,
        /// The alias.
        alias: Address,
    },
    /// The directory disabled the user (`acknowledge disabled` on).
    DisableUser {
        /// The user's address.
        address: Address,
    },
    /// The directory enabled the user again (`acknowledge disabled` on).
    EnableUser {
        /// The user's address.
        address: Address,
    },
    /// A configured additional attribute got new values.
    SetAttribute {
        /// The user's address.
        address: Address,
        /// The attribute, spelt as configured.
        name: String,
        /// The values, sorted.
        values: Vec<String>,
    },
    /// A configured additional attribute has no value in the directory any more.
    ClearAttribute {
        /// The user's address.
        address: Address,
        /// The attribute, spelt as configured.
        name: String,
    },
    /// A manual contact matching a directory contact's address is now linked to it.
    ConvertContact {
        /// The contact's address.
        address: Address,
        /// The directory object it is now linked to.
        guid: Guid,
    },
    /// A new directory contact (`sync contacts` on).
    AddContact {
        /// The contact as added.
        contact: CloudContact,
    },
    /// The directory contact's name changed.
    RenameContact {
        /// The contact's address.
        address: Address,
        /// The name before.
        from: String,
        /// The name after.
        to: String,
    },
    /// A directory group with mail-enabled members, new to the account.
    AddGroup {
        /// The group as added, members included.
        group: CloudGroup,
    },
    /// The directory group's name changed.
    RenameGroup {
        /// The group's GUID.
        guid: Guid,
        /// The name before.
        from: String,
        /// The name after.
        to: String,
    },
    /// The group's own address changed, appeared or went away.
    SetGroupAddress {
        /// The group's GUID.
        guid: Guid,
        /// Its name, for the report.
        name: String,
        /// The address before.
        from: Option<Address>,
        /// The address after.
        to: Option<Address>,
    },
    /// A user or contact is no longer a member.
    RemoveGroupMember {
        /// The group's GUID.
        guid: Guid,
        /// Its name, for the report.
        name: String,
        /// The member's primary address.
        member: Address,
    },
    /// A user or contact joined the group (directly, nested or by primary group).
    AddGroupMember {
        /// The group's GUID.
        guid: Guid,
        /// Its name, for the report.
        name: String,
        /// The member's primary address.
        member: Address,
    },
}

/// What kind of directory object a report entry is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    /// A user.
    User,
    /// A group or dynamic distribution list.
    Group,
    /// A contact.
    Contact,
}

/// A directory object as a report names it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub struct ObjectRef {
    /// User, group or contact.
    pub kind: ObjectKind,
    /// Its `objectGUID`.
    pub guid: Guid,
    /// Its DN, so an administrator can find it.
    pub dn: String,
}

/// One of the owners of a conflicting address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "party",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Party {
    /// A directory object whose changes this run leaves out.
    Directory {
        /// The object.
        object: ObjectRef,
    },
    /// A cloud user this run does not change that already holds the address.
    CloudUser {
        /// The user's primary address (the conflict may be about one of its aliases).
        address: Address,
        /// Whether it is manual or linked.
        origin: Origin,
    },
    /// A cloud group this run does not change that already holds the address.
    CloudGroup {
        /// The group's GUID.
        guid: Guid,
        /// Its name.
        name: String,
    },
    /// A cloud contact this run does not change that already holds the address.
    CloudContact {
        /// The contact's address.
        address: Address,
    },
}

/// An address more than one object wants. Every directory object among the parties is
/// left as it was in the cloud this run; the rest of the run applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Conflict {
    /// The contested address.
    pub address: Address,
    /// Who wants or holds it, sorted.
    pub parties: Vec<Party>,
}

/// How an address is used by the object that has it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum AddressRole {
    /// A user's primary address: the whole user is left out.
    Primary,
    /// A user's alias: only the alias is left out.
    Alias,
    /// A group's own address: the group is synced without it.
    GroupAddress,
}

/// An address outside the account's registered domains: reported, not applied.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub struct OutOfDomain {
    /// The address.
    pub address: Address,
    /// What it is to the object.
    pub role: AddressRole,
    /// The object that has it.
    pub object: ObjectRef,
}

/// Why a run was stopped before changing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct MaxUnlinkStop {
    /// Directory-generated users the run would have unlinked or removed.
    pub would_unlink: usize,
    /// The configured limit it exceeded.
    pub max_unlink: usize,
}

impl fmt::Display for MaxUnlinkStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped: this run would unlink or remove {} directory-generated users, more than \
             max unlink ({}); nothing was applied. Check the root DN and the extraction, or \
             raise max unlink if the directory really lost them",
            self.would_unlink, self.max_unlink
        )
    }
}

fn list(addresses: impl IntoIterator<Item = impl fmt::Display>) -> String {
    addresses
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::RemoveUser { address, .. } => {
                write!(f, "- user {address} (left the directory)")
            }
            Change::UnlinkUser { address, .. } => write!(
                f,
                "~ user {address}: unlinked (left the directory; kept as a manual user)"
            ),
            Change::RemoveContact { address, .. } => {
                write!(f, "- contact {address} (left the directory)")
            }
            Change::RemoveGroup { name, .. } => write!(f, "- group {name}"),
            Change::ChangeUserAddress { from, to, .. } => {
                write!(f, "~ user {from} -> {to} (primary address changed)")
            }
            Change::ChangeContactAddress { from, to, .. } => {
                write!(f, "~ contact {from} -> {to} (address changed)")
            }
            Change::ConvertUser { address, .. } => {
                write!(f, "~ user {address}: manual -> directory generated")
            }
            Change::RelinkUser { address, from, to } => write!(
                f,
                "~ user {address}: relinked from {from} (left the directory) to {to}"
            ),
            Change::AddUser { user } => {
                write!(f, "+ user {} (directory generated", user.address)?;
                if user.disabled {
                    f.write_str(", disabled")?;
                }
                if !user.aliases.is_empty() {
                    write!(f, ", aliases {}", list(&user.aliases))?;
                }
                for (name, values) in &user.attributes {
                    write!(f, ", {name} = {values:?}")?;
                }
                f.write_str(")")
            }
            Change::UnlinkAlias { address, alias } => {
                write!(f, "~ user {address}: - alias {alias}")
            }
            Change::LinkAlias { address, alias } => {
                write!(f, "~ user {address}: + alias {alias}")
            }
            Change::DisableUser { address } => write!(f, "~ user {address}: disabled"),
            Change::EnableUser { address } => write!(f, "~ user {address}: enabled"),
            Change::SetAttribute {
                address,
                name,
                values,
            } => write!(f, "~ user {address}: {name} = {values:?}"),
            Change::ClearAttribute { address, name } => {
                write!(f, "~ user {address}: {name} cleared")
            }
            Change::ConvertContact { address, .. } => {
                write!(f, "~ contact {address}: manual -> directory generated")
            }
            Change::AddContact { contact } => {
                write!(f, "+ contact {} ({})", contact.address, contact.name)
            }
            Change::RenameContact { address, from, to } => {
                write!(f, "~ contact {address}: renamed from {from:?} to {to:?}")
            }
            Change::AddGroup { group } => {
                write!(f, "+ group {}", group.name)?;
                if let Some(address) = &group.address {
                    write!(f, " <{address}>")?;
                }
                write!(f, ": {}", list(&group.members))
            }
            Change::RenameGroup { from, to, .. } => {
                write!(f, "~ group {to}: renamed from {from:?}")
            }
            Change::SetGroupAddress { name, from, to, .. } => {
                let show = |address: &Option<Address>| {
                    address
                        .as_ref()
                        .map_or_else(|| "none".to_owned(), ToString::to_string)
                };
                write!(f, "~ group {name}: address {} -> {}", show(from), show(to))
            }
            Change::AddGroupMember { name, member, .. } => {
                write!(f, "~ group {name}: + member {member}")
            }
            Change::RemoveGroupMember { name, member, .. } => {
                write!(f, "~ group {name}: - member {member}")
            }
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Contact => "contact",
        })
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.dn)
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Directory { object } => write!(f, "directory {object}"),
            Party::CloudUser { address, origin } => write!(f, "cloud user {address} ({origin})"),
            Party::CloudGroup { name, .. } => write!(f, "cloud group {name}"),
            Party::CloudContact { address } => write!(f, "cloud contact {address}"),
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "! conflict {}: {}", self.address, list(&self.parties))
    }
}

impl fmt::Display for AddressRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressRole::Primary => "primary address",
            AddressRole::Alias => "alias",
            AddressRole::GroupAddress => "group address",
        })
    }
}

impl fmt::Display for OutOfDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "? out of domain {}: {} of {}",
            self.address, self.role, self.object
        )
    }
}
