//! A small directory model: what an AD administrator sees and edits, before LDAP.
//!
//! Objects know each other by a numeric id that becomes their `objectGUID`, so a rename
//! or a move keeps the identity while every DN that mentions the object changes, as in
//! AD. Mutations are what an administrator does; they keep the model as consistent as
//! AD keeps a real directory (a deleted object disappears from every `member`, a group
//! that is someone's primary group is not deleted before the user's primary group is
//! moved back).

use std::collections::BTreeSet;

use proptest::sample::Index;

use crate::address::Address;
use crate::guid::Guid;

/// The naming context every model object lives under.
pub const ROOT_DN: &str = "DC=corp,DC=test";

/// The containers objects live in, relative to [`ROOT_DN`]. `OU=Sales` sits inside
/// `OU=Staff`, so a dynamic list based on Staff sees Sales too; `OU=R\+D` has an escaped
/// character in its RDN.
pub const OUS: [&str; 4] = ["OU=Staff", "OU=Sales,OU=Staff", "OU=R\\+D", "OU=Contacts"];

/// The `primaryGroupID` of users whose primary group is not in the model (Domain Users,
/// which has no mail-enabled member and is not extracted as one).
pub const DOMAIN_USERS_RID: u32 = 513;

/// The attribute dynamic lists filter on and syncs carry along.
pub const DEPARTMENT: &str = "department";

/// The `objectGUID` of model object `id`: the id in the first four bytes, a fixed tail
/// so the GUIDs look like AD's rather than like small integers.
pub fn guid_of(id: u32) -> Guid {
    let mut bytes = [
        0, 0, 0, 0, 0x3d, 0x2c, 0x5f, 0x4e, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b,
    ];
    bytes[..4].copy_from_slice(&id.to_le_bytes());
    Guid(bytes)
}

/// How a user's or contact's addresses are written in `mail` and `proxyAddresses`.
///
/// All three give the same primary and aliases through
/// [`crate::transform::addresses`]; generating every spelling checks that they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressStyle {
    /// `mail` is the primary, `SMTP:` the primary, `smtp:` the aliases (Exchange).
    Exchange,
    /// No `mail`; only `proxyAddresses`.
    ProxiesOnly,
    /// `mail` is the primary and `proxyAddresses` holds only `smtp:` aliases and
    /// non-SMTP values (a directory without Exchange, addresses added by a script).
    MailOnly,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Becomes the `objectGUID`.
    pub id: u32,
    /// The `cn`; may hold characters DNs escape. Unique within its OU because it ends
    /// with the id (AD refuses two equal RDNs in one container).
    pub cn: String,
    /// Index into [`OUS`].
    pub ou: usize,
    /// `None`: not mail-enabled (still a group member in AD, not in the cloud).
    pub primary: Option<Address>,
    /// The other addresses; never the primary.
    pub aliases: BTreeSet<Address>,
    /// How the addresses are spelt in the entry.
    pub style: AddressStyle,
    /// The ACCOUNTDISABLE bit of `userAccountControl`.
    pub disabled: bool,
    /// The `department` value, if any.
    pub department: Option<String>,
    /// The id of the group whose RID is this user's `primaryGroupID`; `None` for
    /// Domain Users.
    pub primary_group: Option<u32>,
}

/// Who a group lists in `member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// A user, mail-enabled or not.
    User(u32),
    /// A (regular) group: expanded, never listed in the cloud.
    Group(u32),
    /// A contact.
    Contact(u32),
    /// A foreign security principal from a trusted forest: a `member` DN that is not
    /// extracted, so the transform cannot resolve it.
    Foreign(u32),
}

/// What kind of group, with what decides its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKind {
    /// A `group`: `member` values and users whose primary group it is.
    Group {
        /// The `member` values, in the order the administrator added them.
        members: Vec<Member>,
    },
    /// An `msExchDynamicDistributionList` whose filter is `(department=<value>)`.
    DynamicList {
        /// The department the filter asks for.
        department: String,
        /// The base DN's OU (index into [`OUS`]); `None` is the whole domain.
        base: Option<usize>,
    },
}

/// A group or dynamic distribution list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Becomes the `objectGUID`; also gives the `primaryGroupToken`.
    pub id: u32,
    /// The `cn`, unique within its OU like a user's.
    pub cn: String,
    /// Index into [`OUS`].
    pub ou: usize,
    /// The group's own address (a mail-enabled distribution group), if any.
    pub address: Option<Address>,
    /// Group or dynamic list.
    pub kind: GroupKind,
}

/// A mail-enabled contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Becomes the `objectGUID`.
    pub id: u32,
    /// The `cn`, also the name the cloud shows.
    pub cn: String,
    /// Index into [`OUS`].
    pub ou: usize,
    /// The primary address.
    pub primary: Address,
    /// Other addresses, kept in `proxyAddresses`.
    pub aliases: BTreeSet<Address>,
    /// How the addresses are spelt in the entry.
    pub style: AddressStyle,
}

