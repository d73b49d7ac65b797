//! The tenant turned into the extraction the transform reads, so the Azure AD method
//! feeds the same transform and apply as the LDAP methods. A user's identity is its
//! on-premises objectGUID when Azure AD Connect synchronized it (`onPremisesImmutableId`
//! is that GUID's bytes in base64), so a person moving from the directory connector to
//! Azure AD keeps their cloud account; a cloud-only object is known by its Graph id.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::tenant::TenantState;
use crate::extract::{Extraction, Object, ObjectKind};
use crate::guid::Guid;

/// `userAccountControl` as AD would have it: NORMAL_ACCOUNT, plus ACCOUNTDISABLE.
const NORMAL_ACCOUNT: u32 = 0x200;
const ACCOUNT_DISABLE: u32 = 0x2;

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn texts(m: &Map<String, Value>, key: &str) -> Vec<String> {
    m.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes standard base64 (with or without padding).
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// The identity of an object: its on-premises objectGUID, else its Graph id.
fn identity(m: &Map<String, Value>, warnings: &mut Vec<String>) -> Option<Guid> {
    if let Some(immutable) = text(m, "onPremisesImmutableId") {
        match base64(&immutable).and_then(|b| <[u8; 16]>::try_from(b).ok()) {
            Some(bytes) => return Some(Guid(bytes)),
            None => warnings.push(format!(
                "user '{}' has an onPremisesImmutableId that is not a base64 objectGUID ('{immutable}'); known by its cloud id instead",
                text(m, "userPrincipalName").unwrap_or_default()
            )),
        }
    }
    text(m, "id").and_then(|id| id.parse().ok())
}

/// Where an object is shown in reports: its on-premises DN, else what names it in the
/// cloud.
fn shown(m: &Map<String, Value>, name: &str) -> String {
    text(m, "onPremisesDistinguishedName")
        .or_else(|| text(m, name))
        .or_else(|| text(m, "id"))
        .unwrap_or_default()
}

/// The extraction, limited to `only_users` when the administrator chose groups.
pub fn extraction(state: &TenantState, only_users: Option<&BTreeSet<String>>) -> Extraction {
    let mut warnings = Vec::new();
    let mut objects = BTreeMap::new();
    let mut guid_of: BTreeMap<&str, Guid> = BTreeMap::new();
    for (id, user) in &state.users {
        if only_users.is_some_and(|only| !only.contains(id)) {
            continue;
        }
        let Some(guid) = identity(user, &mut warnings) else {
            warnings.push(format!("user '{id}' has no usable id; not synced"));
            continue;
        };
        let enabled = user
            .get("accountEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        guid_of.insert(id, guid);
        objects.insert(
            guid,
            object(
                shown(user, "userPrincipalName"),
                guid,
                ObjectKind::User,
                user,
                NORMAL_ACCOUNT | if enabled { 0 } else { ACCOUNT_DISABLE },
            ),
        );
    }
    for (id, group) in &state.groups {
        let Some(guid) = text(group, "id").and_then(|i| i.parse::<Guid>().ok()) else {
            warnings.push(format!(
                "group '{id}' has an id that is not a GUID; not synced"
            ));
            continue;
        };
        guid_of.insert(id, guid);
        let mut o = object(
            shown(group, "displayName"),
            guid,
            ObjectKind::Group,
            group,
            0,
        );
        // A group that is not mail-enabled has no address of its own in the cloud.
        if group.get("mailEnabled").and_then(Value::as_bool) == Some(false) {
            o.mail = None;
            o.proxy_addresses.clear();
        }
        objects.insert(guid, o);
    }
    let mut direct = BTreeMap::new();
    let mut member_identities = BTreeMap::new();
    for (group, members) in &state.members {
        let Some(g) = guid_of.get(group.as_str()) else {
            continue;
        };
        let known: BTreeSet<Guid> = members
            .iter()
            .filter_map(|m| guid_of.get(m.as_str()).copied())
            .collect();
        member_identities.insert(*g, known.clone());
        direct.insert(*g, known);
    }
    warnings.sort();
    Extraction {
        objects,
        direct,
        member_identities,
        warnings,
    }
}

fn object(dn: String, guid: Guid, kind: ObjectKind, m: &Map<String, Value>, uac: u32) -> Object {
    Object {
        dn,
        guid,
        kind,
        cn: None,
        display_name: text(m, "displayName"),
        mail: text(m, "mail"),
        proxy_addresses: texts(m, "proxyAddresses"),
        user_account_control: uac,
        members: Vec::new(),
        member_range_next: None,
        primary_group_id: None,
        group_rid: None,
        domain_sid: None,
        dl_filter: None,
        dl_base: None,
        attributes: BTreeMap::new(),
        looked_up: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_an_object_guid() {
        // "AAECAwQFBgcICQoLDA0ODw==" is bytes 0..16.
        let bytes = base64("AAECAwQFBgcICQoLDA0ODw==").unwrap_or_default();
        assert_eq!(bytes, (0u8..16).collect::<Vec<_>>());
        assert_eq!(base64("not*base64"), None);
    }
}
