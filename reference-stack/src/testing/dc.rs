//! A model directory served by a real in-process fake-dc, for properties that run the
//! whole stack over sockets: the model written as a fixture (the format of
//! `fixtures/README.md`), the running DC changed as the model is mutated, and the
//! environment and connector settings that reach it.
//!
//! The DC holds the model's objects under the same `objectGUID`s ([`guid_of`]), so a
//! snapshot extracted from it names the model's ids, plus what AD adds to every domain
//! (built-in accounts and groups, `CN=Users`, …) and a service account to bind as.
//! Plain LDAP keeps each case fast; TLS has its own tests.

use std::collections::BTreeMap;
use std::time::Duration;

use fake_dc::directory::{self as dc, Directory as DcDirectory, EntryId, ModOp, Modification};
use fake_dc::dn::{Dn, Rdn};
use fake_dc::fixture::{load_str, LoadOptions};
use fake_dc::schema::ObjectKind;
use fake_dc::server::{FakeDc, HostConfig};
use serde_json::{json, Value};

use super::entries::RawEntry;
use super::model::{guid_of, ou_dn, Directory, GroupKind, Member, DOMAIN_USERS_RID, OUS, ROOT_DN};
use super::mutation::Mutation;
use super::AD_RANGE;
use crate::report::SyncMethod;
use crate::resolve::Resolver;
use crate::settings::{ConnectorSettings, EncryptionMode};
use crate::stack::SyncEnvironment;

/// The domain of the model's naming context.
pub const DNS: &str = "corp.test";
/// The DC the stack connects to.
pub const DC1: &str = "dc1.corp.test";
/// A second DC of the domain, serving the same directory.
pub const DC2: &str = "dc2.corp.test";
/// The service account the stack binds as: no mail, so never synced itself.
pub const BIND_DN: &str = "CN=Sync Service,CN=Users,DC=corp,DC=test";
/// Every account's password.
pub const PASSWORD: &str = "Sync-Secret-1";

/// The SID of foreign security principal `n`, the member DN the model writes for it.
fn foreign_sid(n: u32) -> String {
    format!("S-1-5-21-1004336348-1177238915-682003330-{n}")
}

/// The string form of model object `id`'s GUID (fake-dc reads the same form).
fn guid_text(id: u32) -> String {
    guid_of(id).to_string()
}

/// The model's attributes of one object, by lower-case name.
fn attributes(entry: &RawEntry) -> BTreeMap<String, Vec<String>> {
    entry
        .attributes
        .iter()
        .map(|(name, values)| (name.to_ascii_lowercase(), values.clone()))
        .collect()
}

/// The mail-related attributes of an entry as fixture keys.
fn mail_keys(spec: &mut serde_json::Map<String, Value>, attrs: &BTreeMap<String, Vec<String>>) {
    if let Some(mail) = attrs.get("mail").and_then(|values| values.first()) {
        spec.insert("mail".into(), json!(mail));
    }
    if let Some(proxies) = attrs.get("proxyaddresses") {
        spec.insert("proxyAddresses".into(), json!(proxies));
    }
}

/// The members the DC holds for group `id`: all but the group itself, which AD refuses
/// to nest in itself (the model allows it; cycles through other groups stay).
fn own_members(id: u32, members: &[Member]) -> Vec<Member> {
    members
        .iter()
        .filter(|member| **member != Member::Group(id))
        .copied()
        .collect()
}

/// A member reference the fixture resolves: `CORP\sAMAccountName` for users and groups,
/// the DN for contacts (they have no account name), the SID for foreign principals.
fn member_reference(directory: &Directory, member: Member) -> Option<String> {
    Some(match member {
        Member::User(id) => {
            directory.user(id)?;
            format!("CORP\\u{id}")
        }
        Member::Group(id) => {
            directory.group(id)?;
            format!("CORP\\g{id}")
        }
        Member::Contact(id) => directory.contact(id)?.dn(),
        Member::Foreign(n) => foreign_sid(n),
    })
}

