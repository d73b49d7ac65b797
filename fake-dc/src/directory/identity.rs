//! Keeping identities across a reload: an entry whose DN was already there keeps the
//! objectGUID it had, so an engine that tracks objects by GUID sees an edit of the fixture
//! as changes to the same objects, not as deletes and adds.

use super::{Directory, EntryId};

impl Directory {
    /// Gives every entry of `self` whose DN also names an entry of `old` that entry's
    /// objectGUID. A GUID already used by another entry of `self` (a fixture that pins
    /// one) is left alone, so the GUID index stays one-to-one. Returns how many entries
    /// have their old objectGUID (most already do: GUIDs derive from the DN).
    pub fn adopt_identities(&mut self, old: &Directory) -> usize {
        let mut kept = 0;
        for i in 0..self.entries.len() {
            let id = EntryId(i as u32);
            let Some(before) = old.lookup_key(&self.dn_key(id)) else {
                continue;
            };
            let guid = old.entry(before).guid;
            let current = self.entry(id).guid;
            if guid == current {
                kept += 1;
                continue;
            }
            if self.guid_index.contains_key(&guid) {
                continue;
            }
            self.guid_index.remove(&current);
            self.guid_index.insert(guid, id);
            self.entry_mut(id).guid = guid;
            kept += 1;
        }
        kept
    }
}
