//! Modifying an entry's attributes (RFC 4511 §4.6) the way AD does: all or nothing,
//! read-only and constructed attributes refused, `member` kept mirrored in `memberOf`,
//! passwords only over an encrypted connection.

use super::{is_read_only, DirError};
use crate::directory::{ids, Attr, AttrValues, Directory, EntryId};
use crate::dn::Dn;
use crate::schema;

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

impl Directory {
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
                                values: AttrValues::default(),
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
                            values: m.values.clone().into(),
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
        // AD stamps pwdLastSet with the time of a password change or reset; a request that
        // also writes pwdLastSet (0: must change at next logon) keeps its own value.
        if new_password.is_some()
            && !mods
                .iter()
                .any(|m| m.attr.eq_ignore_ascii_case("pwdLastSet"))
        {
            let stamp = ids::filetime_from_unix(self.now()).to_string().into_bytes();
            let name = self.intern("pwdLastSet");
            scratch.attrs.retain(|a| a.name != name);
            scratch.attrs.push(Attr {
                name,
                values: AttrValues::One(stamp),
            });
        }
        let mut changed = crate::directory::meta::changed_names(self.entry(id), &scratch.attrs);
        if new_password.is_some() {
            changed.push(self.intern("unicodePwd"));
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
        self.record_attrs(id, changed.as_slice());
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
