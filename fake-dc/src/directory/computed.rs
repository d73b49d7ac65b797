//! The attributes AD computes rather than stores: identity, class, links, times, counters.
//!
//! `Directory::values` answers one attribute of one entry, stored or computed, and is what
//! the filter evaluator and the LDAP layer read through; `Directory::attribute_names`
//! lists what a `*` request returns.

use std::borrow::Cow;
use std::ops::Deref;

use super::entry::{EntryId, Guid};
use super::{ids, Directory};
use crate::schema::{self, uac, ObjectKind};

/// The values of one attribute: borrowed when stored, owned when computed.
#[derive(Debug, Clone)]
pub enum Values<'a> {
    Stored(&'a [Vec<u8>]),
    Computed(Vec<Vec<u8>>),
}

impl Deref for Values<'_> {
    type Target = [Vec<u8>];
    fn deref(&self) -> &[Vec<u8>] {
        match self {
            Values::Stored(v) => v,
            Values::Computed(v) => v,
        }
    }
}

fn one(s: impl Into<String>) -> Values<'static> {
    Values::Computed(vec![s.into().into_bytes()])
}

/// Computed attributes every entry has (non-constructed ones are returned for `*`).
const COMMON: &[&str] = &[
    "objectClass",
    "distinguishedName",
    "name",
    "objectGUID",
    "objectCategory",
    "instanceType",
    "whenCreated",
    "whenChanged",
    "uSNCreated",
    "uSNChanged",
];

