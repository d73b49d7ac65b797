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
//! The networked half, one module per stage:
//!
//! - [`resolve`]: host names to socket addresses (pinned in tests, DNS otherwise).
//! - [`connect`]: LDAPS (strict or relaxed) or plain LDAP, bind with AD's sub-codes,
//!   failover only when the primary cannot be reached.
//! - [`extract`]: the paged search, ranged `member` retrieval, member lookups (same
//!   connection or Global Catalog), dynamic lists, and the snapshot built from them.
//! - [`delta`]: delta sync: only what changed since the last run (the `uSNChanged`
//!   watermark, tombstones), merged into what that run read.
//! - [`transfer`]: the snapshot as a versioned, authenticated payload, pushed over HTTPS
//!   by the agent.
//! - [`signin`]: sign-in pass-through.
//! - [`stack`]: `run_sync`, `run_delta_sync` and `sign_in`, the entry points that string
//!   the stages together.
//!
//! The harness around any engine:
//!
//! - [`engine`]: the `SyncEngine` trait the runner drives; [`reference`] is this stack as one.
//! - [`contract`]: the JSON messages of an engine run as a program, and their schema.
//! - [`subprocess`]: `SubprocessEngine`, the adapter for such programs.
//! - [`scenario`]: the scenario format, the runner, expectations and snapshot files.
//! - [`suite`]: many scenarios: discovery, verdicts, JUnit XML.
//! - `testing` (feature `testing`): proptest strategies for directories, accounts and
//!   mutation sequences, turned into snapshots through [`transform`].

#![warn(missing_docs)]

pub mod account;
pub mod address;
pub mod apply;
pub mod change;
pub mod connect;
pub mod contract;
pub mod delta;
pub mod engine;
pub mod extract;
pub mod guid;
pub mod reference;
pub mod report;
pub mod resolve;
pub mod scenario;
pub mod schedule;
pub mod settings;
pub mod signin;
pub mod snapshot;
pub mod stack;
pub mod subprocess;
pub mod suite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transfer;
pub mod transform;

mod keyed;
