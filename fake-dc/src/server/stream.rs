//! A connection's byte stream, plain or TLS, and the TLS handshake that turns one into
//! the other: on an LDAPS or GC-TLS port as the connection opens, and after StartTLS.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::host::Host;

/// A connection's byte stream, before or after TLS. One enum rather than a generic so
/// StartTLS can swap the stream in place under the same `Framed`.
pub(crate) enum Conn {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP (implicit, or after StartTLS).
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    pub fn is_tls(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }
}

/// Runs the server side of a TLS handshake with `host`'s certificate, bounded by `idle`.
/// `None` means close: the handshake failed, timed out, the server is shutting down, or
/// the host's faults refuse it (then the refusal's bytes are sent first).
pub(crate) async fn accept_tls(
    mut tcp: TcpStream,
    host: &Host,
    peer: SocketAddr,
    idle: Duration,
    cancel: &CancellationToken,
) -> Option<Conn> {
    if let Some(alert) = host.faults().handshake_refusal() {
        let _ = tcp.write_all(alert).await;
        let _ = tcp.shutdown().await;
        return None;
    }
    let acceptor = TlsAcceptor::from(host.tls.clone());
    let handshake = tokio::select! {
        _ = cancel.cancelled() => return None,
        r = tokio::time::timeout(idle, acceptor.accept(tcp)) => r,
    };
    match handshake {
        Ok(Ok(tls)) => Some(Conn::Tls(Box::new(tls))),
        Ok(Err(e)) => {
            tracing::debug!(host = %host.name, %peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
