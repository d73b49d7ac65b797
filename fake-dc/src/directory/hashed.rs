//! Indexes that keep a 64-bit hash of each key instead of the key's text.
//!
//! The text of every indexed key is already in the entry it names (a DN in its RDNs and
//! ancestors, a `mail` value in its attributes), so an index that kept it again held
//! more than the entries' values themselves (~970 of 3,330 bytes an entry at 100,000
//! users). A hash and the ids it names are 32 bytes; a lookup then checks the entry it
//! finds, so a collision between two keys can never return the wrong entry.

use std::hash::BuildHasher;

use super::entry::{Entry, EntryId, Sid};
use super::shared::SharedMap;
use super::{Directory, HashMap};

/// The hash an index keeps for a (case-folded) key.
pub(crate) fn key_hash(key: &str) -> u64 {
    foldhash::quality::FixedState::with_seed(0x6b65_795f_6861_7368).hash_one(key)
}

/// The hash the SID index keeps for a SID.
pub(crate) fn sid_hash(sid: &Sid) -> u64 {
    foldhash::quality::FixedState::with_seed(0x7369_645f_6861_7368).hash_one(sid)
}

/// Whether `entry` holds a value of `attr` that case-folds to `folded` (the value
/// index's own test: `fold_case` of the value read as UTF-8, lossily).
pub(crate) fn holds_value(entry: &Entry, attr: &str, folded: &str) -> bool {
    entry
        .get(attr)
        .unwrap_or_default()
        .iter()
        .any(|v| match std::str::from_utf8(v) {
            // The common case without allocating: ASCII folds byte by byte.
            Ok(s) if s.is_ascii() => s.eq_ignore_ascii_case(folded),
            _ => crate::dn::fold_case(&String::from_utf8_lossy(v)) == folded,
        })
}

/// The entries an index key names. Nearly every indexed value (an address, an account
/// name, a DN) belongs to one entry, so that one is held inline: no list, no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ids {
    One(EntryId),
    /// Empty only while being filled or just emptied (then removed from its map).
    Many(Vec<EntryId>),
}

impl Default for Ids {
    fn default() -> Self {
        Ids::Many(Vec::new())
    }
}

impl Ids {
    /// In the order they were added.
    pub fn as_slice(&self) -> &[EntryId] {
        match self {
            Ids::One(id) => std::slice::from_ref(id),
            Ids::Many(ids) => ids,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Adds `id` unless present.
    pub fn insert(&mut self, id: EntryId) {
        match self {
            Ids::Many(ids) if ids.is_empty() => *self = Ids::One(id),
            Ids::Many(ids) => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ids::One(one) if *one == id => {}
            Ids::One(one) => *self = Ids::Many(vec![*one, id]),
        }
    }

    /// Removes `id` if present.
    pub fn remove(&mut self, id: EntryId) {
        match self {
            Ids::One(one) if *one == id => *self = Ids::Many(Vec::new()),
            Ids::One(_) => {}
            Ids::Many(ids) => {
                ids.retain(|x| *x != id);
                if let [one] = ids.as_slice() {
                    *self = Ids::One(*one);
                }
            }
        }
    }
}

/// The equality index of one attribute: folded value → the live entries holding it.
///
/// Every id under one hash holds the same value, so checking the first tells whether
/// the hash is the asked value's. A value whose hash another value holds already goes
/// to `collided`, by its text (with 64-bit hashes, about one pair in 10^7 at a million
/// values: there for exactness, not for load).
#[derive(Clone, Default)]
pub(crate) struct ValueIndex {
    pub(super) slots: SharedMap<u64, Ids>,
    pub(super) collided: HashMap<Box<str>, Ids>,
}

impl ValueIndex {
    /// The entries holding `folded`; `holds` tells whether an entry holds it.
    pub fn get(&self, folded: &str, holds: impl Fn(EntryId) -> bool) -> &[EntryId] {
        if let Some(ids) = self.collided.get(folded) {
            return ids.as_slice();
        }
        match self.slots.get(&key_hash(folded)) {
            Some(ids) if ids.as_slice().first().is_some_and(|id| holds(*id)) => ids.as_slice(),
            _ => &[],
        }
    }

    pub fn insert(&mut self, folded: &str, id: EntryId, holds: impl Fn(EntryId) -> bool) {
        if let Some(ids) = self.collided.get_mut(folded) {
            ids.insert(id);
            return;
        }
        let hash = key_hash(folded);
        match self.slots.get(&hash).and_then(|ids| ids.as_slice().first()) {
            Some(first) if *first != id && !holds(*first) => {
                self.collided.entry(folded.into()).or_default().insert(id);
            }
            _ => self.slots.get_or_default(hash).insert(id),
        }
    }

    pub fn remove(&mut self, folded: &str, id: EntryId) {
        if let Some(ids) = self.collided.get_mut(folded) {
            ids.remove(id);
            if ids.is_empty() {
                self.collided.remove(folded);
            }
            return;
        }
        let hash = key_hash(folded);
        if let Some(ids) = self.slots.get_mut(&hash) {
            ids.remove(id);
            if ids.is_empty() {
                self.slots.remove(&hash);
            }
        }
    }

    /// Room for `additional` more values without rehashing.
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
    }
}

impl Directory {
    /// Maps `key` to `id`, replacing an entry the key named before (as a map insert).
    pub(super) fn insert_dn_key(&mut self, key: &str, id: EntryId) {
        let hash = key_hash(key);
        if let Some(ids) = self.dn_index.get(&hash) {
            let before: Vec<EntryId> = ids
                .as_slice()
                .iter()
                .copied()
                .filter(|other| *other != id && self.dn_key(*other) == key)
                .collect();
            if let Some(ids) = self.dn_index.get_mut(&hash) {
                before.into_iter().for_each(|other| ids.remove(other));
            }
        }
        self.dn_index.get_or_default(hash).insert(id);
    }

