//! fake-dc's LDAP server: simulated DC hosts serving one shared [`Directory`] over LDAP,
//! LDAPS, Global Catalog and Global Catalog over TLS, the way Active Directory does.
//!
//! A map, in the order a search flows from socket to directory:
//! - [`FakeDc`] (this file): the public handle — start, addresses, CA, faults, shutdown;
//! - `listener.rs`: bound sockets, the accept loop (connection limit, `TCP_NODELAY`,
//!   implicit TLS), re-opening after a `Down` fault;
//! - `connection.rs`: one connection's I/O: framing, idle timeout, StartTLS upgrade, and
//!   running each operation (on a worker thread when it may be long);
//! - `session.rs`: the sans-IO dispatcher on the whole request (controls included);
//! - `search.rs` (+ `base.rs`, `paging.rs`, `ranged.rs`, `rootdse.rs`), `bind.rs`,
//!   `write.rs`, `extended.rs`: one operation each, over [`Directory`];
//! - `reply.rs`: the one place an operation's result becomes response messages;
//! - `send.rs`: writing a reply to the wire.
//!
//! Beside the flow: `codec.rs` frames and decodes requests (search filters as bytes) and
//! `encode.rs` writes responses; `stream.rs` is the plain-or-TLS byte stream and the TLS
//! handshake; `host.rs` a simulated host and its ports; `state.rs` a connection's
//! protocol state; `errors.rs` result codes with AD's texts; `faults.rs` every fault,
//! decided in one place and asked by the others; `stats.rs` each host's operation
//! counters, bumped by the dispatcher.
//!
//! Invariants: only `listener.rs`, `stream.rs`, `connection.rs` and `send.rs` touch
//! sockets; the files here import one another without a cycle (`tests/architecture.rs`
//! checks it), so each can be read knowing only the files below it; the directory lock
//! is never held across an `.await`; every task is spawned on the one [`TaskTracker`],
//! so [`FakeDc::shutdown`] returns only when no task is left.

mod base;
mod bind;
pub mod codec;
mod connection;
mod ctrlber;
mod dirsync;
mod encode;
mod errors;
mod extended;
mod faults;
mod host;
mod ids;
mod listener;
mod notify;
pub(crate) mod paging;
mod ranged;
mod reply;
mod rootdse;
mod search;
mod send;
mod session;
mod sort;
mod state;
mod stats;
mod stream;
mod write;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use faults::{Fault, FaultSet, ProtocolFault};
pub use ranged::MAX_VAL_RANGE;
pub use search::MAX_PAGE_SIZE;
pub use stats::StatsSnapshot;

use crate::directory::Directory;
use crate::google::GoogleLdap;
use crate::policy::QueryPolicy;
use crate::tls::{CertProfile, CertificateAuthority, TlsError};
use listener::HostRuntime;

/// The directory as the server shares it: hosts read it per operation, tests and the
/// in-process API write to it while the server runs. A std lock is fine: it is never held
/// across an `.await`, and every operation on it is in-memory and short.
pub type SharedDirectory = Arc<RwLock<Directory>>;

/// Where one simulated DC host listens. `None` leaves that service off; port 0 picks a
/// free port (read it back with [`FakeDc::addresses`]).
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Plain LDAP (AD: 389), with StartTLS.
    pub ldap: Option<SocketAddr>,
    /// LDAP over TLS (AD: 636).
    pub ldaps: Option<SocketAddr>,
    /// Global Catalog (AD: 3268): the whole forest, partial attribute set.
    pub gc: Option<SocketAddr>,
    /// Global Catalog over TLS (AD: 3269).
    pub gc_tls: Option<SocketAddr>,
    /// The certificate this host presents on its TLS listeners and after StartTLS.
    pub cert: CertProfile,
    /// Names besides the host name and its domain's DNS name to put in the certificate,
    /// e.g. `localhost` for command-line tools that cannot be told to resolve a test name.
    pub extra_names: Vec<String>,
}

impl HostConfig {
    /// Every service on loopback with ephemeral ports: what most tests want.
    pub fn loopback() -> Self {
        let any: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        HostConfig {
            ldap: Some(any),
            ldaps: Some(any),
            gc: Some(any),
            gc_tls: Some(any),
            ..HostConfig::default()
        }
    }
}

