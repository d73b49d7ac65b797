//! One fuzz case: a generated directory, cloud account, settings and steps, written
//! against the scenario format rather than any engine. Steps name objects by index
//! (taken modulo the lists' lengths), so shrinking the directory keeps every step valid.
//!
//! [`Case::plan`] ([`super::model`]) plays the steps into scenario steps and, for every
//! sync, what the directory holds then: the properties' oracle.

/// The one domain of a generated directory.
pub const DOMAIN: &str = "corp.example.test";
/// Its naming context.
pub const BASE: &str = "DC=corp,DC=example,DC=test";
/// Its DC.
pub const HOST: &str = "dc1.corp.example.test";
/// The OUs users live in (moves go between them).
pub const OUS: [&str; 2] = ["Staff", "Sales"];

/// Names full of characters that need escaping in a DN; a user's CN is one of these and
/// its index, so two users never share a CN.
const NAMES: [&str; 6] = [
    "Alice Archer",
    "O'Brien, Pat",
    "Zoë Ünal",
    "Lee #1 + Co",
    "Sam \"Q\" Smith",
    "Ana; B=C",
];

/// A generated directory user.
#[derive(Debug, Clone)]
pub struct GenUser {
    /// Which of the special names.
    pub name: u8,
    /// Account state in the fixture.
    pub state: UserState,
    /// `smtp:` aliases.
    pub aliases: u8,
    /// Which OU.
    pub ou: u8,
    /// In the department the dynamic list selects.
    pub sales: bool,
    /// Takes the first user's address: an address conflict.
    pub conflict: bool,
}

/// A fixture account state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserState {
    /// Enabled.
    Enabled,
    /// Disabled.
    Disabled,
    /// Locked out.
    LockedOut,
}

/// A member of a generated group, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// A user.
    User(usize),
    /// A group (nesting; cycles allowed, never itself).
    Group(usize),
    /// A contact.
    Contact(usize),
}

/// A generated group.
#[derive(Debug, Clone)]
pub struct GenGroup {
    /// Its members.
    pub members: Vec<Member>,
    /// Whether it has a `mail`.
    pub mail: bool,
}

/// A user already in the cloud account before the first step.
#[derive(Debug, Clone, Copy)]
pub enum Seeded {
    /// Created by hand, at an address no directory object has.
    Manual,
    /// Created by hand at a directory user's address (a sync converts it).
    ManualAt(usize),
    /// Directory generated, linked to an object that is not in the directory (stale).
    Stale,
}

/// What the sync may do.
#[derive(Debug, Clone, Copy)]
pub struct GenSettings {
    /// Remove rather than unlink users that left the directory.
    pub delete_users: bool,
    /// Link `smtp:` aliases.
    pub link_aliases: bool,
    /// Disable cloud users whose directory account is disabled.
    pub acknowledge_disabled: bool,
    /// Max unlink.
    pub max_unlink: u32,
    /// Delta syncs find changes by DirSync rather than by `uSNChanged` (the connector's
    /// `change-tracking`), so delta-equals-full covers both.
    pub dirsync: bool,
}

/// The order fake-dc returns search entries in (the fixture's `entryOrder:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOrder {
    /// Creation order.
    Directory,
    /// Reversed.
    Reverse,
    /// A fixed shuffle.
    Shuffled,
}

impl EntryOrder {
    /// As the fixture spells it.
    pub fn name(self) -> &'static str {
        match self {
            EntryOrder::Directory => "directory",
            EntryOrder::Reverse => "reverse",
            EntryOrder::Shuffled => "shuffled",
        }
    }
}

/// A fault a sync runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The DC's listeners are closed.
    Down,
    /// The DC answers busy.
    Busy,
    /// The connection drops when this page is asked for.
    DropOnPage(u32),
    /// The connection drops after this many entries.
    DropAfterEntries(u64),
}

/// One generated step.
#[derive(Debug, Clone)]
pub enum GenStep {
    /// A full sync.
    Sync,
    /// A delta sync.
    DeltaSync,
    /// Rename a user (new CN, same objectGUID).
    Rename(usize),
    /// Move a user to the other OU.
    Move(usize),
    /// Delete a user.
    Delete(usize),
    /// Add a member to a group.
    AddMember(usize, Member),
    /// Remove the n-th member of a group.
    RemoveMember(usize, usize),
    /// Disable a user.
    Disable(usize),
    /// Enable a user.
    Enable(usize),
    /// Fault, sync, clear the fault, sync.
    Faulted(Fault),
}

/// A whole case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Directory users.
    pub users: Vec<GenUser>,
    /// Groups.
    pub groups: Vec<GenGroup>,
    /// Contacts (mail-enabled, members of groups).
    pub contacts: usize,
    /// A dynamic list selecting the users in `sales`.
    pub dynamic_list: bool,
    /// The cloud account's users before the first step.
    pub seeded: Vec<Seeded>,
    /// Settings.
    pub settings: GenSettings,
    /// fake-dc's MaxValRange: a small one puts ranged retrieval's boundaries inside a
    /// group of a few members.
    pub range_size: u32,
    /// The order fake-dc returns search entries in.
    pub entry_order: EntryOrder,
    /// Generated bulk users, all in one group (fake-dc's `generate:`): past 1,000 they
    /// cross the page limit, past 1,500 the member range. Not shrunk: a size knob.
    pub bulk: u32,
    /// Steps; a sync always follows the last.
    pub steps: Vec<GenStep>,
}

/// A generated object's objectGUID: pinned, so the oracle knows every identity.
pub fn guid(kind: u32, index: usize) -> String {
    format!(
        "00000000-0000-4000-8000-{:012x}",
        (kind as usize) << 16 | index
    )
}

/// objectGUID kinds.
pub mod kind {
    /// Users.
    pub const USER: u32 = 1;
    /// Groups.
    pub const GROUP: u32 = 2;
    /// Contacts.
    pub const CONTACT: u32 = 3;
    /// The dynamic list.
    pub const LIST: u32 = 4;
    /// Stale links of the seeded account.
    pub const STALE: u32 = 5;
}

/// The dynamic list's name.
pub const LIST_NAME: &str = "Sales Everyone";

impl Case {
    /// User `i`'s CN as generated.
    pub fn user_cn(&self, i: usize) -> String {
        let name = NAMES[usize::from(self.users[i].name) % NAMES.len()];
        format!("{name} {i}")
    }

    /// User `i`'s primary address (a conflicting user takes user 0's).
    pub fn user_address(&self, i: usize) -> String {
        let owner = if self.users[i].conflict { 0 } else { i };
        format!("u{owner}@{DOMAIN}")
    }

    /// Group `i`'s CN.
    pub fn group_cn(i: usize) -> String {
        format!("Group {i}")
    }

    /// Contact `i`'s CN and address.
    pub fn contact(i: usize) -> (String, String) {
        (format!("Contact {i}"), format!("c{i}@partner.example.net"))
    }

    /// Plays the steps on the model of the directory: the scenario steps and each
    /// sync's oracle.
    pub fn plan(&self) -> Plan {
        super::model::plan(self)
    }
}

pub use super::model::{escape, group_dn, normalized_members, Emit, Plan, SyncPoint, Truth};
