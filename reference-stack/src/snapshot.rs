//! The directory as the transform stage leaves it and the apply stage reads it.
//!
//! Everything is keyed by `objectGUID` (SPEC: renames and moves are updates, not a new
//! object) and held in `BTreeMap`s so that iterating, planning and reporting happen in
//! the same order on every run. Only what a sync needs is kept: addresses, the disabled
//! flag, the configured additional attributes and resolved group membership.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use crate::account::GroupKind;
use crate::address::Address;
use crate::guid::Guid;
use engine_contract::keyed::{self, Keyed};

/// A complete extraction, transformed. An extraction that did not finish never becomes
/// a snapshot: SPEC says such a sync applies nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DirectorySnapshot {
    /// Mail-enabled users (a `mail` or a `proxyAddresses` value giving a primary).
    #[serde(default, with = "keyed")]
    pub users: BTreeMap<Guid, DirUser>,
    /// Groups and dynamic distribution lists, with membership already expanded.
    #[serde(default, with = "keyed")]
    pub groups: BTreeMap<Guid, DirGroup>,
    /// Mail-enabled contacts.
    #[serde(default, with = "keyed")]
    pub contacts: BTreeMap<Guid, DirContact>,
}

/// A mail-enabled directory user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DirUser {
    /// `objectGUID`: the identity the cloud user is linked to.
    pub guid: Guid,
    /// Where the entry sat at extraction time; shown in reports, never used as identity.
    pub dn: String,
    /// The `SMTP:` proxy address, else `mail` (see [`crate::transform::addresses`]).
    pub primary: Address,
    /// The `smtp:` proxy addresses other than the primary.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub aliases: BTreeSet<Address>,
    /// `userAccountControl` has the ACCOUNTDISABLE bit (`0x2`).
    #[serde(default)]
    pub disabled: bool,
    /// The configured additional attributes this entry has values for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// A group or dynamic distribution list, membership resolved.
///
/// Both kinds become the same thing in the cloud (a group of addresses), so one type
/// with a [`GroupKind`] keeps the apply stage from handling them twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DirGroup {
    /// `objectGUID`.
    pub guid: Guid,
    /// Where the entry sat at extraction time.
    pub dn: String,
    /// The name the cloud shows (`cn` or `displayName`, as the transform chooses).
    pub name: String,
    /// Group or dynamic list.
    #[serde(default)]
    pub kind: GroupKind,
    /// The group's own address, if it is mail-enabled; security groups have none and are
    /// still synced when they contain mail-enabled members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Transitive mail-enabled members: users and contacts only, nested groups expanded
    /// (see [`crate::transform::group_closure`]). Empty means "not a cloud group".
    #[serde(default)]
    pub members: BTreeSet<Guid>,
}

/// A mail-enabled contact (an address outside the organisation, usually).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DirContact {
    /// `objectGUID`.
    pub guid: Guid,
    /// Where the entry sat at extraction time.
    pub dn: String,
    /// The name the cloud shows.
    pub name: String,
    /// The primary address, by the same rule as users.
    pub primary: Address,
    /// The other `smtp:` addresses; kept for reports, not synced (cloud contacts hold
    /// one address).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub aliases: BTreeSet<Address>,
}

impl Keyed for DirUser {
    type Key = Guid;
    fn key(&self) -> Guid {
        self.guid
    }
}

impl Keyed for DirGroup {
    type Key = Guid;
    fn key(&self) -> Guid {
        self.guid
    }
}

impl Keyed for DirContact {
    type Key = Guid;
    fn key(&self) -> Guid {
        self.guid
    }
}

impl DirectorySnapshot {
    /// Whether any kind of object has this GUID.
    pub fn contains(&self, guid: &Guid) -> bool {
        self.users.contains_key(guid)
            || self.groups.contains_key(guid)
            || self.contacts.contains_key(guid)
    }

    /// The primary address of the user or contact with this GUID.
    pub fn member_address(&self, guid: &Guid) -> Option<&Address> {
        self.users
            .get(guid)
            .map(|user| &user.primary)
            .or_else(|| self.contacts.get(guid).map(|contact| &contact.primary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_lists_become_guid_keyed_maps() {
        let yaml = r#"
users:
  - guid: 00000000-0000-0000-0000-000000000002
    dn: CN=Bob,DC=corp,DC=test
    primary: Bob@corp.test
  - guid: 00000000-0000-0000-0000-000000000001
    dn: CN=Alice,DC=corp,DC=test
    primary: alice@corp.test
    aliases: [a@corp.test]
    disabled: true
    attributes: { department: [Sales] }
groups:
  - guid: 00000000-0000-0000-0000-0000000000aa
    dn: CN=Sales,DC=corp,DC=test
    name: Sales
    kind: dynamic-list
    members: [00000000-0000-0000-0000-000000000001]
"#;
        let snapshot: DirectorySnapshot = serde_yaml::from_str(yaml).expect("snapshot");
        let order: Vec<String> = snapshot.users.keys().map(ToString::to_string).collect();
        assert_eq!(
            order,
            [
                "00000000-0000-0000-0000-000000000001",
                "00000000-0000-0000-0000-000000000002"
            ]
        );
        let group = snapshot.groups.values().next().expect("group");
        assert_eq!(group.kind, GroupKind::DynamicList);
        let member = group.members.iter().next().expect("member");
        assert_eq!(
            snapshot.member_address(member).map(Address::normalized),
            Some("alice@corp.test")
        );
        let again: DirectorySnapshot =
            serde_yaml::from_str(&serde_yaml::to_string(&snapshot).expect("yaml"))
                .expect("round trip");
        assert_eq!(again, snapshot);
    }

    #[test]
    fn a_guid_listed_twice_is_refused() {
        let yaml = r#"
contacts:
  - { guid: 00000000-0000-0000-0000-000000000001, dn: CN=a, name: a, primary: a@x.test }
  - { guid: 00000000-0000-0000-0000-000000000001, dn: CN=b, name: b, primary: b@x.test }
"#;
        let error = serde_yaml::from_str::<DirectorySnapshot>(yaml).expect_err("duplicate");
        assert!(error.to_string().contains("listed twice"), "{error}");
    }
}
