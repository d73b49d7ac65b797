//! Add, modify, delete, modify DN and compare (RFC 4511 §4.6–4.10). The directory does
//! the checking and carries AD's refusals (`DirError`: codes and texts); this file maps
//! LDAP requests onto it. Writes need a bound identity, and a Global Catalog port is a
//! read-only partial replica, so it refuses them.

use ldap3_proto::proto::{
    LdapAddRequest, LdapCompareRequest, LdapModifyDNRequest, LdapModifyRequest, LdapModifyType,
    LdapResultCode,
};

use super::errors::{self, LdapError};
use super::reply::{reply, Reply, Response};
use super::state::Session;
use super::{lock_read, lock_write};
use crate::directory::{
    decode_unicode_pwd, filetime_from_unix, values_equal, DirError, EntryId, ModOp, Modification,
    NewEntry,
};
use crate::dn::Dn;
use crate::schema::ObjectKind;

fn may_write(session: &Session) -> Result<EntryId, LdapError> {
    let id = session.identity.ok_or_else(LdapError::needs_bind)?;
    if session.port.is_gc() {
        return Err(LdapError::new(
            LdapResultCode::UnwillingToPerform,
            errors::GC_READ_ONLY,
        ));
    }
    Ok(id)
}

fn parse_dn(dn: &str) -> Result<Dn, LdapError> {
    Dn::parse(dn).map_err(|_| LdapError::invalid_dn(dn))
}

fn is_password(attr: &str) -> bool {
    attr.eq_ignore_ascii_case("unicodePwd") || attr.eq_ignore_ascii_case("userPassword")
}

fn unicode_pwd_refused() -> LdapError {
    DirError::UnwillingToPerform {
        reason: "unicodePwd needs an encrypted connection".into(),
    }
    .into()
}

/// The most specific class a list of `objectClass` values names.
fn kind_of(classes: &[Vec<u8>]) -> Option<ObjectKind> {
    classes
        .iter()
        .filter_map(|c| ObjectKind::from_class(&String::from_utf8_lossy(c)))
        .max_by_key(|k| k.object_classes().len())
}

pub(crate) fn add(session: &mut Session, msgid: i32, req: &LdapAddRequest) -> Reply {
    let result = (|| -> Result<(), LdapError> {
        may_write(session)?;
        let dn = parse_dn(&req.dn)?;
        let (Some(rdn), Some(parent_dn)) = (dn.rdn().cloned(), dn.parent()) else {
            return Err(LdapError::invalid_dn(&req.dn));
        };
        let classes: Vec<Vec<u8>> = req
            .attributes
            .iter()
            .filter(|a| a.atype.eq_ignore_ascii_case("objectClass"))
            .flat_map(|a| a.vals.clone())
            .collect();
        let kind = kind_of(&classes).ok_or_else(|| {
            LdapError::from(DirError::ObjectClassViolation {
                reason: "no structural objectClass fake-dc knows".into(),
            })
        })?;
        let mut dir = lock_write(&session.shared.directory);
        let parent = dir.resolve(&parent_dn)?;
        let mut new = NewEntry::new(parent, rdn, kind);
        for a in &req.attributes {
            if a.atype.eq_ignore_ascii_case("objectClass") {
                continue;
            }
            if is_password(&a.atype) {
                // MS-ADTS 3.1.1.3.1.5: passwords travel only over an encrypted connection.
                if !session.tls {
                    return Err(unicode_pwd_refused());
                }
                new.password = a.vals.last().map(|v| decode_unicode_pwd(v));
                continue;
            }
            new.attrs.push((a.atype.clone(), a.vals.clone()));
        }
        if new.password.is_some()
            && !new
                .attrs
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("pwdLastSet"))
        {
            // A password set at creation is a fresh password, not "must change".
            let now = filetime_from_unix(dir.now()).to_string();
            new.attrs
                .push(("pwdLastSet".into(), vec![now.into_bytes()]));
        }
        dir.create(new)?;
        Ok(())
    })();
    reply(msgid, Response::Add, result)
}

pub(crate) fn modify(session: &mut Session, msgid: i32, req: &LdapModifyRequest) -> Reply {
    let result = (|| -> Result<(), LdapError> {
        may_write(session)?;
        let dn = parse_dn(&req.dn)?;
        let mut mods = Vec::with_capacity(req.changes.len());
        for c in &req.changes {
            let op = match c.operation {
                LdapModifyType::Add => ModOp::Add,
                LdapModifyType::Delete => ModOp::Delete,
                LdapModifyType::Replace => ModOp::Replace,
                LdapModifyType::Increment => return Err(LdapError::new(
                    LdapResultCode::UnwillingToPerform,
                    "00002077: SvcErr: DSID-03152F08, problem 5003 (WILL_NOT_PERFORM), data 0\n",
                )),
            };
            mods.push(Modification {
                op,
                attr: c.modification.atype.clone(),
                values: c.modification.vals.clone(),
            });
        }
        let mut dir = lock_write(&session.shared.directory);
        let id = dir.resolve(&dn)?;
        dir.modify(id, &mods, session.tls)?;
        Ok(())
    })();
    reply(msgid, Response::Modify, result)
}

pub(crate) fn delete(session: &mut Session, msgid: i32, dn: &str) -> Reply {
    let result = (|| -> Result<(), LdapError> {
        may_write(session)?;
        let dn = parse_dn(dn)?;
        let mut dir = lock_write(&session.shared.directory);
        let id = dir.resolve(&dn)?;
        dir.delete(id)?;
        Ok(())
    })();
    reply(msgid, Response::Delete, result)
}

pub(crate) fn modify_dn(session: &mut Session, msgid: i32, req: &LdapModifyDNRequest) -> Reply {
    let result = (|| -> Result<(), LdapError> {
        may_write(session)?;
        let dn = parse_dn(&req.dn)?;
        let rdn = parse_dn(&req.newrdn)?
            .rdns
            .into_iter()
            .next()
            .ok_or_else(|| LdapError::invalid_dn(&req.newrdn))?;
        let superior = req.new_superior.as_deref().map(parse_dn).transpose()?;
        let mut dir = lock_write(&session.shared.directory);
        let id = dir.resolve(&dn)?;
        let parent = superior.map(|s| dir.resolve(&s)).transpose()?;
        dir.rename(id, rdn, parent)?;
        Ok(())
    })();
    reply(msgid, Response::ModifyDn, result)
}

pub(crate) fn compare(session: &mut Session, msgid: i32, req: &LdapCompareRequest) -> Reply {
    let result = (|| -> Result<LdapResultCode, LdapError> {
        let identity = session.identity.ok_or_else(LdapError::needs_bind)?;
        let dn = parse_dn(&req.dn)?;
        let dir = lock_read(&session.shared.directory);
        let id = dir.resolve(&dn)?;
        if !dir.can_read(Some(identity), id) {
            return Err(LdapError::no_such_object(""));
        }
        let values = dir.values(id, &req.atype);
        if values.is_empty() || is_password(&req.atype) {
            return Err(LdapError::new(
                LdapResultCode::NoSuchAttribute,
                format!(
                    "00002080: AtrErr: DSID-03080155, #1:\n\t0: 00002080: DSID-03080155, problem 1001 (NO_ATTRIBUTE_OR_VAL), data 0, Att 0 ({})\n",
                    req.atype
                ),
            ));
        }
        Ok(
            if values.iter().any(|v| values_equal(&req.atype, v, &req.val)) {
                LdapResultCode::CompareTrue
            } else {
                LdapResultCode::CompareFalse
            },
        )
    })();
    reply(msgid, Response::Compare, result)
}
