//! The model of the directory a case's steps change: it turns generated steps into
//! scenario steps (skipping those that name nothing any more) and records, for every
//! sync, what the directory holds then, which is what the properties judge against.

use std::collections::{BTreeMap, BTreeSet};

use super::case::{guid, kind, Case, Fault, GenStep, Member, BASE, LIST_NAME, OUS};

/// A scenario step, as the model emits it (the writer turns it into YAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emit {
    /// `sync`.
    Sync,
    /// `delta-sync`.
    DeltaSync,
    /// `rename: { dn, cn }`.
    Rename {
        /// The entry.
        dn: String,
        /// Its new CN.
        cn: String,
    },
    /// `move: { dn, to }`.
    Move {
        /// The entry.
        dn: String,
        /// The new parent.
        to: String,
    },
    /// `delete: dn`.
    Delete(String),
    /// `add-member: { group, member }`.
    AddMember {
        /// The group.
        group: String,
        /// The member.
        member: String,
    },
    /// `remove-member: { group, member }`.
    RemoveMember {
        /// The group.
        group: String,
        /// The member.
        member: String,
    },
    /// `disable: dn`.
    Disable(String),
    /// `enable: dn`.
    Enable(String),
    /// `fault: { host, ... }`.
    Fault(Fault),
    /// `clear-faults: host`.
    ClearFaults,
}

/// What the directory holds when a sync runs: the oracle.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Directory users present: objectGUID → primary address.
    pub users: BTreeMap<String, String>,
    /// Generated groups and the dynamic list: name → (objectGUID, mail-enabled closure).
    pub groups: BTreeMap<String, (String, BTreeSet<String>)>,
    /// Addresses more than one directory user has.
    pub conflicts: BTreeSet<String>,
}

/// One sync of the emitted steps and what it should see.
#[derive(Debug, Clone)]
pub struct SyncPoint {
    /// Index of the sync in the emitted steps.
    pub step: usize,
    /// Delta or full.
    pub delta: bool,
    /// The fault it runs under, if any; the sync after it is the clean one.
    pub fault: Option<Fault>,
    /// What the directory holds.
    pub truth: Truth,
}

/// The steps to emit and the syncs among them.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Scenario steps.
    pub steps: Vec<Emit>,
    /// The syncs, in order.
    pub syncs: Vec<SyncPoint>,
}

/// Plays `case`'s steps, and a final sync.
pub fn plan(case: &Case) -> Plan {
    let mut dir = Model::new(case);
    let mut plan = Plan::default();
    let mut steps = case.steps.clone();
    steps.push(GenStep::Sync);
    for step in &steps {
        dir.step(step, &mut plan);
    }
    plan
}

/// The directory as the steps leave it.
struct Model<'a> {
    case: &'a Case,
    /// CN and OU of each user; `None` once deleted.
    users: Vec<Option<(String, usize)>>,
    members: Vec<Vec<Member>>,
}

impl<'a> Model<'a> {
    fn new(case: &'a Case) -> Self {
        let users = (0..case.users.len())
            .map(|i| Some((case.user_cn(i), usize::from(case.users[i].ou) % OUS.len())))
            .collect();
        let members = (0..case.groups.len())
            .map(|g| normalized_members(case, g, &case.groups[g].members))
            .collect();
        Model {
            case,
            users,
            members,
        }
    }

    fn user_dn(&self, i: usize) -> Option<String> {
        let (cn, ou) = self.users.get(i)?.as_ref()?;
        Some(format!("CN={},OU={},{BASE}", escape(cn), OUS[*ou]))
    }

    fn member_dn(&self, m: Member) -> Option<String> {
        match m {
            Member::User(i) => self.user_dn(i),
            Member::Group(g) => Some(group_dn(g)),
            Member::Contact(c) => Some(format!("CN={},OU=Groups,{BASE}", Case::contact(c).0)),
        }
    }

    /// A user index taken modulo the users, if that user is still there.
    fn live(&self, i: usize) -> Option<usize> {
        let n = self.users.len();
        (n > 0)
            .then_some(i % n.max(1))
            .filter(|&i| self.users[i].is_some())
    }

