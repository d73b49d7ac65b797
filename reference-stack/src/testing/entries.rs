//! The model as LDAP returns it, and back into a snapshot through the real transform
//! helpers.
//!
//! [`Directory::entries`] renders what a subtree search with the sync filter would
//! return: attribute values as strings, `member` as DNs (split into
//! `member;range=a-b` pieces like AD's ranged retrieval), addresses in one of several
//! spellings. [`extract`] reorders and pages those entries as a DC may;
//! [`transform`] turns the pages into a [`DirectorySnapshot`] with
//! [`crate::transform::addresses`], [`crate::transform::is_disabled`] and
//! [`crate::transform::group_closure`], so properties over the snapshot cover transform
//! too.

use std::collections::{BTreeMap, BTreeSet};

use proptest::sample::Index;

use super::model::{
    guid_of, is_under, ou_dn, rid_of, AddressStyle, Directory, GroupKind, Member, DEPARTMENT,
    DOMAIN_USERS_RID, ROOT_DN,
};
use crate::address::Address;
use crate::guid::Guid;
use crate::snapshot::{self, DirContact, DirGroup, DirUser, DirectorySnapshot};
use crate::transform::{addresses, group_closure, is_disabled, Membership};

/// One search result entry, its attributes in the order the DC sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// The entry's DN.
    pub dn: String,
    /// `objectGUID`, already decoded.
    pub guid: Guid,
    /// Attribute descriptions (possibly with options such as `;range=0-1`) and values.
    pub attributes: Vec<(String, Vec<String>)>,
}

impl RawEntry {
    /// Every value of an attribute, matched case-insensitively, options excluded.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter().map(String::as_str))
            .collect()
    }

    /// The first value of a single-valued attribute.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values(name).into_iter().next()
    }

    /// `member` values, the plain attribute and every `member;range=…` piece merged.
    pub fn members(&self) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|(key, _)| {
                let base = key.split(';').next().unwrap_or(key);
                base.eq_ignore_ascii_case("member")
            })
            .flat_map(|(_, values)| values.iter().map(String::as_str))
            .collect()
    }

    fn has_class(&self, class: &str) -> bool {
        self.values("objectClass")
            .iter()
            .any(|value| value.eq_ignore_ascii_case(class))
    }
}

fn attribute(name: &str, values: Vec<String>) -> (String, Vec<String>) {
    (name.to_owned(), values)
}

/// `mail` and `proxyAddresses` for a primary and aliases, spelt as `style` says, plus a
/// value of another type that every spelling must ignore.
fn address_attributes(
    primary: &Address,
    aliases: &BTreeSet<Address>,
    style: AddressStyle,
    sip: bool,
) -> Vec<(String, Vec<String>)> {
    let mut proxies: Vec<String> = aliases
        .iter()
        .map(|alias| format!("smtp:{}", alias.original()))
        .collect();
    if sip {
        proxies.push(format!("SIP:{}", primary.original()));
        proxies.push("X500:/o=Corp/ou=Exchange/cn=Recipients/cn=x".to_owned());
    }
    let mut attributes = Vec::new();
    match style {
        AddressStyle::Exchange => {
            attributes.push(attribute("mail", vec![primary.original().to_owned()]));
            proxies.push(format!("SMTP:{}", primary.original()));
        }
        AddressStyle::ProxiesOnly => proxies.push(format!("SMTP:{}", primary.original())),
        AddressStyle::MailOnly => {
            attributes.push(attribute("mail", vec![primary.original().to_owned()]));
        }
    }
    if !proxies.is_empty() {
        attributes.push(attribute("proxyAddresses", proxies));
    }
    attributes
}

/// `member` values split into AD's ranged pieces of `range` values each; a group that
/// fits in one piece gets a plain `member` attribute, as AD does.
fn member_attributes(members: Vec<String>, range: usize) -> Vec<(String, Vec<String>)> {
    let range = range.max(1);
    if members.len() <= range {
        return vec![attribute("member", members)];
    }
    // AD sends an empty `member` next to the first ranged piece.
    let mut attributes = vec![attribute("member", Vec::new())];
    let pieces: Vec<&[String]> = members.chunks(range).collect();
    let last = pieces.len() - 1;
    for (number, piece) in pieces.into_iter().enumerate() {
        let start = number * range;
        let end = if number == last {
            "*".to_owned()
        } else {
            (start + piece.len() - 1).to_string()
        };
        attributes.push(attribute(
            &format!("member;range={start}-{end}"),
            piece.to_vec(),
        ));
    }
    attributes
}

