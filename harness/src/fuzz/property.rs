//! The named properties and what each checks on one played case. Each violation carries
//! the `expect` step that pins it, so the written scenario fails where the engine did.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::case::{Plan, SyncPoint};
use super::record::Call;
use super::write::map;
use crate::scenario::expect::outcome;
use crate::scenario::model::RunOutcome;
use engine_contract::account::{Account, Origin};
use engine_contract::engine::{SyncMode, SyncResponse};

/// A property an engine can claim in `hello` as `property:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Property {
    /// Every sync request gets an answer within the contract.
    Answers,
    /// A sync straight after an applied one changes nothing.
    Convergence,
    /// A user created by hand is never deleted.
    ManualUsersKept,
    /// A failed run, or one under a fault, leaves the account as it was.
    FailedRunKeepsAccount,
    /// Max unlink stops a run with nothing applied, and a run past it never applies.
    MaxUnlink,
    /// Cloud users and groups stay linked to their objectGUID through renames and moves.
    IdentityByGuid,
    /// A group's members are the mail-enabled closure of its nested members.
    MembershipClosure,
    /// A delta sync leaves the account as a full sync would.
    DeltaEqualsFull,
    /// The account does not depend on the size of the DC's `member` ranges.
    RangeSizeIndependence,
    /// The account does not depend on the order the DC returns entries in.
    EntryOrderIndependence,
}

impl Property {
    /// Every property, in table order.
    pub const ALL: [Property; 10] = [
        Property::Answers,
        Property::Convergence,
        Property::ManualUsersKept,
        Property::FailedRunKeepsAccount,
        Property::MaxUnlink,
        Property::IdentityByGuid,
        Property::MembershipClosure,
        Property::DeltaEqualsFull,
        Property::RangeSizeIndependence,
        Property::EntryOrderIndependence,
    ];

    /// The name `--property` and claims use.
    pub fn name(self) -> &'static str {
        match self {
            Property::Answers => "answers",
            Property::Convergence => "convergence",
            Property::ManualUsersKept => "manual-users-kept",
            Property::FailedRunKeepsAccount => "failed-run-keeps-account",
            Property::MaxUnlink => "max-unlink",
            Property::IdentityByGuid => "identity-by-guid",
            Property::MembershipClosure => "membership-closure",
            Property::DeltaEqualsFull => "delta-equals-full",
            Property::RangeSizeIndependence => "range-size-independence",
            Property::EntryOrderIndependence => "entry-order-independence",
        }
    }

    /// The claim naming this property in `hello`.
    pub fn claim(self) -> String {
        format!("{CLAIM_PREFIX}{}", self.name())
    }

    /// The property called `name`.
    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What a claim naming a property starts with.
pub const CLAIM_PREFIX: &str = "property:";

/// One property failing on one case.
#[derive(Debug, Clone)]
pub struct Violation {
    /// Which.
    pub property: Property,
    /// The emitted step (a sync) where it showed.
    pub step: usize,
    /// What went wrong.
    pub message: String,
    /// The `expect` step that pins it, placed after `step`; `None` when the runner's own
    /// idempotence check does.
    pub expect: Option<Value>,
}

/// The engine's answer to each sync of the plan (the runner's idempotence re-run, made
/// after every applied sync, is paired with it).
pub struct Answered<'a> {
    /// The sync.
    pub point: &'a SyncPoint,
    /// Its exchange.
    pub call: &'a Call,
    /// The idempotence re-run, when there was one.
    pub again: Option<&'a Call>,
}

/// Pairs the recorded calls with the plan's syncs.
pub fn pair<'a>(plan: &'a Plan, calls: &'a [Call]) -> Vec<Answered<'a>> {
    let mut out = Vec::new();
    let mut at = 0;
    for point in &plan.syncs {
        let Some(call) = calls.get(at) else { break };
        at += 1;
        let applied = call
            .answer
            .as_ref()
            .is_ok_and(|r| outcome(&r.report) == RunOutcome::Applied);
        let again = if applied {
            at += 1;
            calls.get(at - 1)
        } else {
            None
        };
        out.push(Answered { point, call, again });
    }
    out
}

