//! `generate --like`: a fixture that fits a shape, names made up.
//!
//! Fitted exactly: domains and their levels; users, groups and contacts per domain;
//! users by account state; OUs by depth; groups by size bucket, the exact sizes past
//! 1,500, groups by kind; the longest nesting chain, cycles and the groups in them;
//! aliases per user; users with mail; duplicate addresses; dynamic lists; foreign
//! security principals. Fitted roughly: cross-domain memberships (when a group outgrows
//! its domain's users), special-character classes (each class on its own names), the
//! groups holding groups, DN lengths (not aimed at). What every domain gets on loading
//! (Administrator, Domain Users, `OU=Domain Controllers`, …) is in a shape too, so it is
//! subtracted before generating. `tests/like.rs` states the tolerances.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Shape, ShapeError};
use crate::fixture::model::Fixture;
use crate::fixture::Rng;

/// Per domain, what loading adds: users (Administrator, Guest, krbtgt), groups (Domain
/// Admins, Users, Guests, Computers, Controllers) and OUs (Domain Controllers).
const SKELETON_USERS: u64 = 3;
pub(super) const SKELETON_GROUPS: u64 = 5;
const SKELETON_OUS: u64 = 1;

struct Domain {
    dns: String,
    netbios: String,
    /// Parent DNs of the OUs made, by depth (index 0: the domain head).
    ous: Vec<Vec<String>>,
    users: Vec<Value>,
    groups: Vec<Value>,
    contacts: Vec<Value>,
    lists: Vec<Value>,
    /// The OU each user goes into (empty: the domain's `CN=Users`).
    ou_objects: Vec<String>,
}

fn dn_of_dns(dns: &str) -> String {
    crate::dn::Dn::from_dns_name(dns).to_string()
}

/// The fixture fitting `shape`; `seed` picks the sizes inside each bucket.
pub fn like(shape: &Shape, seed: u64) -> Result<Fixture, ShapeError> {
    let mut rng = Rng::new(seed);
    let mut domains = make_domains(shape);
    place_ous(shape, &mut domains);
    let n = domains.len() as u64;
    let mut states: Vec<&str> = Vec::new();
    for (state, count) in &shape.account_states {
        // Administrator must change its password (pwdLastSet 0); Guest and krbtgt are
        // disabled.
        let builtin = match state.as_str() {
            "must-change-password" => n,
            "disabled" => 2 * n,
            _ => 0,
        };
        for _ in 0..count.saturating_sub(builtin) {
            states.push(state);
        }
    }
    let mut aliases: Vec<u32> = Vec::new();
    for (k, count) in shape.aliases_per_user.iter().rev() {
        let builtin = if *k == 0 { SKELETON_USERS * n } else { 0 };
        aliases.extend(std::iter::repeat_n(
            *k,
            count.saturating_sub(builtin) as usize,
        ));
    }
    let mut with_mail = shape.addresses.users_with_mail;
    let mut specials = special_names(shape);
    let mut next_user = 0usize;
    for (d, ds) in shape.domains.iter().enumerate() {
        let dom = &mut domains[d];
        let leaves: Vec<String> = dom.ous.iter().flatten().cloned().collect();
        for _ in 0..ds.users.saturating_sub(SKELETON_USERS) {
            let i = next_user;
            next_user += 1;
            let sam = format!("user{i}");
            let (prefix, suffix) = specials.pop().unwrap_or_default();
            let cn = format!("{prefix}User {i}{suffix}");
            let mut u = json!({ "cn": cn, "sAMAccountName": sam });
            if let Some(state) = states.get(i) {
                if *state != "enabled" {
                    u["state"] = json!(state);
                }
            }
            let address = format!("{sam}@{}", dom.dns);
            if with_mail > 0 {
                with_mail -= 1;
                u["mail"] = json!(address);
            }
            let k = aliases.get(i).copied().unwrap_or(0);
            if k > 0 {
                let mut proxies = vec![format!("SMTP:{address}")];
                proxies.extend((1..=k).map(|a| format!("smtp:{sam}.{a}@{}", dom.dns)));
                u["proxyAddresses"] = json!(proxies);
            }
            let parent = leaves.get(i % leaves.len().max(1)).cloned();
            dom.users.push(u);
            dom.ou_objects.push(parent.unwrap_or_default());
        }
        for c in 0..ds.contacts {
            dom.contacts.push(json!({ "cn": format!("Contact {d}-{c}"), "mail": format!("contact{c}@partner{d}.test") }));
        }
    }
    duplicates(shape, &mut domains);
    super::like_groups::groups(shape, &mut domains_view(&mut domains), &mut rng);
    for i in 0..shape.dynamic_lists.count {
        let dom = &mut domains[0];
        let scoped = i < shape.dynamic_lists.scoped;
        let base = match dom.ous.first().and_then(|l| l.first()) {
            Some(ou) if scoped => ou.clone(),
            _ => dn_of_dns(&dom.dns),
        };
        dom.lists.push(json!({
            "cn": format!("Dynamic List {i}"),
            "mail": format!("list{i}@{}", dom.dns),
            "filter": "(&(objectClass=user)(mail=*))",
            "base": base,
        }));
    }
    assemble(seed, domains)
}

