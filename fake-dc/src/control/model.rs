//! The control API's request and response bodies. Field names are kebab-case, like
//! scenario files; the OpenAPI document is derived from these types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::changes::Change;
use crate::server::{FaultSet, StatsSnapshot};

/// A batch of directory changes, applied in order, all or nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ChangesRequest {
    /// The changes.
    pub changes: Vec<Change>,
}

/// What a batch of changes did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ChangesApplied {
    /// How many changes were applied (all of them).
    pub applied: usize,
    /// The directory's highestCommittedUSN afterwards.
    pub highest_usn: u64,
}

/// `GET /changes?since=USN`. Documents the query; the handler parses it itself, so a
/// bad value is answered with the JSON error that names `since`.
#[allow(dead_code)]
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Entries whose uSNChanged is greater than this.
    pub since: u64,
}

/// One entry that changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ChangedEntry {
    /// Its DN now (a tombstone's is under Deleted Objects).
    pub dn: String,
    /// Its objectGUID, string form.
    pub object_guid: String,
    /// Its uSNChanged.
    pub usn_changed: u64,
    /// Its uSNCreated: greater than `since` for an entry created since.
    pub usn_created: u64,
    /// True for a deleted object (tombstone).
    pub deleted: bool,
}

/// The entries changed since a USN, in USN order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ChangesSince {
    /// The USN asked about.
    pub since: u64,
    /// The directory's highestCommittedUSN now: the next `since`.
    pub highest_usn: u64,
    /// The changed entries.
    pub entries: Vec<ChangedEntry>,
}

/// Faults to add to a host, in the shape of a scenario's `fault` step (without `host`).
/// Faults add up; `DELETE` clears them all.
#[derive(Debug, Default, Clone, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Faults {
    /// Listeners closed: connections refused, open ones dropped.
    pub down: bool,
    /// Delay before every reply, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Drop a connection after it has sent this many entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_after_entries: Option<u64>,
    /// Drop a paged search's connection when this page (1-based) is asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_on_page: Option<u32>,
    /// Answer 51 busy.
    pub busy: bool,
    /// Answer 52 unavailable.
    pub unavailable: bool,
    /// Fail TLS handshakes.
    pub tls_failure: bool,
    /// 64 bytes of garbage after this many entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garbage_after_entries: Option<u64>,
    /// Half a message, then close, after this many entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate_after_entries: Option<u64>,
    /// Search responses with a message ID the client never sent.
    pub wrong_message_id: bool,
    /// A 10 MB value in the first entry of each answer.
    pub huge_value: bool,
    /// Paged searches never end.
    pub endless_paging: bool,
    /// Ranged retrieval never ends.
    pub endless_range: bool,
    /// Searches answer a referral to this same host.
    pub self_referral: bool,
    /// Responses written one byte per second.
    pub slow_drip: bool,
    /// Pages miss every other entry.
    pub missing_entries: bool,
}

impl From<FaultSet> for Faults {
    fn from(f: FaultSet) -> Self {
        Faults {
            down: f.down,
            latency_ms: f.latency.map(|d| d.as_millis() as u64),
            drop_after_entries: f.drop_after_entries,
            drop_on_page: f.drop_on_page,
            busy: f.busy,
            unavailable: f.unavailable,
            tls_failure: f.tls_failure,
            garbage_after_entries: f.garbage_after_entries,
            truncate_after_entries: f.truncate_after_entries,
            wrong_message_id: f.wrong_message_id,
            huge_value: f.huge_value,
            endless_paging: f.endless_paging,
            endless_range: f.endless_range,
            self_referral: f.self_referral,
            slow_drip: f.slow_drip,
            missing_entries: f.missing_entries,
        }
    }
}

/// Where one host listens.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct HostInfo {
    /// The host's DNS name (lower case), as in the fixture.
    pub name: String,
    /// Plain LDAP, `127.0.0.1:PORT`.
    pub ldap: Option<String>,
    /// LDAPS.
    pub ldaps: Option<String>,
    /// Global Catalog.
    pub gc: Option<String>,
    /// Global Catalog over TLS.
    pub gc_tls: Option<String>,
}

/// `POST /clock`: exactly one of `advance` and `set`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClockRequest {
    /// Move the clock forward by a duration: `90m`, `6h`, `2d`, `30s`.
    #[serde(default)]
    pub advance: Option<String>,
    /// Set the clock to this Unix time (seconds); it then runs on from there.
    #[serde(default)]
    pub set: Option<i64>,
}

/// The directory clock.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ClockState {
    /// The directory's time now, Unix seconds (whenChanged, lockouts, expiry use it).
    pub now: i64,
    /// How far it has been moved from the real (or `--fixed-time`) clock, in seconds.
    pub offset_seconds: i64,
}

/// `POST /snapshots`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SnapshotRequest {
    /// The snapshot's name: 1 to 64 of letters, digits, `-`, `_` and `.`. Taking a
    /// snapshot under a name already used replaces it.
    pub name: String,
}

/// A stored snapshot.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotInfo {
    /// Its name.
    pub name: String,
    /// Entries it holds, tombstones included.
    pub entries: usize,
    /// The highestCommittedUSN it holds.
    pub highest_usn: u64,
    /// How long taking or restoring it took, in microseconds.
    pub micros: u64,
}

/// `POST /reload`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReloadRequest {
    /// The fixture file to load; default: the one the server was started with.
    #[serde(default)]
    pub path: Option<String>,
}

/// What a reload did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Reloaded {
    /// The file loaded.
    pub path: String,
    /// Entries now in the directory.
    pub entries: usize,
    /// Entries that kept the objectGUID their DN had before.
    pub kept_identities: usize,
    /// The directory's highestCommittedUSN now.
    pub highest_usn: u64,
}

/// Statistics of every host, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllStats {
    /// Each host's counters.
    pub hosts: BTreeMap<String, StatsSnapshot>,
}

/// Every error answer: what is wrong, and the request field at fault.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in a sentence.
    pub error: String,
    /// The field at fault: a JSON path in the body (`changes[1].add-user.parent`), a
    /// path or query parameter (`host`, `since`), or `Authorization`.
    pub field: String,
}
