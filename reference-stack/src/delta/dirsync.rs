//! Change tracking by AD's DirSync control (1.2.840.113556.1.4.841; MS-ADTS
//! 3.1.1.3.4.1.3), the `dirsync` choice of [`ChangeTracking`](crate::settings::ChangeTracking).
//!
//! A round sends the cookie the last run kept and gets back the objects of the domain
//! changed since, deletions as tombstones (`isDeleted`), and a new cookie; "more
//! results" asks again with it until the round is complete. The stack asks with the
//! object-security flag (0x1), so the service account needs no replication right and
//! sees only what it may read, as in a full extraction.
//!
//! DirSync returns only the attributes that changed, while the transform needs whole
//! objects: the changed objects are read again whole, by `objectGUID`, with a full
//! extraction's attributes (`read::changed_matching`). DirSync says *what* changed;
//! the rest of the delta (containers, members, merge) is the one `delta.rs` describes.
//!
//! A first run has no cookie: before its full extraction it takes one from a round that
//! matches only the domain head (`(objectClass=domainDNS)`), so the cookie covers
//! everything the full extraction then reads, and changes made meanwhile are read again
//! next time.

use ldap3::asn1::{parse_tag, PL};
use ldap3::controls::RawControl;
use ldap3::{Ldap, Scope, SearchEntry};

use crate::extract::{ExtractError, ExtractRequest, ExtractStats};
use crate::guid::Guid;

/// The control's OID; AD answers with the same one.
const OID: &str = "1.2.840.113556.1.4.841";
/// LDAP_DIRSYNC_OBJECT_SECURITY: only what the caller may read; no replication right.
const OBJECT_SECURITY: i64 = 0x1;
/// Rounds one run may take: AD returns at most MaxPageSize objects a round, so this
/// bounds a run at a hundred million changed objects; a server whose rounds never end
/// fails the run instead of looping.
const MAX_ROUNDS: usize = 100_000;

/// What one complete DirSync round found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Live objects created or changed since the cookie.
    pub live: Vec<Guid>,
    /// Objects deleted since the cookie.
    pub deleted: Vec<Guid>,
    /// Where the next run continues from.
    pub cookie: Vec<u8>,
}

/// The request value: `SEQUENCE { flags INTEGER, maxBytes INTEGER (0), cookie }`.
fn request_value(cookie: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, OBJECT_SECURITY as u8, 0x02, 0x01, 0x00];
    body.push(0x04);
    push_len(&mut body, cookie.len());
    body.extend_from_slice(cookie);
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend(body);
    out
}

/// A BER definite length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// The response value: `SEQUENCE { moreResults INTEGER, unused INTEGER, cookie }`.
fn response_value(value: &[u8]) -> Option<(bool, Vec<u8>)> {
    let (_, tag) = parse_tag(value).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    let more = match parts.next()?.payload {
        PL::P(bytes) => bytes.iter().any(|b| *b != 0),
        PL::C(_) => return None,
    };
    let _unused = parts.next()?;
    Some((more, parts.next()?.expect_primitive()?))
}

/// Runs DirSync rounds under `domain` from `cookie` (empty: a first round) until the DC
/// has nothing more, with `filter` and `attrs`.
pub(crate) async fn changes(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    domain: &str,
    cookie: &[u8],
    filter: &str,
    attrs: &[String],
    stats: &mut ExtractStats,
) -> Result<Changes, ExtractError> {
    let host = request.host;
    let malformed = |reason: String| ExtractError::Malformed {
        host: host.to_owned(),
        reason,
    };
    let mut found = Changes {
        cookie: cookie.to_vec(),
        ..Changes::default()
    };
    for _ in 0..MAX_ROUNDS {
        let control = RawControl {
            ctype: OID.to_owned(),
            crit: true,
            val: Some(request_value(&found.cookie)),
        };
        let result = ldap
            .with_controls(vec![control])
            .with_timeout(request.timeout)
            .search(domain, Scope::Subtree, filter, attrs)
            .await
            .map_err(|e| malformed(format!("DirSync search failed: {e}")))?;
        stats.pages += 1;
        let (entries, done) = (result.0, result.1);
        if done.rc != 0 {
            return Err(ExtractError::Search {
                host: host.to_owned(),
                base: domain.to_owned(),
                rc: done.rc,
                diagnostic: done.text.trim_end_matches(['\0', '\n']).to_owned(),
            });
        }
        for entry in entries {
            let entry = SearchEntry::construct(entry);
            stats.entries += 1;
            // ldap3 keeps an attribute whose values are all UTF-8 as text.
            let raw = entry
                .bin_attrs
                .get("objectGUID")
                .and_then(|v| v.first().cloned())
                .or_else(|| {
                    entry
                        .attrs
                        .get("objectGUID")
                        .and_then(|v| v.first())
                        .map(|s| s.as_bytes().to_vec())
                });
            let Some(guid) = raw
                .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
                .map(Guid)
            else {
                return Err(malformed(format!(
                    "DirSync returned '{}' without an objectGUID",
                    entry.dn
                )));
            };
            let deleted = entry
                .attrs
                .get("isDeleted")
                .is_some_and(|v| v.iter().any(|x| x.eq_ignore_ascii_case("TRUE")));
            if deleted {
                found.deleted.push(guid);
            } else {
                found.live.push(guid);
            }
        }
        let value = done
            .ctrls
            .iter()
            .find(|c| c.1.ctype == OID)
            .and_then(|c| c.1.val.as_deref())
            .ok_or_else(|| {
                malformed("the DC answered DirSync without a DirSync response control".into())
            })?;
        let (more, next) = response_value(value)
            .ok_or_else(|| malformed("unreadable DirSync response control".into()))?;
        found.cookie = next;
        if !more {
            found.live.sort();
            found.live.dedup();
            found.deleted.sort();
            found.deleted.dedup();
            found
                .live
                .retain(|g| found.deleted.binary_search(g).is_err());
            return Ok(found);
        }
    }
    Err(malformed(format!(
        "DirSync under '{domain}' still had more results after {MAX_ROUNDS} rounds"
    )))
}

/// `(|(objectGUID=\xx…)…)` for `guids`, to read changed objects whole.
pub(crate) fn guid_filter(guids: &[Guid]) -> String {
    let mut out = String::from("(|");
    for g in guids {
        out.push_str("(objectGUID=");
        for b in g.0 {
            out.push_str(&format!("\\{b:02x}"));
        }
        out.push(')');
    }
    out.push(')');
    out
}

/// Cookie bytes as they are kept in the state (lower-case hex).
pub(crate) fn to_hex(cookie: &[u8]) -> String {
    cookie.iter().map(|b| format!("{b:02x}")).collect()
}

/// The kept cookie's bytes; `None` when it is not hex (a state edited by hand).
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_encode_and_decode() {
        assert_eq!(
            request_value(b"ab"),
            vec![0x30, 0x0a, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x04, 0x02, b'a', b'b']
        );
        let long = vec![7u8; 300];
        let v = request_value(&long);
        assert_eq!(&v[..4], &[0x30, 0x82, 0x01, 0x36]);
        let response = [
            0x30, 0x0a, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x04, 0x02, b'c', b'd',
        ];
        assert_eq!(response_value(&response), Some((true, b"cd".to_vec())));
        assert_eq!(response_value(&[0x30, 0x01]), None);
        assert_eq!(from_hex(&to_hex(&[0, 255, 16])), Some(vec![0, 255, 16]));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(
            guid_filter(&[Guid([1; 16])]),
            format!("(|(objectGUID={}))", "\\01".repeat(16))
        );
    }
}