impl Directory {
    /// The entries a full extraction returns, in creation order, `member` split into
    /// pieces of `range` values.
    pub fn entries(&self, range: usize) -> Vec<RawEntry> {
        let mut entries = Vec::new();
        for user in &self.users {
            let mut attributes = vec![
                attribute(
                    "objectClass",
                    ["top", "person", "organizationalPerson", "user"]
                        .map(str::to_owned)
                        .to_vec(),
                ),
                attribute("cn", vec![user.cn.clone()]),
                attribute(
                    "userAccountControl",
                    vec![(if user.disabled { 0x202 } else { 0x200 }).to_string()],
                ),
                attribute(
                    "primaryGroupID",
                    vec![user
                        .primary_group
                        .map_or(DOMAIN_USERS_RID, rid_of)
                        .to_string()],
                ),
            ];
            if let Some(primary) = &user.primary {
                attributes.extend(address_attributes(
                    primary,
                    &user.aliases,
                    user.style,
                    user.id.is_multiple_of(3),
                ));
            }
            if let Some(department) = &user.department {
                attributes.push(attribute(DEPARTMENT, vec![department.clone()]));
            }
            entries.push(RawEntry {
                dn: user.dn(),
                guid: guid_of(user.id),
                attributes,
            });
        }
        for group in &self.groups {
            let mut attributes = vec![attribute("cn", vec![group.cn.clone()])];
            if let Some(address) = &group.address {
                attributes.extend(address_attributes(
                    address,
                    &BTreeSet::new(),
                    AddressStyle::Exchange,
                    false,
                ));
            }
            match &group.kind {
                GroupKind::Group { members } => {
                    attributes.push(attribute(
                        "objectClass",
                        vec!["top".to_owned(), "group".to_owned()],
                    ));
                    attributes.push(attribute(
                        "primaryGroupToken",
                        vec![rid_of(group.id).to_string()],
                    ));
                    let dns = members
                        .iter()
                        .filter_map(|member| self.member_dn(*member))
                        .collect();
                    attributes.extend(member_attributes(dns, range));
                }
                GroupKind::DynamicList { department, base } => {
                    attributes.push(attribute(
                        "objectClass",
                        vec!["top".to_owned(), "msExchDynamicDistributionList".to_owned()],
                    ));
                    attributes.push(attribute(
                        "msExchDynamicDLFilter",
                        vec![format!("({DEPARTMENT}={department})")],
                    ));
                    attributes.push(attribute(
                        "msExchDynamicDLBaseDN",
                        vec![base.map_or_else(|| ROOT_DN.to_owned(), ou_dn)],
                    ));
                }
            }
            entries.push(RawEntry {
                dn: group.dn(),
                guid: guid_of(group.id),
                attributes,
            });
        }
        for contact in &self.contacts {
            let mut attributes = vec![
                attribute(
                    "objectClass",
                    ["top", "person", "organizationalPerson", "contact"]
                        .map(str::to_owned)
                        .to_vec(),
                ),
                attribute("cn", vec![contact.cn.clone()]),
            ];
            attributes.extend(address_attributes(
                &contact.primary,
                &contact.aliases,
                contact.style,
                false,
            ));
            entries.push(RawEntry {
                dn: contact.dn(),
                guid: guid_of(contact.id),
                attributes,
            });
        }
        entries
    }

    fn member_dn(&self, member: Member) -> Option<String> {
        match member {
            Member::User(id) => self.user(id).map(|user| user.dn()),
            Member::Group(id) => self.group(id).map(|group| group.dn()),
            Member::Contact(id) => self.contact(id).map(|contact| contact.dn()),
            Member::Foreign(n) => Some(format!(
                "CN=S-1-5-21-1004336348-1177238915-682003330-{n},\
                 CN=ForeignSecurityPrincipals,{ROOT_DN}"
            )),
        }
    }
}

/// How a DC may hand back one result set: entries in any order, values of a
/// multi-valued attribute in any order, attributes in any order, in pages of any size.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Entries per page (AD's limit is 1,000; tests use small pages).
    pub page_size: usize,
    /// Drives every reordering; each position is resolved against the length it picks
    /// from, so one delivery fits any result set.
    pub shuffle: Vec<Index>,
}

/// Reorders `entries` as `delivery` says and cuts them into pages.
pub fn extract(mut entries: Vec<RawEntry>, delivery: &Delivery) -> Vec<Vec<RawEntry>> {
    let mut picks = delivery.shuffle.iter().cycle();
    let mut next = |len: usize| picks.next().map_or(0, |index| index.index(len.max(1)));
    shuffle(&mut entries, &mut next);
    for entry in &mut entries {
        shuffle(&mut entry.attributes, &mut next);
        for (_, values) in &mut entry.attributes {
            shuffle(values, &mut next);
        }
    }
    entries
        .chunks(delivery.page_size.max(1))
        .map(<[RawEntry]>::to_vec)
        .collect()
}

/// Fisher–Yates driven by `next(len) -> 0..len`.
fn shuffle<T>(items: &mut [T], next: &mut impl FnMut(usize) -> usize) {
    for end in (1..items.len()).rev() {
        items.swap(end, next(end + 1));
    }
}

