//! Objects read from a source, placed into a fixture: the domains found (heads and
//! crossRefs), then each object where the fixture's sections can say it (OUs, and
//! users, groups, contacts and dynamic lists in `CN=Users` or an OU, computers in
//! `CN=Computers` or an OU, DCs aside, which loading makes from `dcs:`), everything else
//! by DN in the domain's `objects`, including what loading makes anyway, whose identity
//! is pinned that way.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::entry::{self, Note};
use super::specs;
use crate::dn::Dn;
use crate::fixture::model::{DomainSpec, Fixture, ObjectSpec, OneOrMany, OuSpec};
use crate::schema::ObjectKind;

/// Collects converted objects and turns them into a fixture.
#[derive(Default)]
pub struct Collector {
    objects: Vec<(Dn, ObjectSpec)>,
    /// Notes on what could not be carried over, deduplicated by text, counted.
    notes: BTreeMap<String, usize>,
    /// Groups whose members came as an incomplete range, by DN.
    partial_groups: Vec<String>,
    /// Per domain head (DN key): the NetBIOS name and UPN suffixes of its crossRef.
    cross_refs: HashMap<String, (Option<String>, Vec<String>)>,
    /// UPN suffixes of the forest (`CN=Partitions`), given to the root domain.
    forest_upn_suffixes: Vec<String>,
}

/// A fixture and what it could not reproduce.
pub struct Collected {
    pub fixture: Fixture,
    pub notes: Vec<Note>,
    /// Objects in the fixture.
    pub objects: usize,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes something once per text, counting repeats.
    pub fn note(&mut self, text: impl Into<String>) {
        *self.notes.entry(text.into()).or_default() += 1;
    }

    /// Adds one entry as a source gave it.
    pub fn add(&mut self, dn: &str, attrs: Vec<(String, Vec<Vec<u8>>)>) {
        let parsed = match Dn::parse(dn) {
            Ok(d) if !d.rdns.is_empty() => d,
            Ok(_) => return, // the rootDSE
            Err(e) => return self.note(format!("entry left out: {e}")),
        };
        let rdn_attr = parsed.rdns[0].attr().to_string();
        let converted = entry::convert(dn, &rdn_attr, attrs);
        if let Some(class) = &converted.unmodelled_class {
            self.note(format!(
                "objects of class '{class}' are served as containers (fake-dc does not model the class)"
            ));
        }
        if converted.partial_members {
            self.partial_groups.push(dn.to_string());
        }
        let o = converted.object;
        self.learn(&parsed, &o);
        self.objects.push((parsed, o));
    }

    /// Reads what a Configuration entry says about the domains (a crossRef's NetBIOS
    /// name, the forest's UPN suffixes) without keeping the entry.
    pub fn add_reference(&mut self, dn: &str, attrs: Vec<(String, Vec<Vec<u8>>)>) {
        let Ok(parsed) = Dn::parse(dn) else { return };
        let Some(rdn) = parsed.rdns.first() else {
            return;
        };
        let converted = entry::convert(dn, rdn.attr(), attrs);
        self.learn(&parsed, &converted.object);
    }

    fn learn(&mut self, dn: &Dn, o: &ObjectSpec) {
        if o.object_class.eq_ignore_ascii_case("crossRef") {
            self.cross_ref(o);
        }
        let partitions = dn.rdns[0].value().eq_ignore_ascii_case("Partitions");
        if partitions {
            if let Some(v) = o.attributes.get("uPNSuffixes") {
                self.forest_upn_suffixes = v.values();
            }
        }
    }

