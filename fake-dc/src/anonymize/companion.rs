//! YAML documents that name a fixture's objects (the settings of a preview or a
//! scenario: host names, bind and root DNs, registered domains, addresses, cloud
//! objects' names), anonymized with the fixture's pseudonyms so they keep pointing at
//! the same objects. Keys stay; each string value is recognised by its form: a SID, a
//! DN, `DOMAIN\name`, an address, a DNS name; values under a name-like key are mapped
//! word by word; the tenant's and its apps' IDs through the GUID map; anything else (passwords, modes,
//! regions, numbers, objectGUIDs) stays.

use serde_yaml::Value;

use super::text::Anon;
use crate::directory::Sid;

/// Keys whose values are names of people or objects.
const NAME_KEYS: &[&str] = &[
    "name",
    "display-name",
    "displayname",
    "given-name",
    "givenname",
    "surname",
    "sn",
    "cn",
    "description",
    "title",
    "department",
];

pub(super) fn value(a: &mut Anon, v: &mut Value, key: Option<&str>) {
    match v {
        Value::String(s) => *s = string(a, s, key),
        Value::Sequence(items) => items.iter_mut().for_each(|i| value(a, i, key)),
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let k = k.as_str().map(str::to_ascii_lowercase);
                value(a, v, k.as_deref());
            }
        }
        Value::Tagged(t) => value(a, &mut t.value, key),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn string(a: &mut Anon, s: &str, key: Option<&str>) -> String {
    if key.is_some_and(|k| NAME_KEYS.contains(&k)) {
        return a.name(s);
    }
    if Sid::parse(s).is_some() {
        return a.sid(s);
    }
    // The tenant's and its apps' IDs (`azure-ad: { tenant, application }`); any other GUID
    // is an objectGUID, which stays.
    if let Some(g) = a.p.known_guid(s) {
        return g;
    }
    if s.contains('=') && crate::dn::Dn::parse(s).is_ok() {
        return a.dn(s);
    }
    if s.contains('@') && !s.contains(' ') {
        return if s.contains(':') {
            a.proxy(s)
        } else {
            a.address(s)
        };
    }
    if let Some((netbios, _)) = s.split_once('\\') {
        if !netbios.is_empty()
            && netbios
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return a.reference(0, s);
        }
    }
    if is_dns_name(s) {
        return a.dns(s);
    }
    s.to_string()
}

/// Two labels or more of letters, digits and hyphens, not all digits (an address).
fn is_dns_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && !labels.iter().all(|l| l.chars().all(|c| c.is_ascii_digit()))
        && labels
            .last()
            .is_some_and(|l| l.chars().any(|c| c.is_ascii_alphabetic()))
}