/// Judges the properties in `wanted` that need one run.
pub fn judge(answers: &[Answered<'_>], wanted: &BTreeSet<Property>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (k, a) in answers.iter().enumerate() {
        let step = a.point.step;
        let mut add = |property: Property, message: String, expect: Option<Value>| {
            if wanted.contains(&property) {
                out.push(Violation {
                    property,
                    step,
                    message,
                    expect,
                });
            }
        };
        let (request, response) = match &a.call.answer {
            Ok(r) => (&a.call.request, r),
            Err(e) => {
                add(Property::Answers, e.clone(), None);
                continue;
            }
        };
        let before = &request.account;
        let after = &response.account;
        let result = outcome(&response.report);
        if let Some(again) = a.again {
            let mode = if a.point.delta {
                SyncMode::Delta
            } else {
                SyncMode::Full
            };
            let second = again.answer.clone().map_err(|e| {
                engine_contract::engine::EngineError::Unavailable {
                    engine: String::new(),
                    reason: e,
                }
            });
            if let Some(msg) = crate::scenario::invariant::judge(response, mode, &second) {
                add(Property::Convergence, msg, None);
            }
        }
        for user in before.users.values().filter(|u| u.origin == Origin::Manual) {
            if !after.users.contains_key(&user.address) {
                add(
                    Property::ManualUsersKept,
                    format!("manual user {} was deleted", user.address),
                    Some(map([(
                        "users",
                        map([(
                            user.address.to_string().as_str(),
                            map([("exists", Value::from(true))]),
                        )]),
                    )])),
                );
            }
        }
        match result {
            RunOutcome::Failed if after != before => add(
                Property::FailedRunKeepsAccount,
                "a failed run changed the account".into(),
                Some(account_expect(before)),
            ),
            RunOutcome::Stopped if after != before || !response.report.changes.is_empty() => add(
                Property::MaxUnlink,
                "a run stopped by max unlink changed the account".into(),
                Some(account_expect(before)),
            ),
            RunOutcome::Applied => {
                let max = request.settings.max_unlink;
                let unlinked = unlinked(before, after);
                if unlinked > max {
                    add(
                        Property::MaxUnlink,
                        format!("{unlinked} users unlinked or removed, past max unlink {max}"),
                        Some(map([(
                            "last-sync",
                            map([("outcome", Value::from("stopped"))]),
                        )])),
                    );
                }
                if a.point.fault.is_some() {
                    // A run under a fault either fails or reads everything: then it gives
                    // what the clean sync straight after it gives.
                    let clean = answers.get(k + 1).and_then(|n| n.call.answer.as_ref().ok());
                    if let Some(clean) = clean.filter(|c| c.account != *after) {
                        add(
                            Property::FailedRunKeepsAccount,
                            format!(
                                "a run under a fault applied, and not what a clean run gives \
                                 ({} users, {} groups against {} and {})",
                                after.users.len(),
                                after.groups.len(),
                                clean.account.users.len(),
                                clean.account.groups.len()
                            ),
                            // It read only part of the directory: it should have failed.
                            Some(with_outcome(account_expect(before), "failed")),
                        );
                    }
                    continue;
                }
                for (property, message, expect) in identity(a.point, after)
                    .into_iter()
                    .chain(closure(a.point, after))
                {
                    add(property, message, Some(expect));
                }
            }
            _ => {}
        }
    }
    out
}

/// Directory-generated users of `before` whose link is gone from `after`.
fn unlinked(before: &Account, after: &Account) -> usize {
    let linked: BTreeSet<_> = after
        .users
        .values()
        .filter_map(|u| u.origin.guid())
        .collect();
    before
        .users
        .values()
        .filter_map(|u| u.origin.guid())
        .filter(|g| !linked.contains(g))
        .count()
}

fn identity(point: &SyncPoint, after: &Account) -> Vec<(Property, String, Value)> {
    let truth = &point.truth;
    let mut out = Vec::new();
    let by_address: BTreeMap<String, _> = after
        .users
        .values()
        .map(|u| (u.address.normalized().to_string(), u))
        .collect();
    for (guid, address) in &truth.users {
        if truth.conflicts.contains(address) {
            continue;
        }
        let found = by_address.get(&address.to_lowercase()).map(|u| u.origin);
        let linked = found.and_then(|o| o.guid()).map(|g| g.to_string());
        if linked.as_deref() != Some(guid.as_str()) {
            out.push((
                Property::IdentityByGuid,
                format!(
                    "{address} should be linked to objectGUID {guid}, is {}",
                    found.map_or_else(|| "absent".to_string(), |o| o.to_string())
                ),
                map([(
                    "users",
                    map([(
                        address.as_str(),
                        map([("object-guid", Value::from(guid.as_str()))]),
                    )]),
                )]),
            ));
        }
    }
    for (name, (guid, _)) in &truth.groups {
        if let Some(group) = after.groups.values().find(|g| g.name == *name) {
            if group.guid.to_string() != *guid {
                out.push((
                    Property::IdentityByGuid,
                    format!(
                        "group {name} should be objectGUID {guid}, is {}",
                        group.guid
                    ),
                    map([(
                        "groups",
                        map([(
                            name.as_str(),
                            map([("object-guid", Value::from(guid.as_str()))]),
                        )]),
                    )]),
                ));
            }
        }
    }
    out
}

