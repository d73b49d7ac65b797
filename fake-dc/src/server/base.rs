//! Resolving a search's base the way AD does: a DN, `<GUID=…>` or `<SID=…>`; the
//! forest's naming contexts for a Global Catalog or phantom-root search of ""; referrals
//! for domains this DC does not hold; noSuchObject with the best match; and the
//! continuation references a subtree search returns.

use super::errors::LdapError;
use crate::directory::{Directory, EntryId, Guid, Scope, Sid};
use crate::dn::Dn;

/// What a search runs over once its base is resolved.
pub(super) struct Plan {
    /// (base, scope) pairs: one for a normal search, one per naming context for the forest.
    pub targets: Vec<(EntryId, Scope)>,
    /// Continuation references (RFC 4511 §4.5.3) to send after the entries.
    pub references: Vec<String>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `<GUID=…>` and `<SID=…>` bases (hex of the binary form, or the string form).
fn special_base(dir: &Directory, inner: &str) -> Option<Option<EntryId>> {
    let (kind, value) = inner.split_once('=')?;
    Some(if kind.eq_ignore_ascii_case("GUID") {
        let guid = Guid::parse(value).or_else(|| {
            unhex(value)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(Guid)
        });
        guid.and_then(|g| dir.by_guid(&g))
    } else if kind.eq_ignore_ascii_case("SID") {
        let sid = Sid::parse(value).or_else(|| unhex(value).and_then(|b| Sid::from_bytes(&b)));
        sid.and_then(|s| dir.by_sid(&s))
    } else {
        None
    })
}

/// Resolves the base and works out what to search and which references to return.
pub(super) fn plan(
    dir: &Directory,
    base: &str,
    scope: Scope,
    forest: bool,
    own_domain: usize,
    show_deleted: bool,
    identity: EntryId,
) -> Result<Plan, LdapError> {
    if base.is_empty() {
        if !forest {
            // A DC holds no object named "": only the rootDSE (base scope) lives there.
            return Err(LdapError::no_such_object(""));
        }
        let mut heads: Vec<EntryId> = dir.domains.iter().map(|d| d.head).collect();
        heads.extend(dir.configuration);
        heads.extend(dir.schema);
        let targets = heads
            .into_iter()
            .map(|h| {
                (
                    h,
                    if scope == Scope::Subtree {
                        Scope::Subtree
                    } else {
                        Scope::Base
                    },
                )
            })
            .collect();
        return Ok(Plan {
            targets,
            references: Vec::new(),
        });
    }
    let holds = |head: EntryId| {
        forest
            || dir
                .domains
                .iter()
                .position(|d| d.head == head)
                .is_none_or(|i| i == own_domain)
    };
    let id = if let Some(inner) = base.strip_prefix('<').and_then(|b| b.strip_suffix('>')) {
        match special_base(dir, inner) {
            Some(Some(id)) => id,
            Some(None) => return Err(LdapError::no_such_object("")),
            None => return Err(LdapError::invalid_dn(base)),
        }
    } else {
        let dn = Dn::parse(base).map_err(|_| LdapError::invalid_dn(base))?;
        match dir.lookup(&dn) {
            Some(id) => id,
            None => {
                // Not here: in a domain this DC does not hold → referral; under no naming
                // context at all → a referral to the DNS name its DC= components spell
                // (AD's superior referral); otherwise noSuchObject with the best match.
                let owner = dir
                    .domains
                    .iter()
                    .filter(|d| dn.is_within(&dir.dn(d.head)))
                    .max_by_key(|d| dir.dn(d.head).rdns.len());
                if let Some(d) = owner {
                    if !holds(d.head) {
                        return Err(LdapError::referral(&d.dns_name, &dn.to_string()));
                    }
                }
                return match dir.best_match(&dn) {
                    Some(m) if !dir.entry(m).deleted || show_deleted => {
                        Err(LdapError::no_such_object(dir.dn_str(m)))
                    }
                    Some(_) => Err(LdapError::no_such_object("")),
                    None => {
                        let dc: Vec<&str> = dn
                            .rdns
                            .iter()
                            .rev()
                            .take_while(|r| r.attr().eq_ignore_ascii_case("dc"))
                            .map(|r| r.value())
                            .collect();
                        if dc.is_empty() {
                            Err(LdapError::no_such_object(""))
                        } else {
                            let dns: Vec<&str> = dc.into_iter().rev().collect();
                            Err(LdapError::referral(&dns.join("."), &dn.to_string()))
                        }
                    }
                };
            }
        }
    };
    let head = dir.naming_context(id);
    if !holds(head) {
        let dns = dir
            .domain_of(id)
            .map(|d| d.dns_name.clone())
            .unwrap_or_default();
        return Err(LdapError::referral(&dns, dir.dn_str(id)));
    }
    let hidden = (dir.entry(id).deleted && !show_deleted) || !dir.can_start_at(identity, id);
    if hidden {
        let best = dir
            .dn(id)
            .parent()
            .and_then(|p| dir.lookup(&p).or_else(|| dir.best_match(&p)));
        return Err(LdapError::no_such_object(
            &best.map(|b| dir.dn_str(b).to_string()).unwrap_or_default(),
        ));
    }
    let references = if scope == Scope::Subtree && !forest {
        continuation_references(dir, id)
    } else {
        Vec::new()
    };
    Ok(Plan {
        targets: vec![(id, scope)],
        references,
    })
}

/// Naming contexts below `base` that a subtree search does not descend into: AD returns
/// a continuation reference for each (Configuration, DomainDnsZones, ForestDnsZones,
/// child domains), but not for those nested in another (Schema under Configuration).
fn continuation_references(dir: &Directory, base: EntryId) -> Vec<String> {
    let base_dn = dir.dn(base);
    let own = dir.naming_context(base);
    let below: Vec<(EntryId, Dn)> = dir
        .naming_contexts()
        .into_iter()
        .filter(|h| *h != own)
        .map(|h| (h, dir.dn(h)))
        .filter(|(_, dn)| dn.is_within(&base_dn))
        .collect();
    let root_dns = dir
        .root_domain()
        .map(|d| d.dns_name.clone())
        .unwrap_or_default();
    below
        .iter()
        .filter(|(h, dn)| !below.iter().any(|(o, odn)| o != h && dn.is_within(odn)))
        .map(|(h, dn)| {
            let host = if let Some(d) = dir.domains.iter().find(|d| d.head == *h) {
                d.dns_name.clone()
            } else if dir.dns_zones.contains(h) {
                format!("{}.{root_dns}", dir.entry(*h).rdn.value())
            } else {
                root_dns.clone()
            };
            format!("ldap://{host}/{dn}")
        })
        .collect()
}
