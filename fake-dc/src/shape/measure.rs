//! Measuring a directory: one pass over the domains' naming contexts.

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::directory::{Directory, EntryId};
use crate::schema::{group_type, ObjectKind};

/// A user's account state, as the fixture format names it.
pub type AccountStateName = &'static str;

/// The state a user's attributes put it in, the way a bind sees it (the directory's
/// own rules), in the order AD reports them: disabled, locked out, expired, must change,
/// password expired.
pub fn account_state(dir: &Directory, id: EntryId) -> AccountStateName {
    if dir.is_disabled(id) {
        "disabled"
    } else if dir.is_locked_out(id) {
        "locked-out"
    } else if dir.account_expired(id) {
        "account-expired"
    } else if dir.must_change_password(id) {
        "must-change-password"
    } else if dir.password_expired(id) {
        "password-expired"
    } else {
        "enabled"
    }
}

/// The classes of special character a name can hold; each name counts once per class.
fn special_classes(name: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (class, hit) in [
        ("comma", name.contains(',')),
        ("plus", name.contains('+')),
        ("equals", name.contains('=')),
        ("semicolon", name.contains(';')),
        ("quote", name.contains('"')),
        ("backslash", name.contains('\\')),
        ("angle-bracket", name.contains(['<', '>'])),
        ("leading-hash", name.starts_with('#')),
        ("edge-space", name.starts_with(' ') || name.ends_with(' ')),
        ("apostrophe", name.contains('\'')),
        ("ampersand", name.contains('&')),
        ("non-ascii", !name.is_ascii()),
        (
            "cjk",
            name.chars().any(|c| ('\u{3400}'..='\u{9FFF}').contains(&c)),
        ),
    ] {
        if hit {
            out.push(class);
        }
    }
    out
}

fn group_kind(dir: &Directory, id: EntryId) -> String {
    let t = dir.entry(id).get_int("groupType").unwrap_or(0) as i32;
    let kind = if t & group_type::SECURITY != 0 {
        "security"
    } else {
        "distribution"
    };
    let scope = if t & group_type::UNIVERSAL != 0 {
        "universal"
    } else if t & group_type::DOMAIN_LOCAL != 0 {
        "domain-local"
    } else {
        "global"
    };
    format!("{kind}/{scope}")
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) * p) / 100]
}

