//! Test support shared by unit tests, `tests/diff_properties.rs` and end-to-end tests:
//! proptest strategies that generate realistic directories and the runs a sync makes
//! over them. Built for `cfg(test)` and with the `testing` feature.
//!
//! - [`model`]: a directory as an administrator sees it (users with aliases and states,
//!   nested groups with cycles, contacts, dynamic lists, primary groups), identities by
//!   id so renames and moves keep them.
//! - [`mutation`]: what an administrator does between two syncs.
//! - [`entries`]: the model as LDAP entries, reordered and paged as a DC may, and back
//!   into a [`DirectorySnapshot`] through the real transform helpers.
//! - [`strategies`]: the proptest strategies.
//! - [`dc`]: the model served by a real in-process fake-dc, changed as it is mutated,
//!   for properties of the whole stack over sockets.
//! - [`planted`]: deliberately broken stages, to prove that properties can fail.
//!
//! A [`Scenario`] ties them together: a directory, an account before its first sync,
//! settings and rounds of mutations; [`Scenario::runs`] syncs after each round with the
//! planner under test.

use crate::account::Account;
use crate::apply::apply;
use crate::plan::Plan;
use crate::settings::AccountSettings;
use crate::snapshot::DirectorySnapshot;

pub mod dc;
pub mod entries;
pub mod model;
pub mod mutation;
pub mod planted;
pub mod strategies;

use entries::transform;
use model::Directory;
use mutation::Mutation;

/// The shape of [`crate::apply::plan`]: properties take the planner as a parameter so a
/// deliberately broken one can be run through the same checks.
pub type Planner = fn(&Account, &DirectorySnapshot, &AccountSettings) -> Plan;

/// AD's `MaxValRange`: `member` values per ranged piece.
pub const AD_RANGE: usize = 1500;

/// A directory's history and the account that follows it.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The directory at the first sync.
    pub directory: Directory,
    /// The account before the first sync.
    pub seed: Account,
    /// Mutations between syncs: one sync after each round.
    pub rounds: Vec<Vec<Mutation>>,
    /// The account's settings for every run.
    pub settings: AccountSettings,
}

/// One sync of a scenario.
#[derive(Debug, Clone)]
pub struct Run {
    /// The directory as it was at this sync.
    pub directory: Directory,
    /// Its extraction, transformed.
    pub snapshot: DirectorySnapshot,
    /// The account before the sync.
    pub before: Account,
    /// What the planner decided.
    pub plan: Plan,
    /// The account after applying the plan.
    pub after: Account,
}

/// A directory's snapshot as a complete, in-order extraction would give it.
pub fn snapshot_of(directory: &Directory, settings: &AccountSettings) -> DirectorySnapshot {
    transform(
        &[directory.entries(AD_RANGE)],
        &settings.additional_attributes,
    )
}

impl Scenario {
    /// The directory at each sync: the first, then after each round.
    pub fn directories(&self) -> Vec<Directory> {
        let mut directory = self.directory.clone();
        let mut all = vec![directory.clone()];
        for round in &self.rounds {
            for mutation in round {
                directory.mutate(mutation);
            }
            all.push(directory.clone());
        }
        all
    }

    /// Syncs the seed account with each directory in turn, planning with `planner` and
    /// applying with [`apply`].
    pub fn runs(&self, planner: Planner) -> Vec<Run> {
        let mut account = self.seed.clone();
        self.directories()
            .into_iter()
            .map(|directory| {
                let snapshot = snapshot_of(&directory, &self.settings);
                let plan = planner(&account, &snapshot, &self.settings);
                let after = apply(&account, &plan);
                let before = std::mem::replace(&mut account, after.clone());
                Run {
                    directory,
                    snapshot,
                    before,
                    plan,
                    after,
                }
            })
            .collect()
    }
}
