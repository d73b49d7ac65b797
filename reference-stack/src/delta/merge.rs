//! Merging what a delta run read into the stored objects; no network here.

use std::collections::{BTreeMap, BTreeSet};

use super::DeltaState;
use crate::extract::{is_under, normalize_dn, Object, ObjectKind};
use crate::guid::Guid;

/// One entry the change search returned.
#[derive(Debug, Clone)]
pub(crate) struct Changed {
    /// The entry, read as a full extraction reads it.
    pub(crate) object: Object,
    /// Whether objects may live below it (see [`is_container`]).
    pub(crate) container: bool,
}

/// Everything a delta run read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Changes {
    /// Entries changed since the watermark, anywhere in the domain.
    pub(crate) changed: Vec<Changed>,
    /// What the extraction filter finds below changed containers.
    pub(crate) refreshed: Vec<Object>,
    /// Objects deleted since the watermark.
    pub(crate) tombstones: Vec<Guid>,
}

/// The merged objects and what is left to read.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    /// Every object a full extraction would have read, by GUID.
    pub(crate) objects: BTreeMap<Guid, Object>,
    /// Member identities of groups whose membership did not change.
    pub(crate) kept_members: BTreeMap<Guid, BTreeSet<Guid>>,
    /// Groups whose whole `member` must be read and resolved.
    pub(crate) to_read: Vec<Guid>,
}

/// Whether an entry with these `objectClass` values may hold objects below it: anything
/// but the leaf classes a directory sync meets (an OU, a container, a builtin domain).
/// Deciding by exclusion means a container class not listed here is still read again.
pub(crate) fn is_container(classes: &[String]) -> bool {
    const LEAVES: [&str; 6] = [
        "user",
        "contact",
        "group",
        "msExchDynamicDistributionList",
        "computer",
        "foreignSecurityPrincipal",
    ];
    !classes
        .iter()
        .any(|class| LEAVES.iter().any(|leaf| class.eq_ignore_ascii_case(leaf)))
}

/// The DNs of the changed containers whose subtrees must be read again: the outermost
/// ones (a subtree read covers the containers below it), never the domain head (its
/// name cannot change, so neither can the DNs below it), in a stable order.
pub(crate) fn containers_to_read(changed: &[Changed], domain: &str) -> Vec<String> {
    let domain = normalize_dn(domain);
    let mut containers: Vec<(String, &str)> = changed
        .iter()
        .filter(|entry| entry.container)
        .map(|entry| (normalize_dn(&entry.object.dn), entry.object.dn.as_str()))
        .filter(|(normalized, _)| *normalized != domain)
        .collect();
    containers.sort();
    containers.dedup_by(|a, b| a.0 == b.0);
    containers
        .iter()
        .filter(|(dn, _)| {
            !containers
                .iter()
                .any(|(other, _)| other != dn && is_under(dn, other))
        })
        .map(|(_, dn)| (*dn).to_owned())
        .collect()
}

/// Whether a full extraction's search (the root DN, the extraction filter) returns it.
fn extracted(object: &Object, root: &str) -> bool {
    is_under(&normalize_dn(&object.dn), root)
        && (object.mail.is_some()
            || !object.proxy_addresses.is_empty()
            || matches!(object.kind, ObjectKind::Group | ObjectKind::DynamicList))
}

