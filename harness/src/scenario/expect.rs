//! Expectations checked against the cloud account and the last run.

use super::model::{Expectation, ExtractionKind, RunOutcome};
use engine_contract::account::{Account, Origin};
use engine_contract::address::Address;
use engine_contract::engine::SyncResponse;
use engine_contract::extraction::ExtractionMode;
use engine_contract::guid::Guid;
use engine_contract::report::{Report, TlsOutcome};

/// Checks an expectation; returns one message per mismatch. Every engine is held to
/// every expectation, `error-contains` included.
pub fn check(e: &Expectation, account: &Account, last: Option<&SyncResponse>) -> Vec<String> {
    let mut problems = Vec::new();
    for (addr, want) in &e.users {
        let user = Address::parse(addr)
            .ok()
            .and_then(|a| account.users.get(&a));
        if let Some(exists) = want.exists {
            if exists != user.is_some() {
                problems.push(format!(
                    "user {addr}: expected {}",
                    if exists { "to exist" } else { "not to exist" }
                ));
                continue;
            }
        }
        let Some(user) = user else {
            if want.disabled.is_some()
                || want.origin.is_some()
                || want.aliases.is_some()
                || !want.attributes.is_empty()
                || want.object_guid.is_some()
            {
                problems.push(format!("user {addr}: not in the account"));
            }
            continue;
        };
        if let Some(d) = want.disabled {
            if d != user.disabled {
                problems.push(format!(
                    "user {addr}: expected {}, found {}",
                    state(d),
                    state(user.disabled)
                ));
            }
        }
        if let Some(origin) = &want.origin {
            let found = match user.origin {
                Origin::Manual => "manual",
                Origin::DirectoryGenerated { .. } => "directory-generated",
            };
            if origin != found {
                problems.push(format!(
                    "user {addr}: expected origin {origin}, found {found}"
                ));
            }
        }
        if let Some(guid) = &want.object_guid {
            if let Some(problem) = guid_mismatch(guid, user.origin.guid()) {
                problems.push(format!("user {addr}: {problem}"));
            }
        }
        if let Some(aliases) = &want.aliases {
            let mut want: Vec<String> = aliases.iter().map(|a| a.to_lowercase()).collect();
            want.sort();
            let found: Vec<String> = user
                .aliases
                .iter()
                .map(|a| a.normalized().to_string())
                .collect();
            if want != found {
                problems.push(format!(
                    "user {addr}: expected aliases {want:?}, found {found:?}"
                ));
            }
        }
        for (attr, values) in &want.attributes {
            let found = user.attributes.get(attr).cloned().unwrap_or_default();
            let mut want = values.clone();
            want.sort();
            if want != found {
                problems.push(format!(
                    "user {addr}: expected {attr} {want:?}, found {found:?}"
                ));
            }
        }
    }
    for (name, want) in &e.groups {
        let group = account
            .groups
            .values()
            .find(|g| g.name.eq_ignore_ascii_case(name));
        if let Some(exists) = want.exists {
            if exists != group.is_some() {
                problems.push(format!(
                    "group {name}: expected {}",
                    if exists { "to exist" } else { "not to exist" }
                ));
                continue;
            }
        }
        let Some(group) = group else {
            if want.members.is_some()
                || want.member_count.is_some()
                || want.includes.is_some()
                || want.excludes.is_some()
                || want.object_guid.is_some()
            {
                problems.push(format!("group {name}: not in the account"));
            }
            continue;
        };
        if let Some(guid) = &want.object_guid {
            if let Some(problem) = guid_mismatch(guid, Some(group.guid)) {
                problems.push(format!("group {name}: {problem}"));
            }
        }
        if let Some(n) = want.member_count {
            if n != group.members.len() {
                problems.push(format!(
                    "group {name}: expected {n} members, found {}",
                    group.members.len()
                ));
            }
        }
        if let Some(members) = &want.members {
            let mut missing = Vec::new();
            let mut wanted = std::collections::BTreeSet::new();
            for m in members {
                match Address::parse(m) {
                    Ok(a) => {
                        if !group.members.contains(&a) {
                            missing.push(m.as_str());
                        }
                        wanted.insert(a);
                    }
                    Err(_) => missing.push(m.as_str()),
                }
            }
            let extra: Vec<String> = group
                .members
                .iter()
                .filter(|a| !wanted.contains(*a))
                .map(ToString::to_string)
                .collect();
            if !missing.is_empty() || !extra.is_empty() {
                problems.push(format!(
                    "group {name}: expected exactly the {} members given; missing {missing:?}, \
                     not expected {extra:?}",
                    members.len()
                ));
            }
        }
        for m in want.includes.iter().flatten() {
            if !Address::parse(m).is_ok_and(|a| group.members.contains(&a)) {
                problems.push(format!("group {name}: expected member {m}"));
            }
        }
        for m in want.excludes.iter().flatten() {
            if Address::parse(m).is_ok_and(|a| group.members.contains(&a)) {
                problems.push(format!("group {name}: {m} should not be a member"));
            }
        }
    }
    for (addr, want) in &e.contacts {
        let found = Address::parse(addr).is_ok_and(|a| account.contacts.contains_key(&a));
        if found != want.exists {
            problems.push(format!(
                "contact {addr}: expected {}",
                if want.exists {
                    "to exist"
                } else {
                    "not to exist"
                }
            ));
        }
    }
    if let Some(t) = &e.totals {
        let directory = account
            .users
            .values()
            .filter(|u| u.origin != Origin::Manual)
            .count();
        for (what, want, found) in [
            ("users", t.users, account.users.len()),
            ("directory users", t.directory_users, directory),
            ("groups", t.groups, account.groups.len()),
            ("contacts", t.contacts, account.contacts.len()),
        ] {
            if let Some(w) = want {
                if w != found {
                    problems.push(format!("expected {w} {what}, found {found}"));
                }
            }
        }
    }
    if let Some(r) = &e.last_sync {
        let Some(last) = last else {
            problems.push("last sync: no sync has run".into());
            return problems;
        };
        let report = &last.report;
        let outcome = outcome(report);
        if let Some(want) = r.outcome {
            if want != outcome {
                problems.push(format!(
                    "last sync: expected {want:?}, was {outcome:?} (errors: {})",
                    report.errors.join("; ")
                ));
            }
        }
        if let Some(host) = &r.host {
            if report.host.as_deref() != Some(host.as_str()) {
                problems.push(format!(
                    "last sync: expected host {host}, was {:?}",
                    report.host
                ));
            }
        }
        if let Some(tls) = &r.tls {
            if tls != tls_kind(&report.tls) {
                problems.push(format!("last sync: expected tls {tls}, was {}", report.tls));
            }
        }
        if let Some(want) = r.extraction {
            let found = match &report.extraction {
                Some(ExtractionMode::Full { .. }) => Some(ExtractionKind::Full),
                Some(ExtractionMode::Delta { .. } | ExtractionMode::GraphDelta { .. }) => {
                    Some(ExtractionKind::Delta)
                }
                None => None,
            };
            if found != Some(want) {
                problems.push(format!(
                    "last sync: expected a {want:?} extraction, was {}",
                    report
                        .extraction
                        .as_ref()
                        .map_or_else(|| "not said".to_owned(), ToString::to_string)
                ));
            }
        }
        if let Some(text) = &r.error_contains {
            if !report.errors.iter().any(|e| e.contains(text.as_str())) {
                problems.push(format!(
                    "last sync: no error contains {text:?} (errors: {:?})",
                    report.errors
                ));
            }
        }
        for (what, want, found) in [
            ("changes", r.changes, report.changes.len()),
            ("conflicts", r.conflicts, report.conflicts.len()),
            (
                "out-of-domain addresses",
                r.out_of_domain,
                report.out_of_domain.len(),
            ),
        ] {
            if let Some(w) = want {
                if w != found {
                    problems.push(format!("last sync: expected {w} {what}, found {found}"));
                }
            }
        }
    }
    problems
}

