//! DirSync (LDAP_SERVER_DIRSYNC_OID, 1.2.840.113556.1.4.841; MS-ADTS 3.1.1.3.4.1.3):
//! the objects of a naming context changed since a cookie, with only their changed
//! attributes. The exact behaviour, with its sources, is in `docs/dirsync.md`.
//!
//! The cookie is opaque to clients and bound to this DC: it carries the host's
//! invocationId and two USNs, as AD's USN_VECTOR does: `objects` (objects with a higher
//! `uSNChanged` are still to be returned) and `attributes` (attribute changes above it
//! are returned). They differ only within a round continued by "more data": objects come
//! back in `uSNChanged` order, so a continuation resumes after the last one sent while
//! still reporting every attribute changed since the round began.

use ldap3_proto::proto::{
    LdapMsg, LdapOp, LdapPartialAttribute, LdapResultCode, LdapSearchResultEntry,
};

use super::codec::{Control, SearchRequest};
use super::ctrlber;
use super::errors::LdapError;
use super::ranged::{Render, Selection};
use super::reply::{search_done, Reply};
use crate::directory::{Directory, EntryId, Scope};
use crate::dn::Dn;
use crate::filter::{Budget, Stopped};

/// The request control's OID; AD answers with the same OID.
pub(crate) const OID: &str = "1.2.840.113556.1.4.841";

/// LDAP_DIRSYNC_OBJECT_SECURITY: no replication right needed; only what the caller may
/// read comes back.
pub(crate) const OBJECT_SECURITY: u32 = 0x1;
/// LDAP_DIRSYNC_ANCESTORS_FIRST_ORDER: parents before their children.
pub(crate) const ANCESTORS_FIRST: u32 = 0x800;
/// LDAP_DIRSYNC_PUBLIC_DATA_ONLY: no secret attributes (fake-dc never returns any).
pub(crate) const PUBLIC_DATA_ONLY: u32 = 0x2000;
/// LDAP_DIRSYNC_INCREMENTAL_VALUES: linked values as `member;range=1-1` (added) and
/// `member;range=0-0` (removed) instead of the whole attribute.
pub(crate) const INCREMENTAL_VALUES: u32 = 0x8000_0000;
/// The flags above; AD ignores the others (MS-ADTS: "X … ignored by the server").
const KNOWN_FLAGS: u32 = OBJECT_SECURITY | ANCESTORS_FIRST | PUBLIC_DATA_ONLY | INCREMENTAL_VALUES;

/// AD's text when the caller lacks "Replicating Directory Changes" (0x5,
/// ERROR_ACCESS_DENIED, in AD's SecErr shape; the DSID varies by build).
pub(crate) const NO_RIGHT: &str =
    "00000005: SecErr: DSID-03152857, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0\n";
/// A control value, base or scope AD will not run DirSync with.
pub(crate) const CANNOT_PROCESS: &str =
    "00000057: LdapErr: DSID-0C090A85, comment: Error processing control, data 0, v4563";

/// The cookie's layout is AD's (Samba's `ldapControlDirSyncCookie`, NDR little-endian):
/// "MSDS", version 3, a FILETIME, two reserved words, the length of the trailing
/// up-to-dateness vector, the USN_VECTOR (usnHighObjUpdate, usnReserved,
/// usnHighPropUpdate), the DC's invocationId, then the vector (version 1, reserved, a
/// count, reserved, and per DC its invocationId and highest USN). A DC can so read a
/// cookie another DC made, as AD's and Samba's DCs read each other's.
const MAGIC: &[u8; 4] = b"MSDS";
const VERSION: u32 = 3;
/// Up to the end of the invocationId; the vector follows.
const HEAD_LEN: usize = 68;
/// The vector's header before its cursors, and one cursor.
const VECTOR_HEAD: usize = 16;
const CURSOR_LEN: usize = 24;

/// A decoded request value: `SEQUENCE { flags, maxBytes, cookie }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirSyncRequest {
    pub flags: u32,
    pub max_bytes: i64,
    pub cookie: Vec<u8>,
}

