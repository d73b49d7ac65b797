//! Directory changes in the vocabulary of scenario steps (`add-user`, `modify`, `move`,
//! …), applied through the directory's own mutation API so each one takes a USN and keeps
//! the indexes and links, exactly as an LDAP write would.
//!
//! A batch is all or nothing: it is applied to a copy of the directory (cheap: entries and
//! indexes are shared until written) and the copy replaces the directory only when every
//! change succeeded.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::directory::{Directory, EntryId, Guid, ModOp, Modification, NewEntry};
use crate::dn::{Dn, Rdn};
use crate::schema::{uac, ObjectKind};

/// One change to the directory. Written as a one-key object, the key naming the change:
/// `{"delete": "CN=Alice,CN=Users,DC=corp,DC=example,DC=test"}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Change {
    /// Create a user (enabled unless `disabled`; password `Passw0rd!` unless given).
    AddUser(NewUser),
    /// Create a group (global security unless `group-type` says otherwise).
    AddGroup(NewGroup),
    /// Create a contact.
    AddContact(NewContact),
    /// Replace, add or delete attribute values of one entry.
    Modify(Modify),
    /// Delete an entry (it becomes a tombstone under Deleted Objects, as in AD).
    Delete(String),
    /// Move an entry under another parent (keeps its objectGUID).
    Move {
        /// The entry.
        dn: String,
        /// The new parent.
        to: String,
    },
    /// Rename an entry (new CN; keeps its objectGUID).
    Rename {
        /// The entry.
        dn: String,
        /// The new CN.
        cn: String,
    },
    /// Add a member to a group.
    AddMember {
        /// The group's DN.
        group: String,
        /// The member's DN.
        member: String,
    },
    /// Remove a member from a group.
    RemoveMember {
        /// The group's DN.
        group: String,
        /// The member's DN.
        member: String,
    },
    /// Disable an account (userAccountControl bit 0x2).
    Disable(String),
    /// Enable an account.
    Enable(String),
    /// Lock an account out (lockoutTime = now).
    Lock(String),
    /// Unlock an account (lockoutTime = 0).
    Unlock(String),
}

/// A new user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NewUser {
    /// The parent container's DN.
    pub parent: String,
    /// The CN.
    pub cn: String,
    /// `sAMAccountName`; default: the CN's letters and digits, lower case, at most 20.
    #[serde(default)]
    pub sam_account_name: Option<String>,
    /// `mail`.
    #[serde(default)]
    pub mail: Option<String>,
    /// `proxyAddresses`.
    #[serde(default)]
    pub proxy_addresses: Vec<String>,
    /// Created disabled.
    #[serde(default)]
    pub disabled: bool,
    /// `objectGUID` to pin (string form), to re-create "the same" user.
    #[serde(default)]
    pub object_guid: Option<String>,
    /// The password binds use; default `Passw0rd!`.
    #[serde(default)]
    pub password: Option<String>,
    /// Other attributes, each with its values.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// A new group.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NewGroup {
    /// The parent container's DN.
    pub parent: String,
    /// The CN.
    pub cn: String,
    /// `sAMAccountName`; default: the CN.
    #[serde(default)]
    pub sam_account_name: Option<String>,
    /// `groupType`; default -2147483646 (global security group).
    #[serde(default)]
    pub group_type: Option<i32>,
    /// `mail`.
    #[serde(default)]
    pub mail: Option<String>,
    /// Members' DNs.
    #[serde(default)]
    pub members: Vec<String>,
    /// `objectGUID` to pin (string form).
    #[serde(default)]
    pub object_guid: Option<String>,
    /// Other attributes, each with its values.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// A new contact.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NewContact {
    /// The parent container's DN.
    pub parent: String,
    /// The CN.
    pub cn: String,
    /// `mail`.
    #[serde(default)]
    pub mail: Option<String>,
    /// `objectGUID` to pin (string form).
    #[serde(default)]
    pub object_guid: Option<String>,
    /// Other attributes, each with its values.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Attribute changes on one entry.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Modify {
    /// The entry.
    pub dn: String,
    /// Attributes to replace (an empty list removes the attribute).
    #[serde(default)]
    pub replace: BTreeMap<String, Vec<String>>,
    /// Values to add.
    #[serde(default)]
    pub add: BTreeMap<String, Vec<String>>,
    /// Values to delete (an empty list deletes the attribute).
    #[serde(default)]
    pub delete: BTreeMap<String, Vec<String>>,
}

