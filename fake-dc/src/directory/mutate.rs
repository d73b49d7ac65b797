//! Changes to the directory: create, modify, delete (to a tombstone), rename and move.
//! Each keeps the indexes and the member/memberOf links consistent and takes a new USN.
//! Refusals carry AD's LDAP result code and diagnostic text, so the LDAP layer only
//! forwards them.

use std::sync::Arc;

use super::entry::{Attr, Entry, EntryId, Guid, Sid};
use super::{ids, Directory, Scope};
use crate::dn::{Dn, Rdn};
use crate::schema::{self, ObjectKind};

/// A refused change. `result_code` and `diagnostic` are what AD answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirError {
    #[error("no such object: {dn}")]
    NoSuchObject { dn: String, best_match: String },
    #[error("an object named {dn} already exists")]
    EntryExists { dn: String },
    #[error("sAMAccountName '{name}' is already in use in this domain")]
    SamAccountNameInUse { name: String },
    #[error("userPrincipalName '{upn}' is already in use in this forest")]
    UpnInUse { upn: String },
    #[error("{dn} has children; delete them first")]
    NotAllowedOnNonLeaf { dn: String },
    #[error("{member} is already a member of {group}")]
    MemberExists { group: String, member: String },
    #[error("{member} is not a member of {group}")]
    NotAMember { group: String, member: String },
    #[error("attribute {attr} is computed by the directory and cannot be written")]
    ReadOnlyAttribute { attr: String },
    #[error("attribute {attr} already has that value")]
    ValueExists { attr: String },
    #[error("attribute {attr} has no such value")]
    NoSuchValue { attr: String },
    #[error("attribute {attr} takes a single value")]
    SingleValued { attr: String },
    #[error("bad value for {attr}: {reason}")]
    InvalidValue { attr: String, reason: String },
    #[error("object class violation: {reason}")]
    ObjectClassViolation { reason: String },
    #[error("the directory will not do this: {reason}")]
    UnwillingToPerform { reason: String },
}

impl DirError {
    /// The LDAP result code (RFC 4511 §4.1.9) AD uses for this refusal.
    pub fn result_code(&self) -> u32 {
        match self {
            DirError::NoSuchObject { .. } => 32,
            DirError::EntryExists { .. }
            | DirError::SamAccountNameInUse { .. }
            | DirError::MemberExists { .. } => 68,
            DirError::UpnInUse { .. } | DirError::SingleValued { .. } => 19,
            DirError::NotAllowedOnNonLeaf { .. } => 66,
            DirError::NotAMember { .. }
            | DirError::ReadOnlyAttribute { .. }
            | DirError::UnwillingToPerform { .. } => 53,
            DirError::ValueExists { .. } => 20,
            DirError::NoSuchValue { .. } => 16,
            DirError::InvalidValue { .. } => 21,
            DirError::ObjectClassViolation { .. } => 65,
        }
    }

    /// The matchedDN AD returns (the closest existing ancestor for noSuchObject).
    pub fn matched_dn(&self) -> &str {
        match self {
            DirError::NoSuchObject { best_match, .. } => best_match,
            _ => "",
        }
    }

    /// AD's diagnosticMessage text.
    pub fn diagnostic(&self) -> String {
        match self {
            DirError::NoSuchObject { best_match, .. } => format!(
                "0000208D: NameErr: DSID-0310028B, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'{best_match}'\n"
            ),
            DirError::EntryExists { .. } => {
                "00002071: UpdErr: DSID-0305038D, problem 6005 (ENTRY_EXISTS), data 0\n".into()
            }
            DirError::SamAccountNameInUse { .. } => {
                "00000524: UpdErr: DSID-031A11E2, problem 6005 (ENTRY_EXISTS), data 0\n".into()
            }
            DirError::UpnInUse { .. } => "000021C8: AtrErr: DSID-03200E96, #1:\n\t0: 000021C8: DSID-03200E96, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90290 (userPrincipalName)\n".into(),
            DirError::NotAllowedOnNonLeaf { .. } => {
                "00002015: UpdErr: DSID-030C1019, problem 6003 (CANT_ON_NON_LEAF), data 0\n".into()
            }
            DirError::MemberExists { .. } => {
                "00000562: UpdErr: DSID-031A11C4, problem 6005 (ENTRY_EXISTS), data 0\n".into()
            }
            DirError::NotAMember { .. } => {
                "00000561: SvcErr: DSID-031A1021, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::ReadOnlyAttribute { .. } => {
                "00002077: SvcErr: DSID-03152F08, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::UnwillingToPerform { reason } if reason.contains("unicodePwd") => {
                "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::UnwillingToPerform { .. } => {
                "00002077: SvcErr: DSID-03152F08, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::ValueExists { attr } => format!(
                "00002083: AtrErr: DSID-03151818, #1:\n\t0: 00002083: DSID-03151818, problem 1006 (ATT_OR_VALUE_EXISTS), data 0, Att 0 ({attr})\n"
            ),
            DirError::NoSuchValue { attr } | DirError::SingleValued { attr } => format!(
                "00002082: AtrErr: DSID-031519B1, #1:\n\t0: 00002082: DSID-031519B1, problem 1001 (NO_ATTRIBUTE_OR_VAL), data 0, Att 0 ({attr})\n"
            ),
            DirError::InvalidValue { attr, .. } => format!(
                "0000057: LdapErr: DSID-0C090D8A, comment: Error in attribute conversion operation, data 0, v4563 ({attr})"
            ),
            DirError::ObjectClassViolation { .. } => {
                "0000207D: UpdErr: DSID-031522A9, problem 6002 (OBJ_CLASS_VIOLATION), data 0\n".into()
            }
        }
    }
}

