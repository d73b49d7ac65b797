//! Deliberately broken stages. A property that passes the real stack proves little
//! until it is also shown to fail a stack with a known defect; these are such stacks.
//!
//! Each defect is an implementation of [`Steps`] that gets one judgement wrong, run by
//! the real stack through [`SyncEnvironment::steps`], or a wrapper around the real
//! stack; none is a switch in the stack's own code.

use std::sync::Arc;

use crate::account::Account;
use crate::connect::{self, ConnectOptions};
use crate::delta::{read, DeltaState};
use crate::extract::members::{normalize_dn, rdns};
use crate::extract::ExtractRequest;
use crate::guid::Guid;
use crate::settings::{AccountSettings, ConnectorSettings};
use crate::stack::{self, DeltaSyncOutcome, SyncEnvironment, SyncOutcome};
use crate::steps::{Faithful, Steps};

/// Reads no tombstones: objects deleted in the directory live on.
#[derive(Debug)]
struct IgnoresTombstones;

impl Steps for IgnoresTombstones {
    fn deleted(&self, _tombstones: Vec<Guid>) -> Vec<Guid> {
        Vec::new()
    }
}

/// Reads no container subtrees: objects below a renamed or moved OU keep their old DNs.
#[derive(Debug)]
struct SkipsContainerReads;

impl Steps for SkipsContainerReads {
    fn containers_to_read(&self, _changed: Vec<String>) -> Vec<String> {
        Vec::new()
    }
}

/// Keeps only the first piece of a ranged `member` (AD's first 1,500 values).
#[derive(Debug)]
struct DropsRangedFetches;

impl Steps for DropsRangedFetches {
    fn member_range_next(&self, _next: Option<usize>) -> Option<usize> {
        None
    }
}

/// Resolves a member DN by its first RDN only, as if names were unique.
#[derive(Debug)]
struct ResolvesMembersByRdn;

impl Steps for ResolvesMembersByRdn {
    fn member_key(&self, dn: &str) -> String {
        normalize_dn(rdns(dn).first().copied().unwrap_or(dn))
    }
}

/// `env` with `steps` in place of the stack's own.
fn planted(env: &SyncEnvironment, steps: impl Steps + 'static) -> SyncEnvironment {
    SyncEnvironment {
        steps: Arc::new(steps),
        ..env.clone()
    }
}

/// [`stack::run_delta_sync`] that never reads tombstones: objects deleted in the
/// directory live on in its state and in the cloud.
pub async fn delta_sync_ignoring_tombstones(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    let env = planted(env, IgnoresTombstones);
    stack::run_delta_sync(&env, connector, settings, account, state).await
}

/// [`stack::run_delta_sync`] that takes its watermark after the run instead of before
/// its searches: a change committed while it read lies below the next run's watermark
/// and is never read.
pub async fn delta_sync_with_late_watermark(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    let mut outcome = stack::run_delta_sync(env, connector, settings, account, state).await;
    // A failed run hands back the state it was given; only a completed one moves it.
    if outcome.sync.report.errors.is_empty() {
        if let (Some(next), Some(usn)) = (outcome.state.as_mut(), highest_usn(env, connector).await)
        {
            next.set_watermark_usn(usn);
        }
    }
    outcome
}

/// The DC's `highestCommittedUSN` now, read on a connection of its own.
async fn highest_usn(env: &SyncEnvironment, connector: &ConnectorSettings) -> Option<u64> {
    let options =
        ConnectOptions::new(env.resolver.clone(), &env.trusted_ca_pems, env.timeout).ok()?;
    let mut connection = connect::connect(&options, connector).await.ok()?;
    let request = ExtractRequest {
        host: &connection.host,
        port: connection.port,
        root_dn: &connector.root_dn,
        additional_attributes: &[],
        page_size: env.page_size,
        timeout: env.timeout,
        steps: &Faithful,
    };
    let dc = read::root_dse(&mut connection.ldap, &request).await.ok();
    let _ = connection.ldap.unbind().await;
    dc?.highest_usn
}

/// [`stack::run_delta_sync`] that never reads the subtree of a changed container: AD
/// leaves the `uSNChanged` of objects below a renamed or moved OU alone, so their new
/// DNs go unseen.
pub async fn delta_sync_skipping_container_reads(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    let env = planted(env, SkipsContainerReads);
    stack::run_delta_sync(&env, connector, settings, account, state).await
}

/// [`stack::run_sync`] that never fetches the rest of a ranged `member`: groups past
/// 1,500 members keep AD's first piece.
pub async fn sync_dropping_ranged_fetches(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
) -> SyncOutcome {
    let env = planted(env, DropsRangedFetches);
    stack::run_sync(&env, connector, settings, account).await
}

/// [`stack::run_sync`] that resolves a member DN by its first RDN only: of two objects
/// with the same CN in different OUs, every group gets the same one.
pub async fn sync_resolving_members_by_rdn(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
) -> SyncOutcome {
    let env = planted(env, ResolvesMembersByRdn);
    stack::run_sync(&env, connector, settings, account).await
}
