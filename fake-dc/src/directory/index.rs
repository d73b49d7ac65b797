//! Keeping the directory's indexes (DN, GUID, SID, class and the `INDEXED` attribute
//! values) in step with its entries: every insert, rewrite, move and rename goes
//! through these, so a lookup never sees a stale key.

use std::sync::Arc;

use super::{hashed, Directory, EntryId, Scope, INDEXED};
use crate::dn::fold_case;

impl Directory {
    /// Adds `id` to every index.
    pub(crate) fn index(&mut self, id: EntryId) {
        self.refresh_dn_text(id);
        let key = self.dn_key(id);
        self.longest_dn_key = self.longest_dn_key.max(key.len());
        self.insert_dn_key(&key, id);
        let e = &self.entries[id.index()];
        self.guid_index.insert(e.guid, id);
        if e.deleted {
            return;
        }
        if let Some(sid) = e.sid.clone() {
            self.sid_insert(&sid, id);
        }
        let e = &self.entries[id.index()];
        Arc::make_mut(self.class_index.entry(e.kind).or_default()).insert(id);
        // Keyed by the lower-case name, which `get` and `holds_value` take as well: no
        // name is lowered per entry.
        let entries = &self.entries;
        for (attr, index) in self.value_index.iter_mut() {
            for value in e.get(attr).unwrap_or_default() {
                let v = fold_case(&String::from_utf8_lossy(value));
                index.insert(&v, id, |other| {
                    hashed::holds_value(&entries[other.index()], attr, &v)
                });
            }
        }
    }

    /// Removes `id` from every index (before a change that moves or rewrites it).
    pub(crate) fn unindex(&mut self, id: EntryId) {
        let key = self.dn_key(id);
        self.remove_dn_key(&key, id);
        let e = &self.entries[id.index()];
        self.guid_index.remove(&e.guid);
        if let Some(sid) = e.sid.clone() {
            self.sid_remove(&sid, id);
        }
        let e = &self.entries[id.index()];
        if let Some(set) = self.class_index.get_mut(&e.kind) {
            Arc::make_mut(set).remove(&id);
        }
        for attr in INDEXED {
            let lower = attr.to_ascii_lowercase();
            let values: Vec<String> = e
                .get(attr)
                .unwrap_or_default()
                .iter()
                .map(|v| fold_case(&String::from_utf8_lossy(v)))
                .collect();
            if let Some(index) = self.value_index.get_mut(&lower) {
                for v in values {
                    index.remove(&v, id);
                }
            }
        }
    }

    /// Re-keys `id` and everything below it in the DN index after a rename or move.
    pub(crate) fn reindex_subtree_dns(&mut self, id: EntryId, old_base: &str, new_base: &str) {
        for sub in self.scope(id, Scope::Subtree) {
            // `scope` lists parents before children, so each parent's text is current.
            self.refresh_dn_text(sub);
            let new_key = self.dn_key(sub);
            let old_key = if new_key.len() >= new_base.len() {
                format!("{}{}", &new_key[..new_key.len() - new_base.len()], old_base)
            } else {
                continue;
            };
            self.remove_dn_key(&old_key, sub);
            self.longest_dn_key = self.longest_dn_key.max(new_key.len());
            self.insert_dn_key(&new_key, sub);
        }
    }
}