/// Reads a request value. Flags are taken as 32 bits whatever the sign the client gave
/// 0x80000000 (ldapsearch sends -2147483648, others 2147483648).
pub(crate) fn decode(value: &[u8]) -> Option<DirSyncRequest> {
    let seq = ctrlber::sequence(value)?;
    let [flags, max, cookie] = <[_; 3]>::try_from(seq).ok()?;
    Some(DirSyncRequest {
        flags: ctrlber::int(&flags)? as u32,
        max_bytes: ctrlber::int(&max)?,
        cookie: ctrlber::bytes(&cookie)?.to_vec(),
    })
}

/// Where a round stands: see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cookie {
    pub invocation: [u8; 16],
    pub objects: u64,
    pub attributes: u64,
}

/// A cookie as read from a client: the DC that made it and its up-to-dateness vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    pub cookie: Cookie,
    /// (invocationId, highest USN) per DC the client is up to date with.
    pub cursors: Vec<([u8; 16], u64)>,
}

impl Cookie {
    /// `time` is the FILETIME the cookie was made at; readers ignore it, as AD's do.
    pub fn encode(&self, time: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEAD_LEN + VECTOR_HEAD + CURSOR_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&((VECTOR_HEAD + CURSOR_LEN) as u32).to_le_bytes());
        out.extend_from_slice(&self.objects.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&self.attributes.to_le_bytes());
        out.extend_from_slice(&self.invocation);
        // The vector: this DC, up to date with what the round covered.
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.invocation);
        out.extend_from_slice(&self.attributes.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> Option<Received> {
        if b.len() < HEAD_LEN || &b[..4] != MAGIC || b[4..8] != VERSION.to_le_bytes() {
            return None;
        }
        let u32_at = |i: usize| -> Option<usize> {
            let v = u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?);
            usize::try_from(v).ok()
        };
        let u64_at = |i: usize| b.get(i..i + 8)?.try_into().ok().map(u64::from_le_bytes);
        let guid_at = |i: usize| -> Option<[u8; 16]> { b.get(i..i + 16)?.try_into().ok() };
        let extra = u32_at(24)?;
        if b.len() != HEAD_LEN + extra {
            return None;
        }
        let mut cursors = Vec::new();
        if extra > 0 {
            let count = u32_at(HEAD_LEN + 8)?;
            if extra != VECTOR_HEAD + count.checked_mul(CURSOR_LEN)? {
                return None;
            }
            for n in 0..count {
                let at = HEAD_LEN + VECTOR_HEAD + n * CURSOR_LEN;
                cursors.push((guid_at(at)?, u64_at(at + 16)?));
            }
        }
        Some(Received {
            cookie: Cookie {
                invocation: guid_at(52)?,
                objects: u64_at(28)?,
                attributes: u64_at(44)?,
            },
            cursors,
        })
    }
}

