//! The scenario runner: drives a sync engine against fake-dc and judges the outcome.
//!
//! The runner speaks to engines only through the contract ([`engine_contract`]): the
//! reference stack (`reference_stack`) is registered as the default engine and used for
//! nothing else; any other engine runs as a program through [`subprocess`]. Every engine
//! is judged the same way.
//!
//! - [`fuzz`]: property-based fuzzing of any engine; failures shrunk into scenarios.
//! - [`partition`]: one shard of a suite per CI worker (`--partition K/N`).
//! - [`preview`]: `harness preview`, a dry-run sync of a fixture with a customer's settings.
//! - [`scenario`]: the scenario format, the runner, expectations and snapshot files.
//! - [`schedule`]: when automatic syncs run: the cloud's schedule, on an injectable clock.
//! - [`subprocess`]: `SubprocessEngine`, the adapter for engines run as programs.
//! - [`suite`]: many scenarios: discovery, verdicts, JUnit XML.

#![warn(missing_docs)]

pub mod fuzz;
pub mod partition;
pub mod preview;
pub mod scenario;
pub mod schedule;
pub mod subprocess;
pub mod suite;

pub use reference_stack::reference::{ReferenceEngine, REFERENCE_ENGINE};
