//! The in-memory forest: entries in a slab, the indexes that make lookups cheap, and the
//! domains and naming contexts they belong to.
//!
//! Invariants kept by every mutation (see `mutate.rs`):
//! - `dn_index`, `guid_index`, `sid_index`, `value_index` and `class_index` describe exactly
//!   the live entries (tombstones are in `dn_index` and `guid_index` only);
//! - `members` and `member_of` mirror each other;
//! - every change takes a fresh USN from the forest-wide counter.

mod access;
mod computed;
mod domain;
mod entry;
mod footprint;
mod hashed;
mod identity;
mod ids;
mod image;
mod index;
mod meta;
mod mutate;
mod pin;
mod shared;

pub use computed::Values;
pub use domain::Domain;
pub use entry::{Attr, AttrValues, Entry, EntryId, Guid, Sid};
pub use footprint::Footprint;
pub(crate) use ids::derive_domain_sid as ids_domain_sid;
pub use ids::{
    filetime_from_unix, generalized_time, parse_generalized_time, unix_from_filetime,
    FILETIME_NEVER,
};
pub use image::ImageError;
pub(crate) use mutate::{decode_unicode_pwd, values_equal};
pub use mutate::{DirError, ModOp, Modification, NewEntry};
pub use pin::Pins;

use std::collections::BTreeSet;

/// SipHash's DoS resistance buys nothing for an in-memory test directory, and loading
/// 100,000 entries hashes millions of keys.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::Arc;

use crate::dn::{fold_case, Dn, Rdn};
use crate::schema::ObjectKind;
use hashed::{key_hash, Ids, ValueIndex};
use shared::SharedMap;

/// Attributes whose values are indexed for equality lookups.
pub const INDEXED: &[&str] = &[
    "mail",
    "proxyAddresses",
    "sAMAccountName",
    "userPrincipalName",
];

/// Where the time comes from: the system clock, or a fixed value for reproducible tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// What an id that no longer exists reads as (see [`Directory::entry`]).
static GONE: std::sync::LazyLock<Entry> = std::sync::LazyLock::new(|| Entry {
    rdn: Rdn::new("CN", "gone"),
    parent: None,
    kind: ObjectKind::Container,
    guid: Guid([0; 16]),
    sid: None,
    usn_created: 0,
    usn_changed: 0,
    when_created: 0,
    when_changed: 0,
    attrs: Vec::new(),
    members: Vec::new(),
    member_of: Vec::new(),
    children: Vec::new(),
    password: None,
    read_scopes: Some(Vec::new()),
    deleted: true,
    last_known_parent: None,
    attr_usns: Vec::new(),
    link_usns: Vec::new(),
});

/// The whole forest.
///
/// Cloning is cheap and is what a snapshot is: entries are shared (`Arc`, copied on their
/// first change), the hash indexes are [`SharedMap`]s whose shards are copied on their
/// first change, and each kind's set in `class_index` is an `Arc` too. A snapshot of
/// 100,000 entries is then a few milliseconds, the first write after it copies a shard
/// of each index it touches, and reads pay one pointer more to follow.
#[derive(Clone)]
pub struct Directory {
    /// Every entry ever created, tombstones included; `EntryId` indexes it.
    entries: Vec<Arc<Entry>>,
    /// Case-folded DN, hashed (`hashed.rs`) → entry; a lookup checks the entry's DN.
    dn_index: SharedMap<u64, Ids>,
    guid_index: SharedMap<Guid, EntryId>,
    /// SID, hashed → entry; a lookup checks the entry's SID.
    sid_index: SharedMap<u64, Ids>,
    /// Attribute (from `INDEXED`, case-folded) → case-folded value → entries holding it.
    value_index: HashMap<String, ValueIndex>,
    /// Live entries of each kind, ordered by id.
    class_index: HashMap<ObjectKind, Arc<BTreeSet<EntryId>>>,
    /// Domains in fixture order; the first is the forest root.
    pub domains: Vec<Domain>,
    /// `CN=Configuration,DC=<root>`.
    pub configuration: Option<EntryId>,
    /// `CN=Schema,CN=Configuration,DC=<root>`.
    pub schema: Option<EntryId>,
    /// `DC=DomainDnsZones` and `DC=ForestDnsZones` application partitions (empty; listed
    /// in `namingContexts` and referred to by continuation references, as AD does).
    pub dns_zones: Vec<EntryId>,
    /// The forest-wide highest committed USN.
    usn: u64,
    /// Seed for GUIDs and SIDs, so a fixture loads to the same identities every time.
    pub(crate) seed: u64,
    /// Interned attribute names.
    names: HashMap<String, Arc<str>>,
    /// The RDNs above a naming-context head (`DC=example,DC=test` for
    /// `DC=corp,DC=example,DC=test`): heads have no parent entry to take them from.
    head_suffix: HashMap<EntryId, Vec<Rdn>>,
    /// Each entry's DN as text, kept with `dn_index` (every search result and every
    /// `member` value prints one, and walking the ancestors each time dominated paged
    /// searches).
    dn_text: Vec<Arc<str>>,
    /// The longest key `dn_index` has ever held, in bytes: no longer DN can name an entry,
    /// so `best_match` never builds keys past it (a 10,000-RDN base costs one pass).
    longest_dn_key: usize,
    /// The fixture's query policy; the server starts with it unless told otherwise.
    pub query_policy: crate::policy::QueryPolicy,
    /// The order searches return entries in (the fixture's `entryOrder:`).
    pub entry_order: crate::order::EntryOrder,
    /// "Replicating Directory Changes" grants: (naming-context head, principal). A
    /// principal holds the right through its own grant or a group's (`fixture/rights.rs`).
    pub replication_grants: Vec<(EntryId, EntryId)>,
    /// The `azureAd:` tenant served as Graph; it travels through snapshots and reloads.
    pub azure_ad: Option<Arc<crate::graph::Tenant>>,
    /// The fixture's Google Workspace tenant, served over Secure LDAP ([`crate::google`]).
    pub google: Option<crate::google::GoogleSpec>,
    clock: Clock,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("entries", &self.entries.len())
            .field("domains", &self.domains.len())
            .field("usn", &self.usn)
            .finish()
    }
}