    fn cross_ref(&mut self, o: &ObjectSpec) {
        let get = |n: &str| {
            o.attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.values())
        };
        let Some(nc) = get("nCName").and_then(|v| v.into_iter().next()) else {
            return;
        };
        let Ok(nc) = Dn::parse(&nc) else { return };
        let netbios = get("nETBIOSName").and_then(|v| v.into_iter().next());
        let suffixes = get("uPNSuffixes").unwrap_or_default();
        self.cross_refs.insert(nc.key(), (netbios, suffixes));
    }

    /// Places every object and returns the fixture.
    pub fn finish(mut self, default_password: Option<String>) -> Collected {
        for g in std::mem::take(&mut self.partial_groups) {
            self.note(format!(
                "group '{g}': its members came as a range without the rest (read with ranged retrieval, or raise MaxValRange): only the first values are kept"
            ));
        }
        // Parents before children: a paged search returns entries in index order.
        self.objects.sort_by_key(|(dn, _)| dn.rdns.len());
        let mut domains = self.domains();
        if domains.is_empty() {
            self.note("no domain head (domainDNS or dcObject entry) found: nothing to reproduce");
        }
        let skeleton = skeleton_keys(&domains, &mut self);
        self.drop_unknown_members(&skeleton);
        let heads: Vec<Dn> = domains
            .iter()
            .map(|d| Dn::from_dns_name(&d.spec.dns))
            .collect();
        let mut placed = Placer {
            domains: &mut domains,
            ous: Vec::new(),
            where_: HashMap::new(),
        };
        // The other naming contexts below a domain head's DN: not the domain's.
        let other_ncs: Vec<String> = heads
            .iter()
            .flat_map(|h| {
                [
                    ("CN", "Configuration"),
                    ("DC", "DomainDnsZones"),
                    ("DC", "ForestDnsZones"),
                ]
                .map(|(a, v)| h.child(crate::dn::Rdn::new(a, v)).key())
            })
            .collect();
        let head_keys: Vec<String> = heads.iter().map(Dn::key).collect();
        let mut outside = 0usize;
        let objects = std::mem::take(&mut self.objects);
        let count = objects.len();
        for (dn, o) in objects {
            let key = dn.key();
            // The domain that holds it: the longest head it lies within.
            let domain = head_keys
                .iter()
                .enumerate()
                .filter(|(_, h)| key_within(&key, h))
                .max_by_key(|(_, h)| h.len())
                .map(|(i, _)| i)
                .filter(|_| !other_ncs.iter().any(|nc| key_within(&key, nc)));
            if skeleton.contains(&key) {
                placed.mark_known(&dn, &key, &heads);
                let d = domain.unwrap_or(0);
                if let Some(d) = placed.domains.get_mut(d) {
                    d.spec.objects.push(o);
                }
                continue;
            }
            let Some(d) = domain else {
                outside += 1;
                continue;
            };
            placed.place(d, &dn, key, o);
        }
        let ous = std::mem::take(&mut placed.ous);
        let domains: Vec<DomainSpec> = assemble(domains, ous);
        if outside > 0 {
            self.note(format!(
                "{outside} entries outside the domain naming contexts (Configuration, Schema, other partitions) are left out: loading makes its own"
            ));
        }
        let notes = self
            .notes
            .into_iter()
            .map(|(text, n)| {
                if n > 1 {
                    format!("{text} (×{n})")
                } else {
                    text
                }
            })
            .collect();
        Collected {
            fixture: Fixture {
                seed: 0,
                default_password,
                domains,
                query_policy: Default::default(),
                entry_order: Default::default(),
                azure_ad: None,
                google: None,
            },
            notes,
            objects: count - outside,
        }
    }

    /// Members that name nothing the fixture will hold (an object of a domain that was
    /// not read) would make the fixture fail to load: they are left out, and said so.
    fn drop_unknown_members(&mut self, skeleton: &HashSet<String>) {
        let known: HashSet<String> = self.objects.iter().map(|(dn, _)| dn.key()).collect();
        // Members are nearly always spelt as the member's own DN: an exact match needs no
        // parsing (a 100,000-user directory has about a million member values).
        let spelt: HashSet<String> = self.objects.iter().map(|(_, o)| o.dn.clone()).collect();
        let mut dropped = 0usize;
        for (_, o) in &mut self.objects {
            o.members.retain(|m| {
                if spelt.contains(m) {
                    return true;
                }
                let keep = match Dn::parse(m) {
                    Ok(dn) => {
                        let key = dn.key();
                        known.contains(&key) || skeleton.contains(&key)
                    }
                    Err(_) => false,
                };
                dropped += usize::from(!keep);
                keep
            });
        }
        if dropped > 0 {
            self.note(format!(
                "{dropped} group members name objects that were not read (other domains of the forest: capture the Global Catalog with --forest): left out"
            ));
        }
    }

    /// The domains: heads of domain naming contexts (DNs made only of `DC=` RDNs, the
    /// DNS application partitions excluded), shortest first so the forest root leads.
    fn domains(&mut self) -> Vec<Domain> {
        let mut out = Vec::new();
        // AD marks its domain heads domainDNS; a directory that is not AD (OpenLDAP) has
        // a dcObject or domain entry at the top of its suffix instead.
        let ad = self
            .objects
            .iter()
            .any(|(_, o)| o.object_class.eq_ignore_ascii_case("domainDNS"));
        let mut heads: Vec<Dn> = Vec::new();
        for (dn, o) in &self.objects {
            let all_dc = dn.rdns.iter().all(|r| r.attr().eq_ignore_ascii_case("DC"));
            let zone = ["DomainDnsZones", "ForestDnsZones"]
                .iter()
                .any(|z| dn.rdns[0].value().eq_ignore_ascii_case(z));
            let head = if ad {
                o.object_class.eq_ignore_ascii_case("domainDNS")
            } else {
                !heads.iter().any(|h| dn.is_within(h))
            };
            if !all_dc || zone || !head {
                continue;
            }
            heads.push(dn.clone());
            let Some(dns) = dn.dns_name() else { continue };
            let (netbios, upn_suffixes) =
                self.cross_refs.get(&dn.key()).cloned().unwrap_or_default();
            out.push(Domain {
                spec: DomainSpec {
                    dns: dns.to_ascii_lowercase(),
                    netbios,
                    object_sid: o.object_sid.clone(),
                    upn_suffixes,
                    dcs: Vec::new(),
                    ous: Vec::new(),
                    users: Vec::new(),
                    groups: Vec::new(),
                    contacts: Vec::new(),
                    dynamic_lists: Vec::new(),
                    computers: Vec::new(),
                    builtin_accounts: Default::default(),
                    generate: Vec::new(),
                    objects: Vec::new(),
                },
                top_ous: Vec::new(),
            });
        }
        out.sort_by_key(|d| d.spec.dns.split('.').count());
        // A head without an objectSid (fake-dc serves none): the domain part of its
        // principals' SIDs (`S-1-5-21-a-b-c-RID`), so RIDs given later stay in it.
        let all_heads: Vec<Dn> = out.iter().map(|d| Dn::from_dns_name(&d.spec.dns)).collect();
        for d in out.iter_mut().filter(|d| d.spec.object_sid.is_none()) {
            let head = Dn::from_dns_name(&d.spec.dns);
            let nearest_is_head = |dn: &Dn| {
                all_heads
                    .iter()
                    .filter(|h| dn.is_within(h))
                    .max_by_key(|h| h.rdns.len())
                    .is_some_and(|h| h.key() == head.key())
            };
            d.spec.object_sid = self
                .objects
                .iter()
                .filter(|(dn, _)| nearest_is_head(dn))
                .filter_map(|(_, o)| crate::directory::Sid::parse(o.object_sid.as_deref()?))
                .find(|s| s.sub.len() == 5 && s.sub[0] == 21)
                .map(|s| s.domain_part().to_string());
        }
        if let Some(root) = out.first_mut() {
            for s in &self.forest_upn_suffixes {
                if !root.spec.upn_suffixes.contains(s) {
                    root.spec.upn_suffixes.push(s.clone());
                }
            }
        }
        // The DCs: computers trusted as servers (SERVER_TRUST_ACCOUNT) with a host name.
        for (dn, o) in &self.objects {
            if !o.object_class.eq_ignore_ascii_case("computer") {
                continue;
            }
            let uac = o
                .attributes
                .get("userAccountControl")
                .and_then(|v| v.values().first().and_then(|t| t.parse::<i64>().ok()))
                .unwrap_or(0);
            let host = o
                .attributes
                .get("dNSHostName")
                .and_then(|v| v.values().into_iter().next());
            let (true, Some(host)) = (uac & 0x2000 != 0, host) else {
                continue;
            };
            if let Some(d) = out
                .iter_mut()
                .filter(|d| dn.is_within(&Dn::from_dns_name(&d.spec.dns)))
                .max_by_key(|d| d.spec.dns.len())
            {
                d.spec.dcs.push(host.to_ascii_lowercase());
            }
        }
        out
    }
}

