//! Deliberately broken stages. A property that passes the real stack proves little
//! until it is also shown to fail a stack with a known defect; these are such stacks.

use crate::account::Account;
use crate::delta::{Defects, DeltaState};
use crate::settings::{AccountSettings, ConnectorSettings};
use crate::stack::{self, DeltaSyncOutcome, SyncEnvironment, SyncOutcome};

/// [`stack::run_delta_sync`] that never reads tombstones: objects deleted in the
/// directory live on in its state and in the cloud.
pub async fn delta_sync_ignoring_tombstones(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    let defects = Defects {
        ignore_tombstones: true,
        ..Defects::default()
    };
    stack::run_delta_sync_with(env, connector, settings, account, state, defects).await
}

/// [`stack::run_delta_sync`] that takes its watermark after the searches: a change
/// committed while it read lies below the next run's watermark and is never read.
pub async fn delta_sync_with_late_watermark(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    let defects = Defects {
        late_watermark: true,
        ..Defects::default()
    };
    stack::run_delta_sync_with(env, connector, settings, account, state, defects).await
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
    let defects = Defects {
        skip_container_reads: true,
        ..Defects::default()
    };
    stack::run_delta_sync_with(env, connector, settings, account, state, defects).await
}

/// [`stack::run_sync`] that never fetches the rest of a ranged `member`: groups past
/// 1,500 members keep AD's first piece.
pub async fn sync_dropping_ranged_fetches(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
) -> SyncOutcome {
    let defects = Defects {
        skip_ranged_fetches: true,
        ..Defects::default()
    };
    stack::run_sync_with(env, connector, settings, account, defects).await
}

/// [`stack::run_sync`] that resolves a member DN by its first RDN only: of two objects
/// with the same CN in different OUs, every group gets the same one.
pub async fn sync_resolving_members_by_rdn(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
) -> SyncOutcome {
    let defects = Defects {
        members_by_rdn: true,
        ..Defects::default()
    };
    stack::run_sync_with(env, connector, settings, account, defects).await
}
