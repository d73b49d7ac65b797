//! One connection's I/O: framing with a timeout around every read and write, the
//! StartTLS upgrade in place, the hand-off of each request to the dispatcher
//! ([`session::handle`]), and of its reply, with the host's wire faults planned in, to
//! `send.rs`.
//!
//! Operations that can take long (searches, writes) run on tokio's blocking threads, at
//! most [`ServerOptions::workers`](super::ServerOptions::workers) at a time across every
//! connection, so the runtime's few threads keep accepting, handshaking and answering
//! binds while a heavy search runs. While one runs, the connection goes on reading: an
//! abandon of it raises the session's `abandon` flag, which the search checks while it
//! evaluates; other requests wait their turn (a few at most, then TCP pushes back).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use ldap3_proto::proto::LdapOp;
use tokio_util::codec::{Framed, FramedParts};
use tokio_util::sync::CancellationToken;

use super::codec::{CodecError, LdapServerCodec, Request, RequestOp};
use super::reply::{notice_of_disconnection, After, Reply};
use super::send::{self, Sent};
use super::session;
use super::state::Session;
use super::stream::{accept_tls, Conn};
use crate::directory::Scope;

/// Requests read ahead while an operation runs; past this the connection stops reading
/// until the operation is done.
const MAX_QUEUED: usize = 8;

/// Whether `req` is cheap enough to answer on the I/O thread: binds (a password check),
/// unbind, abandon, extended operations (StartTLS, whoami) and the rootDSE. Everything
/// else may scan the directory and goes to a worker.
fn runs_inline(req: &Request) -> bool {
    match &req.op {
        RequestOp::Search(s) => {
            s.scope == Scope::Base && s.base.trim().is_empty() && s.attrs.len() <= 64
        }
        RequestOp::Other(op) => matches!(
            op,
            LdapOp::BindRequest(_)
                | LdapOp::UnbindRequest
                | LdapOp::AbandonRequest(_)
                | LdapOp::ExtendedRequest(_)
        ),
    }
}

/// Reads one request, or wakes to poll change notifications; closes on idle timeout,
/// shutdown, EOF or a broken frame (after a notice of disconnection for a malformed one).
async fn read_request(
    framed: &mut Framed<Conn, LdapServerCodec>,
    session: &Session,
    cancel: &CancellationToken,
) -> Next {
    let idle = session.shared.options.policy.max_conn_idle_time;
    let watching = !session.watches.is_empty();
    // A connection holding change notifications wakes up to look for changes; reading
    // a frame is cancel-safe, so a wake-up between two requests loses nothing.
    let poll = async {
        if watching {
            tokio::time::sleep(NOTIFY_POLL).await
        } else {
            std::future::pending::<()>().await
        }
    };
    let next = tokio::select! {
        _ = cancel.cancelled() => return Next::Close,
        _ = poll => return Next::Poll,
        r = tokio::time::timeout(idle, framed.next()) => r,
    };
    Next::from(read_result(framed, session, next, idle).await)
}

/// What the connection does next while it waits for a request. Short-lived, one at a
/// time, so the size of a request in it costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Next {
    /// Answer this request.
    Request(Request),
    /// Send what changed to the connection's change notifications.
    Poll,
    /// Close.
    Close,
}

impl From<Option<Request>> for Next {
    fn from(r: Option<Request>) -> Self {
        r.map_or(Next::Close, Next::Request)
    }
}

/// How often a connection with change notifications looks for changes.
const NOTIFY_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// A read's outcome as a request, or `None` to close (after a notice of disconnection
/// for a malformed frame).
async fn read_result(
    framed: &mut Framed<Conn, LdapServerCodec>,
    session: &Session,
    next: Result<Option<Result<Request, CodecError>>, tokio::time::error::Elapsed>,
    idle: std::time::Duration,
) -> Option<Request> {
    match next {
        Err(_) => {
            tracing::debug!(peer = %session.peer, "idle timeout; closing");
            None
        }
        Ok(None) => None,
        Ok(Some(Err(CodecError::Malformed(why)))) => {
            tracing::info!(peer = %session.peer, why, "protocol error; closing");
            let notice = notice_of_disconnection(why);
            let _ = tokio::time::timeout(idle, framed.send(notice)).await;
            None
        }
        Ok(Some(Err(e))) => {
            tracing::info!(peer = %session.peer, error = %e, "closing");
            None
        }
        Ok(Some(Ok(req))) => Some(req),
    }
}

