//! What clients asked of one host, counted, so a test can assert "the engine paged",
//! "the engine asked for ranges", "the engine bound once". Plain atomics bumped once per
//! operation (relaxed: each counter is independent and read only for reporting); control
//! OIDs, which are open-ended, go in a small map under a mutex taken only for requests
//! that carry controls.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ldap3_proto::proto::LdapResultCode;

/// Distinct control OIDs remembered; a client sending random OIDs cannot grow the map
/// past this (further new OIDs are counted in `other_controls`).
const MAX_CONTROL_OIDS: usize = 64;

/// One request as the counters see it, taken before it is dispatched.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// What kind of operation.
    pub kind: OpKind,
    /// A search with the paged-results control: one page asked for.
    pub paged: bool,
    /// A search asking for an attribute with `;range=`.
    pub ranged: bool,
    /// The OIDs of the request's controls.
    pub controls: Vec<String>,
}

/// The operations counted apart.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Bind,
    Search,
    Write,
    Extended,
    #[default]
    Other,
}

/// The counters of one host.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    binds_success: AtomicU64,
    binds_invalid_credentials: AtomicU64,
    binds_other: AtomicU64,
    searches: AtomicU64,
    pages: AtomicU64,
    ranged: AtomicU64,
    entries: AtomicU64,
    writes: AtomicU64,
    extended: AtomicU64,
    other_controls: AtomicU64,
    controls: Mutex<BTreeMap<String, u64>>,
}

/// A copy of one host's counters since it started or was last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct StatsSnapshot {
    /// Binds answered success.
    pub binds_success: u64,
    /// Binds answered invalidCredentials (49): wrong password, unknown account, locked…
    pub binds_invalid_credentials: u64,
    /// Binds answered anything else (busy, unavailable, protocol errors).
    pub binds_other: u64,
    /// Search requests, one per page of a paged search.
    pub searches: u64,
    /// Search requests carrying the paged-results control (pages asked for).
    pub pages: u64,
    /// Search requests asking for an attribute with `;range=` (ranged retrieval).
    pub ranged_reads: u64,
    /// Search entries sent.
    pub entries_sent: u64,
    /// Add, modify, delete, modify DN and compare requests.
    pub writes: u64,
    /// Extended requests (StartTLS, Who am I?).
    pub extended: u64,
    /// Requests carrying each control, by OID.
    pub controls: BTreeMap<String, u64>,
    /// Requests carrying a control past the first 64 distinct OIDs.
    pub other_controls: u64,
}

fn bump(c: &AtomicU64, by: u64) {
    c.fetch_add(by, Ordering::Relaxed);
}

impl Stats {
    /// Counts one answered request.
    pub fn record(&self, seen: &Seen, code: Option<&LdapResultCode>, entries: usize) {
        match seen.kind {
            OpKind::Bind => match code {
                Some(LdapResultCode::Success) => bump(&self.binds_success, 1),
                Some(LdapResultCode::InvalidCredentials) => {
                    bump(&self.binds_invalid_credentials, 1)
                }
                _ => bump(&self.binds_other, 1),
            },
            OpKind::Search => {
                bump(&self.searches, 1);
                if seen.paged {
                    bump(&self.pages, 1);
                }
                if seen.ranged {
                    bump(&self.ranged, 1);
                }
                bump(&self.entries, entries as u64);
            }
            OpKind::Write => bump(&self.writes, 1),
            OpKind::Extended => bump(&self.extended, 1),
            OpKind::Other => {}
        }
        if seen.controls.is_empty() {
            return;
        }
        let mut map = self.controls.lock().unwrap_or_else(|e| e.into_inner());
        for oid in &seen.controls {
            if let Some(n) = map.get_mut(oid) {
                *n += 1;
            } else if map.len() < MAX_CONTROL_OIDS {
                map.insert(oid.clone(), 1);
            } else {
                bump(&self.other_controls, 1);
            }
        }
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            binds_success: get(&self.binds_success),
            binds_invalid_credentials: get(&self.binds_invalid_credentials),
            binds_other: get(&self.binds_other),
            searches: get(&self.searches),
            pages: get(&self.pages),
            ranged_reads: get(&self.ranged),
            entries_sent: get(&self.entries),
            writes: get(&self.writes),
            extended: get(&self.extended),
            controls: self
                .controls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            other_controls: get(&self.other_controls),
        }
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        for c in [
            &self.binds_success,
            &self.binds_invalid_credentials,
            &self.binds_other,
            &self.searches,
            &self.pages,
            &self.ranged,
            &self.entries,
            &self.writes,
            &self.extended,
            &self.other_controls,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.controls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
