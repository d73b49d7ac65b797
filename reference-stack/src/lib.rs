//! The reference directory-sync stack of a cloud email-security service, tested against
//! fake-dc. It is one engine among any others: the scenario runner reaches it only
//! through [`reference::ReferenceEngine`], the adapter from the engine contract's
//! requests to these stages and back.
//!
//! What crosses the boundary is the contract's vocabulary ([`engine_contract`]), used here
//! as it is: [`settings`] as the customer entered them, the cloud [`account`], the
//! [`report`] and its [`change`] items, and the two identities, [`address`] and [`guid`].
//! Everything in between is the stack's own: the snapshot, the plan, extraction and
//! delta state, connections.
//!
//! The network-free half, one module per concern, each stage's input and output a plain
//! data type:
//!
//! - [`snapshot`]: the directory as the transform stage leaves it, keyed by GUID.
//! - [`transform`]: pure helpers that turn directory attributes into that snapshot
//!   (addresses from `mail`/`proxyAddresses`, nested group membership).
//! - [`plan`]: what a run will do; [`apply`]: `plan(account, snapshot, settings)`,
//!   `apply(account, plan)` and `sync`.
//! - [`report`]: the contract's report, built from a plan.
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
//! - [`graph`]: the Azure AD method: Microsoft Graph read with client credentials,
//!   paging and delta queries, into the same transform and apply.
//! - [`google`]: the Google Workspace method: Secure LDAP with the client certificate,
//!   a full read every run (delta runs compare it with the last one's digest).
//! - [`signin`]: sign-in pass-through.
//! - [`stack`]: `run_sync`, `run_delta_sync` and `sign_in`, the entry points that string
//!   the stages together.
//! - `testing` (feature `testing`): proptest strategies for directories, accounts and
//!   mutation sequences, and an in-process fake-dc serving them, for the properties.

#![warn(missing_docs)]

pub use engine_contract::{account, address, change, guid, settings};

pub mod apply;
pub mod connect;
pub mod delta;
pub mod extract;
pub mod google;
pub mod graph;
pub mod plan;
pub mod reference;
pub mod report;
pub mod resolve;
pub mod signin;
pub mod snapshot;
pub mod stack;
pub mod steps;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transfer;
pub mod transform;