impl Directory {
    /// An empty forest. `seed` makes identities reproducible.
    pub fn new(seed: u64) -> Self {
        Directory {
            entries: Vec::new(),
            dn_index: SharedMap::default(),
            guid_index: SharedMap::default(),
            sid_index: SharedMap::default(),
            value_index: INDEXED
                .iter()
                .map(|a| (a.to_ascii_lowercase(), ValueIndex::default()))
                .collect(),
            class_index: HashMap::default(),
            domains: Vec::new(),
            configuration: None,
            schema: None,
            dns_zones: Vec::new(),
            usn: 12_000,
            seed,
            names: HashMap::default(),
            head_suffix: HashMap::default(),
            dn_text: Vec::new(),
            longest_dn_key: 0,
            query_policy: crate::policy::QueryPolicy::default(),
            entry_order: crate::order::EntryOrder::default(),
            replication_grants: Vec::new(),
            azure_ad: None,
            google: None,
            clock: Arc::new(ids::system_now),
        }
    }

    /// Replaces the clock; tests pin it so `whenChanged` and friends are reproducible.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// The current time in Unix seconds, from the directory's clock.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The forest-wide highest committed USN (rootDSE `highestCommittedUSN`).
    pub fn highest_usn(&self) -> u64 {
        self.usn
    }

    pub(crate) fn next_usn(&mut self) -> u64 {
        self.usn += 1;
        self.usn
    }

    /// Number of entries, tombstones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with this id. An id from before a restore or reload of a smaller
    /// directory (held by an open paged search or a bound connection) reads as a
    /// tombstone that nothing returns and that may read nothing, never out of bounds.
    pub fn entry(&self, id: EntryId) -> &Entry {
        self.entries.get(id.index()).map_or(&GONE, |e| e)
    }

    pub(crate) fn entry_mut(&mut self, id: EntryId) -> &mut Entry {
        Arc::make_mut(&mut self.entries[id.index()])
    }