/// What the group stage needs of each domain.
pub(super) struct DomainView<'a> {
    pub netbios: &'a str,
    /// The domain head's DN.
    pub dn: String,
    pub users: Vec<String>,
    pub groups: &'a mut Vec<Value>,
}

fn domains_view(domains: &mut [Domain]) -> Vec<DomainView<'_>> {
    domains
        .iter_mut()
        .map(|d| DomainView {
            netbios: &d.netbios,
            dn: dn_of_dns(&d.dns),
            users: d
                .users
                .iter()
                .filter_map(|u| u["sAMAccountName"].as_str().map(str::to_string))
                .collect(),
            groups: &mut d.groups,
        })
        .collect()
}

fn make_domains(shape: &Shape) -> Vec<Domain> {
    let mut names: Vec<String> = Vec::new();
    for (i, d) in shape.domains.iter().enumerate() {
        let dns = if i == 0 || d.level == 0 {
            format!("corp{i}.like.test").replace("corp0.", "corp.")
        } else {
            // A child of the last domain one level up.
            let parent = shape.domains[..i]
                .iter()
                .rposition(|p| p.level + 1 == d.level)
                .map_or_else(|| names[0].clone(), |p| names[p].clone());
            format!("d{i}.{parent}")
        };
        names.push(dns);
    }
    names
        .into_iter()
        .enumerate()
        .map(|(i, dns)| Domain {
            netbios: format!("DOM{i}"),
            dns,
            ous: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            contacts: Vec::new(),
            lists: Vec::new(),
            ou_objects: Vec::new(),
        })
        .collect()
}

/// OUs by depth, each domain up to its count, every OU under one a level up.
fn place_ous(shape: &Shape, domains: &mut [Domain]) {
    let mut quota: Vec<u64> = shape
        .domains
        .iter()
        .map(|d| d.ous.saturating_sub(SKELETON_OUS))
        .collect();
    let max_depth = shape.ou_depth.keys().copied().max().unwrap_or(0) as usize;
    for dom in domains.iter_mut() {
        dom.ous = vec![Vec::new(); max_depth + 1];
        dom.ous[0].push(dn_of_dns(&dom.dns));
    }
    let mut serial = 0;
    for depth in 1..=max_depth {
        let builtin = if depth == 1 { domains.len() as u64 } else { 0 };
        let wanted = shape
            .ou_depth
            .get(&(depth as u32))
            .copied()
            .unwrap_or(0)
            .saturating_sub(builtin);
        for _ in 0..wanted {
            let candidates = (0..domains.len()).filter(|&d| !domains[d].ous[depth - 1].is_empty());
            let Some(d) = candidates.max_by_key(|&d| (quota[d], std::cmp::Reverse(d))) else {
                break;
            };
            quota[d] = quota[d].saturating_sub(1);
            let level = &domains[d].ous[depth - 1];
            let parent = level[serial % level.len()].clone();
            serial += 1;
            domains[d].ous[depth].push(format!("OU=Unit {serial},{parent}"));
        }
    }
    for dom in domains.iter_mut() {
        dom.ous.remove(0);
    }
}

/// Name decorations carrying the special characters the shape counts: the `j`th name
/// carries every class counted more than `j` times, so few users can carry them all.
/// Each is `(prefix, suffix)` around a plain name.
fn special_names(shape: &Shape) -> Vec<(String, String)> {
    let s = &shape.special_characters;
    let get = |k: &str| s.get(k).copied().unwrap_or(0) as usize;
    let most = s.values().copied().max().unwrap_or(0) as usize;
    let mut out = Vec::with_capacity(most);
    for j in 0..most {
        let prefix = if j < get("leading-hash") { "#" } else { "" };
        let mut suffix = String::new();
        for (class, fragment) in [
            ("comma", ", Jr"),
            ("plus", " +1"),
            ("equals", " =2"),
            ("semicolon", " ;3"),
            ("quote", " \"Q\""),
            ("backslash", " A\\B"),
            ("angle-bracket", " <A>"),
            ("apostrophe", " O'Neil"),
            ("ampersand", " R&D"),
        ] {
            if j < get(class) {
                suffix.push_str(fragment);
            }
        }
        if j < get("cjk") {
            suffix.push_str(" 王小明");
        } else if j < get("non-ascii") {
            suffix.push_str(" Zoë");
        }
        if j < get("edge-space") {
            suffix.push(' ');
        }
        out.push((prefix.to_string(), suffix));
    }
    out.reverse();
    out
}

