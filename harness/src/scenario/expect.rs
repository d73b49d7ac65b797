//! Expectations checked against the cloud account and the last run, and the readable
//! renderings of both for the transcript.

use std::fmt::Write as _;

use super::model::{Expectation, ExtractionKind, RunOutcome};
use crate::account::{Account, Origin};
use crate::address::Address;
use crate::delta::ExtractionMode;
use crate::engine::SyncResponse;
use crate::report::{Report, TlsOutcome};

/// Most account lines a transcript shows; a 100,000-user account is summarised.
const MAX_ACCOUNT_LINES: usize = 400;

/// Most change lines a transcript shows per run.
const MAX_CHANGE_LINES: usize = 200;

/// Checks an expectation; returns one message per mismatch. `engine` decides whether
/// engine-worded details (`error-contains`) are held to.
pub fn check(
    e: &Expectation,
    account: &Account,
    last: Option<&SyncResponse>,
    engine: &str,
) -> Vec<String> {
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
            if want.members.is_some() || !want.includes.is_empty() {
                problems.push(format!("group {name}: not in the account"));
            }
            continue;
        };
        if let Some(n) = want.members {
            if n != group.members.len() {
                problems.push(format!(
                    "group {name}: expected {n} members, found {}",
                    group.members.len()
                ));
            }
        }
        for m in &want.includes {
            if !Address::parse(m).is_ok_and(|a| group.members.contains(&a)) {
                problems.push(format!("group {name}: expected member {m}"));
            }
        }
        for m in &want.excludes {
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
                Some(ExtractionMode::Delta { .. }) => Some(ExtractionKind::Delta),
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
            // Wording is the reference engine's; other engines are held to the outcome only.
            if engine == crate::engine::REFERENCE_ENGINE
                && !report.errors.iter().any(|e| e.contains(text.as_str()))
            {
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

/// The report, with a long change list cut (the counts still cover everything).
pub fn render_report(report: &Report) -> String {
    if report.changes.len() <= MAX_CHANGE_LINES {
        return report.to_text();
    }
    let mut cut = report.clone();
    let hidden = cut.changes.len() - MAX_CHANGE_LINES;
    cut.changes.truncate(MAX_CHANGE_LINES);
    let mut text = cut.to_text();
    let _ = writeln!(text, "  … {hidden} more changes not shown");
    text
}

/// The account, one line per object, stable order; summarised when large.
pub fn render_account(account: &Account) -> String {
    let mut lines = Vec::new();
    for u in account.users.values() {
        let origin = match u.origin {
            Origin::Manual => "manual",
            Origin::DirectoryGenerated { .. } => "directory generated",
        };
        let mut line = format!("user {} ({origin})", u.address);
        if u.disabled {
            line.push_str(" disabled");
        }
        if !u.aliases.is_empty() {
            let a: Vec<String> = u.aliases.iter().map(ToString::to_string).collect();
            let _ = write!(line, " aliases [{}]", a.join(", "));
        }
        for (k, v) in &u.attributes {
            let _ = write!(line, " {k}={}", v.join("|"));
        }
        lines.push(line);
    }
    for g in account.groups.values() {
        let members: Vec<String> = g.members.iter().map(ToString::to_string).collect();
        let addr = g
            .address
            .as_ref()
            .map(|a| format!(" <{a}>"))
            .unwrap_or_default();
        if members.len() > 20 {
            lines.push(format!("group {}{addr}: {} members", g.name, members.len()));
        } else {
            lines.push(format!(
                "group {}{addr}: {} members [{}]",
                g.name,
                members.len(),
                members.join(", ")
            ));
        }
    }
    for c in account.contacts.values() {
        lines.push(format!("contact {} ({})", c.address, c.name));
    }
    let mut out = format!(
        "{} users ({} directory generated), {} groups, {} contacts\n",
        account.users.len(),
        account
            .users
            .values()
            .filter(|u| u.origin != Origin::Manual)
            .count(),
        account.groups.len(),
        account.contacts.len()
    );
    let total = lines.len();
    for line in lines.into_iter().take(MAX_ACCOUNT_LINES) {
        out.push_str(&line);
        out.push('\n');
    }
    if total > MAX_ACCOUNT_LINES {
        let _ = writeln!(out, "… {} more lines not shown", total - MAX_ACCOUNT_LINES);
    }
    out
}