    /// Unmaps `key` from `id`.
    pub(super) fn remove_dn_key(&mut self, key: &str, id: EntryId) {
        let hash = key_hash(key);
        if let Some(ids) = self.dn_index.get_mut(&hash) {
            ids.remove(id);
            if ids.is_empty() {
                self.dn_index.remove(&hash);
            }
        }
    }

    /// The live entry with this SID (the one indexed last, when a well-known SID repeats).
    pub(super) fn sid_lookup(&self, sid: &Sid) -> Option<EntryId> {
        self.sid_index
            .get(&sid_hash(sid))?
            .as_slice()
            .iter()
            .copied()
            .find(|id| self.entry(*id).sid.as_ref() == Some(sid))
    }

    /// Maps `sid` to `id`, replacing an entry the SID named before (as a map insert).
    /// `id`'s entry may take the SID only after this (`pin.rs`).
    pub(super) fn sid_insert(&mut self, sid: &Sid, id: EntryId) {
        let hash = sid_hash(sid);
        if let Some(ids) = self.sid_index.get(&hash) {
            let before: Vec<EntryId> = ids
                .as_slice()
                .iter()
                .copied()
                .filter(|other| *other != id && self.entry(*other).sid.as_ref() == Some(sid))
                .collect();
            if let Some(ids) = self.sid_index.get_mut(&hash) {
                before.into_iter().for_each(|other| ids.remove(other));
            }
        }
        self.sid_index.get_or_default(hash).insert(id);
    }

    /// Unmaps `sid` from `id` (nothing when the SID names another entry).
    pub(super) fn sid_remove(&mut self, sid: &Sid, id: EntryId) {
        let hash = sid_hash(sid);
        if let Some(ids) = self.sid_index.get_mut(&hash) {
            ids.remove(id);
            if ids.is_empty() {
                self.sid_index.remove(&hash);
            }
        }
    }

    /// Room for `additional` more entries in the indexes, so a bulk load does not
    /// rehash them as they grow.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
        self.dn_text.reserve(additional);
        self.dn_index.reserve(additional);
        self.guid_index.reserve(additional);
        self.sid_index.reserve(additional);
        for index in self.value_index.values_mut() {
            index.reserve(additional);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_insertion_order_and_fold_back_to_one() {
        let (a, b, c) = (EntryId(1), EntryId(2), EntryId(3));
        let mut ids = Ids::default();
        ids.insert(b);
        ids.insert(b);
        assert_eq!(ids, Ids::One(b));
        ids.insert(a);
        ids.insert(c);
        assert_eq!(ids.as_slice(), &[b, a, c]);
        ids.remove(b);
        ids.remove(c);
        assert_eq!(ids, Ids::One(a));
        ids.remove(a);
        assert!(ids.is_empty());
    }

    #[test]
    fn a_value_whose_hash_is_taken_goes_by_its_text() {
        let mut index = ValueIndex::default();
        let (a, b) = (EntryId(1), EntryId(2));
        index.insert("x", a, |_| true);
        // b's value finds its hash held by an entry that does not hold it (a collision,
        // as the check sees it): it is kept by its text.
        index.insert("x", b, |id| id == b);
        assert_eq!(index.collided.len(), 1);
        assert_eq!(index.get("x", |id| id == b), &[b]);
        index.remove("x", b);
        assert!(index.collided.is_empty());
        // The hash's entries do not hold the value asked for: nothing, not them.
        assert_eq!(index.get("x", |id| id == b), &[] as &[EntryId]);
        assert_eq!(index.get("x", |_| true), &[a]);
        index.remove("x", a);
        assert_eq!(index.get("x", |_| true), &[] as &[EntryId]);
    }
}