/// The addresses a host actually listens on (ports resolved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostAddresses {
    /// Plain LDAP.
    pub ldap: Option<SocketAddr>,
    /// LDAPS.
    pub ldaps: Option<SocketAddr>,
    /// Global Catalog.
    pub gc: Option<SocketAddr>,
    /// Global Catalog over TLS.
    pub gc_tls: Option<SocketAddr>,
}

/// Server-wide limits and behaviour switches.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// AD's query policy: MaxPageSize, MaxValRange, MaxQueryDuration, MaxReceiveBuffer,
    /// MaxConnIdleTime (also bounds a TLS handshake and each write to a peer that stopped
    /// reading), MaxConnections, … ([`crate::policy`]). `FakeDc::builder` starts from the
    /// fixture's `queryPolicy:`.
    pub policy: QueryPolicy,
    /// Deepest BER nesting accepted in a request (bounds filter depth).
    pub max_ber_depth: usize,
    /// Operations (searches, writes) that may run at once on the worker threads, across
    /// all connections; one more waits its turn. Each connection runs one at a time.
    /// Binds, abandon, unbind and rootDSE reads never wait for a worker.
    pub workers: usize,
    /// Answer binds of unknown accounts with `data 525` instead of Windows' `52e`.
    /// Off by default, as Windows answers `52e` so as not to reveal which names exist
    /// (AD-BEHAVIOUR.md); on, it lets a client's distinct "no such user" path be tested,
    /// as some servers (and older AD builds) do distinguish it.
    pub unknown_user_525: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            policy: QueryPolicy::default(),
            max_ber_depth: codec::DEFAULT_MAX_DEPTH,
            workers: default_workers(),
            unknown_user_525: false,
        }
    }
}

/// Twice the cores, at least four: heavy searches use a core each, and a few more keep a
/// slow one (waiting on the directory lock) from holding everyone else up.
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .max(4)
}

/// Why a fake DC could not start or be faulted.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The host is not a DC of any domain in the fixture.
    #[error("'{host}' is not a DC host of this forest; known hosts: {known}")]
    UnknownHost {
        /// The name given.
        host: String,
        /// The hosts that exist, comma-separated.
        known: String,
    },
    /// No host was configured.
    #[error("no DC host configured; add one with FakeDcBuilder::host")]
    NoHosts,
    /// A listener address could not be bound. The cause follows as the error's source.
    #[error("cannot listen on {addr} for {host}{}", bind_hint(addr, source))]
    Bind {
        /// The host whose listener failed.
        host: String,
        /// The address asked for.
        addr: SocketAddr,
        /// Why (in use, permission denied, …).
        source: std::io::Error,
    },
    /// The certificate or TLS configuration could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// What to do about a listener that cannot be bound, where there is something to say.
fn bind_hint(addr: &SocketAddr, source: &std::io::Error) -> &'static str {
    match source.kind() {
        std::io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            " (ports below 1024 need root: choose others, e.g. `fake-dc serve --ldap \
             127.0.0.1:3389 --ldaps 127.0.0.1:3636`, or port 0 for a free one)"
        }
        std::io::ErrorKind::AddrInUse => {
            " (another program listens there: choose another port, or 0 for a free one)"
        }
        _ => "",
    }
}

/// State every connection shares.
pub(crate) struct Shared {
    /// The forest.
    pub directory: SharedDirectory,
    /// Limits.
    pub options: ServerOptions,
    /// Connection slots (AD's MaxConnections).
    pub connections: Arc<Semaphore>,
    /// Worker slots for operations that may take long ([`ServerOptions::workers`]).
    pub workers: Arc<Semaphore>,
    /// Every task: listeners and connections.
    pub tracker: TaskTracker,
}

/// Configures and starts a [`FakeDc`].
pub struct FakeDcBuilder {
    /// The forest to serve.
    directory: SharedDirectory,
    /// Hosts in the order given.
    hosts: Vec<(String, HostConfig)>,
    /// Limits.
    options: ServerOptions,
    /// Where Google Secure LDAP listens when the fixture declares a tenant.
    google_addr: Option<SocketAddr>,
}

