//! A simulated DC host as a connection sees it: its name, its domain, the certificate it
//! presents, the faults it is set to act out, and which of its services was reached.
//! Kept apart from `listener.rs`, which owns the host's sockets, so a connection's state
//! can name its host without depending on the accept loop.

use std::sync::{Arc, Mutex};

use rustls::ServerConfig;

use super::faults::{Fault, FaultSet};
use super::stats::Stats;

/// Which service a listener offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// 389: plain, StartTLS available.
    Ldap,
    /// 636: TLS from the first byte.
    Ldaps,
    /// 3268: Global Catalog, plain.
    Gc,
    /// 3269: Global Catalog over TLS.
    GcTls,
}

impl Port {
    /// Global Catalog: forest-wide, partial attribute set.
    pub fn is_gc(self) -> bool {
        matches!(self, Port::Gc | Port::GcTls)
    }

    /// TLS from the first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(self, Port::Ldaps | Port::GcTls)
    }

    /// For logs.
    pub fn name(self) -> &'static str {
        match self {
            Port::Ldap => "ldap",
            Port::Ldaps => "ldaps",
            Port::Gc => "gc",
            Port::GcTls => "gc-tls",
        }
    }
}

/// One simulated DC host.
pub(crate) struct Host {
    /// Lower-case DNS host name (`dc1.corp.example.test`).
    pub name: String,
    /// Index of the host's domain in `Directory::domains`.
    pub domain: usize,
    /// The certificate this host presents.
    pub tls: Arc<ServerConfig>,
    /// Active faults; a std mutex, held only to copy or change the set.
    faults: Mutex<FaultSet>,
    /// What clients asked of this host.
    pub stats: Stats,
}

impl Host {
    /// A host with no faults.
    pub fn new(name: String, domain: usize, tls: Arc<ServerConfig>) -> Self {
        Host {
            name,
            domain,
            tls,
            faults: Mutex::new(FaultSet::default()),
            stats: Stats::default(),
        }
    }

    /// A copy of the active faults.
    pub fn faults(&self) -> FaultSet {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds one fault to the active set.
    pub fn add_fault(&self, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(fault);
    }

    /// Removes every fault (the listener re-opens after `Down`).
    pub fn clear_faults(&self) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = FaultSet::default();
    }
}
