//! The directory-sync stack of a cloud email-security service, tested against fake-dc.
//!
//! The network-free half, one module per concern, each stage's input and output a plain
//! data type:
//!
//! - [`settings`]: connector and account settings, checked before any connection.
//! - [`address`], [`guid`]: the two identities the stack compares by (a case-insensitive
//!   e-mail address, an `objectGUID`).
//! - [`snapshot`]: the directory as the transform stage leaves it, keyed by GUID.
//! - [`transform`]: pure helpers that turn directory attributes into that snapshot
//!   (addresses from `mail`/`proxyAddresses`, nested group membership).
//! - [`account`]: the cloud account a sync brings up to date.
//! - [`change`]: a plan: the itemized changes, conflicts and out-of-domain addresses.
//! - [`apply`]: `plan(account, snapshot, settings)`, `apply(account, plan)` and `sync`.
//! - [`report`]: what a run tells the administrator, as text and JSON.
//! - [`schedule`]: when automatic syncs run, on an injectable clock.
//!
//! Engines and scenarios:
//!
//! - [`engine`]: the `SyncEngine` trait the scenario runner drives.
//! - [`contract`]: the JSON messages of an engine run as a program, and their schema.
//! - [`subprocess`]: `SubprocessEngine`, the adapter for such programs.
//! - [`scenario`], [`suite`]: the scenario format, runner and verdicts.

#![warn(missing_docs)]

pub mod account;
pub mod address;
pub mod apply;
pub mod change;
pub mod contract;
pub mod engine;
pub mod guid;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod settings;
pub mod snapshot;
pub mod subprocess;
pub mod suite;
pub mod transform;

mod keyed;
