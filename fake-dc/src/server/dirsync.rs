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

/// The cookie's leading bytes ("MSDS", as AD's cookies begin) and format version.
const MAGIC: &[u8; 4] = b"MSDS";
const VERSION: u32 = 1;
const COOKIE_LEN: usize = 4 + 4 + 16 + 8 + 8;

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

impl Cookie {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(COOKIE_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.invocation);
        out.extend_from_slice(&self.objects.to_le_bytes());
        out.extend_from_slice(&self.attributes.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> Option<Cookie> {
        if b.len() != COOKIE_LEN || &b[..4] != MAGIC || b[4..8] != VERSION.to_le_bytes() {
            return None;
        }
        let u64_at = |i: usize| b.get(i..i + 8)?.try_into().ok().map(u64::from_le_bytes);
        Some(Cookie {
            invocation: b[8..24].try_into().ok()?,
            objects: u64_at(24)?,
            attributes: u64_at(32)?,
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
    // The base must be the head of a naming context, the scope its whole subtree.
    let head = Dn::parse(req.base.trim())
        .ok()
        .and_then(|dn| dir.lookup(&dn))
        .filter(|id| dir.entry(*id).parent.is_none() && !dir.entry(*id).deleted)
        .ok_or_else(cannot)?;
    if req.scope != Scope::Subtree {
        return Err(cannot());
    }
    if ds.flags & !KNOWN_FLAGS != 0 {
        tracing::debug!(
            flags = ds.flags,
            "dirsync flags fake-dc does not know are ignored"
        );
    }
    let object_security = ds.flags & OBJECT_SECURITY != 0;
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
        let cookie = Cookie::decode(&ds.cookie).ok_or_else(cannot)?;
        // A cookie of another DC, or of a state this DC no longer has (restored), starts
        // over: every object and attribute, as a first round (docs/dirsync.md).
        (cookie.invocation == invocation && cookie.objects <= highest).then_some(cookie)
    };
    let (since_objects, since_attributes) = from.map_or((0, 0), |c| (c.objects, c.attributes));
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
    // Deletions since the cookie, whatever the filter: a tombstone has lost the
    // attributes the filter would test. A first round describes the live directory.
    if from.is_some() {
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
            if let Some(entry) = render_entry(ctx, target, &selection, since_attributes, ds.flags) {
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
    let value = vec![
        ctrlber::integer(i64::from(more)),
        ctrlber::integer(0),
        ctrlber::octets(&next.encode()),
    ];
    let mut done = search_done(msgid, LdapResultCode::Success, None);
    done.ctrl.push(ctrlber::response(OID, value));
    messages.push(done);
    Ok(Reply::search(messages, LdapResultCode::Success, entries))
}

/// One object as DirSync returns it: its changed (or, when new, all) requested
/// attributes, plus objectGUID and instanceType; `None` when none of the requested
/// attributes changed.
fn render_entry(
    ctx: &Ctx<'_>,
    id: EntryId,
    selection: &Selection,
    since: u64,
    flags: u32,
) -> Option<LdapSearchResultEntry> {
    let dir = ctx.dir;
    let e = dir.entry(id);
    let new = e.usn_created > since;
    let wanted =
        |name: &str| selection.all_user || selection.plain_set.contains(&name.to_ascii_lowercase());
    // The requested attributes to return, member apart.
    let mut names: Vec<String> = if e.deleted {
        // A deletion changes every attribute: the tombstone keeps few of them.
        let mut n = vec!["isDeleted".to_string(), "name".to_string()];
        n.extend(
            dir.attribute_names(id)
                .into_iter()
                .filter(|a| wanted(a.as_ref()))
                .map(|a| a.into_owned()),
        );
        n
    } else if new {
        if selection.all_user {
            dir.attribute_names(id)
                .into_iter()
                .map(|a| a.into_owned())
                .collect()
        } else {
            selection.named.iter().map(|r| r.name.clone()).collect()
        }
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
    names.retain(|n| {
        !n.eq_ignore_ascii_case("member")
            && !n.eq_ignore_ascii_case("objectGUID")
            && !n.eq_ignore_ascii_case("instanceType")
    });
    let member_changes: Option<(Vec<EntryId>, Vec<EntryId>)> = (wanted("member") && !e.deleted)
        .then(|| {
            if new {
                (e.members.clone(), Vec::new())
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
    if names.is_empty() && !member_changed && !new && !e.deleted {
        return None;
    }
    let mut all = vec!["objectGUID".to_string(), "instanceType".to_string()];
    all.extend(names);
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
        } else if member_changed || new {
            // Without incremental values a changed linked attribute comes back whole.
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
        assert_eq!(Cookie::decode(&c.encode()), Some(c));
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