/// The model as a fixture: domain `corp.test` with DCs [`DC1`] and [`DC2`], the model's
/// OUs, objects and memberships, and the service account.
pub fn fixture(directory: &Directory) -> String {
    let entries: BTreeMap<_, _> = directory
        .entries(AD_RANGE)
        .into_iter()
        .map(|entry| (entry.guid, attributes(&entry)))
        .collect();
    let mut ous: Vec<serde_json::Map<String, Value>> = (0..OUS.len())
        .map(|_| {
            let mut ou = serde_json::Map::new();
            for key in ["users", "groups", "contacts", "dynamicLists"] {
                ou.insert(key.into(), json!([]));
            }
            ou
        })
        .collect();
    let push = |ous: &mut Vec<serde_json::Map<String, Value>>, ou: usize, key: &str, spec| {
        if let Some(Value::Array(list)) = ous.get_mut(ou).and_then(|o| o.get_mut(key)) {
            list.push(Value::Object(spec));
        }
    };
    for user in &directory.users {
        let attrs = entries.get(&guid_of(user.id)).cloned().unwrap_or_default();
        let mut spec = serde_json::Map::new();
        spec.insert("cn".into(), json!(user.cn));
        spec.insert("sAMAccountName".into(), json!(format!("u{}", user.id)));
        spec.insert("objectGUID".into(), json!(guid_text(user.id)));
        spec.insert(
            "state".into(),
            json!(if user.disabled { "disabled" } else { "enabled" }),
        );
        mail_keys(&mut spec, &attrs);
        if let Some(group) = user.primary_group {
            spec.insert("primaryGroup".into(), json!(format!("CORP\\g{group}")));
        }
        if let Some(department) = &user.department {
            spec.insert("attributes".into(), json!({ "department": department }));
        }
        push(&mut ous, user.ou, "users", spec);
    }
    for group in &directory.groups {
        let attrs = entries.get(&guid_of(group.id)).cloned().unwrap_or_default();
        let mut spec = serde_json::Map::new();
        spec.insert("cn".into(), json!(group.cn));
        spec.insert("objectGUID".into(), json!(guid_text(group.id)));
        mail_keys(&mut spec, &attrs);
        match &group.kind {
            GroupKind::Group { members } => {
                spec.insert("sAMAccountName".into(), json!(format!("g{}", group.id)));
                let members: Vec<String> = own_members(group.id, members)
                    .into_iter()
                    .filter_map(|member| member_reference(directory, member))
                    .collect();
                spec.insert("members".into(), json!(members));
                push(&mut ous, group.ou, "groups", spec);
            }
            GroupKind::DynamicList { .. } => {
                let first = |name: &str| {
                    attrs
                        .get(name)
                        .and_then(|values| values.first())
                        .cloned()
                        .unwrap_or_default()
                };
                spec.insert("filter".into(), json!(first("msexchdynamicdlfilter")));
                spec.insert("base".into(), json!(first("msexchdynamicdlbasedn")));
                push(&mut ous, group.ou, "dynamicLists", spec);
            }
        }
    }
    for contact in &directory.contacts {
        let attrs = entries
            .get(&guid_of(contact.id))
            .cloned()
            .unwrap_or_default();
        let mut spec = serde_json::Map::new();
        spec.insert("cn".into(), json!(contact.cn));
        spec.insert("objectGUID".into(), json!(guid_text(contact.id)));
        mail_keys(&mut spec, &attrs);
        push(&mut ous, contact.ou, "contacts", spec);
    }
    // OUS: Staff, Sales inside Staff, R+D, Contacts.
    let mut staff = ous.remove(0);
    let mut sales = ous.remove(0);
    sales.insert("name".into(), json!("Sales"));
    staff.insert("name".into(), json!("Staff"));
    staff.insert("ous".into(), json!([sales]));
    let mut research = ous.remove(0);
    research.insert("name".into(), json!("R+D"));
    let mut contacts = ous.remove(0);
    contacts.insert("name".into(), json!("Contacts"));
    let fixture = json!({
        "seed": 7,
        "defaultPassword": PASSWORD,
        "domains": [{
            "dns": DNS,
            "netbios": "CORP",
            "dcs": [DC1, DC2],
            "users": [{ "cn": "Sync Service", "sAMAccountName": "syncsvc" }],
            "ous": [staff, research, contacts],
        }],
    });
    serde_yaml::to_string(&fixture).unwrap_or_default()
}

/// The model's directory served over plain LDAP by two DC hosts.
pub struct LiveDc {
    /// The running DC; change it through [`LiveDc::mutate`].
    pub dc: FakeDc,
}

