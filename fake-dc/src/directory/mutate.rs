//! Changes to the directory: create, modify (`modify.rs`), delete (to a tombstone),
//! rename and move. Each keeps the indexes and the member/memberOf links consistent and
//! takes a new USN. Refusals carry AD's LDAP result code and diagnostic text
//! (`error.rs`), so the LDAP layer only forwards them.

mod error;
mod modify;

pub use error::DirError;
pub(crate) use modify::{decode_unicode_pwd, values_equal};
pub use modify::{ModOp, Modification};

use std::sync::Arc;

use super::entry::{Attr, AttrValues, Entry, EntryId, Guid, Sid};
use super::{ids, Directory, Scope};
use crate::dn::{Dn, Rdn};
use crate::schema::{self, ObjectKind};

/// Everything needed to create an entry.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub parent: EntryId,
    pub rdn: Rdn,
    pub kind: ObjectKind,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
    /// A pinned objectGUID; derived from the DN when absent.
    pub guid: Option<Guid>,
    /// A pinned SID (foreign security principals, well-known RIDs).
    pub sid: Option<Sid>,
    pub password: Option<String>,
    pub read_scopes: Option<Vec<EntryId>>,
}

impl NewEntry {
    pub fn new(parent: EntryId, rdn: Rdn, kind: ObjectKind) -> Self {
        NewEntry {
            parent,
            rdn,
            kind,
            attrs: Vec::new(),
            guid: None,
            sid: None,
            password: None,
            read_scopes: None,
        }
    }

    /// Adds a string-valued attribute.
    pub fn with(mut self, attr: &str, values: &[&str]) -> Self {
        self.attrs.push((
            attr.to_string(),
            values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        ));
        self
    }
}

/// Attributes a client may never write: they are computed or are back-links.
fn is_read_only(attr: &str) -> bool {
    const FIXED: &[&str] = &[
        "memberOf",
        "objectGUID",
        "objectSid",
        "distinguishedName",
        "uSNCreated",
        "uSNChanged",
        "whenCreated",
        "whenChanged",
        "objectCategory",
        "sAMAccountType",
        "instanceType",
        "isDeleted",
        "lastKnownParent",
        "name",
        "objectClass",
    ];
    FIXED.iter().any(|a| a.eq_ignore_ascii_case(attr))
        || schema::attribute(attr).is_some_and(|d| d.constructed)
}

impl Directory {
    fn no_such_object(&self, dn: &Dn) -> DirError {
        DirError::NoSuchObject {
            dn: dn.to_string(),
            best_match: self
                .best_match(dn)
                .map(|id| self.dn_str(id).to_string())
                .unwrap_or_default(),
        }
    }

    /// The live entry at `dn`, or AD's noSuchObject.
    pub fn resolve(&self, dn: &Dn) -> Result<EntryId, DirError> {
        match self.lookup(dn) {
            Some(id) if !self.entry(id).deleted => Ok(id),
            _ => Err(self.no_such_object(dn)),
        }
    }

