//! Reading a Google Workspace tenant over Secure LDAP and turning it into the snapshot
//! every method hands to apply.
//!
//! One paged subtree search from the domain's DN reads people (`posixAccount`) and
//! groups (`posixGroup`). Identity is Google's `apple-generateduid`, the one attribute
//! Google keeps for an object's life whatever is renamed. A group's `member` values are
//! people and groups by DN; nested groups are expanded with the same closure the AD
//! extraction uses, cycles included.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ldap3::Ldap;

use crate::address::Address;
use crate::extract::{paged_search, ExtractError, ExtractRequest, ExtractStats};
use crate::guid::Guid;
use crate::snapshot::{DirGroup, DirUser, DirectorySnapshot, GroupKind};
use crate::transform::{group_closure, Membership};

/// What the search asks for: people and groups, nothing else of the tree.
pub const FILTER: &str = "(|(objectClass=posixAccount)(objectClass=posixGroup))";

/// The attributes read besides the configured additional ones.
const ATTRIBUTES: &[&str] = &["objectClass", "cn", "mail", "member", "apple-generateduid"];

/// One entry as read.
struct Read {
    dn: String,
    attrs: HashMap<String, Vec<String>>,
}

impl Read {
    fn first(&self, name: &str) -> Option<&str> {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    fn all(&self, name: &str) -> &[String] {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    fn is(&self, class: &str) -> bool {
        self.all("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case(class))
    }
}

/// A DN's comparison form: Google prints DNs one way, lower case enough to compare.
fn dn_key(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads the tenant; warnings name entries that were left out and why.
pub(super) async fn extract(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    stats: &mut ExtractStats,
) -> Result<(DirectorySnapshot, Vec<String>), ExtractError> {
    let mut attrs: Vec<String> = ATTRIBUTES.iter().map(|a| a.to_string()).collect();
    attrs.extend(request.additional_attributes.iter().cloned());
    let mut read = Vec::new();
    let mut malformed = None;
    paged_search(
        ldap,
        request,
        request.root_dn,
        FILTER,
        &attrs,
        &[],
        &mut stats.pages,
        |entry| {
            let mut map: HashMap<String, Vec<String>> = HashMap::new();
            for (name, values) in entry.attrs {
                let values = values
                    .into_iter()
                    .map(|v| String::from_utf8(v).map_err(|_| name.clone()))
                    .collect::<Result<Vec<_>, _>>();
                match values {
                    Ok(v) => {
                        map.entry(name.to_ascii_lowercase()).or_default().extend(v);
                    }
                    Err(attr) => {
                        malformed.get_or_insert(format!(
                            "'{}' has a value of {attr} that is not UTF-8",
                            entry.dn
                        ));
                    }
                }
            }
            read.push(Read {
                dn: entry.dn,
                attrs: map,
            });
        },
    )
    .await?;
    if let Some(reason) = malformed {
        return Err(ExtractError::Malformed {
            host: request.host.to_owned(),
            reason,
        });
    }
    stats.entries = read.len();
    build(read, request)
}

fn build(
    read: Vec<Read>,
    request: &ExtractRequest<'_>,
) -> Result<(DirectorySnapshot, Vec<String>), ExtractError> {
    let malformed = |reason: String| ExtractError::Malformed {
        host: request.host.to_owned(),
        reason,
    };
    let mut warnings = Vec::new();
    let mut by_dn: HashMap<String, Guid> = HashMap::new();
    let mut snapshot = DirectorySnapshot::default();
    let mut membership = Membership::default();
    let mut groups: Vec<(&Read, Guid)> = Vec::new();
    for entry in &read {
        let uid = entry.first("apple-generateduid").ok_or_else(|| {
            malformed(format!(
                "'{}' has no apple-generateduid; Google gives every person and group one",
                entry.dn
            ))
        })?;
        let guid: Guid = uid
            .parse()
            .map_err(|e| malformed(format!("'{}': {e}", entry.dn)))?;
        by_dn.insert(dn_key(&entry.dn), guid);
        if entry.is("posixGroup") {
            groups.push((entry, guid));
            continue;
        }
        let Some(mail) = entry.first("mail") else {
            warnings.push(format!("{}: no mail; not synced", entry.dn));
            continue;
        };
        let primary = match Address::parse(mail) {
            Ok(a) => a,
            Err(e) => {
                warnings.push(format!("{}: {e}; not synced", entry.dn));
                continue;
            }
        };
        let attributes: BTreeMap<String, Vec<String>> = request
            .additional_attributes
            .iter()
            .filter_map(|name| {
                let mut values = entry.all(name).to_vec();
                values.sort();
                (!values.is_empty()).then(|| (name.clone(), values))
            })
            .collect();
        membership.mail_enabled.insert(guid);
        snapshot.users.insert(
            guid,
            DirUser {
                guid,
                dn: entry.dn.clone(),
                primary,
                aliases: BTreeSet::new(),
                // Secure LDAP does not say whether a person is suspended.
                disabled: false,
                attributes,
            },
        );
    }
    for (entry, guid) in &groups {
        let direct: BTreeSet<Guid> = entry
            .all("member")
            .iter()
            .filter_map(|dn| by_dn.get(&dn_key(dn)).copied())
            .collect();
        membership.direct.insert(*guid, direct);
    }
    let closure = group_closure(&membership);
    for (entry, guid) in groups {
        let name = entry
            .first("cn")
            .map(str::to_owned)
            .unwrap_or_else(|| entry.dn.clone());
        let address = entry.first("mail").and_then(|m| Address::parse(m).ok());
        snapshot.groups.insert(
            guid,
            DirGroup {
                guid,
                dn: entry.dn.clone(),
                name,
                kind: GroupKind::Group,
                address,
                members: closure.get(&guid).cloned().unwrap_or_default(),
            },
        );
    }
    Ok((snapshot, warnings))
}
