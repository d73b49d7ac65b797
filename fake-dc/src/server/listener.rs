//! Sockets: binding a host's listeners, the accept loop, implicit TLS on LDAPS and GC-TLS,
//! and taking a host down and up again for the `Down` fault.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::connection::{self, Conn};
use super::faults::{Fault, FaultSet, TLS_HANDSHAKE_FAILURE_ALERT};
use super::session::Session;
use super::{HostAddresses, HostConfig, ServerError, Shared};

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

/// One simulated DC host while the server runs.
pub(crate) struct HostRuntime {
    /// Lower-case DNS host name (`dc1.corp.example.test`).
    pub name: String,
    /// Index of the host's domain in `Directory::domains`.
    pub domain: usize,
    /// The certificate this host presents.
    pub tls: Arc<ServerConfig>,
    /// Where it listens, ports resolved at first start; re-used when it comes back up.
    pub addresses: HostAddresses,
    /// Active faults; a std mutex, held only to copy or change the set.
    faults: Mutex<FaultSet>,
    /// The current up period: its token (cancelled by `Down` and by shutdown) and the
    /// listener tasks to await so their sockets are closed when `Down` returns.
    up: Mutex<(CancellationToken, Vec<JoinHandle<()>>)>,
}

impl HostRuntime {
    /// Binds every configured listener and starts accepting.
    pub async fn start(
        name: String,
        domain: usize,
        config: &HostConfig,
        tls: Arc<ServerConfig>,
        shared: &Arc<Shared>,
        shutdown: &CancellationToken,
    ) -> Result<Arc<HostRuntime>, ServerError> {
        let wanted = [
            (Port::Ldap, config.ldap),
            (Port::Ldaps, config.ldaps),
            (Port::Gc, config.gc),
            (Port::GcTls, config.gc_tls),
        ];
        let mut bound = Vec::new();
        let mut addresses = HostAddresses::default();
        for (port, addr) in wanted {
            let Some(addr) = addr else { continue };
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    host: name.clone(),
                    addr,
                    source,
                })?;
            let local = listener.local_addr().map_err(|source| ServerError::Bind {
                host: name.clone(),
                addr,
                source,
            })?;
            match port {
                Port::Ldap => addresses.ldap = Some(local),
                Port::Ldaps => addresses.ldaps = Some(local),
                Port::Gc => addresses.gc = Some(local),
                Port::GcTls => addresses.gc_tls = Some(local),
            }
            bound.push((port, listener));
        }
        let host = Arc::new(HostRuntime {
            name,
            domain,
            tls,
            addresses,
            faults: Mutex::new(FaultSet::default()),
            up: Mutex::new((shutdown.child_token(), Vec::new())),
        });
        host.spawn_listeners(bound, shared);
        Ok(host)
    }

    fn spawn_listeners(self: &Arc<Self>, bound: Vec<(Port, TcpListener)>, shared: &Arc<Shared>) {
        let mut up = self.up.lock().unwrap_or_else(|e| e.into_inner());
        let token = up.0.clone();
        for (port, listener) in bound {
            let handle = shared.tracker.spawn(accept_loop(
                listener,
                port,
                self.clone(),
                shared.clone(),
                token.clone(),
            ));
            up.1.push(handle);
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

    /// Removes every fault (the caller re-opens listeners after `Down`).
    pub fn clear_faults(&self) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = FaultSet::default();
    }

    /// Closes the listeners and drops the connections; returns once the listening
    /// sockets are closed, so a connect right after is refused.
    pub async fn take_down(&self) {
        let handles = {
            let mut up = self.up.lock().unwrap_or_else(|e| e.into_inner());
            up.0.cancel();
            std::mem::take(&mut up.1)
        };
        for h in handles {
            let _ = h.await;
        }
    }

    /// Re-binds the listeners on the addresses of the first start.
    pub async fn bring_up(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        shutdown: &CancellationToken,
    ) -> Result<(), ServerError> {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let a = self.addresses;
        let mut bound = Vec::new();
        for (port, addr) in [
            (Port::Ldap, a.ldap),
            (Port::Ldaps, a.ldaps),
            (Port::Gc, a.gc),
            (Port::GcTls, a.gc_tls),
        ] {
            let Some(addr) = addr else { continue };
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    host: self.name.clone(),
                    addr,
                    source,
                })?;
            bound.push((port, listener));
        }
        {
            let mut up = self.up.lock().unwrap_or_else(|e| e.into_inner());
            up.0 = shutdown.child_token();
        }
        self.spawn_listeners(bound, shared);
        Ok(())
    }
}

/// Accepts until the token is cancelled. A connection past the limit is closed at once
/// (AD closes connections past MaxConnections rather than queueing them), so a flood
/// cannot hold sockets open waiting for a slot.
async fn accept_loop(
    listener: TcpListener,
    port: Port,
    host: Arc<HostRuntime>,
    shared: Arc<Shared>,
    token: CancellationToken,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => {
                backoff = Duration::from_millis(5);
                x
            }
            Err(e) => {
                // EMFILE and friends: wait a little rather than spin (mini-redis does the same).
                tracing::warn!(host = %host.name, port = port.name(), error = %e, "accept failed");
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            tracing::warn!(host = %host.name, %peer, "connection limit reached; closing");
            drop(stream);
            continue;
        };
        // Without TCP_NODELAY every request/response pays Nagle plus delayed ACK (~40 ms).
        let _ = stream.set_nodelay(true);
        let conn_token = token.child_token();
        let (h, s) = (host.clone(), shared.clone());
        shared.tracker.spawn(async move {
            connection(stream, peer, port, h, s, conn_token).await;
            drop(permit);
        });
    }
}

/// Sends a fatal handshake_failure alert and closes: the `TlsHandshakeFailure` fault.
pub(crate) async fn fail_handshake(mut stream: TcpStream) {
    let _ = stream.write_all(&TLS_HANDSHAKE_FAILURE_ALERT).await;
    let _ = stream.shutdown().await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    port: Port,
    host: Arc<HostRuntime>,
    shared: Arc<Shared>,
    token: CancellationToken,
) {
    let idle = shared.options.policy.max_conn_idle_time;
    let conn = if port.implicit_tls() {
        if host.faults().tls_failure {
            fail_handshake(stream).await;
            return;
        }
        let acceptor = TlsAcceptor::from(host.tls.clone());
        let handshake = tokio::select! {
            _ = token.cancelled() => return,
            r = tokio::time::timeout(idle, acceptor.accept(stream)) => r,
        };
        match handshake {
            Ok(Ok(tls)) => Conn::Tls(Box::new(tls)),
            Ok(Err(e)) => {
                tracing::debug!(host = %host.name, %peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => return,
        }
    } else {
        Conn::Plain(stream)
    };
    let session = Session::new(shared, host, port, peer, conn.is_tls());
    connection::serve(conn, session, token).await;
}