impl LiveDc {
    /// Loads [`fixture`] of `directory` and starts [`DC1`] and [`DC2`] on loopback.
    pub async fn start(directory: &Directory) -> Result<Self, String> {
        let text = fixture(directory);
        let loaded = load_str(&text, "generated fixture", LoadOptions::default())
            .map_err(|e| format!("{e}\n{text}"))?;
        let dc = FakeDc::builder(loaded)
            .host(DC1, HostConfig::loopback())
            .host(DC2, HostConfig::loopback())
            .start()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self { dc })
    }

    /// An environment that reaches both hosts' plain LDAP and Global Catalog ports, with
    /// pages of `page_size` entries.
    pub fn env(&self, method: SyncMethod, page_size: i32) -> SyncEnvironment {
        let mut resolver = Resolver::pinned();
        for host in [DC1, DC2] {
            if let Some(addresses) = self.dc.addresses(host) {
                for (port, address) in [(389, addresses.ldap), (3268, addresses.gc)] {
                    if let Some(address) = address {
                        resolver.pin(host, port, address);
                    }
                }
            }
        }
        let mut env = SyncEnvironment::new(resolver, Vec::new(), method);
        env.timeout = Duration::from_secs(20);
        env.page_size = page_size;
        env
    }

    /// Plain LDAP to [`DC1`] (then [`DC2`]) as the service account, rooted at the model's
    /// naming context.
    pub fn connector(&self) -> ConnectorSettings {
        ConnectorSettings {
            primary_host: DC1.into(),
            secondary_host: Some(DC2.into()),
            encryption: EncryptionMode::None,
            port: 389,
            bind_dn: BIND_DN.into(),
            password: PASSWORD.into(),
            root_dn: ROOT_DN.into(),
            change_tracking: Default::default(),
        }
    }

    /// Applies `mutation` to `model` and makes the running DC match, through fake-dc's
    /// directory API (each change takes a USN, as an LDAP write would).
    pub fn mutate(&self, model: &mut Directory, mutation: &Mutation) -> Result<(), String> {
        let before = model.clone();
        model.mutate(mutation);
        self.dc
            .with_directory(|dir| reconcile(dir, &before, model))
            .map_err(|e| format!("{mutation:?}: {e}"))
    }

    /// Stops the DC.
    pub async fn shutdown(self) {
        self.dc.shutdown().await;
    }
}

/// Every object the model knows, by id: its kind, OU, CN and managed attributes.
struct Shape {
    kind: ObjectKind,
    ou: usize,
    cn: String,
    /// Attributes written to the DC (lower case name → values); `primaryGroupID` as the
    /// model's group id or Domain Users, turned into a RID against the DC.
    attributes: BTreeMap<&'static str, Vec<String>>,
    primary_group: Option<u32>,
    members: Vec<Member>,
}

/// The attributes [`reconcile`] keeps in step, by kind.
const MANAGED: [&str; 6] = [
    "mail",
    "proxyAddresses",
    "userAccountControl",
    "department",
    "msExchDynamicDLFilter",
    "msExchDynamicDLBaseDN",
];

fn shapes(directory: &Directory) -> BTreeMap<u32, Shape> {
    let entries: BTreeMap<_, _> = directory
        .entries(AD_RANGE)
        .into_iter()
        .map(|entry| (entry.guid, attributes(&entry)))
        .collect();
    let managed = |guid| {
        let attrs = entries.get(&guid).cloned().unwrap_or_default();
        MANAGED
            .iter()
            .filter_map(|name| {
                attrs
                    .get(&name.to_ascii_lowercase())
                    .map(|values| (*name, values.clone()))
            })
            .collect::<BTreeMap<_, _>>()
    };
    let mut shapes = BTreeMap::new();
    for user in &directory.users {
        shapes.insert(
            user.id,
            Shape {
                kind: ObjectKind::User,
                ou: user.ou,
                cn: user.cn.clone(),
                attributes: managed(guid_of(user.id)),
                primary_group: user.primary_group,
                members: Vec::new(),
            },
        );
    }
    for group in &directory.groups {
        let (kind, members) = match &group.kind {
            GroupKind::Group { members } => (ObjectKind::Group, own_members(group.id, members)),
            GroupKind::DynamicList { .. } => (ObjectKind::DynamicList, Vec::new()),
        };
        shapes.insert(
            group.id,
            Shape {
                kind,
                ou: group.ou,
                cn: group.cn.clone(),
                attributes: managed(guid_of(group.id)),
                primary_group: None,
                members,
            },
        );
    }
    for contact in &directory.contacts {
        shapes.insert(
            contact.id,
            Shape {
                kind: ObjectKind::Contact,
                ou: contact.ou,
                cn: contact.cn.clone(),
                attributes: managed(guid_of(contact.id)),
                primary_group: None,
                members: Vec::new(),
            },
        );
    }
    shapes
}

fn entry_of(dir: &DcDirectory, id: u32) -> Result<EntryId, String> {
    dir.by_guid(&dc::Guid(guid_of(id).0))
        .ok_or_else(|| format!("object {id} is not in the DC"))
}

fn ou_entry(dir: &DcDirectory, ou: usize) -> Result<EntryId, String> {
    let dn = Dn::parse(&ou_dn(ou)).map_err(|e| e.to_string())?;
    dir.resolve(&dn).map_err(|e| e.to_string())
}

/// `primaryGroupID` for a user whose primary group is model group `group`.
fn primary_group_id(dir: &DcDirectory, group: Option<u32>) -> Result<String, String> {
    let Some(group) = group else {
        return Ok(DOMAIN_USERS_RID.to_string());
    };
    let id = entry_of(dir, group)?;
    dir.entry(id)
        .sid
        .as_ref()
        .map(|sid| sid.rid().to_string())
        .ok_or_else(|| format!("group {group} has no SID"))
}

