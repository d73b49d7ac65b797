//! The extraction turned into the snapshot the apply stage reads.

use super::*;

/// Turns a complete extraction into the snapshot the apply stage reads (SPEC
/// "Transform"), plus warnings about objects that could not be used.
///
/// - Users and contacts need a primary address ([`transform::addresses`]); a user or
///   contact with `mail`/`proxyAddresses` values but no usable primary is reported.
/// - Groups and dynamic lists are all listed, members expanded by
///   [`transform::group_closure`]; one with no mail-enabled member is not a cloud group,
///   which the apply stage decides.
/// - A group's name is its `displayName`, else its `cn`, else the first RDN's value.
/// - Primary-group members: users whose `primaryGroupID` equals a group's RID in the
///   same domain (RIDs repeat across the domains of a forest).
pub fn to_snapshot(extraction: Extraction) -> (DirectorySnapshot, Vec<String>) {
    let (snapshot, warnings, _) = to_snapshot_keeping(extraction);
    (snapshot, warnings)
}

/// What [`to_snapshot_keeping`] gives back of the extraction: its objects and each
/// group's member identities, for the delta state to take over without a copy.
#[derive(Debug)]
pub struct Kept {
    /// The extracted objects by GUID.
    pub objects: BTreeMap<Guid, Object>,
    /// See [`Extraction::member_identities`].
    pub member_identities: BTreeMap<Guid, BTreeSet<Guid>>,
}

/// [`to_snapshot`], giving back the objects and member identities it read.
pub fn to_snapshot_keeping(extraction: Extraction) -> (DirectorySnapshot, Vec<String>, Kept) {
    let Extraction {
        objects,
        direct,
        member_identities,
        ..
    } = extraction;
    let mut snapshot = DirectorySnapshot::default();
    let mut warnings = Vec::new();
    let mut membership = transform::Membership {
        direct,
        ..transform::Membership::default()
    };
    let mut primary_groups: HashMap<(&[u8], u32), Guid> = HashMap::new();
    for object in objects.values() {
        if object.kind == ObjectKind::Group {
            membership.direct.entry(object.guid).or_default();
            if let (Some(domain), Some(rid)) = (&object.domain_sid, object.group_rid) {
                primary_groups.insert((domain.as_slice(), rid), object.guid);
            }
        }
    }
    for object in objects.values() {
        match object.kind {
            ObjectKind::User => {
                if let (Some(domain), Some(rid)) = (&object.domain_sid, object.primary_group_id) {
                    if let Some(group) = primary_groups.get(&(domain.as_slice(), rid)) {
                        membership
                            .primary
                            .entry(*group)
                            .or_default()
                            .insert(object.guid);
                    }
                }
                let Some((primary, aliases)) = object.addresses() else {
                    if object.mail.is_some() || !object.proxy_addresses.is_empty() {
                        warnings.push(format!(
                            "user '{}' has no usable primary address; not synced",
                            object.dn
                        ));
                    }
                    continue;
                };
                membership.mail_enabled.insert(object.guid);
                snapshot.users.insert(
                    object.guid,
                    DirUser {
                        guid: object.guid,
                        dn: object.dn.clone(),
                        primary,
                        aliases,
                        disabled: transform::is_disabled(object.user_account_control),
                        attributes: object.attributes.clone(),
                    },
                );
            }
            ObjectKind::Contact => {
                let Some((primary, aliases)) = object.addresses() else {
                    if object.mail.is_some() || !object.proxy_addresses.is_empty() {
                        warnings.push(format!(
                            "contact '{}' has no usable primary address; not synced",
                            object.dn
                        ));
                    }
                    continue;
                };
                membership.mail_enabled.insert(object.guid);
                snapshot.contacts.insert(
                    object.guid,
                    DirContact {
                        guid: object.guid,
                        dn: object.dn.clone(),
                        name: display_name(object),
                        primary,
                        aliases,
                    },
                );
            }
            ObjectKind::Group | ObjectKind::DynamicList | ObjectKind::Other => {}
        }
    }
    let mut closure = transform::group_closure(&membership);
    drop(membership);
    for object in objects.values() {
        let kind = match object.kind {
            ObjectKind::Group => GroupKind::Group,
            ObjectKind::DynamicList => GroupKind::DynamicList,
            _ => continue,
        };
        snapshot.groups.insert(
            object.guid,
            DirGroup {
                guid: object.guid,
                dn: object.dn.clone(),
                name: display_name(object),
                kind,
                address: object.addresses().map(|(primary, _)| primary),
                members: closure.remove(&object.guid).unwrap_or_default(),
            },
        );
    }
    let kept = Kept {
        objects,
        member_identities,
    };
    (snapshot, warnings, kept)
}

fn display_name(object: &Object) -> String {
    object
        .display_name
        .clone()
        .or_else(|| object.cn.clone())
        .unwrap_or_else(|| {
            rdns(&object.dn)
                .first()
                .and_then(|rdn| rdn.split_once('='))
                .map_or_else(|| object.dn.clone(), |(_, value)| value.to_owned())
        })
}
