//! Writing one reply to the wire, with every fault that acts there: latency, dropping the
//! connection after N entries, and the protocol faults that corrupt an answer in flight
//! (garbage bytes, a cut message, wrong message IDs, a 10 MB value, a slow drip).

use std::time::Duration;

use bytes::BytesMut;
use futures::SinkExt;
use ldap3_proto::proto::{LdapMsg, LdapOp, LdapPartialAttribute};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Encoder, Framed};
use tokio_util::sync::CancellationToken;

use super::codec::LdapServerCodec;
use super::connection::Conn;
use super::faults::{FaultSet, HUGE_VALUE_BYTES};
use super::session::{Reply, Session};

/// Bytes that are not BER: a tag of 0xFF and a length no message has.
const GARBAGE: [u8; 64] = [0xFF; 64];

/// Added to a search response's message ID under `WrongMessageId`.
const WRONG_ID_OFFSET: i32 = 7_919;

/// Whether the connection goes on after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Every message went out.
    Whole,
    /// Close now: a write failed or timed out, shutdown, or a fault ends the connection.
    Close,
}

/// Sends `reply`'s messages, acting out `faults` on the way.
pub(crate) async fn send(
    framed: &mut Framed<Conn, LdapServerCodec>,
    session: &mut Session,
    reply: Reply,
    faults: &FaultSet,
    cancel: &CancellationToken,
) -> Sent {
    let idle = session.shared.options.policy.max_conn_idle_time;
    if let Some(delay) = faults.latency {
        tokio::select! {
            _ = cancel.cancelled() => return Sent::Close,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    let mut first_entry = true;
    for mut msg in reply.messages {
        let is_search = matches!(
            msg.op,
            LdapOp::SearchResultEntry(_)
                | LdapOp::SearchResultDone(_)
                | LdapOp::SearchResultReference(_)
        );
        if let LdapOp::SearchResultEntry(entry) = &mut msg.op {
            let sent = session.entries_sent;
            if faults.drop_after_entries.is_some_and(|n| sent >= n) {
                tracing::info!(peer = %session.peer, sent, "fault: dropping connection after entries");
                return flush_then(framed, idle, Sent::Close).await;
            }
            if faults.garbage_after_entries == Some(sent) {
                tracing::info!(peer = %session.peer, sent, "fault: garbage in the answer");
                if write_raw(framed, idle, &GARBAGE).await == Sent::Close {
                    return Sent::Close;
                }
            }
            if faults.truncate_after_entries == Some(sent) {
                tracing::info!(peer = %session.peer, sent, "fault: cutting a message and closing");
                let bytes = encode(msg);
                let _ = write_raw(framed, idle, &bytes[..bytes.len() / 2]).await;
                return Sent::Close;
            }
            if faults.huge_value && first_entry {
                entry.attributes.push(LdapPartialAttribute {
                    atype: "description".into(),
                    vals: vec![vec![b'x'; HUGE_VALUE_BYTES]],
                });
            }
            first_entry = false;
            session.entries_sent += 1;
        }
        if faults.wrong_message_id && is_search {
            msg.msgid = msg.msgid.saturating_add(WRONG_ID_OFFSET);
        }
        if faults.slow_drip {
            if drip(framed, &encode(msg), cancel).await == Sent::Close {
                return Sent::Close;
            }
            continue;
        }
        match tokio::time::timeout(idle, framed.feed(msg)).await {
            Ok(Ok(())) => {}
            _ => return Sent::Close,
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
