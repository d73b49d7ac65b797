//! The shape as text: one section per measure, counts right-aligned.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Shape;

fn counts<K: std::fmt::Display>(out: &mut String, title: &str, map: &BTreeMap<K, u64>) {
    let _ = writeln!(out, "{title}");
    if map.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    // A long key (msExchDynamicDistributionList) widens its table rather than pushing
    // its own count out of the column.
    let width = map
        .keys()
        .map(|k| k.to_string().chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    for (k, v) in map {
        let _ = writeln!(out, "  {k:<width$} {v:>9}");
    }
}

pub(super) fn render(s: &Shape) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Shape: {} domain(s), {} users, {} groups",
        s.domains.len(),
        s.users(),
        s.domains.iter().map(|d| d.groups).sum::<u64>()
    );
    for (i, d) in s.domains.iter().enumerate() {
        let _ = writeln!(
            out,
            "  domain {} (level {}): {} users, {} groups, {} contacts, {} OUs",
            i + 1,
            d.level,
            d.users,
            d.groups,
            d.contacts,
            d.ous
        );
    }
    counts(&mut out, "Objects by class", &s.objects);
    counts(&mut out, "Users by account state", &s.account_states);
    counts(&mut out, "OUs by depth", &s.ou_depth);
    let g = &s.groups;
    let mut sizes: Vec<(&String, &u64)> = g.sizes.iter().collect();
    // Buckets in size order, not text order ("1500" after "2-9").
    sizes.sort_by_key(|(k, _)| {
        k.split(['-', '+'])
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let _ = writeln!(out, "Groups by direct members");
    for (k, v) in sizes {
        let _ = writeln!(out, "  {k:<24} {v:>9}");
    }
    let past: Vec<String> = g.past_range.iter().map(u64::to_string).collect();
    let _ = writeln!(
        out,
        "  past 1,500 members:      {:>9}  ({})",
        g.past_range.len(),
        if past.is_empty() {
            "none".into()
        } else {
            past.join(", ")
        }
    );
    counts(&mut out, "Groups by kind", &g.kinds);
    let _ = writeln!(out, "Nesting");
    for (k, v) in [
        ("groups holding groups", g.nesting_groups),
        ("max depth", u64::from(g.max_nesting_depth)),
        ("cycles", g.cycles),
        ("groups in cycles", g.groups_in_cycles),
        ("other primary groups", g.other_primary_groups),
        ("mail-enabled groups", g.mail_enabled),
    ] {
        let _ = writeln!(out, "  {k:<24} {v:>9}");
    }
    counts(&mut out, "Users by smtp: aliases", &s.aliases_per_user);
    let a = &s.addresses;
    let _ = writeln!(out, "Addresses");
    for (k, v) in [
        ("users with mail", a.users_with_mail),
        ("users without mail", a.users_without_mail),
        ("duplicate addresses", a.duplicates),
        ("objects claiming them", a.objects_with_duplicates),
    ] {
        let _ = writeln!(out, "  {k:<24} {v:>9}");
    }
    counts(&mut out, "Proxy addresses by prefix", &a.proxy_prefixes);
    counts(
        &mut out,
        "Names with special characters",
        &s.special_characters,
    );
    let _ = writeln!(
        out,
        "DN length below the naming context: max {}, median {}, 95th percentile {}",
        s.dn_length.max, s.dn_length.p50, s.dn_length.p95
    );
    let c = &s.cross_domain;
    let _ = writeln!(out, "Across domains");
    for (k, v) in [
        ("cross-domain members", c.members),
        ("groups holding them", c.groups),
        ("foreign principals", c.foreign_security_principals),
        ("their memberships", c.foreign_memberships),
    ] {
        let _ = writeln!(out, "  {k:<24} {v:>9}");
    }
    let _ = writeln!(
        out,
        "Dynamic lists: {} ({} scoped below the domain)",
        s.dynamic_lists.count, s.dynamic_lists.scoped
    );
    out
}