/// A DC host's invocationId: derived from the forest's seed and the host name, so it is
/// stable across restarts of the same fixture and differs between hosts (AD: each DC's
/// NTDS Settings object has its own).
pub(crate) fn invocation_id(seed: u64, host: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        for b in host.to_ascii_lowercase().bytes().chain([i as u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    out
}

/// What a DirSync search needs from the search it runs in.
pub(crate) struct Ctx<'a> {
    pub dir: &'a Directory,
    pub identity: EntryId,
    pub host: &'a str,
    pub budget: &'a Budget,
    pub render: Render<'a>,
    /// MaxPageSize: the most objects one round returns before "more data".
    pub max_objects: usize,
}

/// Answers a search carrying the DirSync control.
pub(crate) fn search(
    ctx: &Ctx<'_>,
    msgid: i32,
    req: &SearchRequest,
    control: &Control,
) -> Result<Reply, LdapError> {
    let cannot = || LdapError::new(LdapResultCode::UnwillingToPerform, CANNOT_PROCESS);
    let ds = decode(control.value.as_deref().unwrap_or_default())
        .ok_or_else(|| LdapError::new(LdapResultCode::ProtocolError, CANNOT_PROCESS))?;
    let dir = ctx.dir;
    let object_security = ds.flags & OBJECT_SECURITY != 0;
    // The base must be the head of a naming context, the scope its whole subtree. An
    // existing base below a head is refused as AD does: without object security as a
    // missing right, with it as unwillingToPerform (docs/dirsync.md).
    let base = Dn::parse(req.base.trim())
        .ok()
        .and_then(|dn| dir.lookup(&dn))
        .filter(|id| !dir.entry(*id).deleted)
        .ok_or_else(cannot)?;
    if dir.entry(base).parent.is_some() {
        return Err(if object_security {
            cannot()
        } else {
            LdapError::new(LdapResultCode::InsufficentAccessRights, NO_RIGHT)
        });
    }
    let head = base;
    if req.scope != Scope::Subtree {
        return Err(cannot());
    }
    if ds.flags & !KNOWN_FLAGS != 0 {
        tracing::debug!(
            flags = ds.flags,
            "dirsync flags fake-dc does not know are ignored"
        );
    }
    if !object_security && !dir.can_replicate(ctx.identity, head) {
        return Err(LdapError::new(
            LdapResultCode::InsufficentAccessRights,
            NO_RIGHT,
        ));
    }
    let invocation = invocation_id(dir.seed, ctx.host);
    let highest = dir.highest_usn();
    let from = if ds.cookie.is_empty() {
        None
    } else {
        let got = Cookie::decode(&ds.cookie).ok_or_else(cannot)?;
        // Another DC's cookie counts only through what its vector says of this DC; one
        // that says nothing, or a state this DC no longer has (restored), starts over:
        // every object and attribute, as a first round (docs/dirsync.md).
        let ours = if got.cookie.invocation == invocation {
            Some(got.cookie)
        } else {
            got.cursors
                .iter()
                .filter(|(dc, _)| *dc == invocation)
                .map(|(_, usn)| *usn)
                .max()
                .map(|usn| Cookie {
                    invocation,
                    objects: usn,
                    attributes: usn,
                })
        };
        ours.filter(|c| c.objects <= highest && c.attributes <= highest)
    };
    let (since_objects, since_attributes) = from.map_or((0, 0), |c| (c.objects, c.attributes));
    // A cookie this DC cannot continue from (another DC's, a stale one): the client may
    // hold values the other state had, so removed attributes are reported too.
    let restart = !ds.cookie.is_empty() && from.is_none();
    let live = match dir.search_within(head, Scope::Subtree, &req.filter, false, ctx.budget) {
        Ok(ids) => ids,
        Err(Stopped::TimeLimit) => {
            return Err(LdapError::new(
                LdapResultCode::TimeLimitExceeded,
                super::errors::TIME_LIMIT_EXCEEDED,
            ))
        }
        Err(Stopped::Abandoned) => return Ok(Reply::none()),
    };
    let selection = Selection::parse(&req.attrs);
    let mut candidates: Vec<EntryId> = live
        .into_iter()
        .filter(|id| dir.entry(*id).usn_changed > since_objects)
        .collect();
    // Tombstones, whatever the filter (a tombstone has lost the attributes the filter
    // would test), in first rounds too: AD includes deleted objects in DirSync results
    // without being asked. A first round under object security leaves them out unless
    // the caller may read `CN=Deleted Objects` (AD's administrators, who hold the
    // replication right); later rounds report deletions to every caller, so a sync
    // without the right still learns of them (docs/dirsync.md).
    if from.is_some() || !object_security || dir.can_replicate(ctx.identity, head) {
        if let Some(graveyard) = dir.domain_of(head).map(|d| d.deleted_objects) {
            candidates.extend(
                dir.scope(graveyard, Scope::OneLevel)
                    .into_iter()
                    .filter(|id| {
                        let e = dir.entry(*id);
                        e.deleted
                            && e.usn_changed > since_objects
                            && dir.naming_context(*id) == head
                    }),
            );
        }
    }
    if object_security {
        candidates.retain(|id| dir.can_read(Some(ctx.identity), *id));
    }
    candidates.sort_by_key(|id| (dir.entry(*id).usn_changed, *id));
    candidates.dedup();
    let pending: std::collections::HashSet<EntryId> = candidates.iter().copied().collect();

    let mut messages = Vec::new();
    let mut sent = std::collections::HashSet::new();
    let mut bytes: i64 = 0;
    let mut resume = since_objects;
    let mut more = false;
    for (n, id) in candidates.iter().enumerate() {
        if sent.len() >= ctx.max_objects || (ds.max_bytes > 0 && bytes >= ds.max_bytes && n > 0) {
            more = true;
            break;
        }
        if n % 64 == 0 && ctx.budget.check().is_err() {
            more = true;
            break;
        }
        let mut chain = vec![*id];
        if ds.flags & ANCESTORS_FIRST != 0 {
            // Changed ancestors still to come go first; a later round may send them again.
            let mut up = dir.entry(*id).parent;
            while let Some(p) = up {
                if pending.contains(&p) {
                    chain.push(p);
                }
                up = dir.entry(p).parent;
            }
            chain.reverse();
        }
        for target in chain {
            if !sent.insert(target) {
                continue;
            }
            if let Some(entry) =
                render_entry(ctx, target, &selection, since_attributes, ds.flags, restart)
            {
                bytes += entry
                    .attributes
                    .iter()
                    .flat_map(|a| a.vals.iter().map(|v| v.len() as i64 + 4))
                    .sum::<i64>();
                messages.push(LdapMsg::new(msgid, LdapOp::SearchResultEntry(entry)));
            }
        }
        resume = dir.entry(*id).usn_changed;
    }
    let next = if more {
        Cookie {
            invocation,
            objects: resume,
            attributes: since_attributes,
        }
    } else {
        Cookie {
            invocation,
            objects: highest,
            attributes: highest,
        }
    };
    let entries = messages.len();
    let time = crate::directory::filetime_from_unix(dir.now()).max(0) as u64;
    let value = vec![
        ctrlber::integer(i64::from(more)),
        ctrlber::integer(0),
        ctrlber::octets(&next.encode(time)),
    ];
    let mut done = search_done(msgid, LdapResultCode::Success, None);
    done.ctrl.push(ctrlber::response(OID, value));
    messages.push(done);
    Ok(Reply::search(messages, LdapResultCode::Success, entries))
}

/// One object as DirSync returns it: its changed (or, when new to the client, all)
/// requested attributes, plus objectGUID and instanceType; an attribute removed since
/// the cookie comes back with no values. `None` when none of the requested attributes
/// is there to report (AD: "only objects that have at least one of the specified
/// attributes set", and later "only objects with one or more changed attributes").
fn render_entry(
    ctx: &Ctx<'_>,
    id: EntryId,
    selection: &Selection,
    since: u64,
    flags: u32,
    restart: bool,
) -> Option<LdapSearchResultEntry> {
    let dir = ctx.dir;
    let e = dir.entry(id);
    let new = e.usn_created > since;
    let wanted =
        |name: &str| selection.all_user || selection.plain_set.contains(&name.to_ascii_lowercase());
    let defaults = |n: &str| {
        n.eq_ignore_ascii_case("member")
            || n.eq_ignore_ascii_case("objectGUID")
            || n.eq_ignore_ascii_case("instanceType")
    };
    // The requested attributes to return, member apart; when new, those it holds.
    let mut names: Vec<String> = if new {
        let mut held: Vec<String> = dir
            .attribute_names(id)
            .into_iter()
            .filter(|a| wanted(a.as_ref()))
            .map(|a| a.into_owned())
            .collect();
        if restart {
            held.extend(
                e.attr_usns
                    .iter()
                    .filter(|(n, _)| wanted(&n[..]))
                    .map(|(n, _)| n.to_string()),
            );
            held.sort_by_key(|n| n.to_ascii_lowercase());
        }
        held
    } else {
        let mut changed: Vec<String> = e
            .attr_usns
            .iter()
            .filter(|(n, usn)| *usn > since && wanted(&n[..]))
            .map(|(n, _)| n.to_string())
            .collect();
        if changed.iter().any(|n| n.eq_ignore_ascii_case("name")) && wanted(e.rdn.attr()) {
            changed.push(e.rdn.attr().to_string());
        }
        changed
    };
    names.retain(|n| !defaults(n));
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let member_changes: Option<(Vec<EntryId>, Vec<EntryId>)> = (wanted("member") && !e.deleted)
        .then(|| {
            if new {
                // Removed values the DC still knows come back too, as AD reports every
                // value change since the cookie (docs/dirsync.md).
                let removed = e
                    .links_changed_since(since)
                    .into_iter()
                    .filter(|(_, present)| !present)
                    .map(|(m, _)| m)
                    .collect();
                (e.members.clone(), removed)
            } else {
                let mut added = Vec::new();
                let mut removed = Vec::new();
                for (m, present) in e.links_changed_since(since) {
                    if present {
                        added.push(m);
                    } else {
                        removed.push(m);
                    }
                }
                (added, removed)
            }
        });
    let member_changed = member_changes
        .as_ref()
        .is_some_and(|(a, r)| !a.is_empty() || !r.is_empty());
    if names.is_empty() && !member_changed {
        return None;
    }
    let mut all = vec!["objectGUID".to_string(), "instanceType".to_string()];
    all.extend(names.iter().cloned());
    let sel = Selection::parse(&all);
    let render = Render {
        selection: &sel,
        // DirSync returns every changed value at once: no ranged retrieval.
        max_val_range: usize::MAX,
        gc: ctx.render.gc,
        base_scope: false,
        types_only: ctx.render.types_only,
        faults: ctx.render.faults,
    };
    let mut attributes = render.attributes(dir, id);
    for n in &names {
        if !attributes.iter().any(|a| a.atype.eq_ignore_ascii_case(n)) {
            attributes.push(LdapPartialAttribute {
                atype: n.clone(),
                vals: Vec::new(),
            });
        }
    }
    if e.deleted && !attributes.iter().any(|a| a.atype == "isDeleted") {
        attributes.push(LdapPartialAttribute {
            atype: "isDeleted".into(),
            vals: vec![b"TRUE".to_vec()],
        });
    }
    if let Some((added, removed)) = member_changes {
        let dns = |ids: &[EntryId]| -> Vec<Vec<u8>> {
            ids.iter()
                .map(|m| dir.dn_str(*m).as_bytes().to_vec())
                .collect()
        };
        if flags & INCREMENTAL_VALUES != 0 {
            if !added.is_empty() {
                attributes.push(LdapPartialAttribute {
                    atype: "member;range=1-1".into(),
                    vals: dns(&added),
                });
            }
            if !removed.is_empty() {
                attributes.push(LdapPartialAttribute {
                    atype: "member;range=0-0".into(),
                    vals: dns(&removed),
                });
            }
        } else if member_changed {
            // Without incremental values a changed linked attribute comes back whole
            // (with no values once the last one is gone).
            attributes.push(LdapPartialAttribute {
                atype: "member".into(),
                vals: dns(&e.members),
            });
        }
    }
    Some(LdapSearchResultEntry {
        dn: dir.dn_str(id).to_string(),
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip_and_reject_other_bytes() {
        let c = Cookie {
            invocation: invocation_id(7, "dc1.corp.example.test"),
            objects: 12_345,
            attributes: 12_000,
        };
        let got = Cookie::decode(&c.encode(133_000_000_000_000_000)).map(|r| r.cookie);
        assert_eq!(got, Some(c));
        assert_eq!(Cookie::decode(b"MSDS"), None);
        assert_ne!(
            invocation_id(7, "dc1.corp.example.test"),
            invocation_id(7, "dc2.corp.example.test")
        );
    }

    #[test]
    fn request_values_decode_either_sign_of_incremental_values() {
        let enc = |flags: i64| {
            let seq = ldap3_lber::structure::StructureTag {
                class: ldap3_lber::common::TagClass::Universal,
                id: 16,
                payload: ldap3_lber::structure::PL::C(vec![
                    ctrlber::integer(flags),
                    ctrlber::integer(0),
                    ctrlber::octets(b""),
                ]),
            };
            let mut buf = bytes::BytesMut::new();
            super::super::encode::encode_into(&mut buf, &seq);
            buf.to_vec()
        };
        for f in [-2_147_483_648, 2_147_483_648] {
            assert_eq!(decode(&enc(f)).map(|d| d.flags), Some(INCREMENTAL_VALUES));
        }
        assert_eq!(decode(b"\x30\x00"), None);
    }
}
