//! The Secure LDAP socket: LDAPS only (Google's port 636), the TLS handshake that asks
//! for the client certificate, then one request at a time. Every operation runs on a
//! blocking thread, since a search reads the whole tenant.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::certs::Registry;
use super::session::{Certificate, Service, Session};
use crate::server::codec::LdapServerCodec;

/// How long a handshake or an idle connection may take before it is closed.
const IDLE: Duration = Duration::from_secs(120);

/// Accepts until `token` is cancelled.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    service: Arc<Service>,
    registry: Arc<Registry>,
    tracker: TaskTracker,
    token: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return,
            r = listener.accept() => r,
        };
        let Ok((stream, peer)) = accepted else {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(20)) => continue,
            }
        };
        let _ = stream.set_nodelay(true);
        let (tls, service, registry, conn_token) = (
            tls.clone(),
            service.clone(),
            registry.clone(),
            token.child_token(),
        );
        tracker.spawn(async move {
            connection(stream, peer, tls, service, registry, conn_token).await;
        });
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Arc<ServerConfig>,
    service: Arc<Service>,
    registry: Arc<Registry>,
    token: CancellationToken,
) {
    let handshake = tokio::select! {
        _ = token.cancelled() => return,
        r = tokio::time::timeout(IDLE, TlsAcceptor::from(tls).accept(tcp)) => r,
    };
    let stream = match handshake {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "Secure LDAP handshake failed");
            return;
        }
        Err(_) => return,
    };
    let presented = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.as_ref().to_vec());
    let certificate = Certificate::judge(presented.as_deref(), &registry);
    if let Certificate::Refused(why) = &certificate {
        tracing::info!(%peer, why, "Secure LDAP client certificate refused");
    }
    let mut session = Session::new(service, certificate);
    let mut framed = Framed::new(stream, LdapServerCodec::default());
    loop {
        let next = tokio::select! {
            _ = token.cancelled() => break,
            r = tokio::time::timeout(IDLE, framed.next()) => r,
        };
        let req = match next {
            Ok(Some(Ok(req))) => req,
            _ => break,
        };
        let ran = tokio::task::spawn_blocking(move || {
            let answer = session.handle(req);
            (session, answer)
        })
        .await;
        let Ok((s, answer)) = ran else { break };
        session = s;
        for msg in answer.messages {
            let sent = tokio::time::timeout(IDLE, framed.feed(msg)).await;
            if !matches!(sent, Ok(Ok(()))) {
                return;
            }
        }
        if !matches!(tokio::time::timeout(IDLE, framed.flush()).await, Ok(Ok(()))) {
            return;
        }
        if answer.close {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), framed.close()).await;
}