fn closure(point: &SyncPoint, after: &Account) -> Vec<(Property, String, Value)> {
    let truth = &point.truth;
    let mut out = Vec::new();
    for (name, (_, members)) in &truth.groups {
        let found = after.groups.values().find(|g| g.name == *name);
        let want: BTreeSet<String> = members
            .iter()
            .map(|m| m.to_lowercase())
            .filter(|m| !truth.conflicts.contains(m))
            .collect();
        let (problem, expect) = match found {
            None if !members.is_empty() => (
                format!("group {name} is missing; its members are {want:?}"),
                map([("members", strings(&want))]),
            ),
            Some(_) if members.is_empty() => (
                format!("group {name} has no mail-enabled member, yet is in the account"),
                map([("exists", Value::from(false))]),
            ),
            Some(g) => {
                let got: BTreeSet<String> = g
                    .members
                    .iter()
                    .map(|a| a.normalized().to_string())
                    .filter(|m| !truth.conflicts.contains(m))
                    .collect();
                if got == want {
                    continue;
                }
                (
                    format!("group {name} has members {got:?}, the closure is {want:?}"),
                    map([("members", strings(&want))]),
                )
            }
            None => continue,
        };
        out.push((
            Property::MembershipClosure,
            problem,
            map([("groups", map([(name.as_str(), expect)]))]),
        ));
    }
    out
}

fn strings(items: &BTreeSet<String>) -> Value {
    Value::Sequence(items.iter().map(|s| Value::from(s.as_str())).collect())
}

/// An `expect` pinning an account: every user (origin, link, state, aliases), every
/// group's members, and the totals.
pub fn account_expect(account: &Account) -> Value {
    let mut users = serde_yaml::Mapping::new();
    for u in account.users.values() {
        let mut m = serde_yaml::Mapping::new();
        m.insert("exists".into(), true.into());
        let origin = if u.origin == Origin::Manual {
            "manual"
        } else {
            "directory-generated"
        };
        m.insert("origin".into(), origin.into());
        if let Some(g) = u.origin.guid() {
            m.insert("object-guid".into(), g.to_string().into());
        }
        m.insert("disabled".into(), u.disabled.into());
        m.insert(
            "aliases".into(),
            Value::Sequence(u.aliases.iter().map(|a| a.to_string().into()).collect()),
        );
        users.insert(u.address.to_string().into(), Value::Mapping(m));
    }
    let mut groups = serde_yaml::Mapping::new();
    for g in account.groups.values() {
        groups.insert(
            g.name.clone().into(),
            map([(
                "members",
                Value::Sequence(g.members.iter().map(|a| a.to_string().into()).collect()),
            )]),
        );
    }
    let directory = account
        .users
        .values()
        .filter(|u| u.origin != Origin::Manual)
        .count();
    map([
        ("users", Value::Mapping(users)),
        ("groups", Value::Mapping(groups)),
        (
            "totals",
            map([
                ("users", Value::from(account.users.len())),
                ("directory-users", Value::from(directory)),
                ("groups", Value::from(account.groups.len())),
            ]),
        ),
    ])
}

/// `expect` with the last run's outcome added.
fn with_outcome(mut expect: Value, outcome: &str) -> Value {
    if let Value::Mapping(m) = &mut expect {
        m.insert("last-sync".into(), map([("outcome", Value::from(outcome))]));
    }
    expect
}

/// Compares the accounts two runs of the same steps gave at each sync; the first sync
/// where they differ, as a violation of `property` pinned by `reference`'s account.
pub fn compare(
    property: Property,
    checked: &[Answered<'_>],
    reference: &[Answered<'_>],
    what: &str,
) -> Option<Violation> {
    for (a, b) in checked.iter().zip(reference) {
        let (Ok(x), Ok(y)) = (&a.call.answer, &b.call.answer) else {
            continue;
        };
        if x.account != y.account {
            return Some(Violation {
                property,
                step: a.point.step,
                message: format!("{what}: {}", difference(x, y)),
                expect: Some(account_expect(&y.account)),
            });
        }
    }
    None
}

fn difference(x: &SyncResponse, y: &SyncResponse) -> String {
    let users = |a: &Account| a.users.len();
    let groups = |a: &Account| a.groups.len();
    format!(
        "{} users and {} groups against {} and {}",
        users(&x.account),
        groups(&x.account),
        users(&y.account),
        groups(&y.account)
    )
}