impl FakeDcBuilder {
    /// Where Google Secure LDAP listens, when the fixture declares a `google:` tenant
    /// (default: a free port on 127.0.0.1).
    pub fn google_address(mut self, addr: SocketAddr) -> Self {
        self.google_addr = Some(addr);
        self
    }

    /// Adds a simulated DC host; `name` must be one of the fixture's DC hosts.
    pub fn host(mut self, name: impl Into<String>, config: HostConfig) -> Self {
        self.hosts.push((name.into(), config));
        self
    }

    /// Replaces the query policy, keeping the other options.
    pub fn policy(mut self, policy: QueryPolicy) -> Self {
        self.options.policy = policy;
        self
    }

    /// Replaces the server options (the fixture's query policy too: start from
    /// [`FakeDcBuilder::options_mut`] to keep it).
    pub fn options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    /// The options as configured so far, to change one of them.
    pub fn options_mut(&mut self) -> &mut ServerOptions {
        &mut self.options
    }

    /// Makes the CA and certificates, binds every listener and starts serving.
    pub async fn start(self) -> Result<FakeDc, ServerError> {
        if self.hosts.is_empty() {
            return Err(ServerError::NoHosts);
        }
        let ca = CertificateAuthority::generate("fake-dc")?;
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            directory: self.directory.clone(),
            connections: Arc::new(Semaphore::new(self.options.policy.max_connections.max(1))),
            workers: Arc::new(Semaphore::new(self.options.workers.max(1))),
            options: self.options,
            tracker: tracker.clone(),
        });
        let mut hosts = BTreeMap::new();
        for (name, config) in self.hosts {
            let domain = {
                let dir = self.directory.read().unwrap_or_else(|e| e.into_inner());
                let found = dir
                    .domains
                    .iter()
                    .position(|d| d.dc_hosts.iter().any(|h| h.eq_ignore_ascii_case(&name)));
                match found {
                    Some(i) => i,
                    None => {
                        let known: Vec<String> = dir
                            .domains
                            .iter()
                            .flat_map(|d| d.dc_hosts.clone())
                            .collect();
                        return Err(ServerError::UnknownHost {
                            host: name,
                            known: known.join(", "),
                        });
                    }
                }
            };
            let dns_name = {
                let dir = self.directory.read().unwrap_or_else(|e| e.into_inner());
                dir.domains[domain].dns_name.clone()
            };
            let mut names = vec![name.to_ascii_lowercase(), dns_name];
            names.extend(config.extra_names.iter().cloned());
            let tls = ca.server_config(config.cert, &names)?;
            let host = HostRuntime::start(
                name.to_ascii_lowercase(),
                domain,
                &config,
                tls,
                &shared,
                &shutdown,
            )
            .await?;
            hosts.insert(name.to_ascii_lowercase(), host);
        }
        let google_spec = lock_read(&self.directory).google.clone();
        let google = match google_spec {
            Some(spec) => {
                let addr = self
                    .google_addr
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
                Some(
                    GoogleLdap::start(
                        spec,
                        self.directory.clone(),
                        &ca,
                        addr,
                        &tracker,
                        shutdown.child_token(),
                    )
                    .await?,
                )
            }
            None => None,
        };
        Ok(FakeDc {
            shared,
            hosts,
            ca,
            shutdown,
            google,
        })
    }
}

/// A running fake domain controller: one or more simulated DC hosts over one directory.
pub struct FakeDc {
    /// Directory, limits, connection slots, tasks.
    shared: Arc<Shared>,
    /// Hosts by lower-case name.
    hosts: BTreeMap<String, Arc<HostRuntime>>,
    /// The CA that signed the hosts' certificates (its PEM is what clients trust).
    ca: CertificateAuthority,
    /// Cancelled once, by `shutdown`; every host's token is its child.
    shutdown: CancellationToken,
    /// Google Secure LDAP, when the fixture declares a tenant.
    google: Option<GoogleLdap>,
}

impl FakeDc {
    /// Starts configuring a DC over `directory`.
    pub fn builder(directory: Directory) -> FakeDcBuilder {
        FakeDc::builder_shared(Arc::new(RwLock::new(directory)))
    }

    /// Starts configuring a DC over a directory that is already shared.
    pub fn builder_shared(directory: SharedDirectory) -> FakeDcBuilder {
        let policy = lock_read(&directory).query_policy.clone();
        FakeDcBuilder {
            directory,
            hosts: Vec::new(),
            options: ServerOptions {
                policy,
                ..ServerOptions::default()
            },
            google_addr: None,
        }
    }

