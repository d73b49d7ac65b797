//! The cloud account a sync brings up to date.
//!
//! Users and contacts are keyed by primary address, as the cloud service keys them
//! (mail is routed by address); groups come only from the directory and are keyed by
//! `objectGUID`. A user remembers where it came from ([`Origin`]) because the rules
//! differ: a sync may change or unlink what it generated, never delete what an
//! administrator created by hand.
//!
//! Scenarios write an account's starting state in YAML, lists instead of maps:
//!
//! ```yaml
//! users:
//!   - address: alice@corp.example.test            # origin defaults to manual
//!   - address: bob@corp.example.test
//!     origin: { directory-generated: 2f0c…-… }
//!     aliases: [robert@corp.example.test]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::address::Address;
use crate::guid::Guid;
use crate::keyed::{self, Keyed};

/// The cloud account: what mail filtering and policies see.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Account {
    /// Internal users, by primary address.
    #[serde(default, with = "keyed")]
    #[schemars(with = "Vec<CloudUser>")]
    pub users: BTreeMap<Address, CloudUser>,
    /// Groups, all from the directory, by the directory group's GUID.
    #[serde(default, with = "keyed")]
    #[schemars(with = "Vec<CloudGroup>")]
    pub groups: BTreeMap<Guid, CloudGroup>,
    /// Contacts, by address.
    #[serde(default, with = "keyed")]
    #[schemars(with = "Vec<CloudContact>")]
    pub contacts: BTreeMap<Address, CloudContact>,
}

/// Who owns a cloud user or contact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// Created by an administrator, or once directory generated and since unlinked. A
    /// sync may convert it to directory generated, never delete it.
    #[default]
    Manual,
    /// Created or adopted by a sync and linked to a directory object; the sync keeps it
    /// up to date and unlinks or removes it when the object leaves the directory.
    DirectoryGenerated {
        /// The directory object it mirrors.
        guid: Guid,
    },
}

impl Origin {
    /// The linked directory object, if any.
    pub fn guid(&self) -> Option<Guid> {
        match self {
            Origin::Manual => None,
            Origin::DirectoryGenerated { guid } => Some(*guid),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Manual => f.write_str("manual"),
            Origin::DirectoryGenerated { guid } => write!(f, "directory generated {guid}"),
        }
    }
}

/// An internal user of the account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CloudUser {
    /// Primary address, also the key in [`Account::users`].
    pub address: Address,
    /// Manual or linked to a directory object.
    #[serde(default)]
    pub origin: Origin,
    /// Mail to and from a disabled user is refused.
    #[serde(default)]
    pub disabled: bool,
    /// Alias addresses linked to this user; mail to them reaches it.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub aliases: BTreeSet<Address>,
    /// Additional attributes copied from the directory (or set by hand), values sorted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl CloudUser {
    /// A manual, enabled user with nothing else set.
    pub fn manual(address: Address) -> Self {
        Self {
            address,
            origin: Origin::Manual,
            disabled: false,
            aliases: BTreeSet::new(),
            attributes: BTreeMap::new(),
        }
    }
}

/// What kind of directory object a group came from.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum GroupKind {
    /// A `group` object: members from `member` (nested groups expanded) and
    /// `primaryGroupID`.
    #[default]
    Group,
    /// An `msExchDynamicDistributionList`: members from its stored filter evaluated under
    /// its base DN at extraction time.
    DynamicList,
}

/// A group: a named set of member addresses, used by policies and for delivery.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CloudGroup {
    /// The directory group it mirrors; also the key in [`Account::groups`].
    pub guid: Guid,
    /// The name shown to administrators.
    pub name: String,
    /// Group or dynamic distribution list, as in the directory.
    #[serde(default)]
    pub kind: GroupKind,
    /// The group's own address, when it has one in a registered domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Primary addresses of its users and contacts.
    #[serde(default)]
    pub members: BTreeSet<Address>,
}

/// An external address the account knows by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CloudContact {
    /// The contact's address, also the key in [`Account::contacts`].
    pub address: Address,
    /// Manual or linked to a directory contact.
    #[serde(default)]
    pub origin: Origin,
    /// The name shown to administrators.
    #[serde(default)]
    pub name: String,
}

impl Keyed for CloudUser {
    type Key = Address;
    fn key(&self) -> Address {
        self.address.clone()
    }
}

impl Keyed for CloudGroup {
    type Key = Guid;
    fn key(&self) -> Guid {
        self.guid
    }
}

impl Keyed for CloudContact {
    type Key = Address;
    fn key(&self) -> Address {
        self.address.clone()
    }
}

const DIRECTORY_GENERATED: &str = "directory-generated";

/// `manual`, or `{ directory-generated: <guid> }`: readable in YAML without tags.
impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Origin::Manual => serializer.serialize_str("manual"),
            Origin::DirectoryGenerated { guid } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(DIRECTORY_GENERATED, guid)?;
                map.end()
            }
        }
    }
}

