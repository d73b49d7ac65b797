//! Links by GUID between cloud objects (users or contacts) and directory objects.
//!
//! Both sides have a million entries in a large run. Rather than a map from GUID to
//! cloud object, the cloud objects are sorted by the GUID they are linked to, and the
//! directory objects, already in GUID order, are visited against them one by one: two
//! sorted lists walked in step touch memory in order, where a map lookup per object
//! misses the cache every time. The planner visits users in the same walk that resolves
//! group members (see [`super::members`]).

use super::FastSet;
use crate::account::Origin;
use crate::address::Address;
use crate::guid::Guid;

/// A directory object a cloud object is linked to.
pub(super) struct Owner<'a, D> {
    pub(super) object: &'a D,
    /// The object's GUID, kept here so deciding about the cloud object need not read
    /// the directory object.
    pub(super) guid: Guid,
    /// The object's position in the snapshot (GUID order).
    pub(super) position: usize,
}

impl<D> Clone for Owner<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for Owner<'_, D> {}

/// What the walk found: which directory object each cloud object is linked to.
pub(super) struct Links<'a, D> {
    /// For each cloud object, in key order, the directory object linked to it.
    pub(super) owners: Vec<Option<Owner<'a, D>>>,
    /// Cloud objects that lost their link to another cloud object linked to the same
    /// directory object: treated as no longer in the directory.
    pub(super) losers: FastSet<&'a Address>,
    /// One per loser.
    pub(super) warnings: Vec<String>,
}

/// The cloud side of the walk, and what it has found so far.
pub(super) struct LinkWalk<'a, D> {
    /// Cloud keys, in key order.
    keys: Vec<&'a Address>,
    /// (GUID sort key, index in `keys`) of every linked cloud object, by GUID.
    by_guid: Vec<(u128, usize)>,
    /// How much of `by_guid` the walk has passed.
    passed: usize,
    /// "user" or "contact", for warnings.
    kind: &'static str,
    links: Links<'a, D>,
}

impl<'a, D> LinkWalk<'a, D> {
    /// Prepares a walk over the cloud objects, given in key order.
    pub(super) fn new(
        cloud: impl Iterator<Item = (&'a Address, Origin)>,
        kind: &'static str,
    ) -> Self {
        let mut by_guid: Vec<(u128, usize)> = Vec::new();
        let mut keys: Vec<&'a Address> = Vec::new();
        for (index, (key, origin)) in cloud.enumerate() {
            keys.push(key);
            if let Some(guid) = origin.guid() {
                by_guid.push((guid.print_order_key(), index));
            }
        }
        sort_links(&mut by_guid);
        let owners = vec![None; keys.len()];
        Self {
            keys,
            by_guid,
            passed: 0,
            kind,
            links: Links {
                owners,
                losers: FastSet::default(),
                warnings: Vec::new(),
            },
        }
    }

    /// Takes the next directory object, in GUID order (`position` in the snapshot), and
    /// returns whether a cloud
    /// object is linked to it. Of several cloud objects linked to one directory object,
    /// the one at the object's primary address wins, else the first in key order; the
    /// others are orphans, with a warning each. Cloud objects linked to a GUID the walk
    /// steps over are linked to an object no longer in the directory: orphans too.
    pub(super) fn visit(
        &mut self,
        position: usize,
        guid: &Guid,
        object: &'a D,
        primary: impl FnOnce(&D) -> &Address,
    ) -> bool {
        let same = take_run(&self.by_guid, &mut self.passed, guid);
        let keys = &self.keys;
        let key_of = |index: usize| keys.get(index).copied();
        // Only several links need the primary address to choose: reading it for every
        // object would be a cache miss per object on a large run.
        let chosen = match same {
            [] => return false,
            [only] => only,
            [first, ..] => {
                let wanted = primary(object);
                same.iter()
                    .find(|(_, index)| key_of(*index) == Some(wanted))
                    .unwrap_or(first)
            }
        };
        let chosen_index = chosen.1;
        if let Some(owner) = self.links.owners.get_mut(chosen_index) {
            *owner = Some(Owner {
                object,
                guid: *guid,
                position,
            });
        }
        let Some(chosen_key) = key_of(chosen_index) else {
            return true;
        };
        for other in same
            .iter()
            .filter(|(_, index)| *index != chosen_index)
            .filter_map(|(_, index)| key_of(*index))
        {
            // Accounts written by hand (or by an older sync) can hold this; keeping one
            // link keeps the directory object's identity unambiguous.
            self.links.losers.insert(other);
            self.links.warnings.push(format!(
                "cloud {kind}s {chosen_key} and {other} are both linked to directory object \
                 {guid}; {other} is treated as no longer in the directory",
                kind = self.kind
            ));
        }
        true
    }

    /// The links, once every directory object has been visited.
    pub(super) fn finish(self) -> Links<'a, D> {
        self.links
    }
}

/// The entries of `sorted` (by GUID sort key) for `guid`, given that the walk has
/// passed `passed` entries and goes in GUID order; entries for GUIDs it stepped over
/// are passed too.
pub(super) fn take_run<'s>(
    sorted: &'s [(u128, usize)],
    passed: &mut usize,
    guid: &Guid,
) -> &'s [(u128, usize)] {
    let sort_key = guid.print_order_key();
    let rest = sorted.get(*passed..).unwrap_or_default();
    let before = rest.iter().take_while(|(k, _)| *k < sort_key).count();
    let rest = rest.get(before..).unwrap_or_default();
    let run = rest.iter().take_while(|(k, _)| *k == sort_key).count();
    *passed += before + run;
    rest.get(..run).unwrap_or_default()
}

/// Sorts (GUID sort key, index) pairs by GUID, then index: of several links to one
/// object, the first in key order comes first.
///
/// Sorting the pairs themselves moves 32 bytes per swap; sorting 8-byte integers made
/// of the GUID's top 32 bits and the pair's position, then gathering the pairs in that
/// order, is several times faster. GUIDs that share their top 32 bits (rare, but
/// possible) are put in full order afterwards.
pub(super) fn sort_links(links: &mut Vec<(u128, usize)>) {
    const LOW: u64 = u32::MAX as u64;
    if u32::try_from(links.len()).is_err() {
        links.sort_unstable();
        return;
    }
    let mut keys: Vec<u64> = links
        .iter()
        .enumerate()
        .map(|(position, (guid, _))| (((guid >> 96) as u64) << 32) | position as u64)
        .collect();
    keys.sort_unstable();
    let mut sorted: Vec<(u128, usize)> = keys
        .iter()
        .filter_map(|key| links.get((key & LOW) as usize).copied())
        .collect();
    for run in sorted.chunk_by_mut(|a, b| a.0 >> 96 == b.0 >> 96) {
        if run.len() > 1 {
            run.sort_unstable();
        }
    }
    *links = sorted;
}

#[cfg(test)]
mod tests {
    use super::sort_links;

    #[test]
    fn links_sort_by_whole_guid_then_index() {
        // The first three share their top 32 bits, which the fast sort looks at first.
        let top = 0x0000_0001_u128 << 96;
        let mut links = vec![
            (top | 9, 0),
            (top | 2, 5),
            (2_u128 << 96, 1),
            (top | 2, 3),
            (0, 7),
            (top | 5, 2),
        ];
        let mut expected = links.clone();
        expected.sort_unstable();
        sort_links(&mut links);
        assert_eq!(links, expected);
        assert_eq!(links.first(), Some(&(0, 7)));
        assert_eq!(links.get(1..3), Some(&[(top | 2, 3), (top | 2, 5)][..]));
    }
}