    /// Creates an entry, filling in AD's defaults for its class.
    pub fn create(&mut self, new: NewEntry) -> Result<EntryId, DirError> {
        let mut key = new.rdn.key();
        key.push(',');
        key.push_str(&self.dn_key(new.parent));
        let dn_text = || self.dn(new.parent).child(new.rdn.clone());
        if self.lookup_key(&key).is_some() {
            return Err(DirError::EntryExists {
                dn: dn_text().to_string(),
            });
        }
        if self.entry(new.parent).deleted {
            return Err(self.no_such_object(&dn_text()));
        }
        let head = self.naming_context(new.parent);
        let mut attrs: Vec<Attr> = Vec::new();
        for (name, values) in new.attrs {
            if name.eq_ignore_ascii_case("objectClass") || name.eq_ignore_ascii_case(new.rdn.attr())
            {
                continue; // derived from the kind and the RDN
            }
            if values.is_empty() {
                continue;
            }
            if is_read_only(&name)
                || name.eq_ignore_ascii_case("member")
                || name.eq_ignore_ascii_case("unicodePwd")
            {
                return Err(DirError::ReadOnlyAttribute { attr: name });
            }
            if schema::attribute(&name).is_some_and(|d| d.single) && values.len() > 1 {
                return Err(DirError::SingleValued { attr: name });
            }
            let interned = self.intern(&name);
            match attrs.iter_mut().find(|a| a.name == interned) {
                Some(a) => a.values.extend(values),
                None => attrs.push(Attr {
                    name: interned,
                    values: values.into(),
                }),
            }
        }
        let get = |attrs: &[Attr], n: &str| -> Option<String> {
            attrs
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(n))
                .and_then(|a| a.values.first())
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let mut sid = new.sid.clone();
        if new.kind.has_sid() && sid.is_none() {
            let domain = self
                .domains
                .iter_mut()
                .find(|d| d.head == head)
                .ok_or_else(|| DirError::UnwillingToPerform {
                    reason: "security principals live in a domain naming context".into(),
                })?;
            sid = Some(domain.sid.with_rid(domain.next_rid));
            domain.next_rid += 1;
        }
        if matches!(
            new.kind,
            ObjectKind::User | ObjectKind::Computer | ObjectKind::Group
        ) {
            let sam = match get(&attrs, "sAMAccountName") {
                Some(s) => s,
                None => {
                    // AD invents a name like `$L31000-ABCDEF` when none is given.
                    let rid = sid.as_ref().map_or(0, Sid::rid);
                    let generated = format!(
                        "${:06X}-{:08X}",
                        rid,
                        ids::hash64(self.seed, &[key.as_bytes()]) as u32
                    );
                    let name = self.intern("sAMAccountName");
                    attrs.push(Attr {
                        name,
                        values: AttrValues::One(generated.clone().into_bytes()),
                    });
                    generated
                }
            };
            if self.by_sam(head, &sam).is_some() {
                return Err(DirError::SamAccountNameInUse { name: sam });
            }
        }
        if let Some(upn) = get(&attrs, "userPrincipalName") {
            if self
                .by_value("userPrincipalName", &upn)
                .is_some_and(|ids| !ids.is_empty())
            {
                return Err(DirError::UpnInUse { upn });
            }
        }
        let mut defaults: Vec<(&str, String)> = Vec::new();
        match new.kind {
            ObjectKind::User | ObjectKind::Computer => {
                let uac = if new.kind == ObjectKind::Computer {
                    schema::uac::WORKSTATION_TRUST_ACCOUNT
                } else if new.password.is_some() {
                    schema::uac::NORMAL_ACCOUNT
                } else {
                    // AD's 546: a normal account, disabled, no password required.
                    schema::uac::NORMAL_ACCOUNT
                        | schema::uac::ACCOUNTDISABLE
                        | schema::uac::PASSWD_NOTREQD
                };
                defaults.push(("userAccountControl", uac.to_string()));
                defaults.push((
                    "primaryGroupID",
                    if new.kind == ObjectKind::Computer {
                        "515"
                    } else {
                        "513"
                    }
                    .into(),
                ));
                defaults.push(("accountExpires", ids::FILETIME_NEVER.to_string()));
                defaults.push(("pwdLastSet", "0".into()));
            }
            ObjectKind::Group => {
                defaults.push((
                    "groupType",
                    (schema::group_type::GLOBAL | schema::group_type::SECURITY).to_string(),
                ));
            }
            _ => {}
        }
        for (name, value) in defaults {
            if get(&attrs, name).is_none() {
                let name = self.intern(name);
                attrs.push(Attr {
                    name,
                    values: AttrValues::One(value.into_bytes()),
                });
            }
        }
        let guid = new
            .guid
            .unwrap_or_else(|| ids::derive_guid(self.seed, &key));
        if self.guid_index.contains_key(&guid) {
            return Err(DirError::EntryExists {
                dn: format!("<GUID={guid}>"),
            });
        }
        let usn = self.next_usn();
        let now = self.now();
        let id = self.insert(Entry {
            rdn: new.rdn,
            parent: Some(new.parent),
            kind: new.kind,
            guid,
            sid,
            usn_created: usn,
            usn_changed: usn,
            when_created: now,
            when_changed: now,
            attrs,
            members: Vec::new(),
            member_of: Vec::new(),
            children: Vec::new(),
            password: new.password,
            read_scopes: new.read_scopes,
            deleted: false,
            last_known_parent: None,
            attr_usns: Vec::new(),
            link_usns: Vec::new(),
        });
        Ok(id)
    }