/// Why one change could not be applied, and which field of it is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ChangeError {
    /// The field inside the change, e.g. `add-user.parent`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// True when the request itself is malformed (a DN that does not parse, a GUID that
    /// is not one); false when the directory refused a well-formed change.
    pub malformed: bool,
}

fn malformed(field: &str, message: impl Into<String>) -> ChangeError {
    ChangeError {
        field: field.into(),
        message: message.into(),
        malformed: true,
    }
}

/// Parses and resolves a DN, blaming `field`.
fn resolve(d: &Directory, field: &str, text: &str) -> Result<EntryId, ChangeError> {
    let dn = Dn::parse(text).map_err(|e| malformed(field, format!("'{text}': {e}")))?;
    d.resolve(&dn).map_err(|e| ChangeError {
        field: field.into(),
        message: e.to_string(),
        malformed: false,
    })
}

/// A directory refusal of a well-formed change, blamed on `field`.
fn refused(field: &str) -> impl Fn(crate::directory::DirError) -> ChangeError + '_ {
    move |e| ChangeError {
        field: field.into(),
        message: e.to_string(),
        malformed: false,
    }
}

fn guid(field: &str, text: &Option<String>) -> Result<Option<Guid>, ChangeError> {
    text.as_deref()
        .map(|g| Guid::parse(g).ok_or_else(|| malformed(field, format!("'{g}' is not a GUID"))))
        .transpose()
}

fn with_attributes(mut new: NewEntry, attributes: &BTreeMap<String, Vec<String>>) -> NewEntry {
    for (k, v) in attributes {
        new = new.with(k, &v.iter().map(String::as_str).collect::<Vec<_>>());
    }
    new
}

/// The name of a change, as its JSON key: the prefix of every field it blames.
pub fn name(change: &Change) -> &'static str {
    match change {
        Change::AddUser(_) => "add-user",
        Change::AddGroup(_) => "add-group",
        Change::AddContact(_) => "add-contact",
        Change::Modify(_) => "modify",
        Change::Delete(_) => "delete",
        Change::Move { .. } => "move",
        Change::Rename { .. } => "rename",
        Change::AddMember { .. } => "add-member",
        Change::RemoveMember { .. } => "remove-member",
        Change::Disable(_) => "disable",
        Change::Enable(_) => "enable",
        Change::Lock(_) => "lock",
        Change::Unlock(_) => "unlock",
    }
}

/// Applies every change in order, or none: on the first failure the directory is left
/// as it was and the error names the change (`changes[2].…`).
pub fn apply_all(d: &mut Directory, changes: &[Change]) -> Result<(), (usize, ChangeError)> {
    let blame = |i: usize, change: &Change, e: ChangeError| {
        let field = match e.field.as_str() {
            "" => name(change).to_string(),
            f => format!("{}.{f}", name(change)),
        };
        (i, ChangeError { field, ..e })
    };
    // Every malformed field of the batch is found before anything runs, so a typo in
    // the last change is reported as such, not hidden behind a refusal of an earlier one.
    for (i, change) in changes.iter().enumerate() {
        check(change).map_err(|e| blame(i, change, e))?;
    }
    let mut work = d.clone();
    for (i, change) in changes.iter().enumerate() {
        apply(&mut work, change).map_err(|e| blame(i, change, e))?;
    }
    *d = work;
    Ok(())
}

