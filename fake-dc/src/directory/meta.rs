//! Replication metadata: when each attribute and each `member` value last changed.
//!
//! AD keeps, per object, the USN of the last change of every attribute
//! (`replPropertyMetaData`) and of every value of a linked attribute
//! (`msDS-ReplValueMetaData`, with removed values kept as "absent"). DirSync reads it to
//! return only what changed since a cookie (MS-ADTS 3.1.1.3.4.1.3). fake-dc keeps only
//! what changed after an object's creation: the rest dates from `usn_created`.
//!
//! Every recording takes the entry's current `usn_changed`, so it runs right after the
//! mutation's `touch`.

use std::sync::Arc;

use super::entry::{Entry, EntryId};
use super::Directory;

impl Entry {
    /// The USN at which `attr` last changed (was added, changed or removed).
    pub fn attr_usn(&self, attr: &str) -> u64 {
        self.attr_usns
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attr))
            .map_or(self.usn_created, |(_, usn)| *usn)
    }

    /// `member` values that changed after `usn`: (member, present).
    pub fn links_changed_since(&self, usn: u64) -> Vec<(EntryId, bool)> {
        self.link_usns
            .iter()
            .filter(|(_, at, _)| *at > usn)
            .map(|(member, _, present)| (*member, *present))
            .collect()
    }
}

impl Directory {
    /// Records that `names` of `id` changed at its current USN.
    pub(crate) fn record_attrs<S: AsRef<str>>(&mut self, id: EntryId, names: &[S]) {
        let interned: Vec<Arc<str>> = names.iter().map(|n| self.intern(n.as_ref())).collect();
        let e = self.entry_mut(id);
        let usn = e.usn_changed;
        for name in interned {
            match e
                .attr_usns
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                Some(slot) => slot.1 = usn,
                None => e.attr_usns.push((name, usn)),
            }
        }
    }

    /// Records that `member` was added to (`present`) or removed from `group`'s `member`
    /// at the group's current USN.
    pub(crate) fn record_link(&mut self, group: EntryId, member: EntryId, present: bool) {
        self.record_attrs(group, &["member"]);
        let e = self.entry_mut(group);
        let usn = e.usn_changed;
        match e.link_usns.iter_mut().find(|(m, _, _)| *m == member) {
            Some(slot) => *slot = (member, usn, present),
            None => e.link_usns.push((member, usn, present)),
        }
    }
}

/// The names of attributes whose values differ between `before` and `after` (stored
/// attributes only; values compared as bytes, in order-insensitive sets).
pub(crate) fn changed_names(before: &Entry, after_attrs: &[super::Attr]) -> Vec<Arc<str>> {
    let mut out = Vec::new();
    let same = |a: &[Vec<u8>], b: &[Vec<u8>]| {
        a.len() == b.len() && a.iter().all(|v| b.contains(v)) && b.iter().all(|v| a.contains(v))
    };
    for a in after_attrs {
        match before
            .attrs
            .iter()
            .find(|b| b.name.eq_ignore_ascii_case(&a.name))
        {
            Some(b) if same(&b.values[..], &a.values[..]) => {}
            _ => out.push(a.name.clone()),
        }
    }
    for b in &before.attrs {
        if !after_attrs
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(&b.name))
        {
            out.push(b.name.clone());
        }
    }
    out
}