    /// Creates the head of a naming context (no parent entry).
    pub(crate) fn create_head(&mut self, dn: &Dn, kind: ObjectKind) -> EntryId {
        let usn = self.next_usn();
        let now = self.now();
        let mut rdns = dn.rdns.clone();
        let rdn = if rdns.is_empty() {
            Rdn::new("DC", "")
        } else {
            rdns.remove(0)
        };
        let guid = ids::derive_guid(self.seed, &dn.key());
        let entry = Entry {
            rdn,
            parent: None,
            kind,
            guid,
            sid: None,
            usn_created: usn,
            usn_changed: usn,
            when_created: now,
            when_changed: now,
            attrs: Vec::new(),
            members: Vec::new(),
            member_of: Vec::new(),
            children: Vec::new(),
            password: None,
            read_scopes: None,
            deleted: false,
            last_known_parent: None,
            attr_usns: Vec::new(),
            link_usns: Vec::new(),
        };
        // The suffix must be known before indexing, which keys the entry by its full DN.
        let id = EntryId(self.len() as u32);
        self.set_head_suffix(id, rdns);
        self.insert(entry)
    }

    /// Marks `id` changed: a fresh USN and whenChanged.
    fn touch(&mut self, id: EntryId) {
        let usn = self.next_usn();
        let now = self.now();
        let e = self.entry_mut(id);
        e.usn_changed = usn;
        e.when_changed = now;
    }

    /// Adds `member` to `group`'s `member` (and `group` to `member`'s `memberOf`).
    pub fn add_member(&mut self, group: EntryId, member: EntryId) -> Result<(), DirError> {
        // memberOf mirrors member and is short, while a group may hold 100,000 members.
        if self.entry(member).member_of.contains(&group) {
            return Err(DirError::MemberExists {
                group: self.dn_str(group).to_string(),
                member: self.dn_str(member).to_string(),
            });
        }
        if self.entry(group).kind != ObjectKind::Group {
            return Err(DirError::ObjectClassViolation {
                reason: format!("{} is not a group", self.dn(group)),
            });
        }
        self.entry_mut(group).members.push(member);
        self.entry_mut(member).member_of.push(group);
        // AD bumps the group's USN for a link change; the member's memberOf is a back-link
        // and does not replicate as a change of the member.
        self.touch(group);
        self.record_link(group, member, true);
        Ok(())
    }

    /// Adds `members`, in order, to a group with no member history (just created): the
    /// same USNs, times, link metadata and back-links as one [`Self::add_member`] each,
    /// without the scans of the group's link metadata that make those quadratic in the
    /// group's size (a 100,000-member group at load). A member already in the group is
    /// skipped, as `add_member` would refuse it; any other group takes `add_member`.
    pub(crate) fn add_members_to_new_group(&mut self, group: EntryId, members: &[EntryId]) {
        let e = self.entry(group);
        if e.kind != ObjectKind::Group || !e.link_usns.is_empty() || !e.members.is_empty() {
            for m in members {
                let _ = self.add_member(group, *m);
            }
            return;
        }
        let mut added = 0;
        for &m in members {
            if self.entry(m).member_of.contains(&group) {
                continue;
            }
            self.entry_mut(m).member_of.push(group);
            let usn = self.next_usn();
            let g = self.entry_mut(group);
            g.members.push(m);
            g.link_usns.push((m, usn, true));
            added += 1;
        }
        if added > 0 {
            // `touch` and `record_link` of the last link: earlier ones were overwritten.
            let usn = self.usn;
            let now = self.now();
            let g = self.entry_mut(group);
            g.usn_changed = usn;
            g.when_changed = now;
            self.record_attrs(group, &["member"]);
        }
    }

    /// Removes `member` from `group`.
    pub fn remove_member(&mut self, group: EntryId, member: EntryId) -> Result<(), DirError> {
        if !self.entry(member).member_of.contains(&group) {
            return Err(DirError::NotAMember {
                group: self.dn_str(group).to_string(),
                member: self.dn_str(member).to_string(),
            });
        }
        self.entry_mut(group).members.retain(|m| *m != member);
        self.entry_mut(member).member_of.retain(|g| *g != group);
        self.touch(group);
        self.record_link(group, member, false);
        Ok(())
    }

