//! Sockets: binding a host's listeners, the accept loop, implicit TLS on LDAPS and GC-TLS,
//! and taking a host down and up again for the `Down` fault.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::connection;
use super::host::{Host, Port};
use super::state::Session;
use super::stream::{accept_tls, Conn};
use super::{HostAddresses, HostConfig, ServerError, Shared};

/// One simulated DC host while the server runs: the host and its listeners.
pub(crate) struct HostRuntime {
    /// Name, domain, certificate and faults, shared with its connections.
    pub host: Arc<Host>,
    /// Where it listens, ports resolved at first start; re-used when it comes back up.
    pub addresses: HostAddresses,
    /// The current up period: its token (cancelled by `Down` and by shutdown) and the
    /// listener tasks to await so their sockets are closed when `Down` returns.
    up: Mutex<(CancellationToken, Vec<JoinHandle<()>>)>,
    /// While down, each port stays bound without listening. A connect is still refused,
    /// but the port cannot be handed to another listener, nor picked as the source port
    /// of a client's connect to it (a loopback self-connect, where a TLS client reads its
    /// own ClientHello back), until the host comes back up.
    held: Mutex<Vec<TcpSocket>>,
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
            host: Arc::new(Host::new(name, domain, tls)),
            addresses,
            up: Mutex::new((shutdown.child_token(), Vec::new())),
            held: Mutex::new(Vec::new()),
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
                self.host.clone(),
                shared.clone(),
                token.clone(),
            ));
            up.1.push(handle);
        }
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
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let a = self.addresses;
        held.extend(
            [a.ldap, a.ldaps, a.gc, a.gc_tls]
                .into_iter()
                .flatten()
                .filter_map(hold_port),
        );
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
        self.held.lock().unwrap_or_else(|e| e.into_inner()).clear();
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
                    host: self.host.name.clone(),
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

/// Binds `addr` without listening; `None` when that fails (another process took the
/// port in the instant it was free), which leaves the port as unheld as before.
fn hold_port(addr: SocketAddr) -> Option<TcpSocket> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .ok()?;
    // The closed connections leave TIME_WAIT entries on the port.
    socket.set_reuseaddr(true).ok()?;
    socket.bind(addr).ok()?;
    Some(socket)
}

/// Accepts until the token is cancelled. A connection past the limit is closed at once
/// (AD closes connections past MaxConnections rather than queueing them), so a flood
/// cannot hold sockets open waiting for a slot.
async fn accept_loop(
    listener: TcpListener,
    port: Port,
    host: Arc<Host>,
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

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    port: Port,
    host: Arc<Host>,
    shared: Arc<Shared>,
    token: CancellationToken,
) {
    let idle = shared.options.policy.max_conn_idle_time;
    let conn = if port.implicit_tls() {
        match accept_tls(stream, &host, peer, idle, &token).await {
            Some(conn) => conn,
            None => return,
        }
    } else {
        Conn::Plain(stream)
    };
    let session = Session::new(shared, host, port, peer, conn.is_tls());
    connection::serve(conn, session, token).await;
}