/// Checks the syntax of a change's DNs and GUIDs, without the directory.
fn check(change: &Change) -> Result<(), ChangeError> {
    let dn = |field: &str, text: &str| {
        Dn::parse(text)
            .map(drop)
            .map_err(|e| malformed(field, format!("'{text}': {e}")))
    };
    match change {
        Change::AddUser(u) => {
            dn("parent", &u.parent)?;
            guid("object-guid", &u.object_guid).map(drop)
        }
        Change::AddGroup(g) => {
            dn("parent", &g.parent)?;
            for (i, m) in g.members.iter().enumerate() {
                dn(&format!("members[{i}]"), m)?;
            }
            guid("object-guid", &g.object_guid).map(drop)
        }
        Change::AddContact(c) => {
            dn("parent", &c.parent)?;
            guid("object-guid", &c.object_guid).map(drop)
        }
        Change::Modify(m) => dn("dn", &m.dn),
        Change::Move { dn: target, to } => dn("dn", target).and_then(|()| dn("to", to)),
        Change::Rename { dn: target, .. } => dn("dn", target),
        Change::AddMember { group, member } | Change::RemoveMember { group, member } => {
            dn("group", group).and_then(|()| dn("member", member))
        }
        Change::Delete(target)
        | Change::Disable(target)
        | Change::Enable(target)
        | Change::Lock(target)
        | Change::Unlock(target) => dn("", target),
    }
}

/// Applies one change; its error's field is relative to the change.
fn apply(d: &mut Directory, change: &Change) -> Result<(), ChangeError> {
    match change {
        Change::AddUser(u) => add_user(d, u),
        Change::AddGroup(g) => add_group(d, g),
        Change::AddContact(c) => {
            let parent = resolve(d, "parent", &c.parent)?;
            let mut new = NewEntry::new(parent, Rdn::new("CN", &c.cn), ObjectKind::Contact);
            if let Some(m) = &c.mail {
                new = new.with("mail", &[m]);
            }
            let mut new = with_attributes(new, &c.attributes);
            new.guid = guid("object-guid", &c.object_guid)?;
            d.create(new).map(|_| ()).map_err(refused(""))
        }
        Change::Modify(m) => {
            let id = resolve(d, "dn", &m.dn)?;
            let mut mods = Vec::new();
            for (op, map) in [
                (ModOp::Replace, &m.replace),
                (ModOp::Add, &m.add),
                (ModOp::Delete, &m.delete),
            ] {
                for (attr, values) in map {
                    mods.push(Modification {
                        op,
                        attr: attr.clone(),
                        values: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
                    });
                }
            }
            d.modify(id, &mods, true).map_err(refused(""))
        }
        Change::Delete(dn) => {
            let id = resolve(d, "", dn)?;
            d.delete(id).map_err(refused(""))
        }
        Change::Move { dn, to } => {
            let id = resolve(d, "dn", dn)?;
            let parent = resolve(d, "to", to)?;
            let rdn = d.entry(id).rdn.clone();
            d.rename(id, rdn, Some(parent)).map_err(refused("to"))
        }
        Change::Rename { dn, cn } => {
            let id = resolve(d, "dn", dn)?;
            let attr = d.entry(id).rdn.attr().to_string();
            d.rename(id, Rdn::new(attr, cn), None)
                .map_err(refused("cn"))
        }
        Change::AddMember { group, member } => {
            let (g, m) = (resolve(d, "group", group)?, resolve(d, "member", member)?);
            d.add_member(g, m).map_err(refused("member"))
        }
        Change::RemoveMember { group, member } => {
            let (g, m) = (resolve(d, "group", group)?, resolve(d, "member", member)?);
            d.remove_member(g, m).map_err(refused("member"))
        }
        Change::Disable(dn) => uac_flag(d, dn, true),
        Change::Enable(dn) => uac_flag(d, dn, false),
        Change::Lock(dn) => {
            let id = resolve(d, "", dn)?;
            let at = crate::directory::filetime_from_unix(d.now());
            d.set(id, "lockoutTime", &[&at.to_string()])
                .map_err(refused(""))
        }
        Change::Unlock(dn) => {
            let id = resolve(d, "", dn)?;
            d.set(id, "lockoutTime", &["0"]).map_err(refused(""))
        }
    }
}

