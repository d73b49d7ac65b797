//! A directory's shape: the statistics a sync bug depends on, with no name in them.
//!
//! [`Shape::of`] measures a loaded directory (from a fixture, an LDIF import or a
//! capture): objects by class and account state, the OU tree's depth, group sizes (and
//! every group past AD's 1,500-value range), nesting depth and cycles, aliases per user,
//! addresses claimed twice, the classes of special characters in names, members from
//! other domains and foreign security principals, dynamic lists, and DN lengths below the
//! naming context (the customer's part of a DN: the domain part becomes `.test` when
//! anonymized). It serializes to a few kilobytes of JSON that `generate --like` turns
//! back into a directory, and renders as text for a person (`text.rs`).
//!
//! Only the domains' own naming contexts are measured, and tombstones are not; the
//! objects every domain gets (Administrator, Domain Users, `CN=Users`, …) are counted
//! like the rest, so a shape of a fixture and of its capture agree.

mod graph;
mod like;
mod like_groups;
mod measure;
mod text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use like::like;
pub use measure::{account_state, AccountStateName};

/// The format tag of a shape document.
pub const SHAPE_FORMAT: &str = "fake-dc-shape/1";

/// Upper bounds of the group-size histogram's buckets (the last is open): AD hands out
/// `member` 1,500 values at a time, so 1,500 is a bound.
pub const GROUP_SIZE_BOUNDS: &[u64] = &[0, 1, 9, 99, 999, 1500, 4999, 49_999];

/// A directory's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Shape {
    pub format: String,
    /// Per domain, forest root first.
    pub domains: Vec<DomainShape>,
    /// Live objects by class (`user`, `group`, `organizationalUnit`, …), all domains.
    pub objects: BTreeMap<String, u64>,
    /// Users by account state (`enabled`, `disabled`, `locked-out`, …); computers apart.
    pub account_states: BTreeMap<String, u64>,
    /// OUs by depth (1: directly under the domain head).
    pub ou_depth: BTreeMap<u32, u64>,
    pub groups: GroupShape,
    /// Users by number of secondary SMTP addresses (`smtp:` proxies).
    pub aliases_per_user: BTreeMap<u32, u64>,
    pub addresses: AddressShape,
    /// Objects (of any class) whose name holds each class of special character.
    pub special_characters: BTreeMap<String, u64>,
    pub dn_length: DnLength,
    pub cross_domain: CrossDomain,
    pub dynamic_lists: DynamicLists,
}

/// One domain's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DomainShape {
    /// 0 for the forest root, 1 for its children, …
    pub level: u32,
    pub users: u64,
    pub groups: u64,
    pub contacts: u64,
    pub ous: u64,
}

/// Groups: sizes (direct members) and nesting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupShape {
    /// By size bucket: the key is the bucket's upper bound as text (`"0"`, `"1"`,
    /// `"2-9"`, …, `"50000+"`).
    pub sizes: BTreeMap<String, u64>,
    /// The exact sizes of the groups past 1,500 members, largest first.
    pub past_range: Vec<u64>,
    /// Groups by kind: `security` / `distribution` × `global` / `domain-local` / `universal`.
    pub kinds: BTreeMap<String, u64>,
    /// Mail-enabled groups.
    pub mail_enabled: u64,
    /// Groups holding at least one group.
    pub nesting_groups: u64,
    /// The longest chain of groups, each a member of the next, without repeating one.
    pub max_nesting_depth: u32,
    /// Sets of groups that contain one another (strongly connected, more than one group).
    pub cycles: u64,
    /// Groups in those sets.
    pub groups_in_cycles: u64,
    /// Users whose primary group is not Domain Users.
    pub other_primary_groups: u64,
}

/// Addresses: mail and proxy addresses of every object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AddressShape {
    pub users_with_mail: u64,
    pub users_without_mail: u64,
    /// SMTP addresses (mail or proxy, case-insensitive) claimed by more than one object.
    pub duplicates: u64,
    /// Objects claiming such an address.
    pub objects_with_duplicates: u64,
    /// Proxy addresses by prefix (`SMTP`, `smtp`, `X500`, …), exactly as written.
    pub proxy_prefixes: BTreeMap<String, u64>,
}

/// DN lengths below the naming context, in characters, as AD prints DNs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DnLength {
    pub max: u64,
    pub p50: u64,
    pub p95: u64,
}

/// Members from other domains of the forest, and from outside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CrossDomain {
    /// Memberships whose member lives in another domain than the group.
    pub members: u64,
    /// Groups with such a member.
    pub groups: u64,
    pub foreign_security_principals: u64,
    /// Memberships of foreign security principals.
    pub foreign_memberships: u64,
}

/// Exchange dynamic distribution lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DynamicLists {
    pub count: u64,
    /// Lists whose base is below the domain head.
    pub scoped: u64,
}

impl Shape {
    /// Measures a loaded directory.
    pub fn of(dir: &crate::directory::Directory) -> Shape {
        measure::measure(dir)
    }

    /// The shape as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a shape document; `file` names it in errors with line and column.
    pub fn from_json(text: &str, file: &str) -> Result<Shape, ShapeError> {
        let shape: Shape = serde_json::from_str(text).map_err(|e| ShapeError::Invalid {
            at: format!("{file}:{}:{}", e.line(), e.column()),
            message: e.to_string(),
        })?;
        if shape.format != SHAPE_FORMAT {
            return Err(ShapeError::Format {
                file: file.into(),
                found: shape.format,
            });
        }
        Ok(shape)
    }

    /// The shape as text, for a person.
    pub fn to_text(&self) -> String {
        text::render(self)
    }

    /// Users, all domains.
    pub fn users(&self) -> u64 {
        self.domains.iter().map(|d| d.users).sum()
    }
}

/// Why a shape document cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    #[error("{at}: not a shape document: {message}")]
    Invalid { at: String, message: String },
    #[error("{file}: format '{found}' is not {SHAPE_FORMAT}")]
    Format { file: String, found: String },
    #[error("the generated fixture is not a fixture: {0}")]
    Build(String),
}

/// The histogram key of a group of `size` members.
pub fn size_bucket(size: u64) -> String {
    let mut low = 0;
    for &bound in GROUP_SIZE_BOUNDS {
        if size <= bound {
            return if low == bound {
                bound.to_string()
            } else {
                format!("{low}-{bound}")
            };
        }
        low = bound + 1;
    }
    format!("{low}+")
}