/// A whole directory: what one extraction would read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Users, in creation order.
    pub users: Vec<User>,
    /// Groups and dynamic lists, in creation order.
    pub groups: Vec<Group>,
    /// Contacts, in creation order.
    pub contacts: Vec<Contact>,
    /// The next id to hand out; ids are never reused, like GUIDs.
    pub next_id: u32,
}

/// The RID AD would give group `id`, which is also its `primaryGroupToken`.
pub fn rid_of(id: u32) -> u32 {
    1100 + id
}

/// Escapes an RDN value as RFC 4514 §2.4 asks: `,+"\<>;` anywhere, `#` or a space at
/// the start, a space at the end.
pub fn escape_rdn(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 4);
    let last = value.chars().count().saturating_sub(1);
    for (position, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (position == 0 && matches!(c, '#' | ' '))
            || (position == last && c == ' ');
        if special {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The DN of an object called `cn` in OU `ou`.
pub fn dn_of(cn: &str, ou: usize) -> String {
    format!("CN={},{},{ROOT_DN}", escape_rdn(cn), ou_dn_part(ou))
}

/// The DN of OU `ou`.
pub fn ou_dn(ou: usize) -> String {
    format!("{},{ROOT_DN}", ou_dn_part(ou))
}

fn ou_dn_part(ou: usize) -> &'static str {
    OUS.get(ou).copied().unwrap_or(OUS[0])
}

/// Whether `dn` lies under `base` (or is it), comparing case-insensitively on RDN
/// boundaries, so `OU=Staff` does not contain `OU=Staffing`.
pub fn is_under(dn: &str, base: &str) -> bool {
    let dn = dn.to_lowercase();
    let base = base.to_lowercase();
    dn == base || dn.ends_with(&format!(",{base}"))
}

impl User {
    /// The entry's DN.
    pub fn dn(&self) -> String {
        dn_of(&self.cn, self.ou)
    }
}

impl Group {
    /// The entry's DN.
    pub fn dn(&self) -> String {
        dn_of(&self.cn, self.ou)
    }

    /// Whether it is a regular group (can be nested, can be a primary group).
    pub fn is_group(&self) -> bool {
        matches!(self.kind, GroupKind::Group { .. })
    }
}

impl Contact {
    /// The entry's DN.
    pub fn dn(&self) -> String {
        dn_of(&self.cn, self.ou)
    }
}

/// Replaces the trailing ` <id>` of a cn with a new name, keeping the id so the RDN
/// stays unique.
pub fn named(name: &str, id: u32) -> String {
    format!("{name} {id}")
}

fn pick<T>(items: &[T], index: &Index) -> Option<usize> {
    (!items.is_empty()).then(|| index.index(items.len()))
}

impl Directory {
    /// Hands out a fresh id.
    pub fn fresh_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The user with this id.
    pub fn user(&self, id: u32) -> Option<&User> {
        self.users.iter().find(|user| user.id == id)
    }

    /// The group with this id.
    pub fn group(&self, id: u32) -> Option<&Group> {
        self.groups.iter().find(|group| group.id == id)
    }

    /// The contact with this id.
    pub fn contact(&self, id: u32) -> Option<&Contact> {
        self.contacts.iter().find(|contact| contact.id == id)
    }

    /// The ids of regular groups (not dynamic lists).
    pub fn regular_groups(&self) -> Vec<u32> {
        self.groups
            .iter()
            .filter(|group| group.is_group())
            .map(|group| group.id)
            .collect()
    }

    /// Picks a user by index, if there is any.
    pub fn pick_user(&mut self, index: &Index) -> Option<&mut User> {
        pick(&self.users, index).and_then(|position| self.users.get_mut(position))
    }

    /// Picks a group or list by index.
    pub fn pick_group(&mut self, index: &Index) -> Option<&mut Group> {
        pick(&self.groups, index).and_then(|position| self.groups.get_mut(position))
    }

    /// Picks a contact by index.
    pub fn pick_contact(&mut self, index: &Index) -> Option<&mut Contact> {
        pick(&self.contacts, index).and_then(|position| self.contacts.get_mut(position))
    }

    /// Removes an object's id from every `member` list and every primary group, as AD
    /// does when the object is deleted.
    pub fn forget(&mut self, id: u32) {
        for group in &mut self.groups {
            if let GroupKind::Group { members } = &mut group.kind {
                members.retain(|member| {
                    !matches!(member, Member::User(m) | Member::Group(m) | Member::Contact(m) if *m == id)
                });
            }
        }
        for user in &mut self.users {
            if user.primary_group == Some(id) {
                user.primary_group = None;
            }
        }
    }
}