/// Addresses claimed twice or more: the mail of that many users made one.
fn duplicates(shape: &Shape, domains: &mut [Domain]) {
    let dups = shape.addresses.duplicates as usize;
    if dups == 0 {
        return;
    }
    let per = (shape.addresses.objects_with_duplicates as usize / dups).max(2);
    let mut users = domains
        .iter_mut()
        .flat_map(|d| d.users.iter_mut())
        .filter(|u| u.get("mail").is_some() && u.get("proxyAddresses").is_none());
    for k in 0..dups {
        for _ in 0..per {
            if let Some(u) = users.next() {
                u["mail"] = json!(format!("shared-{k}@like.test"));
            }
        }
    }
}

fn assemble(seed: u64, domains: Vec<Domain>) -> Result<Fixture, ShapeError> {
    let mut out = Vec::new();
    for dom in domains {
        // OUs as a nested tree rebuilt from the DNs.
        let mut tree: BTreeMap<String, Value> = BTreeMap::new();
        let all: Vec<String> = dom.ous.iter().flatten().cloned().collect();
        for dn in all.iter().rev() {
            let name = dn
                .split_once(',')
                .map_or(dn.as_str(), |(rdn, _)| rdn)
                .trim_start_matches("OU=");
            let mut ou = json!({ "name": name });
            let children: Vec<Value> = all
                .iter()
                .filter(|c| c.split_once(',').is_some_and(|(_, p)| p == dn))
                .filter_map(|c| tree.remove(c))
                .collect();
            if !children.is_empty() {
                ou["ous"] = Value::Array(children.into_iter().rev().collect());
            }
            tree.insert(dn.clone(), ou);
        }
        let users = place(&dom.users, &dom.ou_objects, &mut tree);
        let mut d = json!({ "dns": dom.dns, "netbios": dom.netbios });
        let top: Vec<Value> = dom
            .ous
            .first()
            .map(|l| l.iter().filter_map(|dn| tree.remove(dn)).collect())
            .unwrap_or_default();
        d["ous"] = json!(top);
        d["users"] = json!(users);
        d["groups"] = json!(dom.groups);
        d["contacts"] = json!(dom.contacts);
        d["dynamicLists"] = json!(dom.lists);
        out.push(d);
    }
    let fixture = json!({ "seed": seed, "defaultPassword": "Passw0rd!", "domains": out });
    // Built from the format's own field names: a mismatch is a bug here, reported.
    serde_json::from_value(fixture).map_err(|e| ShapeError::Build(e.to_string()))
}

/// Users into the OU their DN says (a leaf OU's `users:`); the rest stay at the domain.
fn place(users: &[Value], at: &[String], tree: &mut BTreeMap<String, Value>) -> Vec<Value> {
    let mut at_domain = Vec::new();
    for (u, parent) in users.iter().zip(at) {
        match find(tree, parent) {
            Some(ou) => {
                if ou.get("users").is_none() {
                    ou["users"] = json!([]);
                }
                if let Some(list) = ou["users"].as_array_mut() {
                    list.push(u.clone());
                }
            }
            None => at_domain.push(u.clone()),
        }
    }
    at_domain
}

/// The OU object of `dn` in the tree (nested under its ancestors).
fn find<'a>(tree: &'a mut BTreeMap<String, Value>, dn: &str) -> Option<&'a mut Value> {
    // Walk down from the top OU by the DN's RDNs.
    let rdns: Vec<&str> = dn.split(',').filter(|r| r.starts_with("OU=")).collect();
    let top = tree.iter_mut().find(|(k, _)| {
        k.split(',').filter(|r| r.starts_with("OU=")).count() == 1
            && rdns.last().is_some_and(|t| k.split(',').next() == Some(*t))
    })?;
    let mut node = top.1;
    for rdn in rdns.iter().rev().skip(1) {
        let name = rdn.trim_start_matches("OU=");
        node = node["ous"]
            .as_array_mut()?
            .iter_mut()
            .find(|o| o["name"] == name)?;
    }
    Some(node)
}