/// A domain being filled.
pub(super) struct Domain {
    pub spec: DomainSpec,
    /// Indexes into the OU arena of the OUs directly under the head.
    pub top_ous: Vec<usize>,
}

/// An OU being filled, its children by index.
pub(super) struct OuNode {
    pub spec: OuSpec,
    pub children: Vec<usize>,
}

/// Where a placed container's contents go.
#[derive(Clone, Copy)]
enum Slot {
    /// The domain head: OUs go into the domain's `ous`.
    Head(usize),
    /// `CN=Users`: leaves go into the domain's own lists.
    Users(usize),
    /// An OU of the arena.
    Ou(usize),
    /// `CN=Computers`: computers go into the domain's `computers`, anything else by DN.
    Computers(usize),
}

struct Placer<'a> {
    domains: &'a mut Vec<Domain>,
    ous: Vec<OuNode>,
    /// DN key → where its children can go structured.
    where_: HashMap<String, Slot>,
}

impl Placer<'_> {
    /// A DN loading makes: the head and `CN=Users` take structured children.
    fn mark_known(&mut self, dn: &Dn, key: &str, heads: &[Dn]) {
        for (i, h) in heads.iter().enumerate() {
            if dn == h || dn.key() == h.key() {
                self.where_.insert(key.to_string(), Slot::Head(i));
            } else if dn.rdns.len() == h.rdns.len() + 1
                && dn.is_within(h)
                && dn.rdns[0].key() == "cn=users"
            {
                self.where_.insert(key.to_string(), Slot::Users(i));
            } else if dn.rdns.len() == h.rdns.len() + 1
                && dn.is_within(h)
                && dn.rdns[0].key() == "cn=computers"
            {
                self.where_.insert(key.to_string(), Slot::Computers(i));
            }
        }
    }

    fn place(&mut self, domain: usize, dn: &Dn, key: String, o: ObjectSpec) {
        let slot = dn.parent().and_then(|p| self.where_.get(&p.key()).copied());
        let rdn = &dn.rdns[0];
        let kind = entry::kind(&o);
        let by_cn = rdn.attr().eq_ignore_ascii_case("CN") && rdn.avas.len() == 1;
        match (slot, kind) {
            (Some(Slot::Head(_) | Slot::Ou(_)), ObjectKind::OrganizationalUnit)
                if rdn.attr().eq_ignore_ascii_case("OU") && rdn.avas.len() == 1 && !o.deleted =>
            {
                let index = self.ous.len();
                self.ous.push(OuNode {
                    spec: specs::ou(rdn.value(), o),
                    children: Vec::new(),
                });
                match slot {
                    Some(Slot::Head(d)) => self.domains[d].top_ous.push(index),
                    Some(Slot::Ou(p)) => self.ous[p].children.push(index),
                    _ => {}
                }
                self.where_.insert(key, Slot::Ou(index));
            }
            (Some(Slot::Computers(d)), ObjectKind::Computer) if by_cn && !o.deleted => {
                match specs::leaf(rdn.value(), kind, o) {
                    Ok(specs::Leaf::Computer(c)) => self.domains[d].spec.computers.push(*c),
                    Ok(_) => {}
                    Err(o) => self.domains[domain].spec.objects.push(*o),
                }
            }
            (Some(Slot::Users(_)), ObjectKind::Computer) => {
                // Loading puts a domain's `computers:` in CN=Computers: one in CN=Users
                // stays where it was, by DN.
                self.domains[domain].spec.objects.push(o)
            }
            (Some(slot @ (Slot::Users(_) | Slot::Ou(_))), _) if by_cn && !o.deleted => {
                match specs::leaf(rdn.value(), kind, o) {
                    Ok(leaf) => self.put_leaf(slot, leaf),
                    Err(o) => self.domains[domain].spec.objects.push(*o),
                }
            }
            _ => self.domains[domain].spec.objects.push(o),
        }
    }

    fn put_leaf(&mut self, slot: Slot, leaf: specs::Leaf) {
        use specs::Leaf::*;
        macro_rules! push {
            ($field:ident, $v:expr) => {
                match slot {
                    Slot::Users(d) | Slot::Head(d) | Slot::Computers(d) => {
                        self.domains[d].spec.$field.push($v)
                    }
                    Slot::Ou(i) => self.ous[i].spec.$field.push($v),
                }
            };
        }
        match leaf {
            User(u) => push!(users, *u),
            Group(g) => push!(groups, *g),
            Contact(c) => push!(contacts, *c),
            DynamicList(l) => push!(dynamic_lists, *l),
            Computer(c) => push!(computers, *c),
        }
    }
}