pub(super) fn measure(dir: &Directory) -> Shape {
    let mut objects: BTreeMap<String, u64> = BTreeMap::new();
    let mut states: BTreeMap<String, u64> = BTreeMap::new();
    let mut ou_depth: BTreeMap<u32, u64> = BTreeMap::new();
    let mut aliases: BTreeMap<u32, u64> = BTreeMap::new();
    let mut special: BTreeMap<String, u64> = BTreeMap::new();
    let mut prefixes: BTreeMap<String, u64> = BTreeMap::new();
    let mut claims: HashMap<String, Vec<EntryId>> = HashMap::new();
    let mut dn_lengths = Vec::new();
    let mut groups: Vec<EntryId> = Vec::new();
    let mut domains = Vec::new();
    let (mut with_mail, mut without_mail, mut other_primary) = (0, 0, 0);
    let (mut lists, mut scoped_lists, mut fsps) = (0, 0, 0);
    let root_labels = dir
        .domains
        .first()
        .map_or(0, |d| d.dns_name.split('.').count());
    for d in &dir.domains {
        let head = d.head;
        let head_len = dir.dn_str(head).chars().count();
        let mut counts = DomainShape {
            level: d.dns_name.split('.').count().saturating_sub(root_labels) as u32,
            users: 0,
            groups: 0,
            contacts: 0,
            ous: 0,
        };
        for id in dir.scope(head, crate::directory::Scope::Subtree) {
            let e = dir.entry(id);
            if e.deleted || id == head {
                continue;
            }
            *objects.entry(e.kind.class_name().to_string()).or_default() += 1;
            // The DN without `,DC=…` of the naming context.
            dn_lengths.push(dir.dn_str(id).chars().count().saturating_sub(head_len + 1) as u64);
            for class in special_classes(e.rdn.value()) {
                *special.entry(class.to_string()).or_default() += 1;
            }
            let mut smtp = Vec::new();
            if let Some(m) = e.get_str("mail") {
                smtp.push(m.to_lowercase());
            }
            for p in e.get_strs("proxyAddresses") {
                let prefix = p.split_once(':').map_or("", |(pre, _)| pre);
                *prefixes.entry(prefix.to_string()).or_default() += 1;
                if prefix.eq_ignore_ascii_case("smtp") {
                    smtp.push(p[5..].to_lowercase());
                }
            }
            smtp.sort();
            smtp.dedup();
            for a in smtp {
                claims.entry(a).or_default().push(id);
            }
            match e.kind {
                ObjectKind::User => {
                    counts.users += 1;
                    *states
                        .entry(account_state(dir, id).to_string())
                        .or_default() += 1;
                    let n = e
                        .get_strs("proxyAddresses")
                        .iter()
                        .filter(|p| p.starts_with("smtp:"))
                        .count() as u32;
                    *aliases.entry(n).or_default() += 1;
                    if e.get("mail").is_some() {
                        with_mail += 1;
                    } else {
                        without_mail += 1;
                    }
                    if e.get_int("primaryGroupID").is_some_and(|g| g != 513) {
                        other_primary += 1;
                    }
                }
                ObjectKind::Group => {
                    counts.groups += 1;
                    groups.push(id);
                }
                ObjectKind::Contact => counts.contacts += 1,
                ObjectKind::OrganizationalUnit => {
                    counts.ous += 1;
                    let mut depth = 0;
                    let mut cur = Some(id);
                    while let Some(c) = cur.filter(|c| *c != head) {
                        if dir.entry(c).kind == ObjectKind::OrganizationalUnit {
                            depth += 1;
                        }
                        cur = dir.entry(c).parent;
                    }
                    *ou_depth.entry(depth).or_default() += 1;
                }
                ObjectKind::DynamicList => {
                    lists += 1;
                    let base = e.get_str("msExchDynamicDLBaseDN").unwrap_or_default();
                    if !base.eq_ignore_ascii_case(dir.dn_str(head)) {
                        scoped_lists += 1;
                    }
                }
                ObjectKind::ForeignSecurityPrincipal => fsps += 1,
                _ => {}
            }
        }
        domains.push(counts);
    }
    let group_shape = measure_groups(dir, &groups, other_primary);
    let duplicates: Vec<&Vec<EntryId>> = claims.values().filter(|v| v.len() > 1).collect();
    let mut claimants: Vec<EntryId> = duplicates.iter().flat_map(|v| v.iter().copied()).collect();
    claimants.sort();
    claimants.dedup();
    dn_lengths.sort_unstable();
    Shape {
        format: SHAPE_FORMAT.into(),
        domains,
        objects,
        account_states: states,
        ou_depth,
        groups: group_shape,
        aliases_per_user: aliases,
        addresses: AddressShape {
            users_with_mail: with_mail,
            users_without_mail: without_mail,
            duplicates: duplicates.len() as u64,
            objects_with_duplicates: claimants.len() as u64,
            proxy_prefixes: prefixes,
        },
        special_characters: special,
        dn_length: DnLength {
            max: dn_lengths.last().copied().unwrap_or(0),
            p50: percentile(&dn_lengths, 50),
            p95: percentile(&dn_lengths, 95),
        },
        cross_domain: cross_domain(dir, &groups, fsps),
        dynamic_lists: DynamicLists {
            count: lists,
            scoped: scoped_lists,
        },
    }
}

fn measure_groups(dir: &Directory, groups: &[EntryId], other_primary: u64) -> GroupShape {
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut past_range = Vec::new();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let (mut mail_enabled, mut nesting_groups) = (0, 0);
    let position: HashMap<EntryId, usize> =
        groups.iter().enumerate().map(|(i, g)| (*g, i)).collect();
    let mut edges = vec![Vec::new(); groups.len()];
    for (i, g) in groups.iter().enumerate() {
        let e = dir.entry(*g);
        let size = e.members.len() as u64;
        *sizes.entry(size_bucket(size)).or_default() += 1;
        if size > 1500 {
            past_range.push(size);
        }
        *kinds.entry(group_kind(dir, *g)).or_default() += 1;
        if e.get("mail").is_some() {
            mail_enabled += 1;
        }
        edges[i] = e
            .members
            .iter()
            .filter_map(|m| position.get(m).copied())
            .collect();
        if !edges[i].is_empty() {
            nesting_groups += 1;
        }
    }
    past_range.sort_unstable_by(|a, b| b.cmp(a));
    let nesting = graph::nesting(&edges);
    GroupShape {
        sizes,
        past_range,
        kinds,
        mail_enabled,
        nesting_groups,
        max_nesting_depth: nesting.max_depth,
        cycles: nesting.cycles,
        groups_in_cycles: nesting.groups_in_cycles,
        other_primary_groups: other_primary,
    }
}

fn cross_domain(dir: &Directory, groups: &[EntryId], fsps: u64) -> CrossDomain {
    let (mut members, mut with, mut foreign) = (0, 0, 0);
    for g in groups {
        let home = dir.naming_context(*g);
        let mut crossing = false;
        for m in &dir.entry(*g).members {
            if dir.entry(*m).kind == ObjectKind::ForeignSecurityPrincipal {
                foreign += 1;
            } else if dir.naming_context(*m) != home {
                members += 1;
                crossing = true;
            }
        }
        with += u64::from(crossing);
    }
    CrossDomain {
        members,
        groups: with,
        foreign_security_principals: fsps,
        foreign_memberships: foreign,
    }
}
