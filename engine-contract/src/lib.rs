//! The contract `fake-dc-engine/1` between the scenario runner and a sync engine under
//! test: the requests and answers, their JSON Schema, and the data they carry.
//!
//! A sync engine in any language runs as a program that reads one request on standard
//! input and writes one answer (see [`message`] and `docs/engine-contract.md`); an engine
//! in Rust may also implement [`engine::SyncEngine`] and run in the runner's process, as
//! the reference stack does. Either way the runner sees only these types.
//!
//! - [`message`]: the envelope of every message, version negotiation and the schema.
//! - [`engine`]: a sync or sign-in request and its answer, and the `SyncEngine` trait.
//! - The data a request and an answer carry, plain types with serde and schemars:
//!   [`settings`] (connector and account settings, [`azure_ad`] the Azure AD method's, with the checks a customer's input
//!   must pass), [`account`] (the cloud account before and after a run), [`report`] (what
//!   a run tells the administrator), [`change`] (a report's items), [`extraction`] (full
//!   or delta, and why), and the two identities everything is compared by, [`address`]
//!   and [`guid`].

#![warn(missing_docs)]

pub mod account;
pub mod address;
pub mod azure_ad;
pub mod change;
pub mod engine;
pub mod extraction;
pub mod google;
pub mod guid;
#[doc(hidden)]
pub mod keyed;
pub mod message;
pub mod report;
pub mod settings;

pub use message::CONTRACT;