/// Builds the OU trees from the arena, children moved into their parents.
fn assemble(domains: Vec<Domain>, ous: Vec<OuNode>) -> Vec<DomainSpec> {
    let mut slots: Vec<Option<OuNode>> = ous.into_iter().map(Some).collect();
    fn build(i: usize, slots: &mut Vec<Option<OuNode>>) -> Option<OuSpec> {
        let node = slots.get_mut(i)?.take()?;
        let mut spec = node.spec;
        for c in node.children {
            if let Some(child) = build(c, slots) {
                spec.ous.push(child);
            }
        }
        Some(spec)
    }
    domains
        .into_iter()
        .map(|d| {
            let mut spec = d.spec;
            for i in d.top_ous {
                if let Some(ou) = build(i, &mut slots) {
                    spec.ous.push(ou);
                }
            }
            spec
        })
        .collect()
}

/// The DN keys loading makes for these domains (heads, well-known containers, built-in
/// principals, Configuration and Schema): such objects are pinned, not created.
fn skeleton_keys(domains: &[Domain], collector: &mut Collector) -> HashSet<String> {
    let fixture = Fixture {
        seed: 0,
        default_password: None,
        domains: domains.iter().map(|d| d.spec.clone()).collect(),
        query_policy: Default::default(),
        entry_order: Default::default(),
        azure_ad: None,
        google: None,
    };
    match crate::fixture::build(&fixture, Default::default()) {
        Ok(dir) => dir
            .ids()
            .filter(|id| !dir.entry(*id).deleted || dir.entry(*id).parent.is_some())
            .map(|id| dir.dn_key(id))
            .collect(),
        Err(problems) => {
            for (path, message) in problems {
                collector.note(format!("domain settings: {message} (at {path})"));
            }
            HashSet::new()
        }
    }
}