fn member_entry(dir: &mut DcDirectory, member: Member) -> Result<EntryId, String> {
    match member {
        Member::User(id) | Member::Group(id) | Member::Contact(id) => entry_of(dir, id),
        Member::Foreign(n) => {
            let sid = dc::Sid::parse(&foreign_sid(n)).ok_or("bad foreign SID")?;
            if let Some(id) = dir.by_sid(&sid) {
                return Ok(id);
            }
            let parent = dir
                .domains
                .first()
                .map(|domain| domain.foreign_principals)
                .ok_or("no domain")?;
            let mut new = dc::NewEntry::new(
                parent,
                Rdn::new("CN", sid.to_string()),
                ObjectKind::ForeignSecurityPrincipal,
            );
            new.sid = Some(sid);
            dir.create(new).map_err(|e| e.to_string())
        }
    }
}

/// Makes the DC's copy of the model's objects go from `before` to `after`: creations,
/// renames and moves, attribute changes, membership changes, then deletions (after
/// users whose primary group is deleted have been moved back to Domain Users, as AD
/// requires).
fn reconcile(dir: &mut DcDirectory, before: &Directory, after: &Directory) -> Result<(), String> {
    let old = shapes(before);
    let new = shapes(after);
    for (id, shape) in &new {
        if old.contains_key(id) {
            continue;
        }
        let parent = ou_entry(dir, shape.ou)?;
        let mut entry = dc::NewEntry::new(parent, Rdn::new("CN", &shape.cn), shape.kind);
        match shape.kind {
            ObjectKind::User => {
                let sam = format!("u{id}");
                entry = entry
                    .with("sAMAccountName", &[&sam])
                    .with("userPrincipalName", &[&format!("{sam}@{DNS}")]);
                entry.password = Some(PASSWORD.into());
            }
            ObjectKind::Group => entry = entry.with("sAMAccountName", &[&format!("g{id}")]),
            _ => {}
        }
        for (name, values) in &shape.attributes {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            entry = entry.with(name, &values);
        }
        entry.guid = Some(dc::Guid(guid_of(*id).0));
        dir.create(entry).map_err(|e| e.to_string())?;
    }
    for (id, shape) in &new {
        let Some(was) = old.get(id) else {
            continue;
        };
        let entry = entry_of(dir, *id)?;
        if was.cn != shape.cn || was.ou != shape.ou {
            let parent = ou_entry(dir, shape.ou)?;
            dir.rename(entry, Rdn::new("CN", &shape.cn), Some(parent))
                .map_err(|e| e.to_string())?;
        }
        let mut mods = Vec::new();
        for name in MANAGED {
            let (from, to) = (was.attributes.get(name), shape.attributes.get(name));
            if from != to {
                mods.push(Modification {
                    op: ModOp::Replace,
                    attr: name.to_owned(),
                    values: to
                        .into_iter()
                        .flatten()
                        .map(|value| value.as_bytes().to_vec())
                        .collect(),
                });
            }
        }
        if shape.kind == ObjectKind::User && was.primary_group != shape.primary_group {
            mods.push(Modification {
                op: ModOp::Replace,
                attr: "primaryGroupID".into(),
                values: vec![primary_group_id(dir, shape.primary_group)?.into_bytes()],
            });
        }
        if !mods.is_empty() {
            dir.modify(entry, &mods, true).map_err(|e| e.to_string())?;
        }
    }
    // New objects may start with a primary group (the model gives them none today).
    for (id, shape) in &new {
        if old.contains_key(id) || shape.primary_group.is_none() {
            continue;
        }
        let entry = entry_of(dir, *id)?;
        let rid = primary_group_id(dir, shape.primary_group)?;
        dir.set(entry, "primaryGroupID", &[rid.as_str()])
            .map_err(|e| e.to_string())?;
    }
    for (id, shape) in &new {
        let was = old.get(id).map(|was| was.members.as_slice()).unwrap_or(&[]);
        if was == shape.members.as_slice() {
            continue;
        }
        let group = entry_of(dir, *id)?;
        for member in was.iter().filter(|m| !shape.members.contains(m)) {
            let member = member_entry(dir, *member)?;
            dir.remove_member(group, member)
                .map_err(|e| e.to_string())?;
        }
        for member in shape.members.iter().filter(|m| !was.contains(m)) {
            let member = member_entry(dir, *member)?;
            dir.add_member(group, member).map_err(|e| e.to_string())?;
        }
    }
    for id in old.keys().filter(|id| !new.contains_key(id)) {
        let entry = entry_of(dir, *id)?;
        dir.delete(entry).map_err(|e| e.to_string())?;
    }
    Ok(())
}