/// What a modification does (RFC 4511 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModOp {
    Add,
    Delete,
    Replace,
}

/// One change to one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modification {
    pub op: ModOp,
    pub attr: String,
    pub values: Vec<Vec<u8>>,
}

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
                    values,
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
                        values: vec![generated.clone().into_bytes()],
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
                    values: vec![value.into_bytes()],
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
        };
        // The suffix must be known before indexing, which keys the entry by its full DN.
        let id = EntryId(self.len() as u32);
        self.set_head_suffix(id, rdns);
        self.insert(entry)
    }

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
        Ok(())
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
        Ok(())
    }

    /// Applies LDAP-style modifications to one entry, all or nothing.
    /// `encrypted` says whether the change came over TLS (AD refuses `unicodePwd` otherwise).
    pub fn modify(
        &mut self,
        id: EntryId,
        mods: &[Modification],
        encrypted: bool,
    ) -> Result<(), DirError> {
        // Validate everything first so a refusal leaves the entry untouched.
        let mut member_adds = Vec::new();
        let mut member_removes = Vec::new();
        let mut scratch = self.entry(id).clone();
        let mut new_password = None;
        for m in mods {
            let attr = m.attr.as_str();
            if attr.eq_ignore_ascii_case("member") {
                let current: Vec<EntryId> = scratch.members.clone();
                let targets: Result<Vec<EntryId>, DirError> = m
                    .values
                    .iter()
                    .map(|v| {
                        let text = String::from_utf8_lossy(v);
                        let dn = Dn::parse(&text).map_err(|e| DirError::InvalidValue {
                            attr: "member".into(),
                            reason: e.to_string(),
                        })?;
                        self.resolve(&dn)
                    })
                    .collect();
                let targets = targets?;
                match m.op {
                    ModOp::Add => {
                        for t in targets {
                            if current.contains(&t) || member_adds.contains(&t) {
                                return Err(DirError::MemberExists {
                                    group: self.dn_str(id).to_string(),
                                    member: self.dn_str(t).to_string(),
                                });
                            }
                            member_adds.push(t);
                        }
                    }
                    ModOp::Delete if targets.is_empty() => member_removes.extend(current),
                    ModOp::Delete => {
                        for t in targets {
                            if !current.contains(&t) && !member_adds.contains(&t) {
                                return Err(DirError::NotAMember {
                                    group: self.dn_str(id).to_string(),
                                    member: self.dn_str(t).to_string(),
                                });
                            }
                            member_removes.push(t);
                        }
                    }
                    ModOp::Replace => {
                        member_removes.extend(current);
                        member_adds.extend(targets);
                    }
                }
                continue;
            }
            if attr.eq_ignore_ascii_case("unicodePwd") || attr.eq_ignore_ascii_case("userPassword")
            {
                if !encrypted {
                    return Err(DirError::UnwillingToPerform {
                        reason: "unicodePwd needs an encrypted connection".into(),
                    });
                }
                new_password = m.values.last().map(|v| decode_unicode_pwd(v));
                continue;
            }
            if is_read_only(attr) || attr.eq_ignore_ascii_case(scratch.rdn.attr()) {
                return Err(DirError::ReadOnlyAttribute {
                    attr: attr.to_string(),
                });
            }
            let name = self.intern(attr);
            let pos = scratch.attrs.iter().position(|a| a.name == name);
            match m.op {
                ModOp::Add => {
                    let a = match pos {
                        Some(p) => &mut scratch.attrs[p],
                        None => {
                            scratch.attrs.push(Attr {
                                name: name.clone(),
                                values: Vec::new(),
                            });
                            let last = scratch.attrs.len() - 1;
                            &mut scratch.attrs[last]
                        }
                    };
                    for v in &m.values {
                        if a.values.iter().any(|x| values_equal(attr, x, v)) {
                            return Err(DirError::ValueExists {
                                attr: attr.to_string(),
                            });
                        }
                        a.values.push(v.clone());
                    }
                }
                ModOp::Delete => {
                    let Some(p) = pos else {
                        return Err(DirError::NoSuchValue {
                            attr: attr.to_string(),
                        });
                    };
                    if m.values.is_empty() {
                        scratch.attrs.remove(p);
                    } else {
                        for v in &m.values {
                            let a = &mut scratch.attrs[p];
                            let before = a.values.len();
                            a.values.retain(|x| !values_equal(attr, x, v));
                            if a.values.len() == before {
                                return Err(DirError::NoSuchValue {
                                    attr: attr.to_string(),
                                });
                            }
                        }
                        if scratch.attrs[p].values.is_empty() {
                            scratch.attrs.remove(p);
                        }
                    }
                }
                ModOp::Replace => {
                    if let Some(p) = pos {
                        scratch.attrs.remove(p);
                    }
                    if !m.values.is_empty() {
                        scratch.attrs.push(Attr {
                            name: name.clone(),
                            values: m.values.clone(),
                        });
                    }
                }
            }
            if schema::attribute(attr).is_some_and(|d| d.single)
                && scratch
                    .attrs
                    .iter()
                    .any(|a| a.name == name && a.values.len() > 1)
            {
                return Err(DirError::SingleValued {
                    attr: attr.to_string(),
                });
            }
        }
        // Uniqueness checks against the rest of the domain / forest.
        let head = self.naming_context(id);
        if let Some(sam) = scratch.get_str("sAMAccountName") {
            if self.by_sam(head, sam).is_some_and(|other| other != id) {
                return Err(DirError::SamAccountNameInUse {
                    name: sam.to_string(),
                });
            }
        }
        if let Some(upn) = scratch.get_str("userPrincipalName") {
            if self
                .by_value("userPrincipalName", upn)
                .is_some_and(|ids| ids.iter().any(|o| *o != id))
            {
                return Err(DirError::UpnInUse {
                    upn: upn.to_string(),
                });
            }
        }
        self.unindex(id);
        let attrs = std::mem::take(&mut scratch.attrs);
        self.entry_mut(id).attrs = attrs;
        if let Some(p) = new_password {
            self.entry_mut(id).password = Some(p);
        }
        self.index(id);
        for m in member_removes {
            if self.entry(id).members.contains(&m) {
                self.remove_member(id, m)?;
            }
        }
        for m in member_adds {
            if !self.entry(id).members.contains(&m) {
                self.add_member(id, m)?;
            }
        }
        self.touch(id);
        Ok(())
    }

    /// Replaces one attribute's values (a convenience over `modify`).
    pub fn set(&mut self, id: EntryId, attr: &str, values: &[&str]) -> Result<(), DirError> {
        let m = Modification {
            op: ModOp::Replace,
            attr: attr.to_string(),
            values: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        };
        self.modify(id, &[m], true)
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
        e.attrs.retain(|a| Arc::ptr_eq(&a.name, &sam));
        e.password = None;
        e.deleted = true;
        e.last_known_parent = old_parent;
        e.parent = Some(graveyard);
        self.entry_mut(graveyard).children.push(id);
        self.index(id);
        self.touch(id);
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

/// unicodePwd is the password in double quotes, UTF-16LE (MS-ADTS 3.1.1.3.1.5.1); accept
/// plain UTF-8 too, which is what test clients tend to send.
pub(crate) fn decode_unicode_pwd(v: &[u8]) -> String {
    if v.len().is_multiple_of(2) && v.len() >= 4 && v[1] == 0 {
        let units: Vec<u16> = v
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let s = String::from_utf16_lossy(&units);
        return s.trim_matches('"').to_string();
    }
    String::from_utf8_lossy(v).trim_matches('"').to_string()
}

/// Value equality under the attribute's syntax (case-insensitive for strings).
pub(crate) fn values_equal(attr: &str, a: &[u8], b: &[u8]) -> bool {
    match schema::syntax(attr) {
        schema::Syntax::Binary => a == b,
        schema::Syntax::Dn => match (
            Dn::parse(&String::from_utf8_lossy(a)),
            Dn::parse(&String::from_utf8_lossy(b)),
        ) {
            (Ok(x), Ok(y)) => x.key() == y.key(),
            _ => a == b,
        },
        _ => {
            crate::dn::fold_case(&String::from_utf8_lossy(a))
                == crate::dn::fold_case(&String::from_utf8_lossy(b))
        }
    }
}