    fn step(&mut self, step: &GenStep, plan: &mut Plan) {
        match *step {
            GenStep::Sync | GenStep::DeltaSync => {
                let delta = matches!(step, GenStep::DeltaSync);
                self.sync(delta, None, plan);
            }
            GenStep::Rename(i) => {
                let Some(i) = self.live(i) else { return };
                let Some(dn) = self.user_dn(i) else { return };
                if let Some((cn, _)) = self.users[i].as_mut() {
                    cn.push_str(" (renamed)");
                    let cn = cn.clone();
                    plan.steps.push(Emit::Rename { dn, cn });
                }
            }
            GenStep::Move(i) => {
                let Some(i) = self.live(i) else { return };
                let Some(dn) = self.user_dn(i) else { return };
                if let Some((_, ou)) = self.users[i].as_mut() {
                    *ou = (*ou + 1) % OUS.len();
                    let to = format!("OU={},{BASE}", OUS[*ou]);
                    plan.steps.push(Emit::Move { dn, to });
                }
            }
            GenStep::Delete(i) => {
                let Some(i) = self.live(i) else { return };
                let Some(dn) = self.user_dn(i) else { return };
                self.users[i] = None;
                // AD drops a deleted object's links: it leaves every group.
                for members in &mut self.members {
                    members.retain(|m| *m != Member::User(i));
                }
                plan.steps.push(Emit::Delete(dn));
            }
            GenStep::AddMember(g, m) => {
                let Some(g) = index(g, self.members.len()) else {
                    return;
                };
                let Some(m) = self.resolve(m, g) else { return };
                if self.members[g].contains(&m) {
                    return;
                }
                let Some(member) = self.member_dn(m) else {
                    return;
                };
                self.members[g].push(m);
                plan.steps.push(Emit::AddMember {
                    group: group_dn(g),
                    member,
                });
            }
            GenStep::RemoveMember(g, k) => {
                let Some(g) = index(g, self.members.len()) else {
                    return;
                };
                let Some(k) = index(k, self.members[g].len()) else {
                    return;
                };
                let m = self.members[g][k];
                let Some(member) = self.member_dn(m) else {
                    return;
                };
                self.members[g].remove(k);
                plan.steps.push(Emit::RemoveMember {
                    group: group_dn(g),
                    member,
                });
            }
            GenStep::Disable(i) | GenStep::Enable(i) => {
                let Some(i) = self.live(i) else { return };
                let Some(dn) = self.user_dn(i) else { return };
                plan.steps.push(if matches!(step, GenStep::Disable(_)) {
                    Emit::Disable(dn)
                } else {
                    Emit::Enable(dn)
                });
            }
            GenStep::Faulted(fault) => {
                plan.steps.push(Emit::Fault(fault));
                self.sync(false, Some(fault), plan);
                plan.steps.push(Emit::ClearFaults);
                self.sync(false, None, plan);
            }
        }
    }

    /// A member reference made valid for group `g`: modulo the lists, a live user, never
    /// the group itself.
    fn resolve(&self, m: Member, g: usize) -> Option<Member> {
        match m {
            Member::User(i) => self.live(i).map(Member::User),
            Member::Group(j) => index(j, self.members.len())
                .filter(|&j| j != g)
                .map(Member::Group),
            Member::Contact(c) => index(c, self.case.contacts).map(Member::Contact),
        }
    }

    fn sync(&self, delta: bool, fault: Option<Fault>, plan: &mut Plan) {
        plan.syncs.push(SyncPoint {
            step: plan.steps.len(),
            delta,
            fault,
            truth: self.truth(),
        });
        plan.steps
            .push(if delta { Emit::DeltaSync } else { Emit::Sync });
    }

    fn truth(&self) -> Truth {
        let mut truth = Truth::default();
        let mut seen = BTreeSet::new();
        for i in (0..self.users.len()).filter(|&i| self.users[i].is_some()) {
            let address = self.case.user_address(i);
            if !seen.insert(address.clone()) {
                truth.conflicts.insert(address.clone());
            }
            truth.users.insert(guid(kind::USER, i), address);
        }
        for g in 0..self.members.len() {
            let closure = self.closure(g);
            truth
                .groups
                .insert(Case::group_cn(g), (guid(kind::GROUP, g), closure));
        }
        if self.case.dynamic_list {
            let members = (0..self.users.len())
                .filter(|&i| self.users[i].is_some() && self.case.users[i].sales)
                .map(|i| self.case.user_address(i))
                .collect();
            truth
                .groups
                .insert(LIST_NAME.to_string(), (guid(kind::LIST, 0), members));
        }
        truth
    }

    /// The addresses of every user and contact reachable from group `g` through nested
    /// groups; `seen` makes cycles terminate.
    fn closure(&self, g: usize) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::from([g]);
        let mut stack = vec![g];
        while let Some(g) = stack.pop() {
            for m in &self.members[g] {
                match *m {
                    Member::User(i) => {
                        if self.users.get(i).is_some_and(Option::is_some) {
                            out.insert(self.case.user_address(i));
                        }
                    }
                    Member::Contact(c) => {
                        out.insert(Case::contact(c).1);
                    }
                    Member::Group(j) => {
                        if seen.insert(j) {
                            stack.push(j);
                        }
                    }
                }
            }
        }
        out
    }
}

/// A group's generated members made valid: in range, never itself, each once.
pub fn normalized_members(case: &Case, g: usize, members: &[Member]) -> Vec<Member> {
    let mut out: Vec<Member> = Vec::new();
    for m in members {
        let m = match *m {
            Member::User(i) => index(i, case.users.len()).map(Member::User),
            Member::Group(j) => index(j, case.groups.len())
                .filter(|&j| j != g)
                .map(Member::Group),
            Member::Contact(c) => index(c, case.contacts).map(Member::Contact),
        };
        if let Some(m) = m.filter(|m| !out.contains(m)) {
            out.push(m);
        }
    }
    out
}

fn index(i: usize, len: usize) -> Option<usize> {
    (len > 0).then(|| i % len)
}

/// Group `g`'s DN.
pub fn group_dn(g: usize) -> String {
    format!("CN={},OU=Groups,{BASE}", Case::group_cn(g))
}

/// An RDN value escaped for a DN string (RFC 4514).
pub fn escape(value: &str) -> String {
    let mut out = String::new();
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
