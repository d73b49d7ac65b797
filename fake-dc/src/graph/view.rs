//! Objects rendered as Graph v1.0 JSON: property names and casing from Microsoft's
//! `user` and `group` resources, absent strings as `null`, absent collections as `[]`,
//! times in ISO 8601 UTC, and the on-premises properties Azure AD Connect writes.
//! `$select` projects the full rendering; without it, Graph's default property sets.

use serde_json::{json, Map, Value};

use super::objects::{Kind, Obj, View};
use crate::directory::Entry;

/// The properties `GET /users` returns without `$select` (Graph v1.0's default set).
pub const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// `userAccountControl`'s ACCOUNTDISABLE bit.
const ACCOUNT_DISABLE: i64 = 0x2;
/// `groupType`'s security bit.
const SECURITY_ENABLED: i64 = 0x8000_0000;

/// The object with every property fake-dc knows.
pub fn render(view: View<'_>, obj: Obj) -> Map<String, Value> {
    match (obj, view.kind(obj)) {
        (Obj::Entry(id), Kind::User) => entry_user(view, id),
        (Obj::Entry(id), Kind::Group) => entry_group(view, id),
        (Obj::CloudUser(i), _) => cloud_user(view, i),
        (Obj::CloudGroup(i), _) => cloud_group(view, i),
    }
}

/// The object as `$select` asks (case-insensitive names, `id` always included, as
/// Graph does), or with its resource's default properties.
pub fn project(
    full: Map<String, Value>,
    kind: Kind,
    select: Option<&[String]>,
) -> Map<String, Value> {
    match select {
        Some(names) => {
            let mut out = Map::new();
            for (k, v) in full {
                if k == "id" || names.iter().any(|n| n.eq_ignore_ascii_case(&k)) {
                    out.insert(k, v);
                }
            }
            out
        }
        None if kind == Kind::User => full
            .into_iter()
            .filter(|(k, _)| USER_DEFAULT.contains(&k.as_str()))
            .collect(),
        // Graph returns a group's whole default set, which is every property here.
        None => full,
    }
}

/// A directory object inside a `members`/`memberOf` collection: its type annotated.
pub fn directory_object(view: View<'_>, obj: Obj, select: Option<&[String]>) -> Value {
    let kind = view.kind(obj);
    let mut out = Map::new();
    out.insert("@odata.type".into(), json!(kind.odata_type()));
    out.extend(project(render(view, obj), kind, select));
    Value::Object(out)
}

pub fn iso_time(unix: i64) -> Value {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .map_or(Value::Null, Value::String)
}

fn text(e: &Entry, attr: &str) -> Value {
    e.get_str(attr).map_or(Value::Null, |v| json!(v))
}

fn texts(e: &Entry, attr: &str) -> Value {
    json!(e.get_strs(attr))
}

fn entry_user(view: View<'_>, id: crate::directory::EntryId) -> Map<String, Value> {
    let e = view.dir.entry(id);
    let domain = view.dir.domain_of(id);
    let sam = e.get_str("sAMAccountName").unwrap_or_default();
    let upn = e.get_str("userPrincipalName").map_or_else(
        || format!("{sam}@{}", domain.map_or("", |d| d.dns_name.as_str())),
        str::to_owned,
    );
    let uac = e.get_int("userAccountControl").unwrap_or(0);
    let mut m = Map::new();
    m.insert("id".into(), json!(view.id(Obj::Entry(id))));
    m.insert("accountEnabled".into(), json!(uac & ACCOUNT_DISABLE == 0));
    m.insert("businessPhones".into(), texts(e, "telephoneNumber"));
    m.insert("city".into(), text(e, "l"));
    m.insert("companyName".into(), text(e, "company"));
    m.insert("country".into(), text(e, "co"));
    m.insert("createdDateTime".into(), iso_time(e.when_created));
    m.insert("department".into(), text(e, "department"));
    m.insert(
        "displayName".into(),
        json!(e.get_str("displayName").unwrap_or_else(|| e.rdn.value())),
    );
    m.insert("employeeId".into(), text(e, "employeeID"));
    m.insert("givenName".into(), text(e, "givenName"));
    m.insert("jobTitle".into(), text(e, "title"));
    m.insert("mail".into(), text(e, "mail"));
    m.insert(
        "mailNickname".into(),
        json!(e.get_str("mailNickname").unwrap_or(sam)),
    );
    m.insert("mobilePhone".into(), text(e, "mobile"));
    m.insert(
        "officeLocation".into(),
        text(e, "physicalDeliveryOfficeName"),
    );
    m.insert(
        "onPremisesDistinguishedName".into(),
        json!(view.dir.dn_str(id)),
    );
    m.insert(
        "onPremisesDomainName".into(),
        domain.map_or(Value::Null, |d| json!(d.dns_name)),
    );
    m.insert("onPremisesImmutableId".into(), json!(base64(&e.guid.0)));
    m.insert(
        "onPremisesLastSyncDateTime".into(),
        iso_time(e.when_changed),
    );
    m.insert("onPremisesSamAccountName".into(), json!(sam));
    m.insert(
        "onPremisesSecurityIdentifier".into(),
        e.sid.as_ref().map_or(Value::Null, |s| json!(s.to_string())),
    );
    m.insert("onPremisesSyncEnabled".into(), json!(true));
    m.insert("onPremisesUserPrincipalName".into(), json!(upn));
    m.insert("otherMails".into(), json!([]));
    m.insert("postalCode".into(), text(e, "postalCode"));
    m.insert("preferredLanguage".into(), text(e, "preferredLanguage"));
    m.insert("proxyAddresses".into(), texts(e, "proxyAddresses"));
    m.insert("state".into(), text(e, "st"));
    m.insert("streetAddress".into(), text(e, "streetAddress"));
    m.insert("surname".into(), text(e, "sn"));
    m.insert("usageLocation".into(), Value::Null);
    m.insert("userPrincipalName".into(), json!(upn));
    m.insert("userType".into(), json!("Member"));
    m
}

