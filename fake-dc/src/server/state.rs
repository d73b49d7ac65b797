//! One connection's protocol state: who it is bound as, which host and service it
//! reached, its paged searches. Operations read and change it; `session.rs` dispatches
//! requests against it and `connection.rs` owns it, so it depends on neither.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::host::{Host, Port};
use super::notify::Watch;
use super::paging::Paging;
use super::Shared;
use crate::directory::EntryId;

/// Per-connection state.
pub(crate) struct Session {
    /// Directory and limits.
    pub shared: Arc<Shared>,
    /// The DC host this connection reached (domain, faults, certificate).
    pub host: Arc<Host>,
    /// The service: LDAP, LDAPS, GC, GC-TLS.
    pub port: Port,
    /// For logs.
    pub peer: SocketAddr,
    /// The bound account; `None` is anonymous (also after an empty-password bind, and
    /// after a failed bind: RFC 4513 §4 returns the connection to anonymous).
    pub identity: Option<EntryId>,
    /// Whether the stream is encrypted (unicodePwd writes need it; StartTLS refuses twice).
    pub tls: bool,
    /// Paged searches in progress on this connection; cookies are valid only here.
    pub paging: Paging,
    /// Search entries sent so far (for the `DropAfterEntries` fault).
    pub entries_sent: u64,
    /// Raised by the connection when the client abandons the operation now running
    /// (or goes away); a search checks it while evaluating. Fresh for every operation.
    pub abandon: Arc<AtomicBool>,
    /// Change notifications registered on this connection (`notify.rs`); each ends with
    /// an abandon of its message id, an unbind, or the connection.
    pub watches: Vec<Watch>,
}

impl Session {
    pub fn new(
        shared: Arc<Shared>,
        host: Arc<Host>,
        port: Port,
        peer: SocketAddr,
        tls: bool,
    ) -> Self {
        Session {
            shared,
            host,
            port,
            peer,
            identity: None,
            tls,
            paging: Paging::new(&peer),
            entries_sent: 0,
            abandon: Arc::new(AtomicBool::new(false)),
            watches: Vec::new(),
        }
    }
}
