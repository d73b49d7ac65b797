//! A plan: what one sync run will do to the account, and what it will not do and why.
//! Made and carried out by [`crate::apply`]; its items are the contract's
//! ([`engine_contract::change`]), so a report lists them as they are.

use serde::{Deserialize, Serialize};

use crate::change::{Change, Conflict, MaxUnlinkStop, OutOfDomain};

/// Everything one run decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// The changes, sorted (see [`Change`]); empty when the run was stopped.
    pub changes: Vec<Change>,
    /// Contested addresses, sorted by address.
    pub conflicts: Vec<Conflict>,
    /// Addresses outside the registered domains, sorted.
    pub out_of_domain: Vec<OutOfDomain>,
    /// Things an administrator should know that changed nothing.
    pub warnings: Vec<String>,
    /// Set when the max-unlink safety stopped the run.
    pub stopped: Option<MaxUnlinkStop>,
}

impl Plan {
    /// Whether applying the plan would leave the account as it is.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}