fn entry_group(view: View<'_>, id: crate::directory::EntryId) -> Map<String, Value> {
    let e = view.dir.entry(id);
    let domain = view.dir.domain_of(id);
    let sam = e.get_str("sAMAccountName").unwrap_or_default();
    let group_type = e.get_int("groupType").unwrap_or(0);
    let mail = text(e, "mail");
    let mut m = Map::new();
    m.insert("id".into(), json!(view.id(Obj::Entry(id))));
    m.insert("createdDateTime".into(), iso_time(e.when_created));
    m.insert("description".into(), text(e, "description"));
    m.insert(
        "displayName".into(),
        json!(e.get_str("displayName").unwrap_or_else(|| e.rdn.value())),
    );
    m.insert("groupTypes".into(), json!([]));
    m.insert("mailEnabled".into(), json!(!mail.is_null()));
    m.insert("mail".into(), mail);
    m.insert(
        "mailNickname".into(),
        json!(e.get_str("mailNickname").unwrap_or(sam)),
    );
    m.insert(
        "onPremisesDomainName".into(),
        domain.map_or(Value::Null, |d| json!(d.dns_name)),
    );
    m.insert(
        "onPremisesLastSyncDateTime".into(),
        iso_time(e.when_changed),
    );
    m.insert(
        "onPremisesNetBiosName".into(),
        domain.map_or(Value::Null, |d| json!(d.netbios)),
    );
    m.insert("onPremisesSamAccountName".into(), json!(sam));
    m.insert(
        "onPremisesSecurityIdentifier".into(),
        e.sid.as_ref().map_or(Value::Null, |s| json!(s.to_string())),
    );
    m.insert("onPremisesSyncEnabled".into(), json!(true));
    m.insert("proxyAddresses".into(), texts(e, "proxyAddresses"));
    m.insert(
        "securityEnabled".into(),
        json!(group_type & SECURITY_ENABLED != 0),
    );
    m.insert("visibility".into(), Value::Null);
    m
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| json!(s))
}

fn cloud_user(view: View<'_>, i: u32) -> Map<String, Value> {
    let u = &view.tenant.users[i as usize];
    let s = &u.spec;
    let nickname = s.mail_nickname.clone().unwrap_or_else(|| {
        s.user_principal_name
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("accountEnabled".into(), json!(s.account_enabled));
    m.insert("businessPhones".into(), json!([]));
    m.insert("department".into(), opt(&s.department));
    m.insert("displayName".into(), json!(s.display_name));
    m.insert("givenName".into(), opt(&s.given_name));
    m.insert("jobTitle".into(), opt(&s.job_title));
    m.insert("mail".into(), opt(&s.mail));
    m.insert("mailNickname".into(), json!(nickname));
    m.insert("mobilePhone".into(), Value::Null);
    m.insert("officeLocation".into(), Value::Null);
    for p in [
        "onPremisesDistinguishedName",
        "onPremisesDomainName",
        "onPremisesImmutableId",
        "onPremisesLastSyncDateTime",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
        "onPremisesUserPrincipalName",
    ] {
        m.insert(p.into(), Value::Null);
    }
    m.insert("otherMails".into(), json!([]));
    m.insert("preferredLanguage".into(), Value::Null);
    m.insert("proxyAddresses".into(), json!(s.proxy_addresses));
    m.insert("surname".into(), opt(&s.surname));
    m.insert("usageLocation".into(), Value::Null);
    m.insert("userPrincipalName".into(), json!(s.user_principal_name));
    m.insert("userType".into(), json!("Member"));
    m
}

fn cloud_group(view: View<'_>, i: u32) -> Map<String, Value> {
    let g = &view.tenant.groups[i as usize];
    let s = &g.spec;
    let mut m = Map::new();
    m.insert("id".into(), json!(g.id));
    m.insert("description".into(), opt(&s.description));
    m.insert("displayName".into(), json!(s.display_name));
    m.insert("groupTypes".into(), json!(s.group_types));
    m.insert("mail".into(), opt(&s.mail));
    m.insert(
        "mailEnabled".into(),
        json!(s.mail_enabled.unwrap_or(s.mail.is_some())),
    );
    m.insert("mailNickname".into(), opt(&s.mail_nickname));
    for p in [
        "onPremisesDomainName",
        "onPremisesLastSyncDateTime",
        "onPremisesNetBiosName",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
    ] {
        m.insert(p.into(), Value::Null);
    }
    m.insert("proxyAddresses".into(), json!(s.proxy_addresses));
    m.insert("securityEnabled".into(), json!(s.security_enabled));
    m.insert(
        "visibility".into(),
        if s.group_types.iter().any(|t| t == "Unified") {
            json!("Private")
        } else {
            Value::Null
        },
    );
    m
}

/// Standard base64 with padding: how Azure AD Connect writes the objectGUID's bytes into
/// `onPremisesImmutableId`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
