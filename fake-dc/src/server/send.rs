//! Writing one reply to the wire: the steps [`FaultSet::on_the_wire`] planned — messages
//! through the codec, and for the faults that act on the wire, delays, raw bytes, a cut
//! message or a slow drip. What to write is decided in `faults.rs`; this file only writes.
//!
//! [`FaultSet::on_the_wire`]: super::faults::FaultSet::on_the_wire

use std::time::Duration;

use bytes::BytesMut;
use futures::SinkExt;
use ldap3_proto::proto::LdapMsg;
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Encoder, Framed};
use tokio_util::sync::CancellationToken;

use super::codec::LdapServerCodec;
use super::faults::Wire;
use super::stream::Conn;

/// Whether the connection goes on after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Every message went out.
    Whole,
    /// Close now: a write failed or timed out, shutdown, or a fault ends the connection.
    Close,
}

/// Carries out `plan`, every write bounded by `idle`.
pub(crate) async fn send(
    framed: &mut Framed<Conn, LdapServerCodec>,
    plan: Vec<Wire>,
    idle: Duration,
    cancel: &CancellationToken,
) -> Sent {
    for step in plan {
        match step {
            Wire::Delay(delay) => {
                tokio::select! {
                    _ = cancel.cancelled() => return Sent::Close,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            Wire::Message(msg) => match tokio::time::timeout(idle, framed.feed(msg)).await {
                Ok(Ok(())) => {}
                _ => return Sent::Close,
            },
            Wire::Drip(msg) => {
                if drip(framed, &encode(msg), cancel).await == Sent::Close {
                    return Sent::Close;
                }
            }
            Wire::Raw(bytes) => {
                if write_raw(framed, idle, bytes).await == Sent::Close {
                    return Sent::Close;
                }
            }
            Wire::Cut(msg) => {
                let bytes = encode(msg);
                let _ = write_raw(framed, idle, &bytes[..bytes.len() / 2]).await;
                return Sent::Close;
            }
            Wire::Close => return flush_then(framed, idle, Sent::Close).await,
        }
    }
    flush_then(framed, idle, Sent::Whole).await
}

fn encode(msg: LdapMsg) -> BytesMut {
    let mut buf = BytesMut::new();
    // The server's encoder cannot fail (it writes whatever tree it is given).
    let _ = LdapServerCodec::new(0, 0).encode(msg, &mut buf);
    buf
}

async fn flush_then(
    framed: &mut Framed<Conn, LdapServerCodec>,
    idle: Duration,
    then: Sent,
) -> Sent {
    match tokio::time::timeout(idle, framed.flush()).await {
        Ok(Ok(())) => then,
        _ => Sent::Close,
    }
}

/// Writes bytes past the codec, after whatever it has buffered.
async fn write_raw(
    framed: &mut Framed<Conn, LdapServerCodec>,
    idle: Duration,
    bytes: &[u8],
) -> Sent {
    if flush_then(framed, idle, Sent::Whole).await == Sent::Close {
        return Sent::Close;
    }
    let conn = framed.get_mut();
    match tokio::time::timeout(idle, async {
        conn.write_all(bytes).await?;
        conn.flush().await
    })
    .await
    {
        Ok(Ok(())) => Sent::Whole,
        _ => Sent::Close,
    }
}

/// One byte a second, until the message is out or the server shuts down.
async fn drip(
    framed: &mut Framed<Conn, LdapServerCodec>,
    bytes: &[u8],
    cancel: &CancellationToken,
) -> Sent {
    for byte in bytes.chunks(1) {
        if write_raw(framed, Duration::from_secs(5), byte).await == Sent::Close {
            return Sent::Close;
        }
        tokio::select! {
            _ = cancel.cancelled() => return Sent::Close,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    Sent::Whole
}
