//! Pure pieces of the transform stage: directory attribute values in, snapshot values out.
//!
//! The extract stage (LDAP, paging, ranged retrieval) lives elsewhere and calls these;
//! keeping them free of I/O lets the rules SPEC states be tested on their own.

use std::collections::{BTreeMap, BTreeSet};

use crate::address::Address;
use crate::guid::Guid;

/// `userAccountControl` bit `ACCOUNTDISABLE`.
pub const ACCOUNT_DISABLE: u32 = 0x2;

/// Whether a `userAccountControl` value marks the account disabled.
pub fn is_disabled(user_account_control: u32) -> bool {
    user_account_control & ACCOUNT_DISABLE != 0
}

/// A user's or contact's primary address and aliases (SPEC "Transform").
///
/// - Primary: the `proxyAddresses` value with the upper-case `SMTP:` prefix, else `mail`.
/// - Aliases: the `smtp:` values (any other casing of the prefix) other than the primary.
/// - Other prefixes (`X500:`, `SIP:`, `x400:`, …) are not e-mail addresses and are ignored,
///   as are values that do not parse as addresses.
///
/// Where SPEC is silent:
/// - AD does not stop an entry from holding several `SMTP:` values. The one equal to
///   `mail` wins, else the lowest in address order (LDAP returns values unordered, so
///   "the first" would change between runs); the others count as aliases.
/// - `mail` does not become an alias when an `SMTP:` value is the primary: SPEC lists
///   the aliases as the `smtp:` values only.
///
/// `None` when there is no primary: only `smtp:` values and no `mail` make an object
/// with addresses but no address to key it by, which the caller reports.
pub fn addresses(
    mail: Option<&str>,
    proxy_addresses: &[String],
) -> Option<(Address, BTreeSet<Address>)> {
    let mut primaries = BTreeSet::new();
    let mut aliases = BTreeSet::new();
    for value in proxy_addresses {
        let Some((prefix, address)) = value.split_once(':') else {
            continue;
        };
        let Ok(address) = Address::parse(address) else {
            continue;
        };
        if prefix == "SMTP" {
            primaries.insert(address);
        } else if prefix.eq_ignore_ascii_case("smtp") {
            aliases.insert(address);
        }
    }
    let mail = mail.and_then(|mail| Address::parse(mail).ok());
    let primary = match &mail {
        Some(mail) if primaries.contains(mail) => primaries.take(mail),
        _ => primaries.pop_first(),
    }
    .or(mail)?;
    aliases.extend(primaries);
    aliases.remove(&primary);
    Some((primary, aliases))
}

/// The membership facts the extract stage gathered, by GUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// Each group's direct `member` values that resolved to a readable object: users,
    /// contacts and other groups alike. Members the service account cannot see, foreign
    /// security principals and computers may be listed too; they are skipped.
    pub direct: BTreeMap<Guid, BTreeSet<Guid>>,
    /// Each group's users whose `primaryGroupID` equals its `primaryGroupToken`: AD does
    /// not list them in `member`.
    pub primary: BTreeMap<Guid, BTreeSet<Guid>>,
    /// The users and contacts that have an address; only they can be cloud members.
    pub mail_enabled: BTreeSet<Guid>,
}

/// Each group's transitive mail-enabled members (SPEC "Transform": nested groups
/// expanded, primary-group users added, cycles terminate).
///
/// Every group named in `direct` or `primary` gets an entry, possibly empty (an empty
/// group is not a cloud group; the caller decides what to report). A member GUID that is
/// itself a key of either map is a group and is expanded, never listed.
///
/// Works on strongly connected components (Tarjan, iterative so a hostile chain of
/// nested groups cannot overflow the stack): all groups in a cycle share one member set,
/// and each component is computed once from the components it contains.
///
/// Members are numbered by their place among the mail-enabled GUIDs, and a component's
/// set is a sorted list of those numbers: merging lists of 4-byte numbers is several
/// times faster than inserting 16-byte GUIDs into B-trees, which was half the
/// transform's time at 100,000 users. GUIDs come back only in the result.
pub fn group_closure(membership: &Membership) -> BTreeMap<Guid, BTreeSet<Guid>> {
    let groups: Vec<Guid> = membership
        .direct
        .keys()
        .chain(membership.primary.keys())
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<Guid, usize> = groups
        .iter()
        .enumerate()
        .map(|(position, guid)| (*guid, position))
        .collect();
    // Sorted, as the set is: a member's number is its place here.
    let mail_enabled: Vec<Guid> = membership.mail_enabled.iter().copied().collect();

    let mut nested: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    let mut leaves: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
    for (position, guid) in groups.iter().enumerate() {
        let direct = membership.direct.get(guid).into_iter().flatten();
        let primary = membership.primary.get(guid).into_iter().flatten();
        for member in direct.chain(primary) {
            if let Some(&group) = index.get(member) {
                nested[position].push(group);
            } else if let Ok(number) = mail_enabled.binary_search(member) {
                leaves[position].push(number as u32);
            }
        }
    }

    let components = strongly_connected(&nested);
    let mut component_of = vec![0; groups.len()];
    for (component, nodes) in components.iter().enumerate() {
        for &node in nodes {
            component_of[node] = component;
        }
    }
    // Tarjan emits a component only after every component reachable from it, so each
    // one's nested components are finished by the time it is reached.
    let mut members: Vec<Vec<u32>> = Vec::with_capacity(components.len());
    for (component, nodes) in components.iter().enumerate() {
        let mut set = Vec::new();
        for &node in nodes {
            set.extend_from_slice(&leaves[node]);
            for &inner in &nested[node] {
                if component_of[inner] != component {
                    set.extend_from_slice(&members[component_of[inner]]);
                }
            }
        }
        set.sort_unstable();
        set.dedup();
        set.shrink_to_fit();
        members.push(set);
    }

    groups
        .iter()
        .enumerate()
        .map(|(node, guid)| {
            // In order, so the set is built in bulk rather than by inserts.
            let set = members[component_of[node]]
                .iter()
                .map(|&number| mail_enabled[number as usize])
                .collect();
            (*guid, set)
        })
        .collect()
}