/// Runs one operation on a worker thread, reading ahead meanwhile (abandon, queueing).
/// Returns the session and its reply, or `None` when the connection must close (shutdown,
/// or the operation's thread failed).
async fn run_on_worker(
    framed: &mut Framed<Conn, LdapServerCodec>,
    mut session: Session,
    req: Request,
    queued: &mut VecDeque<Request>,
    cancel: &CancellationToken,
) -> Option<(Session, Reply)> {
    let permit = tokio::select! {
        _ = cancel.cancelled() => return None,
        p = session.shared.workers.clone().acquire_owned() => p.ok()?,
    };
    let abandon = Arc::new(AtomicBool::new(false));
    session.abandon = abandon.clone();
    let running = req.msgid;
    let peer = session.peer;
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let reply = session::handle(&mut session, req);
        (session, reply)
    });
    tokio::pin!(job);
    let mut reading = true;
    loop {
        tokio::select! {
            done = &mut job => {
                return match done {
                    Ok(pair) => Some(pair),
                    Err(e) => {
                        tracing::error!(%peer, error = %e, "operation failed; closing");
                        None
                    }
                };
            }
            _ = cancel.cancelled() => {
                abandon.store(true, Ordering::Relaxed);
                // Wait for the abandoned work, so shutdown leaves none behind.
                let _ = job.await;
                return None;
            }
            next = framed.next(), if reading && queued.len() < MAX_QUEUED => match next {
                Some(Ok(r)) => match r.op {
                    RequestOp::Other(LdapOp::AbandonRequest(id)) if id == running => {
                        abandon.store(true, Ordering::Relaxed);
                    }
                    _ => queued.push_back(r),
                },
                // The client went away or broke the framing: stop the work; the loop
                // meets the same end of stream on its next read.
                _ => {
                    reading = false;
                    abandon.store(true, Ordering::Relaxed);
                }
            },
        }
    }
}

/// Serves one connection until unbind, EOF, error, idle timeout, a fault or shutdown.
pub(crate) async fn serve(conn: Conn, mut session: Session, cancel: CancellationToken) {
    let opts = &session.shared.options;
    let idle = opts.policy.max_conn_idle_time;
    let codec = LdapServerCodec::new(opts.policy.max_receive_buffer, opts.max_ber_depth);
    let mut framed = Framed::new(conn, codec.clone());
    let mut queued: VecDeque<Request> = VecDeque::new();
    loop {
        let req = match queued.pop_front() {
            Some(req) => req,
            None => match read_request(&mut framed, &session, &cancel).await {
                Next::Request(req) => req,
                Next::Close => break,
                Next::Poll => {
                    let messages = session::poll(&mut session);
                    if messages.is_empty() {
                        continue;
                    }
                    let faults = session.host.faults();
                    let plan =
                        faults.on_the_wire(messages, &mut session.entries_sent, &session.peer);
                    if send::send(&mut framed, plan, idle, &cancel).await == Sent::Close {
                        break;
                    }
                    continue;
                }
            },
        };
        let reply = if runs_inline(&req) {
            session::handle(&mut session, req)
        } else {
            match run_on_worker(&mut framed, session, req, &mut queued, &cancel).await {
                Some((s, reply)) => {
                    session = s;
                    reply
                }
                None => return,
            }
        };
        let after = reply.after;
        let faults = session.host.faults();
        let plan = faults.on_the_wire(reply.messages, &mut session.entries_sent, &session.peer);
        if send::send(&mut framed, plan, idle, &cancel).await == Sent::Close {
            break;
        }
        match after {
            After::Continue => {}
            After::Close => break,
            After::StartTls => {
                let FramedParts { io, read_buf, .. } = framed.into_parts();
                // RFC 4511 §4.14.1: the client sends nothing after the StartTLS request
                // until it has the response; anything buffered is a protocol violation.
                if !read_buf.is_empty() || !queued.is_empty() {
                    return;
                }
                let Conn::Plain(tcp) = io else { return };
                let Some(tls) = accept_tls(tcp, &session.host, session.peer, idle, &cancel).await
                else {
                    return;
                };
                session.tls = true;
                framed = Framed::new(tls, codec.clone());
            }
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), framed.close()).await;
}
