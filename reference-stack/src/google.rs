//! The `google-workspace` method: the cloud reads a Google Workspace tenant over
//! Google's Secure LDAP with the LDAP client's certificate, then transforms, applies and
//! reports as every method does.
//!
//! - `google/connect.rs`: TLS with the client certificate, and the bind;
//! - `google/extract.rs`: the paged search and the snapshot built from it.
//!
//! Delta sync: Google's Secure LDAP keeps no change numbers (no `uSNChanged`, no
//! tombstones, no change log), so every run reads the whole tenant. A delta run compares
//! what it read with the previous run's digest of every object (the `engine-state`),
//! reports how many objects were added, changed and removed since, and applies the
//! same plan a full run would: the plan is always made against the account, so nothing
//! read twice is applied twice. The report carries no `extraction` mode, as for every
//! run that always reads everything.

mod connect;
mod extract;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::apply;
use crate::connect::ConnectError;
use crate::extract::{ExtractError, ExtractRequest, ExtractStats};
use crate::guid::Guid;
use crate::report::{self, Report, SyncMethod, TlsOutcome};
use crate::settings::{AccountSettings, SettingsErrors};
use crate::snapshot::DirectorySnapshot;
use crate::stack::{SyncEnvironment, SyncOutcome};
use engine_contract::google::{GoogleSettingsErrors, GoogleWorkspaceRequest, SECURE_LDAP_HOST};

pub use extract::FILTER;

