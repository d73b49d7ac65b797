//! Running a prepared filter over the directory: index candidates for the branches that
//! have them, then a budgeted walk that gives up at a deadline or on abandon, so one
//! expensive search never runs longer than the query policy allows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::ast::Filter;
use super::eval::{Key, Prepared};
use crate::directory::{Directory, EntryId, Guid, Scope, Sid};
use crate::schema::{self, ObjectKind};

/// When a search must stop: a deadline (AD's MaxQueryDuration, or the client's own time
/// limit when shorter) and a flag the connection raises when the client abandons it.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Give up after this instant.
    pub deadline: Option<Instant>,
    /// Raised by the connection on an AbandonRequest for this search.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Why a budgeted search stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// The deadline passed (AD: timeLimitExceeded, 3).
    #[error("the time limit passed")]
    TimeLimit,
    /// The client abandoned the operation (no response is sent).
    #[error("abandoned")]
    Abandoned,
}

/// How many entries are evaluated between two looks at the clock.
const CHECK_EVERY: usize = 32;

impl Budget {
    /// No limit: in-process callers that own the directory.
    pub fn unlimited() -> Self {
        Budget::default()
    }

    /// Whether the search must stop now, and why.
    pub fn check(&self) -> Result<(), Stopped> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(Stopped::Abandoned);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Stopped::TimeLimit);
        }
        Ok(())
    }
}

impl Directory {
    /// Entries that can possibly match, from the indexes; `None` when the filter needs a
    /// scan. The result is a superset of the matches, in id order.
    pub fn candidates(&self, p: &Prepared) -> Option<Vec<EntryId>> {
        match p {
            Prepared::Equal { attr, key, .. } => self.equal_candidates(attr, key),
            Prepared::EqualAny { attr, keys, .. } => {
                let mut all = Vec::new();
                for key in keys {
                    all.extend(self.equal_candidates(attr, key)?);
                }
                all.sort_unstable();
                all.dedup();
                Some(all)
            }
            Prepared::Kinds(kinds) if kinds.len() == schema::ALL_KINDS.len() => None, // `top`
            Prepared::Kinds(kinds) => Some(self.kinds_union(kinds)),
            Prepared::InSet(set) => Some(set.iter().copied().collect()),
            Prepared::False => Some(Vec::new()),
            Prepared::And(ps) => ps
                .iter()
                .filter_map(|p| self.candidates(p))
                .min_by_key(Vec::len),
            Prepared::Or(ps) => {
                let mut all = Vec::new();
                for p in ps {
                    all.extend(self.candidates(p)?);
                }
                all.sort_unstable();
                all.dedup();
                Some(all)
            }
            _ => None,
        }
    }

    /// Candidates of one equality assertion: objectGUID and objectSid by their own
    /// indexes, indexed attributes by value; `None` for an attribute without an index.
    fn equal_candidates(&self, attr: &str, key: &Key) -> Option<Vec<EntryId>> {
        if attr.eq_ignore_ascii_case("objectGUID") {
            let Key::Bytes(b) = key else {
                return Some(Vec::new());
            };
            let guid = <[u8; 16]>::try_from(b.as_slice()).ok().map(Guid);
            return Some(guid.and_then(|g| self.by_guid(&g)).into_iter().collect());
        }
        if attr.eq_ignore_ascii_case("objectSid") {
            let Key::Bytes(b) = key else {
                return Some(Vec::new());
            };
            return Some(
                Sid::from_bytes(b)
                    .and_then(|s| self.by_sid(&s))
                    .into_iter()
                    .collect(),
            );
        }
        if self.is_indexed(attr) {
            let Key::Text(t) = key else {
                return Some(Vec::new());
            };
            let mut ids = self.by_value(attr, t)?.to_vec();
            ids.sort_unstable();
            return Some(ids);
        }
        None
    }

    fn kinds_union(&self, kinds: &[ObjectKind]) -> Vec<EntryId> {
        let mut ids: Vec<EntryId> = kinds.iter().flat_map(|k| self.of_kind(*k)).collect();
        ids.sort();
        ids
    }

    /// Live entries in scope of `base` that match `filter` (tombstones only with
    /// `show_deleted`), using an index when one narrows the search.
    pub fn search(
        &self,
        base: EntryId,
        scope: Scope,
        filter: &Filter,
        show_deleted: bool,
    ) -> Vec<EntryId> {
        // An unlimited budget never stops.
        self.search_within(base, scope, filter, show_deleted, &Budget::unlimited())
            .unwrap_or_default()
    }

    /// [`Directory::search`] that stops when `budget` runs out, checked while evaluating.
    pub fn search_within(
        &self,
        base: EntryId,
        scope: Scope,
        filter: &Filter,
        show_deleted: bool,
        budget: &Budget,
    ) -> Result<Vec<EntryId>, Stopped> {
        let prepared = self.prepare(filter);
        budget.check()?;
        let visible = |id: EntryId| show_deleted || !self.entry(id).deleted;
        let in_scope = |id: EntryId| match scope {
            Scope::Base => id == base,
            Scope::OneLevel => self.entry(id).parent == Some(base),
            Scope::Subtree => self.is_within(id, base),
        };
        // Tombstones are not in the value indexes: Show Deleted searches scan.
        let indexed = if scope != Scope::Base && !show_deleted {
            self.candidates(&prepared)
        } else {
            None
        };
        budget.check()?;
        let (ids, scanned) = match indexed {
            Some(cands) => (cands, false),
            None => (self.scope(base, scope), true),
        };
        let mut out = Vec::new();
        for (n, id) in ids.into_iter().enumerate() {
            if n % CHECK_EVERY == 0 {
                budget.check()?;
            }
            let keep = if scanned {
                visible(id)
                    && (scope == Scope::Base || !self.hidden_by_deleted_parent(id, show_deleted))
            } else {
                visible(id) && in_scope(id)
            };
            if keep && self.matches(id, &prepared) {
                out.push(id);
            }
        }
        Ok(out)
    }
}
