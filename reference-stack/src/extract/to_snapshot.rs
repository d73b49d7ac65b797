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
    // Reading addresses and building the users and contacts is independent per object,
    // so a large extraction does it on two threads; what is collected is kept in
    // object order, so the snapshot and the warnings are the same either way.
    let readers: Vec<&Object> = objects.values().collect();
    let converted = convert_all(&readers);
    for (object, converted) in readers.iter().zip(converted) {
        if object.kind == ObjectKind::User {
            if let (Some(domain), Some(rid)) = (&object.domain_sid, object.primary_group_id) {
                if let Some(group) = primary_groups.get(&(domain.as_slice(), rid)) {
                    membership
                        .primary
                        .entry(*group)
                        .or_default()
                        .insert(object.guid);
                }
            }
        }
        match converted {
            Converted::User(user) => {
                membership.mail_enabled.insert(object.guid);
                snapshot.users.insert(object.guid, user);
            }
            Converted::Contact(contact) => {
                membership.mail_enabled.insert(object.guid);
                snapshot.contacts.insert(object.guid, contact);
            }
            Converted::Unusable(warning) => warnings.push(warning),
            Converted::Nothing => {}
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

/// Extractions with at least this many objects convert them on two threads: below it, a
/// thread costs more than it saves.
const PARALLEL_OBJECTS: usize = 20_000;

/// What one object becomes in the snapshot, before it is put there.
enum Converted {
    User(DirUser),
    Contact(DirContact),
    /// A user or contact with address values but no usable primary: the warning.
    Unusable(String),
    /// Not a user or contact, or one without any address.
    Nothing,
}

/// [`convert`] for each object, in order.
fn convert_all(objects: &[&Object]) -> Vec<Converted> {
    let each = |part: &[&Object]| part.iter().map(|o| convert(o)).collect::<Vec<_>>();
    if objects.len() < PARALLEL_OBJECTS {
        return each(objects);
    }
    let (first, second) = objects.split_at(objects.len() / 2);
    std::thread::scope(|scope| {
        let Ok(handle) = std::thread::Builder::new().spawn_scoped(scope, || each(first)) else {
            return each(objects);
        };
        let second = each(second);
        match handle.join() {
            Ok(mut all) => {
                all.extend(second);
                all
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn convert(object: &Object) -> Converted {
    let (kind, primary, aliases) = match (object.kind, object.addresses()) {
        (ObjectKind::User | ObjectKind::Contact, Some((primary, aliases))) => {
            (object.kind, primary, aliases)
        }
        (ObjectKind::User | ObjectKind::Contact, None)
            if object.mail.is_some() || !object.proxy_addresses.is_empty() =>
        {
            let what = if object.kind == ObjectKind::User {
                "user"
            } else {
                "contact"
            };
            return Converted::Unusable(format!(
                "{what} '{}' has no usable primary address; not synced",
                object.dn
            ));
        }
        _ => return Converted::Nothing,
    };
    if kind == ObjectKind::User {
        Converted::User(DirUser {
            guid: object.guid,
            dn: object.dn.clone(),
            primary,
            aliases,
            disabled: transform::is_disabled(object.user_account_control),
            attributes: object.attributes.clone(),
        })
    } else {
        Converted::Contact(DirContact {
            guid: object.guid,
            dn: object.dn.clone(),
            name: display_name(object),
            primary,
            aliases,
        })
    }
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