    /// Where `host` listens, ports resolved; `None` for an unknown host.
    pub fn addresses(&self, host: &str) -> Option<HostAddresses> {
        self.hosts
            .get(&host.to_ascii_lowercase())
            .map(|h| h.addresses)
    }

    /// Every host and where it listens, by name.
    pub fn all_addresses(&self) -> Vec<(String, HostAddresses)> {
        self.hosts
            .iter()
            .map(|(n, h)| (n.clone(), h.addresses))
            .collect()
    }

    /// The CA certificate (PEM) that signed the `ca-signed`, `expired` and `wrong-host`
    /// certificates: what a strict client trusts.
    pub fn ca_pem(&self) -> &str {
        self.ca.ca_pem()
    }

    /// The CA itself, for other listeners of the same process (Microsoft Graph) to get
    /// certificates that clients of the LDAPS listeners already trust.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// Google Secure LDAP (address, base DN, client certificates), when the fixture
    /// declares a `google:` tenant.
    pub fn google(&self) -> Option<&GoogleLdap> {
        self.google.as_ref()
    }

    /// The directory, for reading or changing it while the server runs. Changes show in
    /// the next operation of every host.
    pub fn directory(&self) -> &SharedDirectory {
        &self.shared.directory
    }

    /// Runs `f` with write access to the directory.
    pub fn with_directory<T>(&self, f: impl FnOnce(&mut Directory) -> T) -> T {
        let mut dir = self
            .shared
            .directory
            .write()
            .unwrap_or_else(|e| e.into_inner());
        f(&mut dir)
    }

    fn host(&self, host: &str) -> Result<&Arc<HostRuntime>, ServerError> {
        self.hosts
            .get(&host.to_ascii_lowercase())
            .ok_or_else(|| ServerError::UnknownHost {
                host: host.to_string(),
                known: self.hosts.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Makes `host` misbehave. `Down` returns once its listeners are closed.
    pub async fn fault(&self, host: &str, fault: Fault) -> Result<(), ServerError> {
        let h = self.host(host)?;
        h.host.add_fault(fault);
        if fault == Fault::Down {
            h.take_down().await;
        }
        Ok(())
    }

    /// The faults active on `host`.
    pub fn faults(&self, host: &str) -> Result<FaultSet, ServerError> {
        Ok(self.host(host)?.host.faults())
    }

    /// Removes every fault of `host`; a host that was down listens again on the same
    /// addresses before this returns.
    pub async fn clear_faults(&self, host: &str) -> Result<(), ServerError> {
        let h = self.host(host)?;
        let was_down = h.host.faults().down;
        h.host.clear_faults();
        if was_down {
            h.bring_up(&self.shared, &self.shutdown).await?;
        }
        Ok(())
    }

    /// The simulated hosts' names (lower case), sorted.
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.keys().cloned().collect()
    }

    /// What clients asked of `host` since it started or its statistics were reset.
    pub fn stats(&self, host: &str) -> Result<StatsSnapshot, ServerError> {
        Ok(self.host(host)?.host.stats.snapshot())
    }

    /// Sets `host`'s statistics back to zero.
    pub fn reset_stats(&self, host: &str) -> Result<(), ServerError> {
        self.host(host)?.host.stats.reset();
        Ok(())
    }

    /// Stops every listener and connection and waits for all of their tasks.
    pub async fn shutdown(self) {
        self.stop().await;
    }

    /// [`FakeDc::shutdown`] for a DC shared with others (the control API holds one too).
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }
}

/// Read access; a poisoned lock still yields the data (see [`lock_write`]).
pub(crate) fn lock_read(dir: &SharedDirectory) -> std::sync::RwLockReadGuard<'_, Directory> {
    dir.read().unwrap_or_else(|e| e.into_inner())
}

/// Write access; a poisoned lock (a panic elsewhere) still yields the data, since every
/// mutation validates before it changes anything.
pub(crate) fn lock_write(dir: &SharedDirectory) -> std::sync::RwLockWriteGuard<'_, Directory> {
    dir.write().unwrap_or_else(|e| e.into_inner())
}
