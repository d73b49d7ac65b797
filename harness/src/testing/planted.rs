//! Deliberately broken stages. A property that passes the real stack proves little
//! until it is also shown to fail a stack with a known defect; these are such stacks.

use crate::account::Account;
use crate::delta::{Defects, DeltaState};
use crate::settings::{AccountSettings, ConnectorSettings};
use crate::stack::{self, DeltaSyncOutcome, SyncEnvironment};

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
    };
    stack::run_delta_sync_with(env, connector, settings, account, state, defects).await
}
