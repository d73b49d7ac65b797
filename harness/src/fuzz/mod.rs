//! Property-based fuzzing of any engine through the contract: `harness fuzz`.
//!
//! A fuzz case is a scenario. [`strategy`] generates a [`case::Case`] (a directory with
//! special-character names, aliases, account states, nested groups with cycles,
//! contacts, a dynamic list and address conflicts; a seeded cloud account with manual
//! and stale users; settings; a small page size; directory changes, faults and syncs),
//! [`write`] turns it into a scenario with an inline fixture, the scenario runner plays
//! it against the engine, and [`property`] judges the engine's answers against the
//! model's oracle. A failure is shrunk with proptest over the case and written as a
//! scenario file that fails the same way under `harness run`.
//!
//! An engine is judged only on the properties it claims (`property:<name>` in `hello`;
//! the reference engine claims everything).

pub mod case;
pub mod model;
pub mod play;
pub mod property;
pub mod record;
pub mod report;
pub mod run;
pub mod strategy;
pub mod write;

pub use property::{Property, CLAIM_PREFIX};
pub use run::{fuzz, Failure, Options, Summary};
pub use strategy::Sizes;

/// Why a fuzz run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// A worker's async runtime could not start.
    #[error("cannot start a worker's async runtime: {0}")]
    Runtime(std::io::Error),
    /// A worker thread panicked.
    #[error("a fuzz worker stopped unexpectedly")]
    Worker,
    /// proptest could not generate a case.
    #[error("cannot generate a case: {0}")]
    Generate(String),
}