fn add_user(d: &mut Directory, u: &NewUser) -> Result<(), ChangeError> {
    let parent = resolve(d, "parent", &u.parent)?;
    let sam = u.sam_account_name.clone().unwrap_or_else(|| {
        u.cn.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .flat_map(char::to_lowercase)
            .take(20)
            .collect()
    });
    if sam.is_empty() {
        return Err(malformed(
            "sam-account-name",
            "the CN has no letters or digits to make one of: give sam-account-name",
        ));
    }
    let dns = d
        .domain_of(parent)
        .map(|x| x.dns_name.clone())
        .unwrap_or_default();
    let flags = uac::NORMAL_ACCOUNT | if u.disabled { uac::ACCOUNTDISABLE } else { 0 };
    let mut new = NewEntry::new(parent, Rdn::new("CN", &u.cn), ObjectKind::User)
        .with("sAMAccountName", &[&sam])
        .with("userPrincipalName", &[&format!("{sam}@{dns}")])
        .with("userAccountControl", &[&flags.to_string()]);
    if let Some(m) = &u.mail {
        new = new.with("mail", &[m]);
    }
    if !u.proxy_addresses.is_empty() {
        let values: Vec<&str> = u.proxy_addresses.iter().map(String::as_str).collect();
        new = new.with("proxyAddresses", &values);
    }
    let mut new = with_attributes(new, &u.attributes);
    new.guid = guid("object-guid", &u.object_guid)?;
    new.password = Some(u.password.clone().unwrap_or_else(|| "Passw0rd!".into()));
    d.create(new).map(|_| ()).map_err(refused(""))
}

fn add_group(d: &mut Directory, g: &NewGroup) -> Result<(), ChangeError> {
    let parent = resolve(d, "parent", &g.parent)?;
    let members = g
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| resolve(d, &format!("members[{i}]"), m))
        .collect::<Result<Vec<_>, _>>()?;
    let sam = g.sam_account_name.clone().unwrap_or_else(|| g.cn.clone());
    // Global security group: ACCOUNT_GROUP_SCOPE (2) | SECURITY_ENABLED (0x80000000).
    let group_type = g.group_type.unwrap_or(-2_147_483_646);
    let mut new = NewEntry::new(parent, Rdn::new("CN", &g.cn), ObjectKind::Group)
        .with("sAMAccountName", &[&sam])
        .with("groupType", &[&group_type.to_string()]);
    if let Some(m) = &g.mail {
        new = new.with("mail", &[m]);
    }
    let mut new = with_attributes(new, &g.attributes);
    new.guid = guid("object-guid", &g.object_guid)?;
    let id = d.create(new).map_err(refused(""))?;
    for (i, m) in members.into_iter().enumerate() {
        d.add_member(id, m)
            .map_err(refused(&format!("members[{i}]")))?;
    }
    Ok(())
}

fn uac_flag(d: &mut Directory, dn: &str, disable: bool) -> Result<(), ChangeError> {
    let id = resolve(d, "", dn)?;
    let current = d
        .entry(id)
        .get_int("userAccountControl")
        .unwrap_or(i64::from(uac::NORMAL_ACCOUNT)) as u32;
    let new = if disable {
        current | uac::ACCOUNTDISABLE
    } else {
        current & !uac::ACCOUNTDISABLE
    };
    d.set(id, "userAccountControl", &[&new.to_string()])
        .map_err(refused(""))
}
