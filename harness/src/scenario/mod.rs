//! Scenarios: YAML files that describe a directory, DC hosts, settings, a cloud account
//! and steps; a runner that plays them through a [`engine_contract::engine::SyncEngine`] against a
//! private in-process fake-dc; transcripts for snapshot review.

mod changes;
pub mod check;
pub mod expect;
pub mod google;
mod graph;
pub(crate) mod invariant;
pub mod model;
pub mod render;
pub mod runner;
pub mod snapfile;

pub use model::Scenario;
pub use runner::{run, LoadedScenario, RunOutput, ScenarioError};
