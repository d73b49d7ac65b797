//! Google's directory tree, read from the fixture domain the tenant mirrors.
//!
//! Google Cloud Directory holds people with a primary address, groups with one, and an
//! organizational-unit tree. Secure LDAP shows them as the schema page of Google's help
//! centre describes: the domain `dc=example,dc=com`, people under `ou=Users` (and the
//! OUs they sit in), groups under `ou=Groups`. Directory users and groups without `mail`
//! have no Google account, so they are not in the tree; computers, contacts and AD's
//! built-in containers neither.

use std::collections::{BTreeMap, HashMap};

use super::spec::GoogleSpec;
use crate::directory::{Directory, EntryId};
use crate::dn::Dn;
use crate::schema::ObjectKind;

/// One entry of the tree, attributes in the order Google lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct GEntry {
    /// The DN as served.
    pub dn: String,
    /// The DN's comparison key (`Dn::key`).
    pub key: String,
    /// The parent's key; empty for the domain entry.
    pub parent: String,
    /// Name and values, names as Google spells them.
    pub attrs: Vec<(&'static str, Vec<String>)>,
}

impl GEntry {
    /// The values of `name` (case-insensitive), empty when absent.
    pub fn get(&self, name: &str) -> &[String] {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// The whole tree, parent before child.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub entries: Vec<GEntry>,
    by_key: HashMap<String, usize>,
}

impl Tree {
    /// The entry named by `key`.
    pub fn get(&self, key: &str) -> Option<&GEntry> {
        self.by_key.get(key).and_then(|&i| self.entries.get(i))
    }

