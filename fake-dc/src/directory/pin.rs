//! Identities and history given rather than derived: an object captured from a live
//! directory or imported from LDIF keeps the objectGUID, objectSid, USNs and times it had
//! there (see `fixture/model/identity.rs`), and tombstones come back as tombstones.

use super::entry::{Attr, Entry, EntryId, Guid, Sid};
use super::{DirError, Directory};
use crate::dn::Rdn;
use crate::schema::ObjectKind;

/// What a fixture may pin on an object besides its attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    pub guid: Option<Guid>,
    pub sid: Option<Sid>,
    pub usn_created: Option<u64>,
    pub usn_changed: Option<u64>,
    /// Unix seconds.
    pub when_created: Option<i64>,
    /// Unix seconds.
    pub when_changed: Option<i64>,
}

/// A SID every domain holds the same way (`S-1-5-32-544`, BUILTIN\Administrators), so
/// two entries of a forest may carry it.
fn is_builtin(sid: &Sid) -> bool {
    sid.authority == 5 && sid.sub.first() == Some(&32)
}

impl Directory {
    /// Gives `id` the identity and history in `pins`. A GUID or SID another entry holds is
    /// refused (the indexes stay one-to-one; BUILTIN SIDs excepted). The forest's USN
    /// counter is raised past a pinned USN, and the domain's next RID past a pinned RID,
    /// so later changes never reuse either.
    pub fn pin(&mut self, id: EntryId, pins: &Pins) -> Result<(), DirError> {
        if let Some(guid) = pins.guid {
            let current = self.entry(id).guid;
            if guid != current {
                if self.guid_index.get(&guid).is_some_and(|other| *other != id) {
                    return Err(DirError::EntryExists {
                        dn: format!("<GUID={guid}>"),
                    });
                }
                self.guid_index.remove(&current);
                self.guid_index.insert(guid, id);
                self.entry_mut(id).guid = guid;
            }
        }
        if let Some(sid) = &pins.sid {
            self.pin_sid(id, sid)?;
        }
        let e = self.entry_mut(id);
        if let Some(u) = pins.usn_created {
            e.usn_created = u;
        }
        if let Some(u) = pins.usn_changed {
            e.usn_changed = u;
        }
        if let Some(t) = pins.when_created {
            e.when_created = t;
        }
        if let Some(t) = pins.when_changed {
            e.when_changed = t;
        }
        let highest = e.usn_created.max(e.usn_changed);
        self.usn = self.usn.max(highest);
        Ok(())
    }

    fn pin_sid(&mut self, id: EntryId, sid: &Sid) -> Result<(), DirError> {
        let current = self.entry(id).sid.clone();
        if current.as_ref() == Some(sid) {
            return Ok(());
        }
        let deleted = self.entry(id).deleted;
        if !is_builtin(sid) && self.sid_lookup(sid).is_some_and(|other| other != id) {
            return Err(DirError::EntryExists {
                dn: format!("<SID={sid}>"),
            });
        }
        if let Some(old) = &current {
            self.sid_remove(old, id);
        }
        if !deleted {
            self.sid_insert(sid, id);
        }
        self.entry_mut(id).sid = Some(sid.clone());
        let domain_part = sid.domain_part();
        let rid = sid.rid();
        if let Some(d) = self.domains.iter_mut().find(|d| d.sid == domain_part) {
            d.next_rid = d.next_rid.max(rid.saturating_add(1));
        }
        Ok(())
    }

    /// Replaces the stored values of `attr` on `id` (none: removes it), keeping the value
    /// indexes right. For loading only: no schema or access check, no new USN.
    pub fn put_stored(&mut self, id: EntryId, attr: &str, values: Vec<Vec<u8>>) {
        let live = !self.entry(id).deleted;
        if live {
            self.unindex(id);
        }
        let name = self.intern(attr);
        let e = self.entry_mut(id);
        e.attrs.retain(|a| !a.name.eq_ignore_ascii_case(&name));
        if !values.is_empty() {
            e.attrs.push(Attr {
                name,
                values: values.into(),
            });
        }
        if live {
            self.index(id);
        }
    }

    /// Adds a tombstone as it stands in `CN=Deleted Objects`: its RDN already the
    /// deleted form (`CN=Alice\0ADEL:<guid>`), its links gone. Searches return it only
    /// with the Show Deleted control, as they do tombstones made by deleting.
    pub fn insert_tombstone(
        &mut self,
        graveyard: EntryId,
        rdn: Rdn,
        kind: ObjectKind,
        guid: Guid,
        attrs: Vec<(String, Vec<Vec<u8>>)>,
        last_known_parent: Option<EntryId>,
    ) -> Result<EntryId, DirError> {
        let mut key = rdn.key();
        key.push(',');
        key.push_str(&self.dn_key(graveyard));
        if self.lookup_key(&key).is_some() {
            return Err(DirError::EntryExists {
                dn: format!("{},{}", rdn, self.dn_str(graveyard)),
            });
        }
        if self.guid_index.contains_key(&guid) {
            return Err(DirError::EntryExists {
                dn: format!("<GUID={guid}>"),
            });
        }
        let attrs = attrs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, values)| Attr {
                name: self.intern(&name),
                values: values.into(),
            })
            .collect();
        let usn = self.next_usn();
        let now = self.now();
        Ok(self.insert(Entry {
            rdn,
            parent: Some(graveyard),
            kind,
            guid,
            sid: None,
            usn_created: usn,
            usn_changed: usn,
            when_created: now,
            when_changed: now,
            attrs,
            members: Vec::new(),
            member_of: Vec::new(),
            children: Vec::new(),
            password: None,
            read_scopes: None,
            attr_usns: Vec::new(),
            link_usns: Vec::new(),
            deleted: true,
            last_known_parent,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sids_are_shared_by_domains() {
        assert!(is_builtin(
            &Sid::parse("S-1-5-32-544").unwrap_or_else(|| Sid::domain(0, 0, 0))
        ));
        assert!(!is_builtin(&Sid::domain(1, 2, 3).with_rid(500)));
    }
}