    /// Every id, tombstones included, in creation order.
    pub fn ids(&self) -> impl Iterator<Item = EntryId> + '_ {
        (0..self.entries.len() as u32).map(EntryId)
    }

    /// The entry's DN, rebuilt from its RDN and its ancestors.
    pub fn dn(&self, id: EntryId) -> Dn {
        let mut rdns = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            let e = self.entry(c);
            rdns.push(e.rdn.clone());
            cur = e.parent;
            if cur.is_none() {
                if let Some(suffix) = self.head_suffix.get(&c) {
                    rdns.extend(suffix.iter().cloned());
                }
            }
        }
        Dn { rdns }
    }

    /// The entry's DN as AD prints it (the same text as `dn(id).to_string()`), without
    /// rebuilding it.
    pub fn dn_str(&self, id: EntryId) -> &str {
        self.dn_text.get(id.index()).map_or("", |t| t)
    }

    /// Recomputes the DN text of `id` from its RDN and its parent's text, which must be
    /// current (parents are indexed before their children).
    fn refresh_dn_text(&mut self, id: EntryId) {
        let e = &self.entries[id.index()];
        let mut text = e.rdn.to_string();
        match e.parent {
            Some(p) => {
                text.push(',');
                text.push_str(&self.dn_text[p.index()]);
            }
            None => {
                for rdn in self.head_suffix.get(&id).into_iter().flatten() {
                    text.push(',');
                    text.push_str(&rdn.to_string());
                }
            }
        }
        let i = id.index();
        if i >= self.dn_text.len() {
            self.dn_text.resize(i + 1, Arc::from(""));
        }
        self.dn_text[i] = Arc::from(text);
    }

    /// The case-folded DN of an entry (its index key), built without cloning the RDNs.
    pub fn dn_key(&self, id: EntryId) -> String {
        let mut out = String::with_capacity(64);
        let mut cur = Some(id);
        while let Some(c) = cur {
            let e = self.entry(c);
            if !out.is_empty() {
                out.push(',');
            }
            e.rdn.write_key(&mut out);
            cur = e.parent;
            if cur.is_none() {
                for rdn in self.head_suffix.get(&c).into_iter().flatten() {
                    out.push(',');
                    rdn.write_key(&mut out);
                }
            }
        }
        out
    }

    /// Looks up an entry by its case-folded DN key.
    pub fn lookup_key(&self, key: &str) -> Option<EntryId> {
        self.dn_index
            .get(&key_hash(key))?
            .as_slice()
            .iter()
            .copied()
            .find(|id| self.dn_key(*id) == key)
    }

    /// Case-insensitive DN lookup; tombstones included.
    pub fn lookup(&self, dn: &Dn) -> Option<EntryId> {
        self.lookup_key(&dn.key())
    }

    /// Looks up `dn` or, failing that, the closest existing ancestor (AD's "best match"
    /// for noSuchObject).
    pub fn best_match(&self, dn: &Dn) -> Option<EntryId> {
        let keys: Vec<String> = dn.rdns.iter().map(|r| r.key()).collect();
        // Length of the key of the suffix starting at each RDN, computed from the right,
        // so suffixes longer than any stored key are skipped without being built.
        let mut suffix_len = vec![0usize; keys.len() + 1];
        for i in (0..keys.len()).rev() {
            let sep = usize::from(i + 1 < keys.len());
            suffix_len[i] = keys[i].len() + sep + suffix_len[i + 1];
        }
        (1..keys.len())
            .filter(|i| suffix_len[*i] <= self.longest_dn_key)
            .find_map(|i| self.lookup_key(&keys[i..].join(",")))
    }

    pub fn by_guid(&self, guid: &Guid) -> Option<EntryId> {
        self.guid_index.get(guid).copied()
    }

    pub fn by_sid(&self, sid: &Sid) -> Option<EntryId> {
        self.sid_lookup(sid)
    }

    /// Live entries whose indexed attribute `attr` has a value equal (case-insensitively)
    /// to `value`; `None` when `attr` is not indexed.
    pub fn by_value(&self, attr: &str, value: &str) -> Option<&[EntryId]> {
        let index = self.value_index.get(&attr.to_ascii_lowercase())?;
        let folded = fold_case(value);
        Some(index.get(&folded, |id| {
            hashed::holds_value(self.entry(id), attr, &folded)
        }))
    }

    /// True when `attr` has an equality index.
    pub fn is_indexed(&self, attr: &str) -> bool {
        self.value_index.contains_key(&attr.to_ascii_lowercase())
    }

    /// Live entries of a kind, in id order.
    pub fn of_kind(&self, kind: ObjectKind) -> impl Iterator<Item = EntryId> + '_ {
        self.class_index
            .get(&kind)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// The live entries at and below `base` (or only at `base`, or only its children),
    /// parent before child.
    pub fn scope(&self, base: EntryId, scope: Scope) -> Vec<EntryId> {
        match scope {
            Scope::Base => vec![base],
            Scope::OneLevel => self.entry(base).children.clone(),
            Scope::Subtree => {
                let mut out = Vec::new();
                let mut stack = vec![base];
                while let Some(id) = stack.pop() {
                    out.push(id);
                    stack.extend(self.entry(id).children.iter().rev().copied());
                }
                out
            }
        }
    }

    /// True when `id` is `ancestor` or lies below it.
    pub fn is_within(&self, id: EntryId, ancestor: EntryId) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.entry(c).parent;
        }
        false
    }

    /// The head of the naming context that holds `id`.
    pub fn naming_context(&self, id: EntryId) -> EntryId {
        let mut cur = id;
        while let Some(p) = self.entry(cur).parent {
            cur = p;
        }
        cur
    }

    /// The domain whose naming context holds `id`; `None` for Configuration and Schema.
    pub fn domain_of(&self, id: EntryId) -> Option<&Domain> {
        let head = self.naming_context(id);
        self.domains.iter().find(|d| d.head == head)
    }

    /// The forest root domain.
    pub fn root_domain(&self) -> Option<&Domain> {
        self.domains.first()
    }

    /// The domain with this DNS or NetBIOS name (case-insensitive).
    pub fn domain_named(&self, name: &str) -> Option<&Domain> {
        self.domains
            .iter()
            .find(|d| d.dns_name.eq_ignore_ascii_case(name) || d.netbios.eq_ignore_ascii_case(name))
    }

    /// The heads of every naming context: domains, Configuration, Schema.
    pub fn naming_contexts(&self) -> Vec<EntryId> {
        let mut out: Vec<EntryId> = self.domains.iter().map(|d| d.head).collect();
        out.extend(self.configuration);
        out.extend(self.schema);
        out.extend(self.dns_zones.iter().copied());
        out
    }

    /// The DN of a class's `objectCategory` (`CN=Person,CN=Schema,CN=Configuration,…`).
    pub fn category_dn(&self, category_cn: &str) -> Dn {
        let schema = self.schema.map(|s| self.dn(s)).unwrap_or_default();
        schema.child(Rdn::new("CN", category_cn))
    }

    /// Interns an attribute name in its canonical spelling.
    pub(crate) fn intern(&mut self, name: &str) -> Arc<str> {
        // Most names arrive in their canonical spelling: a hit here needs no allocation.
        if let Some(a) = self.names.get(name) {
            return a.clone();
        }
        let canonical = crate::schema::canonical(name);
        let interned = self
            .names
            .entry(canonical.to_ascii_lowercase())
            .or_insert_with(|| Arc::from(canonical))
            .clone();
        self.names.insert(name.to_string(), interned.clone());
        interned
    }

    /// Adds a new entry under `parent` with the given identity; indexes it and links it
    /// into its parent. The caller has checked that the DN is free.
    pub(crate) fn set_head_suffix(&mut self, id: EntryId, suffix: Vec<Rdn>) {
        self.head_suffix.insert(id, suffix);
        if id.index() < self.entries.len() {
            self.refresh_dn_text(id);
        }
    }

    pub(crate) fn insert(&mut self, mut entry: Entry) -> EntryId {
        let id = EntryId(self.entries.len() as u32);
        entry.children.clear();
        let parent = entry.parent;
        self.entries.push(Arc::new(entry));
        if let Some(p) = parent {
            self.entry_mut(p).children.push(id);
        }
        self.index(id);
        id
    }

    /// Finds a user by `user@suffix` where the suffix is a UPN suffix or DNS name of its
    /// domain, or by its explicit `userPrincipalName`.
    pub fn by_upn(&self, upn: &str) -> Option<EntryId> {
        if let Some(ids) = self.by_value("userPrincipalName", upn) {
            if let Some(id) = ids.first() {
                return Some(*id);
            }
        }
        let (user, suffix) = upn.rsplit_once('@')?;
        let domain = self.domains.iter().find(|d| {
            d.dns_name.eq_ignore_ascii_case(suffix)
                || d.upn_suffixes
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(suffix))
        })?;
        self.by_sam(domain.head, user)
    }

    /// Finds a principal by `sAMAccountName` inside one domain.
    pub fn by_sam(&self, domain_head: EntryId, sam: &str) -> Option<EntryId> {
        self.by_value("sAMAccountName", sam)?
            .iter()
            .copied()
            .find(|id| self.naming_context(*id) == domain_head)
    }

    /// Finds a principal by `DOMAIN\sAMAccountName`.
    pub fn by_down_level(&self, name: &str) -> Option<EntryId> {
        let (domain, sam) = name.split_once('\\')?;
        let head = self.domain_named(domain)?.head;
        self.by_sam(head, sam)
    }
}

/// Search scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Base,
    OneLevel,
    Subtree,
}
