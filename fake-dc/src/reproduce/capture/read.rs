//! The searches a careful AD client makes: paged at the server's page limit, `member`
//! completed by ranged retrieval, entries read as raw bytes (binary objectGUID and
//! objectSid as they are) without trusting the peer.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use ldap3::adapters::EntriesOnly;
use ldap3::asn1::{parse_tag, StructureTag, PL};
use ldap3::controls::{PagedResults, RawControl};
use ldap3::{Ldap, Scope};

use super::CaptureError;

/// The paged results control (RFC 2696).
const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";

/// A value larger than this is a broken peer, not a directory value.
const MAX_VALUE_BYTES: usize = 64 << 20;

/// Most ranged chunks for one group: 100,000,000 members at AD's 1,500 a chunk would
/// be 66,667; a server that never ends its ranges stops here.
const MAX_RANGE_STEPS: usize = 100_000;

/// An entry as the server sent it.
pub struct RawEntry {
    pub dn: String,
    /// Attribute descriptions (options such as `;range=0-1499` included) and values.
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl RawEntry {
    /// Reads a SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName, attributes }`).
    fn parse(tag: StructureTag) -> Result<Self, String> {
        let mut parts = tag
            .match_id(4)
            .and_then(StructureTag::expect_constructed)
            .ok_or("not a search result entry")?
            .into_iter();
        let dn = parts
            .next()
            .and_then(StructureTag::expect_primitive)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("an entry without a UTF-8 DN")?;
        let list = parts
            .next()
            .and_then(StructureTag::expect_constructed)
            .ok_or_else(|| format!("'{dn}': no attribute list"))?;
        let mut attrs = Vec::with_capacity(list.len());
        for attribute in list {
            let mut pair = attribute
                .expect_constructed()
                .ok_or_else(|| format!("'{dn}': a malformed attribute"))?
                .into_iter();
            let name = pair
                .next()
                .and_then(StructureTag::expect_primitive)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| format!("'{dn}': an attribute without a name"))?;
            let values = match pair.next().map(|set| set.payload) {
                Some(PL::C(values)) => values
                    .into_iter()
                    .map(|v| match v.payload {
                        PL::P(b) if b.len() > MAX_VALUE_BYTES => {
                            Err(format!("'{dn}': {name}: a value of {} bytes", b.len()))
                        }
                        PL::P(b) => Ok(b),
                        PL::C(_) => Err(format!("'{dn}': {name}: a constructed value")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(format!("'{dn}': {name}: no value set")),
            };
            attrs.push((name, values));
        }
        Ok(RawEntry { dn, attrs })
    }

    /// The next ranged chunk to ask for, when `member` came as `member;range=A-B` with
    /// B not `*`: B + 1.
    pub fn member_range_next(&self) -> Option<usize> {
        self.attrs.iter().find_map(|(d, _)| {
            let (name, options) = d.split_once(';')?;
            if !name.eq_ignore_ascii_case("member") {
                return None;
            }
            let (_, high) = parse_range(options)?;
            high.map(|h| h + 1)
        })
    }
}

/// `range=1500-2999` → (1500, Some(2999)); `range=1500-*` → (1500, None).
fn parse_range(options: &str) -> Option<(usize, Option<usize>)> {
    let spec = options.split(';').find_map(|o| {
        let lower = o.to_ascii_lowercase();
        lower.strip_prefix("range=").map(str::to_string)
    })?;
    let (low, high) = spec.split_once('-')?;
    let low = low.trim().parse().ok()?;
    let high = match high.trim() {
        "*" => None,
        h => Some(h.parse().ok()?),
    };
    Some((low, high))
}

/// The cookie of a paged results response value (`SEQUENCE { size, cookie }`).
fn paged_cookie(value: &[u8]) -> Option<Vec<u8>> {
    let (_, tag) = parse_tag(value).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    parts.next()?;
    parts.next()?.expect_primitive()
}

/// The search settings every page shares.
pub struct Search<'a> {
    pub base: &'a str,
    pub scope: Scope,
    pub filter: &'a str,
    pub attrs: &'a [&'a str],
    /// Controls besides paging (Show Deleted).
    pub controls: Vec<RawControl>,
    /// `None`: the server does not page; one unpaged search.
    pub page_size: Option<i32>,
    pub timeout: Duration,
}

/// Runs a search page by page, handing each entry over; returns the pages read.
pub async fn paged(
    ldap: &mut Ldap,
    s: &Search<'_>,
    mut on_entry: impl FnMut(RawEntry),
) -> Result<usize, CaptureError> {
    let mut cookie = Vec::new();
    let mut pages = 0usize;
    // A server whose paging never ends sends entries again: remember each DN by a hash.
    let mut seen: HashSet<u64> = HashSet::new();
    loop {
        pages += 1;
        let mut controls = s.controls.clone();
        if let Some(size) = s.page_size {
            controls.push(
                PagedResults {
                    size,
                    cookie: std::mem::take(&mut cookie),
                }
                .into(),
            );
        }
        let mut stream = ldap
            .with_controls(controls)
            .with_timeout(s.timeout)
            .streaming_search_with(EntriesOnly::new(), s.base, s.scope, s.filter, s.attrs)
            .await
            .map_err(CaptureError::ldap("search"))?;
        let mut repeated = None;
        while let Some(entry) = stream.next().await.map_err(CaptureError::ldap("search"))? {
            let entry = RawEntry::parse(entry.0).map_err(CaptureError::Malformed)?;
            if !seen.insert(hash(&entry.dn)) && repeated.is_none() {
                repeated = Some(entry.dn.clone());
            }
            on_entry(entry);
        }
        let result = stream.finish().await;
        if let Some(dn) = repeated {
            return Err(CaptureError::Malformed(format!(
                "the paged search under '{}' returned '{dn}' twice: the server's paging does not end",
                s.base
            )));
        }
        if result.rc != 0 {
            return Err(CaptureError::Search {
                base: s.base.to_string(),
                rc: result.rc,
                text: result.text.trim_end_matches(['\0', '\n']).to_string(),
            });
        }
        let returned = result
            .ctrls
            .iter()
            .find(|c| c.1.ctype == PAGED_RESULTS_OID)
            .and_then(|c| c.1.val.as_deref());
        cookie = match returned {
            Some(v) => paged_cookie(v).ok_or_else(|| {
                CaptureError::Malformed("an unreadable paged results control".into())
            })?,
            None => Vec::new(),
        };
        if cookie.is_empty() || s.page_size.is_none() {
            return Ok(pages);
        }
    }
}

fn hash(dn: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dn.to_ascii_lowercase().hash(&mut h);
    h.finish()
}

/// Completes a ranged `member` with base searches for `member;range=N-*` until a chunk
/// ends in `*`; the chunks replace the ranged attribute with one plain `member`.
pub async fn complete_members(
    ldap: &mut Ldap,
    entry: &mut RawEntry,
    first_next: usize,
    timeout: Duration,
) -> Result<usize, CaptureError> {
    let mut members: Vec<Vec<u8>> = Vec::new();
    entry.attrs.retain_mut(|(d, values)| {
        let is_member = d
            .split(';')
            .next()
            .is_some_and(|n| n.eq_ignore_ascii_case("member"));
        if is_member {
            members.append(values);
        }
        !is_member
    });
    let mut next = Some(first_next);
    let mut steps = 0;
    while let Some(from) = next {
        steps += 1;
        if steps > MAX_RANGE_STEPS {
            return Err(CaptureError::Malformed(format!(
                "'{}': more than {MAX_RANGE_STEPS} ranged chunks of member",
                entry.dn
            )));
        }
        let attr = format!("member;range={from}-*");
        let search = Search {
            base: &entry.dn,
            scope: Scope::Base,
            filter: "(objectClass=*)",
            attrs: &[&attr],
            controls: Vec::new(),
            page_size: None,
            timeout,
        };
        let mut chunk = None;
        paged(ldap, &search, |e| {
            chunk = e.attrs.into_iter().find_map(|(d, values)| {
                let (name, options) = d.split_once(';')?;
                name.eq_ignore_ascii_case("member")
                    .then(|| parse_range(options).map(|r| (r, values)))
                    .flatten()
            });
        })
        .await?;
        let Some(((low, high), values)) = chunk else {
            return Err(CaptureError::Malformed(format!(
                "'{}': asked for member;range={from}-* and got no range",
                entry.dn
            )));
        };
        if low != from {
            return Err(CaptureError::Malformed(format!(
                "'{}': asked for member;range={from}-* and got {low}-",
                entry.dn
            )));
        }
        members.extend(values);
        next = high.map(|h| h + 1);
    }
    entry.attrs.push(("member".to_string(), members));
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_cookies_read_as_ad_writes_them() {
        assert_eq!(parse_range("range=0-1499"), Some((0, Some(1499))));
        assert_eq!(parse_range("Range=1500-*"), Some((1500, None)));
        assert_eq!(parse_range("binary"), None);
        assert_eq!(
            paged_cookie(&[0x30, 0x07, 0x02, 0x01, 0x00, 0x04, 0x02, b'a', b'b']),
            Some(b"ab".to_vec())
        );
        assert_eq!(paged_cookie(&[0x30, 0x05, 0x02]), None);
    }
}
