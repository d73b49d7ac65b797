//! Which directory objects the tenant holds and how they relate: the users and groups
//! Azure AD Connect would have synchronized from the forest, beside the cloud-only ones,
//! and their memberships (direct and transitive) across both.

use std::collections::HashSet;

use super::tenant::{Member, Tenant};
use crate::directory::{Directory, EntryId};
use crate::schema::ObjectKind;

/// One object of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Obj {
    /// Synchronized from the forest.
    Entry(EntryId),
    /// Index into [`Tenant::users`].
    CloudUser(u32),
    /// Index into [`Tenant::groups`].
    CloudGroup(u32),
}

/// The two collections served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    /// The OData type name.
    pub fn odata_type(self) -> &'static str {
        match self {
            Kind::User => "#microsoft.graph.user",
            Kind::Group => "#microsoft.graph.group",
        }
    }

    /// The collection's path segment.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
        }
    }
}

/// A directory and its tenant, read together.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub dir: &'a Directory,
    pub tenant: &'a Tenant,
}

impl<'a> View<'a> {
    /// Whether Azure AD Connect synchronizes this entry: a live user or group outside
    /// AD's critical system objects, within the synchronized OUs when the fixture names
    /// some.
    pub fn synced(&self, id: EntryId) -> bool {
        let e = self.dir.entry(id);
        if e.deleted || !matches!(e.kind, ObjectKind::User | ObjectKind::Group) {
            return false;
        }
        if e.get_str("isCriticalSystemObject")
            .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
        {
            return false;
        }
        self.tenant.synced_ous.is_empty()
            || self
                .tenant
                .synced_ous
                .iter()
                .any(|ou| self.dir.is_within(id, *ou))
    }

    /// The objects of one collection: synchronized ones in directory order, then cloud.
    pub fn all(&self, kind: Kind) -> Vec<Obj> {
        let (object_kind, cloud) = match kind {
            Kind::User => (ObjectKind::User, self.tenant.users.len()),
            Kind::Group => (ObjectKind::Group, self.tenant.groups.len()),
        };
        let mut out: Vec<Obj> = self
            .dir
            .of_kind(object_kind)
            .filter(|id| self.synced(*id))
            .map(Obj::Entry)
            .collect();
        out.extend((0..cloud as u32).map(|i| match kind {
            Kind::User => Obj::CloudUser(i),
            Kind::Group => Obj::CloudGroup(i),
        }));
        out
    }

    /// The object with this Graph id (case-insensitive), if it exists now.
    pub fn find(&self, id: &str) -> Option<Obj> {
        if let Some(i) = self
            .tenant
            .users
            .iter()
            .position(|u| u.id.eq_ignore_ascii_case(id))
        {
            return Some(Obj::CloudUser(i as u32));
        }
        if let Some(i) = self
            .tenant
            .groups
            .iter()
            .position(|g| g.id.eq_ignore_ascii_case(id))
        {
            return Some(Obj::CloudGroup(i as u32));
        }
        let guid = self.tenant.guid_of(id)?;
        let entry = self.dir.by_guid(&guid)?;
        self.synced(entry).then_some(Obj::Entry(entry))
    }

    /// A user by id or userPrincipalName, as `/users/{id | userPrincipalName}` allows.
    pub fn find_user(&self, key: &str) -> Option<Obj> {
        if key.contains('@') {
            if let Some(i) = self
                .tenant
                .users
                .iter()
                .position(|u| u.spec.user_principal_name.eq_ignore_ascii_case(key))
            {
                return Some(Obj::CloudUser(i as u32));
            }
            let id = self.dir.by_upn(key)?;
            return self.synced(id).then_some(Obj::Entry(id));
        }
        self.find(key).filter(|o| self.kind(*o) == Kind::User)
    }

    pub fn kind(&self, obj: Obj) -> Kind {
        match obj {
            Obj::Entry(id) if self.dir.entry(id).kind == ObjectKind::Group => Kind::Group,
            Obj::Entry(_) | Obj::CloudUser(_) => Kind::User,
            Obj::CloudGroup(_) => Kind::Group,
        }
    }

    /// The Graph id.
    pub fn id(&self, obj: Obj) -> String {
        match obj {
            Obj::Entry(id) => self.tenant.object_id(&self.dir.entry(id).guid),
            Obj::CloudUser(i) => self.tenant.users[i as usize].id.clone(),
            Obj::CloudGroup(i) => self.tenant.groups[i as usize].id.clone(),
        }
    }

    /// Direct members that the tenant holds (contacts, computers and foreign principals
    /// of a synchronized group are not synchronized as members here).
    pub fn members(&self, group: Obj) -> Vec<Obj> {
        match group {
            Obj::Entry(id) => self
                .dir
                .entry(id)
                .members
                .iter()
                .copied()
                .filter(|m| self.synced(*m))
                .map(Obj::Entry)
                .collect(),
            Obj::CloudGroup(g) => self.tenant.groups[g as usize]
                .members
                .iter()
                .filter_map(|m| match *m {
                    Member::OnPremises(guid) => self
                        .dir
                        .by_guid(&guid)
                        .filter(|id| self.synced(*id))
                        .map(Obj::Entry),
                    Member::CloudUser(u) => Some(Obj::CloudUser(u)),
                    Member::CloudGroup(g) => Some(Obj::CloudGroup(g)),
                })
                .collect(),
            Obj::CloudUser(_) => Vec::new(),
        }
    }

    /// The groups `obj` is a direct member of.
    pub fn member_of(&self, obj: Obj) -> Vec<Obj> {
        match obj {
            Obj::Entry(id) => {
                let guid = self.dir.entry(id).guid;
                let mut out: Vec<Obj> = self
                    .dir
                    .entry(id)
                    .member_of
                    .iter()
                    .copied()
                    .filter(|g| self.synced(*g))
                    .map(Obj::Entry)
                    .collect();
                out.extend(self.tenant.groups.iter().enumerate().filter_map(|(i, g)| {
                    g.members
                        .contains(&Member::OnPremises(guid))
                        .then_some(Obj::CloudGroup(i as u32))
                }));
                out
            }
            Obj::CloudUser(u) => cloud(&self.tenant.users[u as usize].member_of),
            Obj::CloudGroup(g) => cloud(&self.tenant.groups[g as usize].member_of),
        }
    }

    /// Every member reached through nested groups, nested groups included, each once,
    /// in breadth-first order (a cycle of groups ends where it closes).
    pub fn transitive_members(&self, group: Obj) -> Vec<Obj> {
        self.closure(group, |o| self.members(o))
    }

    /// Every group `obj` belongs to directly or through nesting, each once.
    pub fn transitive_member_of(&self, obj: Obj) -> Vec<Obj> {
        self.closure(obj, |o| self.member_of(o))
    }

    fn closure(&self, start: Obj, next: impl Fn(Obj) -> Vec<Obj>) -> Vec<Obj> {
        let mut seen = HashSet::from([start]);
        let mut out = Vec::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(o) = queue.pop_front() {
            for n in next(o) {
                if seen.insert(n) {
                    out.push(n);
                    if self.kind(n) == Kind::Group {
                        queue.push_back(n);
                    }
                }
            }
        }
        out
    }
}

fn cloud(groups: &[u32]) -> Vec<Obj> {
    groups.iter().map(|g| Obj::CloudGroup(*g)).collect()
}