/// A DN key within another (equal, or ending in `,` + it where that comma is not
/// escaped): cheaper than comparing parsed DNs RDN by RDN.
fn key_within(key: &str, ancestor: &str) -> bool {
    if key == ancestor {
        return true;
    }
    let Some(rest) = key.strip_suffix(ancestor) else {
        return false;
    };
    let Some(before) = rest.strip_suffix(',') else {
        return false;
    };
    let backslashes = before.bytes().rev().take_while(|b| *b == b'\\').count();
    backslashes % 2 == 0
}

/// Attribute lookup by case-insensitive name, for the specs.
pub(super) fn take(attrs: &mut BTreeMap<String, OneOrMany>, name: &str) -> Option<OneOrMany> {
    let key = attrs.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone();
    attrs.remove(&key)
}

#[cfg(test)]
mod tests {
    use super::key_within;

    #[test]
    fn keys_nest_at_unescaped_commas_only() {
        let head = "dc=corp,dc=test";
        assert!(key_within("dc=corp,dc=test", head));
        assert!(key_within("cn=a,dc=corp,dc=test", head));
        assert!(!key_within("cn=a\\,dc=corp,dc=test", head));
        assert!(key_within("cn=a\\\\,dc=corp,dc=test", head));
        assert!(!key_within("dc=xcorp,dc=test", head));
    }
}
