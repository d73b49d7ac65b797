//! The invariant every scenario checks without being asked: a sync run straight after a
//! successful one succeeds and changes nothing; after a delta sync, that second run is a
//! delta too, continuing from the state the first returned.
//!
//! A failed sync reports no changes and hands back the account it was given, so "no
//! changes and the same account" alone would let a second run that fails pass: the
//! second run's outcome is judged before its changes.

use std::collections::BTreeSet;
use std::fmt::Display;

use engine_contract::account::Account;
use engine_contract::engine::{EngineError, SyncMode, SyncResponse};
use engine_contract::extraction::ExtractionMode;

/// How many changes or differing objects a message names before it stops listing.
const NAMED: usize = 5;

/// Judges the second run (`second`, asked in `mode` right after `first` applied); `None`
/// when the invariant holds, else what broke it.
pub fn judge(
    first: &SyncResponse,
    mode: SyncMode,
    second: &Result<SyncResponse, EngineError>,
) -> Option<String> {
    const AGAIN: &str = "the sync straight after a successful one";
    let second = match second {
        Ok(second) => second,
        Err(e) => return Some(format!("{AGAIN} gave no answer: {e}")),
    };
    let report = &second.report;
    if !report.errors.is_empty() {
        return Some(format!("{AGAIN} failed: {}", report.errors.join("; ")));
    }
    if let Some(stop) = &report.stopped {
        return Some(format!("{AGAIN} was stopped: {stop}"));
    }
    if !report.changes.is_empty() {
        return Some(format!(
            "{AGAIN} changed {} things: {}",
            report.changes.len(),
            named(&report.changes)
        ));
    }
    if second.account != first.account {
        return Some(format!(
            "{AGAIN} reported no change but changed the account: {}",
            account_difference(&first.account, &second.account)
        ));
    }
    if mode == SyncMode::Delta {
        // Only an engine that says how it read is held to reading only the changes; one
        // without delta sync reads everything and says nothing.
        match (&first.report.extraction, &report.extraction) {
            (None, None)
            | (_, Some(ExtractionMode::Delta { .. } | ExtractionMode::GraphDelta { .. })) => {}
            (_, Some(full @ ExtractionMode::Full { .. })) => {
                return Some(format!(
                    "the delta sync straight after a successful one read everything: {full}"
                ));
            }
            (Some(_), None) => {
                return Some(
                    "the delta sync straight after a successful one did not say how it read \
                     the directory"
                        .to_string(),
                );
            }
        }
    }
    None
}

fn named(items: &[impl Display]) -> String {
    let mut text = items
        .iter()
        .take(NAMED)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > NAMED {
        text.push_str(&format!("; … {} more", items.len() - NAMED));
    }
    text
}

/// Which users, groups and contacts differ between two accounts, by key.
fn account_difference(before: &Account, after: &Account) -> String {
    fn differing<K: Ord + Display, V: PartialEq>(
        kind: &str,
        a: &std::collections::BTreeMap<K, V>,
        b: &std::collections::BTreeMap<K, V>,
    ) -> Vec<String> {
        let keys: BTreeSet<&K> = a.keys().chain(b.keys()).collect();
        keys.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| format!("{kind} {k}"))
            .collect()
    }
    let mut all = differing("user", &before.users, &after.users);
    all.extend(differing("group", &before.groups, &after.groups));
    all.extend(differing("contact", &before.contacts, &after.contacts));
    named(&all)
}