/// Why a Google run stopped before apply.
#[derive(Debug, thiserror::Error)]
pub enum GoogleSyncError {
    /// The Google settings were refused before any connection.
    #[error("settings refused")]
    Settings(#[source] GoogleSettingsErrors),
    /// The account settings were refused before any connection.
    #[error("settings refused")]
    AccountSettings(#[source] SettingsErrors),
    /// Connecting or binding failed (a revoked or expired certificate is refused here).
    #[error("cannot connect to Google Secure LDAP")]
    Connect(#[source] ConnectError),
    /// Extraction did not complete; nothing was applied.
    #[error("extraction incomplete, nothing applied")]
    Extract(#[source] ExtractError),
}

/// What the next run compares with: a digest of every object read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct GoogleState {
    /// The search base the digests were taken under; another base compares with nothing.
    pub base_dn: String,
    /// Each person's and group's digest.
    pub objects: BTreeMap<Guid, u64>,
}

impl GoogleState {
    fn of(base_dn: &str, snapshot: &DirectorySnapshot) -> Self {
        let mut objects = BTreeMap::new();
        for (guid, user) in &snapshot.users {
            objects.insert(
                *guid,
                digest(&serde_json::to_string(user).unwrap_or_default()),
            );
        }
        for (guid, group) in &snapshot.groups {
            objects.insert(
                *guid,
                digest(&serde_json::to_string(group).unwrap_or_default()),
            );
        }
        GoogleState {
            base_dn: base_dn.to_owned(),
            objects,
        }
    }

    /// "a added, c changed, r removed" since `previous`.
    fn compared(&self, previous: &GoogleState) -> String {
        let added = self
            .objects
            .keys()
            .filter(|g| !previous.objects.contains_key(g))
            .count();
        let removed = previous
            .objects
            .keys()
            .filter(|g| !self.objects.contains_key(g))
            .count();
        let changed = self
            .objects
            .iter()
            .filter(|(g, d)| previous.objects.get(g).is_some_and(|p| p != *d))
            .count();
        format!("{added} added, {changed} changed, {removed} removed")
    }
}

/// FNV-1a: stable across runs and builds, which the state must be.
fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a Google run produced: the outcome, the state for the next run (the one given
/// when this run failed), and the line the transcript shows of the extraction.
pub struct GoogleRun {
    /// The run's report and account.
    pub sync: SyncOutcome,
    /// What the next delta run compares with.
    pub state: Option<GoogleState>,
    /// Counts of what was read, and for a delta run what changed since the last.
    pub detail: Option<String>,
}

/// Runs one sync of a Google Workspace tenant; `previous` is the state the last run
/// returned, for a delta run (`None` for a full one).
pub async fn run(
    env: &SyncEnvironment,
    ca_pem: Option<&str>,
    request: &GoogleWorkspaceRequest,
    settings: &AccountSettings,
    account: &Account,
    delta: bool,
    previous: Option<&GoogleState>,
) -> GoogleRun {
    let method = SyncMethod::GoogleWorkspace;
    let host = Some(SECURE_LDAP_HOST.to_owned());
    let mut stats = ExtractStats::default();
    let failed = |host: Option<String>, tls: TlsOutcome, error: GoogleSyncError, stats| GoogleRun {
        sync: SyncOutcome {
            report: Report::failed(method, host, tls, &error),
            account: account.clone(),
            snapshot: None,
            stats,
        },
        state: previous.cloned(),
        detail: None,
    };
    if let Err(errors) = request.settings.validate() {
        return failed(
            None,
            TlsOutcome::NotConnected,
            GoogleSyncError::Settings(errors),
            stats,
        );
    }
    if let Err(errors) = settings.validate() {
        let error = GoogleSyncError::AccountSettings(errors);
        return failed(None, TlsOutcome::NotConnected, error, stats);
    }
    let started = Instant::now();
    let connected = connect::connect(request, ca_pem, env.timeout).await;
    stats.connect = started.elapsed();
    let verified = TlsOutcome::Verified {
        server_name: SECURE_LDAP_HOST.to_owned(),
    };
    let (mut ldap, quota_retries) = match connected {
        Ok(c) => (c.ldap, c.quota_retries),
        Err(error) => {
            let tls = match &error {
                ConnectError::Tls { reason, .. } => TlsOutcome::Failed {
                    reason: reason.clone(),
                },
                ConnectError::Bind { .. } => verified.clone(),
                _ => TlsOutcome::NotConnected,
            };
            return failed(host, tls, GoogleSyncError::Connect(error), stats);
        }
    };
    let base_dn = request.settings.base_dn();
    let extract_request = ExtractRequest {
        host: SECURE_LDAP_HOST,
        port: request.endpoint.port(),
        root_dn: &base_dn,
        additional_attributes: &settings.additional_attributes,
        page_size: env.page_size,
        timeout: env.timeout,
        steps: env.steps.as_ref(),
    };
    let started = Instant::now();
    let extracted = extract::extract(&mut ldap, &extract_request, &mut stats).await;
    stats.extract = started.elapsed();
    let _ = ldap.unbind().await;
    let (snapshot, warnings) = match extracted {
        Ok(x) => x,
        Err(error) => return failed(host, verified, GoogleSyncError::Extract(error), stats),
    };
    let state = GoogleState::of(&base_dn, &snapshot);
    let mut detail = format!(
        "{} users, {} groups ({} entries, {} pages)",
        snapshot.users.len(),
        snapshot.groups.len(),
        stats.entries,
        stats.pages
    );
    if quota_retries > 0 {
        let _ = write!(
            detail,
            "; {quota_retries} bind(s) refused over the bind quota, tried again after backing off"
        );
    }
    if delta {
        match previous.filter(|p| p.base_dn == base_dn) {
            Some(previous) => {
                detail.push_str("; full read compared with the last run: ");
                detail.push_str(&state.compared(previous));
            }
            None => detail.push_str("; full read, no earlier run to compare with"),
        }
    }
    let started = Instant::now();
    let (next, plan) = apply::sync(account, &snapshot, settings);
    stats.apply = started.elapsed();
    let mut report = report::from_plan(method, host, verified, plan);
    let mut all = warnings;
    all.append(&mut report.warnings);
    report.warnings = all;
    GoogleRun {
        sync: SyncOutcome {
            report,
            account: next,
            snapshot: Some(snapshot),
            stats,
        },
        state: Some(state),
        detail: Some(detail),
    }
}