fn state(disabled: bool) -> &'static str {
    if disabled {
        "disabled"
    } else {
        "enabled"
    }
}

/// How a run ended.
pub fn outcome(report: &Report) -> RunOutcome {
    if !report.errors.is_empty() {
        RunOutcome::Failed
    } else if report.stopped.is_some() {
        RunOutcome::Stopped
    } else {
        RunOutcome::Applied
    }
}

/// The short name of a TLS outcome, as expectations write it.
pub fn tls_kind(tls: &TlsOutcome) -> &'static str {
    match tls {
        TlsOutcome::NotConnected => "not-connected",
        TlsOutcome::Plain => "plain",
        TlsOutcome::Verified { .. } => "verified",
        TlsOutcome::Relaxed => "relaxed",
        TlsOutcome::Failed { .. } => "failed",
    }
}

/// Why `found` is not the `objectGUID` written as `want`, if it is not.
fn guid_mismatch(want: &str, found: Option<Guid>) -> Option<String> {
    let Ok(want) = want.parse::<Guid>() else {
        return Some(format!("object-guid '{want}' is not a GUID"));
    };
    match found {
        Some(found) if found == want => None,
        Some(found) => Some(format!("expected linked to {want}, linked to {found}")),
        None => Some(format!("expected linked to {want}, is manual")),
    }
}