    /// Deletes a leaf, leaving an AD tombstone: RDN `CN=<name>\0ADEL:<guid>` under
    /// `CN=Deleted Objects`, `isDeleted`, `lastKnownParent`, links removed and most
    /// attributes stripped (objectSid and sAMAccountName are kept).
    pub fn delete(&mut self, id: EntryId) -> Result<(), DirError> {
        if self
            .entry(id)
            .children
            .iter()
            .any(|c| !self.entry(*c).deleted)
        {
            return Err(DirError::NotAllowedOnNonLeaf {
                dn: self.dn_str(id).to_string(),
            });
        }
        let Some(graveyard) = self.domain_of(id).map(|d| d.deleted_objects) else {
            return Err(DirError::UnwillingToPerform {
                reason: "only domain objects can be deleted".into(),
            });
        };
        if self.entry(id).parent.is_none() || id == graveyard {
            return Err(DirError::UnwillingToPerform {
                reason: "a naming context head cannot be deleted".into(),
            });
        }
        for g in self.entry(id).member_of.clone() {
            self.remove_member(g, id)?;
        }
        for m in self.entry(id).members.clone() {
            self.remove_member(id, m)?;
        }
        self.unindex(id);
        let old_parent = self.entry(id).parent;
        self.detach(id);
        let sam = self.intern("sAMAccountName");
        let e = self.entry_mut(id);
        let name = format!("{}\nDEL:{}", e.rdn.value(), e.guid);
        e.rdn = Rdn::new(e.rdn.attr().to_string(), name);
        let stripped: Vec<Arc<str>> = e
            .attrs
            .iter()
            .filter(|a| !Arc::ptr_eq(&a.name, &sam))
            .map(|a| a.name.clone())
            .collect();
        e.attrs.retain(|a| Arc::ptr_eq(&a.name, &sam));
        e.password = None;
        e.deleted = true;
        e.last_known_parent = old_parent;
        e.parent = Some(graveyard);
        self.entry_mut(graveyard).children.push(id);
        self.index(id);
        self.touch(id);
        self.record_attrs(id, &["isDeleted", "name", "lastKnownParent"]);
        // Stripping is a change of each stripped attribute, as AD's metadata records it.
        self.record_attrs(id, &stripped);
        Ok(())
    }

    fn detach(&mut self, id: EntryId) {
        if let Some(p) = self.entry(id).parent {
            self.entry_mut(p).children.retain(|c| *c != id);
        }
    }

    /// Renames and/or moves an entry (LDAP modify DN). Everything below it moves along;
    /// identity (objectGUID) is kept.
    pub fn rename(
        &mut self,
        id: EntryId,
        new_rdn: Rdn,
        new_parent: Option<EntryId>,
    ) -> Result<(), DirError> {
        let parent =
            new_parent
                .or(self.entry(id).parent)
                .ok_or_else(|| DirError::UnwillingToPerform {
                    reason: "a naming context head cannot be renamed".into(),
                })?;
        if self.is_within(parent, id) {
            return Err(DirError::UnwillingToPerform {
                reason: "cannot move an object below itself".into(),
            });
        }
        if self.naming_context(parent) != self.naming_context(id) {
            return Err(DirError::UnwillingToPerform {
                reason: "moving across domains needs a cross-domain move".into(),
            });
        }
        let new_dn = self.dn(parent).child(new_rdn.clone());
        if let Some(existing) = self.lookup(&new_dn) {
            if existing != id {
                return Err(DirError::EntryExists {
                    dn: new_dn.to_string(),
                });
            }
        }
        let old_key = self.dn(id).key();
        self.unindex(id);
        self.detach(id);
        {
            let e = self.entry_mut(id);
            e.rdn = new_rdn;
            e.parent = Some(parent);
        }
        self.entry_mut(parent).children.push(id);
        self.index(id);
        let new_key = self.dn(id).key();
        self.reindex_subtree_dns(id, &old_key, &new_key);
        self.touch(id);
        // A rename or a move changes `name` (AD tracks the parent with it) and the RDN.
        let rdn_attr = self.entry(id).rdn.attr().to_string();
        self.record_attrs(id, &["name", rdn_attr.as_str()]);
        Ok(())
    }

    /// Ids of every live entry below `id` (for checks before a subtree operation).
    pub fn live_subtree(&self, id: EntryId) -> Vec<EntryId> {
        self.scope(id, Scope::Subtree)
            .into_iter()
            .filter(|e| !self.entry(*e).deleted)
            .collect()
    }
}