    fn push(&mut self, entry: GEntry) {
        // Two people whose addresses share a local part would share a DN; the first keeps
        // it, as Google never holds two accounts under one username.
        if self.by_key.contains_key(&entry.key) {
            return;
        }
        self.by_key.insert(entry.key.clone(), self.entries.len());
        self.entries.push(entry);
    }
}

fn key_of(dn: &str) -> String {
    Dn::parse(dn)
        .map(|d| d.key())
        .unwrap_or_else(|_| dn.to_ascii_lowercase())
}

fn escape(value: &str) -> String {
    let mut out = String::new();
    crate::dn::escape_value(value, &mut out);
    out
}

/// The local part of an address: Google's username.
fn local_part(mail: &str) -> &str {
    mail.split('@').next().unwrap_or(mail)
}

/// A number in POSIX's range that stays the same for the object: Google assigns one when
/// the account is made and keeps it.
fn posix_number(dir: &Directory, id: EntryId) -> String {
    let g = dir.entry(id).guid.0;
    let n = u32::from_le_bytes([g[0], g[1], g[2], g[3]]) & 0x7fff_ffff;
    (n.max(1000)).to_string()
}

/// Google's per-object UUID (`apple-generateduid`), upper case. fake-dc takes the
/// directory object's GUID, so one person keeps one identity however it is read.
fn generated_uid(dir: &Directory, id: EntryId) -> String {
    dir.entry(id).guid.to_string().to_ascii_uppercase()
}

/// Builds the tree `spec` describes from `dir`; an empty tree when its source domain is
/// gone.
pub fn build(dir: &Directory, spec: &GoogleSpec) -> Tree {
    let mut tree = Tree::default();
    let base = spec.base_dn();
    let base_key = key_of(&base);
    let source = match &spec.from {
        Some(name) => dir.domain_named(name),
        None => dir.domains.first(),
    };
    let Some(source) = source else { return tree };
    let head = source.head;
    let first_label = spec
        .domain
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    tree.push(GEntry {
        dn: base.clone(),
        key: base_key.clone(),
        parent: String::new(),
        attrs: vec![
            ("objectClass", strs(&["top", "domain", "dcObject"])),
            ("dc", vec![first_label]),
            ("hasSubordinates", strs(&["TRUE"])),
        ],
    });
    let users_dn = format!("ou=Users,{base}");
    let groups_dn = format!("ou=Groups,{base}");
    for (dn, name) in [(&users_dn, "Users"), (&groups_dn, "Groups")] {
        tree.push(ou_entry(dn, &base_key, name, None));
    }

    // Groups first, so people can name the groups they belong to.
    let mut group_dn: BTreeMap<EntryId, String> = BTreeMap::new();
    for id in dir.of_kind(ObjectKind::Group) {
        if !dir.is_within(id, head) || dir.entry(id).deleted {
            continue;
        }
        if let Some(mail) = dir.entry(id).get_str("mail") {
            let cn = local_part(mail).to_string();
            group_dn.insert(id, format!("cn={},{groups_dn}", escape(&cn)));
        }
    }
    let mut user_dn: BTreeMap<EntryId, (String, String)> = BTreeMap::new();
    let mut ous: BTreeMap<String, (String, String, Option<String>)> = BTreeMap::new();
    for id in dir.of_kind(ObjectKind::User) {
        let e = dir.entry(id);
        if e.deleted || !dir.is_within(id, head) {
            continue;
        }
        let Some(mail) = e.get_str("mail") else {
            continue;
        };
        let uid = local_part(mail).to_string();
        // The OUs between the person and the domain, nearest last, as Google nests them
        // under ou=Users.
        let mut parent_dn = users_dn.clone();
        for ou in ou_path(dir, id, head) {
            let name = dir.entry(ou).rdn.value().to_string();
            let dn = format!("ou={},{parent_dn}", escape(&name));
            let description = dir.entry(ou).get_str("description").map(str::to_string);
            ous.entry(key_of(&dn))
                .or_insert((dn.clone(), parent_dn.clone(), description));
            parent_dn = dn;
        }
        let dn = format!("uid={},{parent_dn}", escape(&uid));
        user_dn.insert(id, (dn, parent_dn));
    }
    // OUs in DN order put every parent before its children.
    let mut ou_list: Vec<_> = ous.into_values().collect();
    ou_list.sort_by_key(|(dn, _, _)| dn.matches(',').count());
    for (dn, parent, description) in ou_list {
        let name = Dn::parse(&dn)
            .ok()
            .and_then(|d| d.rdn().map(|r| r.value().to_string()))
            .unwrap_or_default();
        tree.push(ou_entry(&dn, &key_of(&parent), &name, description));
    }
    let domain_part = spec.domain.replace('.', "_");
    for (&id, (dn, parent)) in &user_dn {
        let e = dir.entry(id);
        let mail = e.get_str("mail").unwrap_or_default().to_string();
        let uid = local_part(&mail).to_string();
        let display = e
            .get_str("displayName")
            .map(str::to_string)
            .unwrap_or_else(|| e.rdn.value().to_string());
        let mut words = display.split_whitespace();
        let given = e
            .get_str("givenName")
            .map(str::to_string)
            .or_else(|| words.next().map(str::to_string))
            .unwrap_or_else(|| uid.clone());
        let sn = e
            .get_str("sn")
            .map(str::to_string)
            .or_else(|| display.split_whitespace().last().map(str::to_string))
            .unwrap_or_else(|| uid.clone());
        let posix_uid = format!("{uid}_{domain_part}");
        let number = posix_number(dir, id);
        let member_of: Vec<String> = e
            .member_of
            .iter()
            .filter_map(|g| group_dn.get(g).cloned())
            .collect();
        let mut attrs = vec![
            (
                "objectClass",
                strs(&[
                    "top",
                    "person",
                    "organizationalPerson",
                    "inetOrgPerson",
                    "posixAccount",
                ]),
            ),
            ("uid", vec![uid.clone()]),
            ("googleUid", vec![uid.clone()]),
            ("posixUid", vec![posix_uid.clone()]),
            ("cn", vec![uid.clone(), display.clone()]),
            ("sn", vec![sn]),
            ("givenName", vec![given]),
            ("displayName", vec![display]),
            ("mail", vec![mail]),
            ("uidNumber", vec![number.clone()]),
            ("gidNumber", vec![number]),
            ("homeDirectory", vec![format!("/home/{posix_uid}")]),
            ("loginShell", strs(&["/bin/bash"])),
            ("apple-generateduid", vec![generated_uid(dir, id)]),
        ];
        if !member_of.is_empty() {
            attrs.push(("memberOf", member_of));
        }
        tree.push(GEntry {
            dn: dn.clone(),
            key: key_of(dn),
            parent: key_of(parent),
            attrs,
        });
    }
    let groups_key = key_of(&groups_dn);
    for (&id, dn) in &group_dn {
        let e = dir.entry(id);
        let mail = e.get_str("mail").unwrap_or_default().to_string();
        let cn = local_part(&mail).to_string();
        let mut member = Vec::new();
        let mut member_uid = Vec::new();
        for m in &e.members {
            if let Some((udn, _)) = user_dn.get(m) {
                member.push(udn.clone());
                if let Some(addr) = dir.entry(*m).get_str("mail") {
                    member_uid.push(local_part(addr).to_string());
                }
            } else if let Some(gdn) = group_dn.get(m) {
                member.push(gdn.clone());
            }
        }
        let mut attrs = vec![
            ("objectClass", strs(&["top", "groupOfNames", "posixGroup"])),
            ("cn", vec![cn]),
        ];
        if let Some(d) = e.get_str("description") {
            attrs.push(("description", vec![d.to_string()]));
        }
        attrs.push(("mail", vec![mail]));
        if !member.is_empty() {
            attrs.push(("member", member));
        }
        if !member_uid.is_empty() {
            attrs.push(("memberUid", member_uid));
        }
        attrs.push(("gidNumber", vec![posix_number(dir, id)]));
        attrs.push(("apple-generateduid", vec![generated_uid(dir, id)]));
        tree.push(GEntry {
            dn: dn.clone(),
            key: key_of(dn),
            parent: groups_key.clone(),
            attrs,
        });
    }
    tree
}

/// The OUs above `id` up to the domain head, outermost first; containers are skipped.
fn ou_path(dir: &Directory, id: EntryId, head: EntryId) -> Vec<EntryId> {
    let mut path = Vec::new();
    let mut cur = dir.entry(id).parent;
    while let Some(p) = cur {
        if p == head {
            break;
        }
        if dir.entry(p).kind == ObjectKind::OrganizationalUnit {
            path.push(p);
        }
        cur = dir.entry(p).parent;
    }
    path.reverse();
    path
}

fn ou_entry(dn: &str, parent: &str, name: &str, description: Option<String>) -> GEntry {
    let mut attrs = vec![
        ("objectClass", strs(&["top", "organizationalUnit"])),
        ("ou", vec![name.to_string()]),
    ];
    if let Some(d) = description {
        attrs.push(("description", vec![d]));
    }
    attrs.push(("hasSubordinates", strs(&["TRUE"])));
    GEntry {
        dn: dn.to_string(),
        key: key_of(dn),
        parent: parent.to_string(),
        attrs,
    }
}

fn strs(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

#[cfg(test)]
// A failed unwrap is the clearest test failure; the workspace lint targets library code.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixture::{load_str, LoadOptions};

    const FIXTURE: &str = r#"
domains:
  - dns: corp.example.test
    ous:
      - name: Staff
        users:
          - { cn: Lisa Smith, mail: lisa@example.com }
          - { cn: No Mail }
        groups:
          - { cn: Team, mail: team@example.com, members: [Lisa Smith, No Mail, Inner] }
          - { cn: Inner, mail: inner@example.com, members: [Lisa Smith] }
          - { cn: Unmailed, members: [Lisa Smith] }
google:
  domain: example.com
"#;

    #[test]
    fn the_tree_has_googles_shape() {
        let dir = load_str(FIXTURE, "t.yaml", LoadOptions::default()).unwrap();
        let spec = dir.google.clone().unwrap();
        let tree = build(&dir, &spec);
        let dns: Vec<&str> = tree.entries.iter().map(|e| e.dn.as_str()).collect();
        assert_eq!(
            dns,
            [
                "dc=example,dc=com",
                "ou=Users,dc=example,dc=com",
                "ou=Groups,dc=example,dc=com",
                "ou=Staff,ou=Users,dc=example,dc=com",
                "uid=lisa,ou=Staff,ou=Users,dc=example,dc=com",
                "cn=team,ou=Groups,dc=example,dc=com",
                "cn=inner,ou=Groups,dc=example,dc=com",
            ]
        );
        let lisa = tree
            .get("uid=lisa,ou=staff,ou=users,dc=example,dc=com")
            .unwrap();
        assert_eq!(lisa.get("cn"), ["lisa", "Lisa Smith"]);
        assert_eq!(lisa.get("posixUid"), ["lisa_example_com"]);
        assert_eq!(lisa.get("memberOf").len(), 2);
        let team = tree.get("cn=team,ou=groups,dc=example,dc=com").unwrap();
        assert_eq!(
            team.get("member"),
            [
                "uid=lisa,ou=Staff,ou=Users,dc=example,dc=com",
                "cn=inner,ou=Groups,dc=example,dc=com"
            ]
        );
        assert_eq!(team.get("memberUid"), ["lisa"]);
    }
}
