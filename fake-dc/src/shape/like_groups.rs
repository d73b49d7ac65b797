//! The groups of `generate --like`: sizes drawn inside each bucket (exact past 1,500),
//! kinds, mail, the nesting (one chain as long as the longest, the cycles, extra groups
//! holding one group each), foreign principals, members from other domains, then users
//! of the group's own domain up to its size.

use serde_json::json;

use super::like::DomainView;
use super::Shape;
use crate::fixture::Rng;

struct Planned {
    domain: usize,
    size: u64,
    members: Vec<String>,
}

/// `(low, high)` of a size bucket's key (`"2-9"`, `"1"`, `"50000+"`).
fn bucket_range(key: &str) -> (u64, u64) {
    if let Some(low) = key.strip_suffix('+') {
        let low = low.parse().unwrap_or(0);
        return (low, low.saturating_mul(2));
    }
    match key.split_once('-') {
        Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(0)),
        None => {
            let n = key.parse().unwrap_or(0);
            (n, n)
        }
    }
}

fn sizes(shape: &Shape, domains: usize, rng: &mut Rng) -> Vec<u64> {
    let n = domains as u64;
    let mut past = shape.groups.past_range.clone().into_iter();
    let mut out = Vec::new();
    for (key, count) in &shape.groups.sizes {
        // Domain Admins holds one member, the other four built-in groups none.
        let builtin = match key.as_str() {
            "0" => 4 * n,
            "1" => n,
            _ => 0,
        };
        let (low, high) = bucket_range(key);
        for _ in 0..count.saturating_sub(builtin) {
            let size = if low > 1500 {
                past.next().unwrap_or(low)
            } else {
                // Log-uniform within the bucket: most groups near its low end.
                let (l, h) = (low.max(1) as f64, high.max(1) as f64);
                ((l * (h / l).powf(rng.unit())).round() as u64).clamp(low, high)
            };
            out.push(size);
        }
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    out
}

pub(super) fn groups(shape: &Shape, domains: &mut [DomainView<'_>], rng: &mut Rng) {
    let n = domains.len();
    let mut quota: Vec<u64> = shape
        .domains
        .iter()
        .map(|d| d.groups.saturating_sub(super::like::SKELETON_GROUPS))
        .collect();
    // Largest groups first, each into the domain with the most users that still takes
    // groups, so a group past 1,500 finds its members at home.
    let mut plan: Vec<Planned> = Vec::new();
    for size in sizes(shape, n, rng) {
        let Some(d) = (0..n)
            .filter(|&d| quota[d] > 0)
            .max_by_key(|&d| (domains[d].users.len(), std::cmp::Reverse(d)))
        else {
            break;
        };
        quota[d] -= 1;
        plan.push(Planned {
            domain: d,
            size,
            members: Vec::new(),
        });
    }
    nest(shape, &mut plan, domains);
    foreign(shape, &mut plan);
    cross_domain(shape, &mut plan, domains);
    let mut kinds: Vec<String> = Vec::new();
    for (kind, count) in &shape.groups.kinds {
        let builtin = if kind == "security/global" {
            super::like::SKELETON_GROUPS * n as u64
        } else {
            0
        };
        kinds.extend(std::iter::repeat_n(
            kind.clone(),
            count.saturating_sub(builtin) as usize,
        ));
    }
    let mut mail = shape.groups.mail_enabled;
    let mut cursor = vec![0usize; n];
    for (i, g) in plan.into_iter().enumerate() {
        let users = &domains[g.domain].users;
        let mut members = g.members;
        let want = (g.size as usize)
            .saturating_sub(members.len())
            .min(users.len());
        if want > 0 {
            let start = cursor[g.domain] % users.len();
            cursor[g.domain] += want;
            members.extend((0..want).map(|k| users[(start + k) % users.len()].clone()));
        }
        let (kind, scope) = kinds
            .get(i)
            .and_then(|k| k.split_once('/'))
            .unwrap_or(("distribution", "universal"));
        let mut spec = json!({
            "cn": group_name(i),
            "type": kind,
            "scope": scope,
            "members": members,
        });
        if mail > 0 {
            mail -= 1;
            spec["mail"] = json!(format!("group{i}@group.like.test"));
        }
        domains[g.domain].groups.push(spec);
    }
}

fn group_name(i: usize) -> String {
    format!("Group {i}")
}

/// Nesting: the cycles as rings, a chain above the first ring as long as the shape's
/// longest (a ring counts its groups once each), then groups holding one leaf group each.
/// Groups of one domain are preferred; a group of another is named by its DN.
fn nest(shape: &Shape, plan: &mut [Planned], domains: &[DomainView<'_>]) {
    let g = &shape.groups;
    let Some(home) =
        (0..domains.len()).max_by_key(|d| plan.iter().filter(|p| p.domain == *d).count())
    else {
        return;
    };
    // Smallest groups that can hold one member first: the large ones keep their users.
    let mut free: Vec<usize> = (0..plan.len()).filter(|&i| plan[i].size >= 1).collect();
    free.sort_by_key(|&i| (plan[i].domain != home, plan[i].size));
    let mut take = |k: usize| -> Vec<usize> { free.drain(..k.min(free.len())).collect() };
    let name = |plan: &[Planned], holder: usize, member: usize| -> String {
        if plan[holder].domain == plan[member].domain {
            group_name(member)
        } else {
            format!(
                "CN={},CN=Users,{}",
                group_name(member),
                domains[plan[member].domain].dn
            )
        }
    };
    let mut rings: Vec<Vec<usize>> = Vec::new();
    if let Some(per) = g.groups_in_cycles.checked_div(g.cycles) {
        let per = per.max(2) as usize;
        let mut left = g.groups_in_cycles as usize;
        for c in 0..g.cycles {
            let k = if c + 1 == g.cycles {
                left
            } else {
                per.min(left)
            };
            left -= k;
            let ring = take(k);
            for (i, &a) in ring.iter().enumerate() {
                if ring.len() > 1 {
                    let b = ring[(i + 1) % ring.len()];
                    let member = name(plan, a, b);
                    plan[a].members.push(member);
                }
            }
            rings.push(ring);
        }
    }
    let top_ring = rings.first().cloned().unwrap_or_default();
    let mut chain = take((g.max_nesting_depth as usize).saturating_sub(top_ring.len()));
    chain.extend(top_ring.first());
    for pair in chain.windows(2) {
        let member = name(plan, pair[0], pair[1]);
        plan[pair[0]].members.push(member);
    }
    let holders = chain.len().saturating_sub(1) + g.groups_in_cycles as usize;
    let extra = (g.nesting_groups as usize).saturating_sub(holders);
    for _ in 0..extra {
        let pair = take(2);
        if let [a, b] = pair[..] {
            let member = name(plan, a, b);
            plan[a].members.push(member);
        }
    }
}

/// Foreign security principals: one SID each, their memberships spread over groups.
fn foreign(shape: &Shape, plan: &mut [Planned]) {
    let c = &shape.cross_domain;
    let principals = c.foreign_security_principals.max(1);
    let mut slots = plan.iter_mut().filter(|p| p.size > p.members.len() as u64);
    for m in 0..c.foreign_memberships {
        let Some(p) = slots.next() else { return };
        let rid = 1100 + (m % principals);
        p.members
            .push(format!("S-1-5-21-1111111111-2222222222-3333333333-{rid}"));
    }
}

/// Members from another domain of the forest, spread over as many groups as the shape.
fn cross_domain(shape: &Shape, plan: &mut [Planned], domains: &[DomainView<'_>]) {
    let c = &shape.cross_domain;
    if domains.len() < 2 || c.groups == 0 {
        return;
    }
    let per = (c.members / c.groups).max(1) as usize;
    let mut left = c.members as usize;
    let mut groups = 0;
    for p in plan.iter_mut() {
        if groups == c.groups || left == 0 {
            break;
        }
        let other = (p.domain + 1) % domains.len();
        let room = (p.size as usize).saturating_sub(p.members.len());
        let k = per.min(left).min(room).min(domains[other].users.len());
        if k == 0 {
            continue;
        }
        for user in &domains[other].users[..k] {
            p.members
                .push(format!("{}\\{user}", domains[other].netbios));
        }
        left -= k;
        groups += 1;
    }
}
