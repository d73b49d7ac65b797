//! What the control API acts on: the running DC, its directory clock, the named
//! snapshots, and the fixture to reload. Every method here is synchronous and may take a
//! while on a large directory (a reload parses the file), so handlers call them on the
//! blocking pool, never on the I/O threads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::clock::DirectoryClock;
use super::model::{ChangedEntry, ChangesSince, Reloaded, SnapshotInfo};
use crate::directory::Directory;
use crate::fixture::{self, FixtureError, LoadOptions};
use crate::server::FakeDc;

/// A stored snapshot: the directory (sharing entries with the live one until either is
/// written) and the clock offset it was taken at.
struct Snapshot {
    directory: Directory,
    clock_offset: i64,
}

/// Frees a replaced directory or snapshot on a thread of its own. Freeing 100,000
/// entries and the index copies a write made takes a hundred times longer than the swap
/// that replaced them, and nobody needs to wait for it.
fn retire<T: Send + 'static>(old: T) {
    // Should no thread be available, the closure (and `old`) is dropped right here.
    let _ = std::thread::Builder::new()
        .name("fake-dc-free".into())
        .spawn(move || drop(old));
}

/// Why a reload failed; the old directory keeps being served.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// No path given and the server was not started from a file.
    #[error("no fixture to reload: give a path")]
    NoFixture,
    /// The file does not load (each problem with its file:line:col).
    #[error("{0}")]
    Fixture(#[from] FixtureError),
    /// A served host is not a DC of the same domain in the new fixture.
    #[error("'{0}' is served but is not a DC host of the same domain in the new fixture; restart fake-dc to change hosts")]
    HostGone(String),
}

/// The control API's state.
pub struct ControlState {
    /// The running DC.
    pub dc: Arc<FakeDc>,
    /// The directory clock installed in the directory.
    pub clock: DirectoryClock,
    /// The bearer token every request must carry.
    pub(super) token: String,
    /// Named snapshots.
    snapshots: Mutex<BTreeMap<String, Snapshot>>,
    /// The fixture the server started from (reload's default).
    fixture: Option<PathBuf>,
    /// The Microsoft Graph listener, when the fixture declares a tenant.
    graph: Option<Arc<crate::graph::GraphState>>,
}

impl ControlState {
    /// State over a started DC whose directory already runs on `clock`.
    pub fn new(
        dc: Arc<FakeDc>,
        clock: DirectoryClock,
        token: String,
        fixture: Option<PathBuf>,
    ) -> Self {
        ControlState {
            dc,
            clock,
            token,
            snapshots: Mutex::default(),
            fixture,
            graph: None,
        }
    }

    /// The same state, driving the Graph listener's faults too.
    pub fn with_graph(mut self, graph: Arc<crate::graph::GraphState>) -> Self {
        self.graph = Some(graph);
        self
    }

    /// The Graph listener's state, when one runs.
    pub fn graph(&self) -> Option<Arc<crate::graph::GraphState>> {
        self.graph.clone()
    }

    fn snapshots(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Snapshot>> {
        self.snapshots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with write access to the live directory.
    pub fn write<T>(&self, f: impl FnOnce(&mut Directory) -> T) -> T {
        self.dc.with_directory(f)
    }

    /// Runs `f` with read access to the live directory.
    pub fn read<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        let guard = self
            .dc
            .directory()
            .read()
            .unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Stores the live directory (and clock offset) under `name`, replacing any snapshot
    /// of that name.
    pub fn take_snapshot(&self, name: &str) -> SnapshotInfo {
        let started = Instant::now();
        let directory = self.read(Directory::clone);
        let info = SnapshotInfo {
            name: name.to_string(),
            entries: directory.len(),
            highest_usn: directory.highest_usn(),
            micros: 0,
        };
        let old = self.snapshots().insert(
            name.to_string(),
            Snapshot {
                directory,
                clock_offset: self.clock.offset(),
            },
        );
        let micros = started.elapsed().as_micros() as u64;
        retire(old);
        SnapshotInfo { micros, ..info }
    }

    /// Makes the live directory (and clock) what snapshot `name` holds; `None` when there
    /// is no such snapshot. The snapshot stays, to be restored again.
    pub fn restore_snapshot(&self, name: &str) -> Option<SnapshotInfo> {
        let started = Instant::now();
        let (directory, offset) = {
            let snapshots = self.snapshots();
            let s = snapshots.get(name)?;
            (s.directory.clone(), s.clock_offset)
        };
        let info = SnapshotInfo {
            name: name.to_string(),
            entries: directory.len(),
            highest_usn: directory.highest_usn(),
            micros: 0,
        };
        let old = self.write(|d| std::mem::replace(d, directory));
        self.clock.set_offset(offset);
        let micros = started.elapsed().as_micros() as u64;
        retire(old);
        Some(SnapshotInfo { micros, ..info })
    }

    /// Forgets snapshot `name`; false when there was none.
    pub fn delete_snapshot(&self, name: &str) -> bool {
        let old = self.snapshots().remove(name);
        let found = old.is_some();
        retire(old);
        found
    }

    /// The stored snapshots, by name.
    pub fn list_snapshots(&self) -> Vec<SnapshotInfo> {
        self.snapshots()
            .iter()
            .map(|(name, s)| SnapshotInfo {
                name: name.clone(),
                entries: s.directory.len(),
                highest_usn: s.directory.highest_usn(),
                micros: 0,
            })
            .collect()
    }

    /// The entries whose uSNChanged is above `since`, in USN order.
    pub fn changes_since(&self, since: u64) -> ChangesSince {
        self.read(|d| {
            let mut entries: Vec<ChangedEntry> = d
                .ids()
                .map(|id| (id, d.entry(id)))
                .filter(|(_, e)| e.usn_changed > since)
                .map(|(id, e)| ChangedEntry {
                    dn: d.dn_str(id).to_string(),
                    object_guid: e.guid.to_string(),
                    usn_changed: e.usn_changed,
                    usn_created: e.usn_created,
                    deleted: e.deleted,
                })
                .collect();
            entries.sort_by_key(|e| e.usn_changed);
            ChangesSince {
                since,
                highest_usn: d.highest_usn(),
                entries,
            }
        })
    }

    /// Loads `path` (default: the fixture the server started from) and serves it in place
    /// of the live directory, entries keeping the objectGUID their DN had. On any error
    /// the live directory is untouched.
    pub fn reload(&self, path: Option<&Path>) -> Result<Reloaded, ReloadError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => self.fixture.clone().ok_or(ReloadError::NoFixture)?,
        };
        // Entries the file creates are stamped with the directory clock's time, moved or
        // pinned as it is.
        let options = LoadOptions {
            fixed_time: Some(self.clock.now()),
        };
        let mut new = fixture::load_file(&path, options)?;
        new.set_clock(self.clock.clock());
        let (kept, entries, highest_usn, old) = self.write(|live| {
            for host in self.dc.host_names() {
                let domain_of = |d: &Directory| {
                    d.domains
                        .iter()
                        .position(|x| x.dc_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)))
                };
                if domain_of(live) != domain_of(&new) {
                    return Err(ReloadError::HostGone(host));
                }
            }
            let kept = new.adopt_identities(live);
            let (entries, usn) = (new.len(), new.highest_usn());
            Ok((kept, entries, usn, std::mem::replace(live, new)))
        })?;
        retire(old);
        Ok(Reloaded {
            path: path.display().to_string(),
            entries,
            kept_identities: kept,
            highest_usn,
        })
    }
}