/// Turns the pages of one finished extraction into a snapshot.
///
/// Only the whole result set is transformed (SPEC: an unfinished extraction applies
/// nothing), since a `member` DN may point at an entry on a later page. `additional`
/// lists the configured additional attributes to carry along.
pub fn transform(pages: &[Vec<RawEntry>], additional: &[String]) -> DirectorySnapshot {
    let entries: Vec<&RawEntry> = pages.iter().flatten().collect();
    // AD compares DNs case-insensitively; the model spells each DN one way.
    let by_dn: BTreeMap<String, Guid> = entries
        .iter()
        .map(|entry| (entry.dn.to_lowercase(), entry.guid))
        .collect();
    let mut snapshot = DirectorySnapshot::default();
    let mut membership = Membership::default();
    let mut tokens: BTreeMap<&str, Guid> = BTreeMap::new();
    let mut primary_ids: Vec<(Guid, &str)> = Vec::new();
    let mut lists = Vec::new();

    for entry in &entries {
        let mail = entry.value("mail");
        let proxies: Vec<String> = entry
            .values("proxyAddresses")
            .into_iter()
            .map(str::to_owned)
            .collect();
        let name = entry
            .value("displayName")
            .or_else(|| entry.value("cn"))
            .unwrap_or_default()
            .to_owned();
        if entry.has_class("user") {
            if let Some(id) = entry.value("primaryGroupID") {
                primary_ids.push((entry.guid, id));
            }
            let Some((primary, aliases)) = addresses(mail, &proxies) else {
                continue;
            };
            membership.mail_enabled.insert(entry.guid);
            let uac = entry
                .value("userAccountControl")
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            let attributes = additional
                .iter()
                .filter_map(|name| {
                    let values: Vec<String> =
                        entry.values(name).into_iter().map(str::to_owned).collect();
                    (!values.is_empty()).then(|| (name.clone(), values))
                })
                .collect();
            snapshot.users.insert(
                entry.guid,
                DirUser {
                    guid: entry.guid,
                    dn: entry.dn.clone(),
                    primary,
                    aliases,
                    disabled: is_disabled(uac),
                    attributes,
                },
            );
        } else if entry.has_class("contact") {
            let Some((primary, aliases)) = addresses(mail, &proxies) else {
                continue;
            };
            membership.mail_enabled.insert(entry.guid);
            snapshot.contacts.insert(
                entry.guid,
                DirContact {
                    guid: entry.guid,
                    dn: entry.dn.clone(),
                    name,
                    primary,
                    aliases,
                },
            );
        } else if entry.has_class("group") || entry.has_class("msExchDynamicDistributionList") {
            let dynamic = entry.has_class("msExchDynamicDistributionList");
            if dynamic {
                lists.push(*entry);
            } else {
                if let Some(token) = entry.value("primaryGroupToken") {
                    tokens.insert(token, entry.guid);
                }
                // Members the service account cannot see (foreign principals here)
                // do not resolve and are skipped.
                let direct = entry
                    .members()
                    .into_iter()
                    .filter_map(|dn| by_dn.get(&dn.to_lowercase()).copied())
                    .collect();
                membership.direct.insert(entry.guid, direct);
            }
            snapshot.groups.insert(
                entry.guid,
                DirGroup {
                    guid: entry.guid,
                    dn: entry.dn.clone(),
                    name,
                    kind: if dynamic {
                        snapshot::GroupKind::DynamicList
                    } else {
                        snapshot::GroupKind::Group
                    },
                    address: addresses(mail, &proxies).map(|(primary, _)| primary),
                    members: BTreeSet::new(),
                },
            );
        }
    }
    for (user, id) in primary_ids {
        if let Some(group) = tokens.get(id) {
            membership.primary.entry(*group).or_default().insert(user);
        }
    }
    for (guid, members) in group_closure(&membership) {
        if let Some(group) = snapshot.groups.get_mut(&guid) {
            group.members = members;
        }
    }
    for list in lists {
        let members = list_members(list, &entries, &membership.mail_enabled);
        if let Some(group) = snapshot.groups.get_mut(&list.guid) {
            group.members = members;
        }
    }
    snapshot
}

/// A dynamic list's members: the mail-enabled entries under its base DN that match its
/// filter. Only the `(attribute=value)` filters the model writes are understood (the
/// real stack lets the DC evaluate the filter); anything else matches nobody.
fn list_members(
    list: &RawEntry,
    entries: &[&RawEntry],
    mail_enabled: &BTreeSet<Guid>,
) -> BTreeSet<Guid> {
    let base = list.value("msExchDynamicDLBaseDN").unwrap_or(ROOT_DN);
    let Some((name, wanted)) = list
        .value("msExchDynamicDLFilter")
        .and_then(|filter| filter.strip_prefix('('))
        .and_then(|filter| filter.strip_suffix(')'))
        .and_then(|filter| filter.split_once('='))
    else {
        return BTreeSet::new();
    };
    entries
        .iter()
        .filter(|entry| mail_enabled.contains(&entry.guid) && is_under(&entry.dn, base))
        .filter(|entry| {
            entry
                .values(name)
                .iter()
                .any(|value| value.eq_ignore_ascii_case(wanted))
        })
        .map(|entry| entry.guid)
        .collect()
}
