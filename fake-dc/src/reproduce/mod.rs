//! Reproducing a directory that exists elsewhere as a fixture: `fake-dc capture` reads a
//! live one over LDAP (`capture/`), `fake-dc import` reads LDIF (`ldif_read.rs`,
//! `import.rs`). Both hand each entry to a [`Collector`] (`entry.rs` reads it into the
//! fixture's generic object form, `forest.rs` places it, `specs.rs` turns it into the
//! fixture's own sections where they fit), which keeps identities (objectGUID,
//! objectSid, USNs, times) and says what it could not carry over.

pub mod capture;
mod entry;
mod forest;
pub mod import;
pub mod ldif_read;
mod specs;

pub use entry::Note;
pub use forest::{Collected, Collector};