impl Directory {
    /// The values of `attr` on `id`, stored or computed. Unknown or absent: empty.
    pub fn values(&self, id: EntryId, attr: &str) -> Values<'_> {
        let e = self.entry(id);
        if let Some(v) = e.get(attr) {
            return Values::Stored(v);
        }
        let lower = attr.to_ascii_lowercase();
        match lower.as_str() {
            "objectclass" => Values::Computed(
                e.kind
                    .object_classes()
                    .iter()
                    .map(|c| c.as_bytes().to_vec())
                    .collect(),
            ),
            "structuralobjectclass" => Values::Computed(
                e.kind
                    .object_classes()
                    .iter()
                    .map(|c| c.as_bytes().to_vec())
                    .collect(),
            ),
            "distinguishedname" => one(self.dn_str(id).to_string()),
            "name" => one(e.rdn.value()),
            "objectguid" => Values::Computed(vec![e.guid.0.to_vec()]),
            "objectsid" => Values::Computed(e.sid.iter().map(|s| s.to_bytes()).collect()),
            "objectcategory" => one(self.category_dn(e.kind.category()).to_string()),
            "instancetype" => one(if e.parent.is_none() { "5" } else { "4" }),
            "whencreated" => one(ids::generalized_time(e.when_created)),
            "whenchanged" => one(ids::generalized_time(e.when_changed)),
            "createtimestamp" => one(ids::generalized_time(e.when_created)),
            "modifytimestamp" => one(ids::generalized_time(e.when_changed)),
            "usncreated" => one(e.usn_created.to_string()),
            "usnchanged" => one(e.usn_changed.to_string()),
            "member" => Values::Computed(self.live_dns(&e.members)),
            // AD lists direct memberships only and never the primary group.
            "memberof" => Values::Computed(self.live_dns(&e.member_of)),
            "samaccounttype" => match self.sam_account_type(id) {
                Some(t) => one(t.to_string()),
                None => Values::Computed(Vec::new()),
            },
            "primarygrouptoken" if e.kind == ObjectKind::Group => {
                one(e.sid.as_ref().map_or(0, |s| s.rid()).to_string())
            }
            "canonicalname" => one(self.canonical_name(id)),
            "parentguid" => Values::Computed(
                e.parent
                    .map(|p| self.entry(p).guid.0.to_vec())
                    .into_iter()
                    .collect(),
            ),
            "msds-user-account-control-computed"
                if matches!(e.kind, ObjectKind::User | ObjectKind::Computer) =>
            {
                one(self.computed_uac(id).to_string())
            }
            "isdeleted" if e.deleted => one("TRUE"),
            "lastknownparent" if e.deleted => Values::Computed(
                e.last_known_parent
                    .map(|p| self.dn_str(p).to_string().into_bytes())
                    .into_iter()
                    .collect(),
            ),
            "tokengroups" => Values::Computed(self.token_groups(id)),
            _ => {
                if e.rdn.attr().eq_ignore_ascii_case(attr) {
                    return one(e.rdn.value());
                }
                Values::Computed(Vec::new())
            }
        }
    }

    /// The names returned for `*`: stored attributes plus the computed ones AD returns by
    /// default (constructed attributes only come when named).
    pub fn attribute_names(&self, id: EntryId) -> Vec<Cow<'static, str>> {
        let e = self.entry(id);
        let mut names: Vec<Cow<'static, str>> = COMMON.iter().map(|n| Cow::Borrowed(*n)).collect();
        let rdn_attr = schema::canonical(e.rdn.attr()).to_string();
        names.insert(1, Cow::Owned(rdn_attr));
        if e.sid.is_some() {
            names.push(Cow::Borrowed("objectSid"));
        }
        if self.sam_account_type(id).is_some() {
            names.push(Cow::Borrowed("sAMAccountType"));
        }
        if !e.members.is_empty() {
            names.push(Cow::Borrowed("member"));
        }
        if !e.member_of.is_empty() {
            names.push(Cow::Borrowed("memberOf"));
        }
        if e.deleted {
            names.push(Cow::Borrowed("isDeleted"));
            if e.last_known_parent.is_some() {
                names.push(Cow::Borrowed("lastKnownParent"));
            }
        }
        for a in &e.attrs {
            names.push(Cow::Owned(a.name.to_string()));
        }
        names
    }

    fn live_dns(&self, ids: &[EntryId]) -> Vec<Vec<u8>> {
        ids.iter()
            .filter(|m| !self.entry(**m).deleted)
            .map(|m| self.dn_str(*m).to_string().into_bytes())
            .collect()
    }

    fn sam_account_type(&self, id: EntryId) -> Option<i64> {
        use schema::sam_account_type as t;
        let e = self.entry(id);
        Some(match e.kind {
            ObjectKind::User => t::USER,
            ObjectKind::Computer => t::MACHINE,
            ObjectKind::Group => {
                let gt = e.get_int("groupType").unwrap_or(0) as i32;
                let security = gt & schema::group_type::SECURITY != 0;
                match (gt & schema::group_type::DOMAIN_LOCAL != 0, security) {
                    (true, true) => t::ALIAS,
                    (true, false) => t::NON_SECURITY_ALIAS,
                    (false, true) => t::GROUP,
                    (false, false) => t::NON_SECURITY_GROUP,
                }
            }
            _ => return None,
        })
    }

    /// `corp.example.test/Staff/Alice`.
    pub fn canonical_name(&self, id: EntryId) -> String {
        let dn = self.dn(id);
        let head = self.naming_context(id);
        let head_dn = self.dn(head);
        let domain = head_dn.dns_name().unwrap_or_else(|| head_dn.to_string());
        let own = dn.rdns.len().saturating_sub(head_dn.rdns.len());
        let mut out = domain;
        for rdn in dn.rdns[..own].iter().rev() {
            out.push('/');
            out.push_str(&rdn.value().replace('/', "\\/"));
        }
        if own == 0 {
            out.push('/');
        }
        out
    }

    /// `msDS-User-Account-Control-Computed`: lockout and password expiry as flags.
    pub fn computed_uac(&self, id: EntryId) -> u32 {
        let mut flags = 0;
        if self.is_locked_out(id) {
            flags |= uac::LOCKOUT;
        }
        // MS-ADTS 3.1.1.4.5.17: a password that must be changed (pwdLastSet 0) is
        // expired too, unless the account's passwords never expire.
        let must_change = self.entry(id).get_int("pwdLastSet") == Some(0)
            && self.entry(id).get_int("userAccountControl").unwrap_or(0) as u32
                & uac::DONT_EXPIRE_PASSWORD
                == 0;
        if must_change || self.password_expired(id) {
            flags |= uac::PASSWORD_EXPIRED;
        }
        flags
    }

    /// Locked out: a non-zero `lockoutTime`. fake-dc models a lockout duration of "until an
    /// administrator unlocks", so a lock never lapses on its own during a test.
    pub fn is_locked_out(&self, id: EntryId) -> bool {
        self.entry(id)
            .get_int("lockoutTime")
            .is_some_and(|t| t != 0)
    }

    /// The password is older than the domain's maximum age (42 days, AD's default), and the
    /// account is not set to never expire. `pwdLastSet: 0` is "must change", not expired.
    pub fn password_expired(&self, id: EntryId) -> bool {
        const MAX_PWD_AGE_SECS: i64 = 42 * 24 * 3600;
        let e = self.entry(id);
        let flags = e.get_int("userAccountControl").unwrap_or(0) as u32;
        if flags & uac::DONT_EXPIRE_PASSWORD != 0 {
            return false;
        }
        match e.get_int("pwdLastSet") {
            Some(0) | None => false,
            Some(ft) => ids::unix_from_filetime(ft) + MAX_PWD_AGE_SECS < self.now(),
        }
    }

    /// `pwdLastSet: 0`: the user must change the password at next logon.
    pub fn must_change_password(&self, id: EntryId) -> bool {
        self.entry(id).get_int("pwdLastSet") == Some(0)
    }

    /// `accountExpires` lies in the past (0 and the maximum mean never).
    pub fn account_expired(&self, id: EntryId) -> bool {
        match self.entry(id).get_int("accountExpires") {
            Some(0) | None => false,
            Some(ft) if ft == ids::FILETIME_NEVER => false,
            Some(ft) => ids::unix_from_filetime(ft) < self.now(),
        }
    }

    /// `userAccountControl` has ACCOUNTDISABLE.
    pub fn is_disabled(&self, id: EntryId) -> bool {
        self.entry(id).get_int("userAccountControl").unwrap_or(0) as u32 & uac::ACCOUNTDISABLE != 0
    }

    /// The primary group of a user: the group of its domain whose RID is `primaryGroupID`.
    pub fn primary_group(&self, id: EntryId) -> Option<EntryId> {
        let e = self.entry(id);
        let rid = e.get_int("primaryGroupID")? as u32;
        let domain_sid = e.sid.as_ref()?.domain_part();
        self.by_sid(&domain_sid.with_rid(rid))
    }

    /// Transitive security-group SIDs including the primary group (`tokenGroups`, base
    /// searches only). Distribution groups never enter a security token; nor do contacts
    /// have one.
    pub fn token_groups(&self, id: EntryId) -> Vec<Vec<u8>> {
        if !self.entry(id).kind.has_sid() {
            return Vec::new();
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<EntryId> = self.entry(id).member_of.clone();
        stack.extend(self.primary_group(id));
        while let Some(g) = stack.pop() {
            if seen.insert(g) {
                stack.extend(self.entry(g).member_of.iter().copied());
            }
        }
        seen.into_iter()
            .filter(|g| {
                self.entry(*g).get_int("groupType").unwrap_or(0) as i32
                    & schema::group_type::SECURITY
                    != 0
            })
            .filter_map(|g| self.entry(g).sid.as_ref().map(|s| s.to_bytes()))
            .collect()
    }

    /// Every group that `id` belongs to, directly or through nesting; cycle-safe. The
    /// primary group is not included (AD's in-chain rule follows `memberOf` links only).
    pub fn transitive_member_of(&self, id: EntryId) -> std::collections::BTreeSet<EntryId> {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<EntryId> = self.entry(id).member_of.clone();
        while let Some(g) = stack.pop() {
            if seen.insert(g) {
                stack.extend(self.entry(g).member_of.iter().copied());
            }
        }
        seen
    }

    /// Every member of `group`, directly or through nesting; cycle-safe.
    pub fn transitive_members(&self, group: EntryId) -> std::collections::BTreeSet<EntryId> {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<EntryId> = self.entry(group).members.clone();
        while let Some(m) = stack.pop() {
            if seen.insert(m) {
                stack.extend(self.entry(m).members.iter().copied());
            }
        }
        seen
    }

    /// The objectGUID of an entry (for tests and tools).
    pub fn guid(&self, id: EntryId) -> Guid {
        self.entry(id).guid
    }
}