/// Strongly connected components of a graph given as adjacency lists, in reverse
/// topological order (a component comes after everything it reaches).
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let count = edges.len();
    let mut order = vec![UNSEEN; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut components = Vec::new();

    for root in 0..count {
        if order[root] != UNSEEN {
            continue;
        }
        // Each frame: a node and how many of its edges have been followed.
        let mut calls = vec![(root, 0usize)];
        order[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(node, followed)) = calls.last() {
            if let Some(&target) = edges[node].get(followed) {
                if let Some(frame) = calls.last_mut() {
                    frame.1 += 1;
                }
                if order[target] == UNSEEN {
                    order[target] = next;
                    low[target] = next;
                    next += 1;
                    stack.push(target);
                    on_stack[target] = true;
                    calls.push((target, 0));
                } else if on_stack[target] {
                    low[node] = low[node].min(order[target]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == order[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn guid(n: u8) -> Guid {
        let mut bytes = [0; 16];
        bytes[15] = n;
        Guid(bytes)
    }

    fn set(members: &[u8]) -> BTreeSet<Guid> {
        members.iter().map(|&n| guid(n)).collect()
    }

    fn check_addresses(mail: Option<&str>, proxies: &[&str], expected: Option<(&str, &[&str])>) {
        let proxies: Vec<String> = proxies.iter().map(|p| (*p).to_owned()).collect();
        let got = addresses(mail, &proxies).map(|(primary, aliases)| {
            (
                primary.original().to_owned(),
                aliases
                    .iter()
                    .map(|a| a.original().to_owned())
                    .collect::<Vec<_>>(),
            )
        });
        let expected = expected.map(|(primary, aliases)| {
            (
                primary.to_owned(),
                aliases.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
            )
        });
        assert_eq!(got, expected, "mail {mail:?}, proxies {proxies:?}");
    }

    #[test]
    fn primary_is_the_upper_case_smtp_value() {
        check_addresses(
            Some("old@corp.test"),
            &[
                "smtp:old@corp.test",
                "SMTP:Alice@Corp.test",
                "smtp:al@corp.test",
            ],
            Some(("Alice@Corp.test", &["al@corp.test", "old@corp.test"])),
        );
    }

    #[test]
    fn primary_falls_back_to_mail() {
        check_addresses(
            Some("alice@corp.test"),
            &["smtp:al@corp.test", "smtp:ALICE@corp.test"],
            Some(("alice@corp.test", &["al@corp.test"])),
        );
        check_addresses(Some("alice@corp.test"), &[], Some(("alice@corp.test", &[])));
    }

    #[test]
    fn other_prefixes_and_garbage_are_ignored() {
        check_addresses(
            None,
            &[
                "X500:/o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=alice",
                "SIP:alice@corp.test",
                "x400:c=US;a= ;p=Corp;o=Exchange;s=Alice",
                "no prefix at all",
                "smtp:not an address",
                "SMTP:alice@corp.test",
            ],
            Some(("alice@corp.test", &[])),
        );
    }

    #[test]
    fn no_primary_means_no_addresses() {
        check_addresses(None, &["smtp:a@corp.test"], None);
        check_addresses(None, &[], None);
        check_addresses(Some("not-an-address"), &[], None);
    }

    #[test]
    fn several_smtp_values_prefer_mail_then_the_lowest() {
        check_addresses(
            Some("z@corp.test"),
            &["SMTP:b@corp.test", "SMTP:Z@corp.test"],
            Some(("Z@corp.test", &["b@corp.test"])),
        );
        check_addresses(
            None,
            &["SMTP:b@corp.test", "SMTP:a@corp.test"],
            Some(("a@corp.test", &["b@corp.test"])),
        );
    }

    #[test]
    fn disabled_is_bit_two() {
        assert!(is_disabled(0x202));
        assert!(!is_disabled(0x200));
    }

    #[test]
    fn nested_groups_are_expanded_and_non_mail_members_dropped() {
        // 10 contains user 1 and group 11; 11 contains user 2, a non-mail object 3 and
        // contact 4.
        let membership = Membership {
            direct: [(guid(10), set(&[1, 11])), (guid(11), set(&[2, 3, 4]))].into(),
            primary: BTreeMap::new(),
            mail_enabled: set(&[1, 2, 4]),
        };
        let closure = group_closure(&membership);
        assert_eq!(closure[&guid(10)], set(&[1, 2, 4]));
        assert_eq!(closure[&guid(11)], set(&[2, 4]));
    }

    #[test]
    fn a_cycle_terminates_and_its_groups_share_members() {
        // 10 → 11 → 12 → 10, each with one user; 13 contains 12 from outside the cycle;
        // 14 contains only itself.
        let membership = Membership {
            direct: [
                (guid(10), set(&[1, 11])),
                (guid(11), set(&[2, 12])),
                (guid(12), set(&[3, 10])),
                (guid(13), set(&[12])),
                (guid(14), set(&[14])),
            ]
            .into(),
            primary: BTreeMap::new(),
            mail_enabled: set(&[1, 2, 3]),
        };
        let closure = group_closure(&membership);
        for group in [10, 11, 12, 13] {
            assert_eq!(closure[&guid(group)], set(&[1, 2, 3]), "group {group}");
        }
        assert_eq!(closure[&guid(14)], BTreeSet::new());
    }

    #[test]
    fn primary_group_users_count_and_propagate_to_enclosing_groups() {
        // 20 is "Domain Users": nobody in `member`, users 1 and 2 by primaryGroupID.
        // 21 nests 20.
        let membership = Membership {
            direct: [(guid(21), set(&[20]))].into(),
            primary: [(guid(20), set(&[1, 2]))].into(),
            mail_enabled: set(&[1]),
        };
        let closure = group_closure(&membership);
        assert_eq!(closure[&guid(20)], set(&[1]));
        assert_eq!(closure[&guid(21)], set(&[1]));
    }

    #[test]
    fn a_deep_chain_does_not_overflow_the_stack() {
        let depth = 20_000u32;
        let id = |n: u32| {
            let mut bytes = [0; 16];
            bytes[12..].copy_from_slice(&n.to_be_bytes());
            Guid(bytes)
        };
        let mut direct = BTreeMap::new();
        for n in 0..depth {
            direct.insert(id(n), BTreeSet::from([id(n + 1)]));
        }
        let membership = Membership {
            direct,
            primary: BTreeMap::new(),
            mail_enabled: BTreeSet::from([id(depth)]),
        };
        let closure = group_closure(&membership);
        assert_eq!(closure[&id(0)], BTreeSet::from([id(depth)]));
    }

    /// Reachability by brute force, for comparison.
    fn naive(membership: &Membership) -> BTreeMap<Guid, BTreeSet<Guid>> {
        let children = |group: &Guid| -> BTreeSet<Guid> {
            let mut all = membership.direct.get(group).cloned().unwrap_or_default();
            all.extend(membership.primary.get(group).into_iter().flatten());
            all
        };
        let is_group =
            |g: &Guid| membership.direct.contains_key(g) || membership.primary.contains_key(g);
        let groups: BTreeSet<Guid> = membership
            .direct
            .keys()
            .chain(membership.primary.keys())
            .copied()
            .collect();
        groups
            .iter()
            .map(|start| {
                let mut seen = BTreeSet::from([*start]);
                let mut todo = vec![*start];
                let mut found = BTreeSet::new();
                while let Some(group) = todo.pop() {
                    for member in children(&group) {
                        if is_group(&member) {
                            if seen.insert(member) {
                                todo.push(member);
                            }
                        } else if membership.mail_enabled.contains(&member) {
                            found.insert(member);
                        }
                    }
                }
                (*start, found)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn closure_matches_brute_force(
            direct in proptest::collection::btree_map(0u8..12, proptest::collection::btree_set(0u8..24, 0..5), 0..12),
            primary in proptest::collection::btree_map(0u8..12, proptest::collection::btree_set(12u8..24, 0..3), 0..4),
            mail in proptest::collection::btree_set(0u8..24, 0..24),
        ) {
            let to_guids = |map: BTreeMap<u8, BTreeSet<u8>>| -> BTreeMap<Guid, BTreeSet<Guid>> {
                map.into_iter()
                    .map(|(k, v)| (guid(k), v.into_iter().map(guid).collect()))
                    .collect()
            };
            let membership = Membership {
                direct: to_guids(direct),
                primary: to_guids(primary),
                mail_enabled: mail.into_iter().map(guid).collect(),
            };
            prop_assert_eq!(group_closure(&membership), naive(&membership));
        }
    }
}