/// Mirrors the hand-written serde above: the string `manual` or a one-entry map.
impl JsonSchema for Origin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Origin".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let guid = generator.subschema_for::<Guid>();
        json_schema!({
            "description": "Who owns a cloud user or contact: `manual`, or `{ \"directory-generated\": <objectGUID> }` for one linked to a directory object.",
            "oneOf": [
                { "const": "manual" },
                {
                    "type": "object",
                    "properties": { (DIRECTORY_GENERATED): guid },
                    "required": [DIRECTORY_GENERATED],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OriginVisitor)
    }
}

struct OriginVisitor;

impl<'de> Visitor<'de> for OriginVisitor {
    type Value = Origin;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`manual` or `{ directory-generated: <objectGUID> }`")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Origin, E> {
        match value {
            "manual" => Ok(Origin::Manual),
            DIRECTORY_GENERATED => Err(E::custom(
                "a directory-generated origin needs the object's GUID: \
                 write { directory-generated: <objectGUID> }",
            )),
            other => Err(E::custom(format!(
                "unknown origin '{other}'; write manual or {{ directory-generated: <objectGUID> }}"
            ))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Origin, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "empty origin; write manual or { directory-generated: <objectGUID> }",
            ));
        };
        if key != DIRECTORY_GENERATED {
            return Err(de::Error::unknown_field(&key, &[DIRECTORY_GENERATED]));
        }
        let guid = map.next_value::<Guid>()?;
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom(
                "an origin has one entry: { directory-generated: <objectGUID> }",
            ));
        }
        Ok(Origin::DirectoryGenerated { guid })
    }
}

impl Account {
    /// The user linked to this directory object, if any.
    pub fn user_linked_to(&self, guid: &Guid) -> Option<&CloudUser> {
        self.users
            .values()
            .find(|user| user.origin.guid().as_ref() == Some(guid))
    }

    /// Every address the account answers to: user primaries and aliases, group and
    /// contact addresses. An address appearing under two owners is a conflict.
    pub fn claimed_addresses(&self) -> BTreeMap<Address, usize> {
        let mut claims = BTreeMap::new();
        let mut claim = |address: &Address| *claims.entry(address.clone()).or_insert(0) += 1;
        for user in self.users.values() {
            claim(&user.address);
            user.aliases.iter().for_each(&mut claim);
        }
        self.groups
            .values()
            .filter_map(|group| group.address.as_ref())
            .for_each(&mut claim);
        self.contacts
            .values()
            .for_each(|contact| claim(&contact.address));
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
users:
  - address: alice@corp.example.test
  - address: Bob@corp.example.test
    origin: { directory-generated: 00000000-0000-0000-0000-000000000002 }
    disabled: true
    aliases: [robert@corp.example.test]
    attributes: { department: [Sales] }
groups:
  - guid: 00000000-0000-0000-0000-0000000000aa
    name: Sales
    address: sales@corp.example.test
    members: [bob@corp.example.test]
contacts:
  - address: partner@other.example
    origin: manual
    name: Partner
"#;

    #[test]
    fn scenarios_write_the_starting_state_in_yaml() {
        let account: Account = serde_yaml::from_str(YAML).expect("account");
        let alice = Address::parse("ALICE@corp.example.test").expect("address");
        assert_eq!(account.users[&alice].origin, Origin::Manual);
        let bob = account
            .user_linked_to(
                &"00000000-0000-0000-0000-000000000002"
                    .parse()
                    .expect("guid"),
            )
            .expect("bob is linked");
        assert_eq!(bob.address.original(), "Bob@corp.example.test");
        assert!(bob.disabled);
        assert_eq!(account.groups.len(), 1);
        assert_eq!(account.contacts.len(), 1);

        let yaml = serde_yaml::to_string(&account).expect("yaml");
        assert!(
            yaml.contains("origin:\n    directory-generated: 00000000-0000-0000-0000-000000000002"),
            "{yaml}"
        );
        let again: Account = serde_yaml::from_str(&yaml).expect("round trip");
        assert_eq!(again, account);
    }

    #[test]
    fn origin_mistakes_get_a_hint() {
        for (yaml, hint) in [
            (
                "users: [{ address: a@x.test, origin: directory-generated }]",
                "needs the object's GUID",
            ),
            (
                "users: [{ address: a@x.test, origin: imported }]",
                "unknown origin 'imported'",
            ),
            (
                "users: [{ address: a@x.test, origin: { directory: 00000000-0000-0000-0000-000000000001 } }]",
                "directory-generated",
            ),
            (
                "users: [{ address: a@x.test }, { address: A@X.test }]",
                "listed twice",
            ),
        ] {
            let error = serde_yaml::from_str::<Account>(yaml).expect_err(yaml);
            assert!(error.to_string().contains(hint), "{yaml}: {error}");
        }
    }

    #[test]
    fn claimed_addresses_count_every_owner() {
        let mut account: Account = serde_yaml::from_str(YAML).expect("account");
        let robert = Address::parse("robert@corp.example.test").expect("address");
        account
            .users
            .insert(robert.clone(), CloudUser::manual(robert.clone()));
        let claims = account.claimed_addresses();
        assert_eq!(claims[&robert], 2);
        assert_eq!(claims.values().filter(|&&n| n > 1).count(), 1);
    }
}