/// Applies `changes` to the objects of `previous`, as of a full extraction under
/// `root_dn`:
///
/// - a changed entry replaces the stored object when a full extraction reads it, and
///   removes it otherwise (moved out of the root DN, mail removed);
/// - an object below a changed container is stored under its new DN, or removed when
///   that DN left the root DN; its own attributes and members did not change;
/// - a tombstone removes the object;
/// - a group read whole in this run, or one the state holds no members for, is to be
///   resolved; every other group keeps its stored member identities.
pub(crate) fn merge(previous: &DeltaState, changes: Changes, root_dn: &str) -> Merged {
    let root = normalize_dn(root_dn);
    let mut objects = previous.objects.clone();
    let mut fresh = BTreeSet::new();
    for Changed { object, .. } in changes.changed {
        if extracted(&object, &root) {
            fresh.insert(object.guid);
            objects.insert(object.guid, object);
        } else {
            objects.remove(&object.guid);
        }
    }
    for object in changes.refreshed {
        if fresh.contains(&object.guid) {
            continue;
        }
        if is_under(&normalize_dn(&object.dn), &root) {
            objects.insert(object.guid, object);
        } else {
            objects.remove(&object.guid);
        }
    }
    for guid in &changes.tombstones {
        objects.remove(guid);
        fresh.remove(guid);
    }
    let mut kept_members = BTreeMap::new();
    let mut to_read = Vec::new();
    for object in objects.values() {
        if object.kind != ObjectKind::Group {
            continue;
        }
        match previous.members.get(&object.guid) {
            Some(identities) if !fresh.contains(&object.guid) => {
                kept_members.insert(object.guid, identities.clone());
            }
            _ => to_read.push(object.guid),
        }
    }
    Merged {
        objects,
        kept_members,
        to_read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{ExtractionScope, Watermark};
    use crate::extract::Extraction;

    const ROOT: &str = "OU=Staff,DC=corp,DC=test";

    fn guid(n: u8) -> Guid {
        Guid([n; 16])
    }

    fn object(n: u8, dn: &str, kind: ObjectKind, mail: Option<&str>) -> Object {
        Object {
            dn: dn.into(),
            guid: guid(n),
            kind,
            cn: None,
            display_name: None,
            mail: mail.map(str::to_owned),
            proxy_addresses: Vec::new(),
            user_account_control: 512,
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

    fn user(n: u8, dn: &str) -> Object {
        object(n, dn, ObjectKind::User, Some("x@corp.test"))
    }

    fn changed(object: Object) -> Changed {
        Changed {
            object,
            container: false,
        }
    }

    /// A state holding a user (1), a group (2) listing users 1 and 3 (3 has no mail),
    /// and a second user (4).
    fn previous() -> DeltaState {
        let mut extraction = Extraction::default();
        for object in [
            user(1, "CN=A,OU=Staff,DC=corp,DC=test"),
            object(2, "CN=G,OU=Staff,DC=corp,DC=test", ObjectKind::Group, None),
            user(4, "CN=D,OU=Sub,OU=Staff,DC=corp,DC=test"),
        ] {
            extraction.objects.insert(object.guid, object);
        }
        extraction
            .member_identities
            .insert(guid(2), [guid(1), guid(3)].into());
        DeltaState::capture(
            Watermark {
                host: "dc1".into(),
                dc: "dc1".into(),
                usn: 10,
            },
            ExtractionScope::new(ROOT, "CN=S", &[], false),
            &extraction,
        )
    }

    #[test]
    fn unchanged_groups_keep_their_members_and_changed_ones_are_read() {
        let merged = merge(&previous(), Changes::default(), ROOT);
        assert_eq!(merged.objects.len(), 3);
        assert!(merged.to_read.is_empty());
        assert_eq!(merged.kept_members[&guid(2)], [guid(1), guid(3)].into());

        let group = object(2, "CN=G2,OU=Staff,DC=corp,DC=test", ObjectKind::Group, None);
        let changes = Changes {
            changed: vec![changed(group)],
            ..Changes::default()
        };
        let merged = merge(&previous(), changes, ROOT);
        assert_eq!(merged.to_read, vec![guid(2)]);
        assert!(merged.kept_members.is_empty());
        assert_eq!(
            merged.objects[&guid(2)].dn,
            "CN=G2,OU=Staff,DC=corp,DC=test"
        );
    }

    #[test]
    fn objects_leaving_the_root_or_losing_mail_or_deleted_are_dropped() {
        let changes = Changes {
            changed: vec![
                changed(user(1, "CN=A,OU=Elsewhere,DC=corp,DC=test")),
                changed(object(
                    4,
                    "CN=D,OU=Staff,DC=corp,DC=test",
                    ObjectKind::User,
                    None,
                )),
            ],
            tombstones: vec![guid(2)],
            ..Changes::default()
        };
        let merged = merge(&previous(), changes, ROOT);
        assert!(merged.objects.is_empty(), "{:?}", merged.objects.keys());
    }

    #[test]
    fn a_mail_enabled_member_joins_through_its_stored_identity() {
        let changes = Changes {
            changed: vec![changed(user(3, "CN=C,OU=Staff,DC=corp,DC=test"))],
            ..Changes::default()
        };
        let merged = merge(&previous(), changes, ROOT);
        assert!(merged.objects.contains_key(&guid(3)));
        assert_eq!(merged.kept_members[&guid(2)], [guid(1), guid(3)].into());
    }

    #[test]
    fn objects_below_a_moved_container_follow_it() {
        // OU=Sub moved out of the root: user 4 comes back under its new DN and leaves.
        let out = Changes {
            refreshed: vec![user(4, "CN=D,OU=Sub,DC=corp,DC=test")],
            ..Changes::default()
        };
        assert!(!merge(&previous(), out, ROOT).objects.contains_key(&guid(4)));
        // A group moved in with its OU has no stored members: it is read.
        let group = object(
            9,
            "CN=New,OU=Sub,OU=Staff,DC=corp,DC=test",
            ObjectKind::Group,
            None,
        );
        let moved_in = Changes {
            refreshed: vec![group, user(4, "CN=D,OU=Sub2,OU=Staff,DC=corp,DC=test")],
            ..Changes::default()
        };
        let merged = merge(&previous(), moved_in, ROOT);
        assert_eq!(merged.to_read, vec![guid(9)]);
        assert_eq!(
            merged.objects[&guid(4)].dn,
            "CN=D,OU=Sub2,OU=Staff,DC=corp,DC=test"
        );
    }

    #[test]
    fn only_outermost_containers_are_read_again() {
        let container = |dn: &str| Changed {
            object: object(0, dn, ObjectKind::Other, None),
            container: true,
        };
        let changed = vec![
            container("OU=Sub,OU=Staff,DC=corp,DC=test"),
            container("OU=Staff,DC=corp,DC=test"),
            container("DC=corp,DC=test"),
            container("OU=Other,DC=corp,DC=test"),
            changed(user(1, "CN=A,OU=Staff,DC=corp,DC=test")),
        ];
        assert_eq!(
            containers_to_read(&changed, "dc=corp,dc=test"),
            vec!["OU=Other,DC=corp,DC=test", "OU=Staff,DC=corp,DC=test"]
        );
    }

    #[test]
    fn containers_are_recognised_by_exclusion() {
        let classes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert!(is_container(&classes(&["top", "organizationalUnit"])));
        assert!(is_container(&classes(&["top", "container"])));
        assert!(is_container(&classes(&[
            "top",
            "msExchSystemObjectsContainer"
        ])));
        assert!(!is_container(&classes(&[
            "top",
            "person",
            "organizationalPerson",
            "user"
        ])));
        assert!(!is_container(&classes(&["top", "GROUP"])));
    }
}
