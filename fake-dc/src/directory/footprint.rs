//! Where a directory's memory goes: an estimate of the heap bytes each part holds,
//! counted from lengths and capacities and rounded up to the allocator's size classes.
//! The growth bench prints it beside the allocator's own count of live bytes, which it
//! should come close to; the parts say which one a change to the layout should target.

use std::fmt;
use std::mem::size_of;

use super::entry::{Attr, AttrValues, Entry, EntryId, Guid, Sid};
use super::hashed::Ids;
use super::shared::SharedMap;
use super::Directory;
use crate::dn::Ava;

/// Heap bytes by part, for one directory.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    /// Entries, tombstones included.
    pub entries: usize,
    /// (part, bytes), in the order they are printed.
    pub parts: Vec<(&'static str, usize)>,
}

impl Footprint {
    /// The sum of the parts.
    pub fn total(&self) -> usize {
        self.parts.iter().map(|(_, b)| b).sum()
    }
}

impl fmt::Display for Footprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.entries.max(1);
        writeln!(f, "{:<44} {:>10} {:>8}", "part", "MiB", "B/entry")?;
        for (part, bytes) in self.parts.iter().chain([&("total", self.total())]) {
            writeln!(
                f,
                "{part:<44} {:>10.1} {:>8}",
                *bytes as f64 / (1024.0 * 1024.0),
                bytes / n
            )?;
        }
        Ok(())
    }
}

/// The bytes an allocation of `n` bytes takes: jemalloc's size classes (8, 16, then
/// steps of 16 to 128, then four classes per doubling).
fn class(n: usize) -> usize {
    match n {
        0 => 0,
        1..=8 => 8,
        9..=128 => n.div_ceil(16) * 16,
        _ => {
            let step = (n.next_power_of_two() / 8).max(16);
            n.div_ceil(step) * step
        }
    }
}

fn vec_bytes<T>(v: &Vec<T>) -> usize {
    class(v.capacity() * size_of::<T>())
}

/// A hashbrown table of `capacity`: buckets of `slot` bytes plus a control byte each.
fn table_bytes(capacity: usize, slot: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two().max(4);
    class(buckets * (slot + 1) + 16)
}

fn map_bytes<K, V>(map: &SharedMap<K, V>, heap: impl Fn(&K, &V) -> usize) -> usize {
    map.shard_maps()
        .map(|shard| {
            table_bytes(shard.capacity(), size_of::<(K, V)>())
                + shard.iter().map(|(k, v)| heap(k, v)).sum::<usize>()
        })
        .sum()
}

fn ids_heap(ids: &Ids) -> usize {
    match ids {
        Ids::One(_) => 0,
        Ids::Many(v) => vec_bytes(v),
    }
}

fn sid_heap(sid: &Sid) -> usize {
    vec_bytes(&sid.sub)
}

fn attr_heap(a: &Attr) -> usize {
    match &a.values {
        AttrValues::One(value) => vec_bytes(value),
        AttrValues::Many(values) => vec_bytes(values) + values.iter().map(vec_bytes).sum::<usize>(),
    }
}

impl Directory {
    /// See [`Footprint`].
    pub fn footprint(&self) -> Footprint {
        let mut structs = vec_bytes(&self.entries);
        let (mut rdn, mut attr_slots, mut values, mut ids, mut links, mut children) =
            (0, 0, 0, 0, 0, 0);
        let mut other = 0;
        for e in &self.entries {
            // The Arc's two counters and the entry itself.
            structs += class(2 * size_of::<usize>() + size_of::<Entry>());
            rdn += class(e.rdn.avas.capacity() * size_of::<Ava>())
                + e.rdn
                    .avas
                    .iter()
                    .map(|a| class(a.attr.capacity()) + class(a.value.capacity()))
                    .sum::<usize>();
            attr_slots += vec_bytes(&e.attrs);
            values += e.attrs.iter().map(attr_heap).sum::<usize>();
            ids += e.sid.as_ref().map_or(0, sid_heap);
            links += vec_bytes(&e.members) + vec_bytes(&e.member_of) + vec_bytes(&e.link_usns);
            children += vec_bytes(&e.children);
            other += e.password.as_ref().map_or(0, |p| class(p.capacity()))
                + e.read_scopes.as_ref().map_or(0, vec_bytes)
                + vec_bytes(&e.attr_usns);
        }
        let dn_text = vec_bytes(&self.dn_text)
            + self
                .dn_text
                .iter()
                .map(|t| class(2 * size_of::<usize>() + t.len()))
                .sum::<usize>();
        let dn_index = map_bytes(&self.dn_index, |_: &u64, v: &Ids| ids_heap(v));
        let guid_index = map_bytes(&self.guid_index, |_: &Guid, _: &EntryId| 0);
        let sid_index = map_bytes(&self.sid_index, |_: &u64, v: &Ids| ids_heap(v));
        let value_index: usize = self
            .value_index
            .values()
            .map(|m| {
                map_bytes(&m.slots, |_: &u64, v: &Ids| ids_heap(v))
                    + m.collided
                        .iter()
                        .map(|(k, v)| class(k.len()) + ids_heap(v) + 48)
                        .sum::<usize>()
            })
            .sum();
        // A BTreeSet's leaves hold up to 11 keys; count them about two-thirds full.
        let class_index: usize = self
            .class_index
            .values()
            .map(|s| s.len() * size_of::<EntryId>() * 3 / 2 + s.len() / 7 * 16)
            .sum();
        Footprint {
            entries: self.entries.len(),
            parts: vec![
                ("entry structs (Arc + fixed fields)", structs),
                ("RDNs (type and value texts)", rdn),
                ("attribute slots (name + value list)", attr_slots),
                ("attribute values (lists and bytes)", values),
                ("SIDs (sub-authorities)", ids),
                ("membership (member, memberOf, link USNs)", links),
                ("children lists", children),
                ("passwords, read scopes, attr USNs", other),
                ("DN texts", dn_text),
                ("DN index (hashes of folded DNs)", dn_index),
                ("GUID index", guid_index),
                ("SID index (hashes)", sid_index),
                ("value index (mail, proxyAddresses, sAM, UPN)", value_index),
                ("class index", class_index),
            ],
        }
    }
}
