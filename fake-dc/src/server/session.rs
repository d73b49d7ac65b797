//! One connection's protocol state and the dispatcher.
//!
//! The dispatcher is sans-IO (kanidm's shape): [`Session::handle`] takes a decoded
//! [`Request`] and returns a [`Reply`] — messages plus what to do next — and never
//! touches the socket, so the protocol logic is the same for plain and TLS streams, and
//! `connection.rs` can run it on a worker thread.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use ldap3_proto::proto::{LdapExtendedResponse, LdapMsg, LdapOp, LdapResult, LdapResultCode};

use super::codec::{Control, Request, RequestOp};
use super::errors::LdapError;
use super::faults::{BUSY_TEXT, UNAVAILABLE_TEXT};
use super::listener::{HostRuntime, Port};
use super::paging::Paging;
use super::{bind, extended, search, write, Shared};
use crate::directory::EntryId;

/// What the connection does after sending a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Read the next request.
    Continue,
    /// Close (unbind, or a protocol error after its notice).
    Close,
    /// Upgrade to TLS (StartTLS succeeded; RFC 4511 §4.14.2).
    StartTls,
}

/// The answer to one request.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Responses in order (entries, references, done).
    pub messages: Vec<LdapMsg>,
    /// What to do once they are sent.
    pub after: After,
    /// For the operation log: result code and entries sent.
    pub code: Option<LdapResultCode>,
    /// For the operation log.
    pub entries: usize,
}

impl Reply {
    /// No response at all (abandon).
    pub fn none() -> Self {
        Reply {
            messages: Vec::new(),
            after: After::Continue,
            code: None,
            entries: 0,
        }
    }

    /// A single response message.
    pub fn one(msg: LdapMsg, code: LdapResultCode) -> Self {
        Reply {
            messages: vec![msg],
            after: After::Continue,
            code: Some(code),
            entries: 0,
        }
    }

    /// Close without a word (unbind, `DropOnPage`).
    pub fn close() -> Self {
        Reply {
            messages: Vec::new(),
            after: After::Close,
            code: None,
            entries: 0,
        }
    }
}

/// Per-connection state.
pub(crate) struct Session {
    /// Directory and limits.
    pub shared: Arc<Shared>,
    /// The DC host this connection reached (domain, faults, certificate).
    pub host: Arc<HostRuntime>,
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
}

impl Session {
    pub fn new(
        shared: Arc<Shared>,
        host: Arc<HostRuntime>,
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
        }
    }

    /// Answers one request.
    pub fn handle(&mut self, req: Request) -> Reply {
        let started = Instant::now();
        let (op_name, mut target) = describe(&req.op);
        // A request may be 10 MB; the log line stays readable and small.
        if target.len() > MAX_LOGGED {
            let cut = (0..=MAX_LOGGED)
                .rev()
                .find(|i| target.is_char_boundary(*i))
                .unwrap_or(0);
            target.truncate(cut);
            target.push('…');
        }
        let msgid = req.msgid;
        let reply = self.dispatch(req);
        let code = reply.code.clone().map(|c| c as i64);
        tracing::info!(
            host = %self.host.name,
            port = self.port.name(),
            peer = %self.peer,
            msgid,
            op = op_name,
            target = %target,
            code,
            entries = reply.entries,
            micros = started.elapsed().as_micros() as u64,
            "ldap operation"
        );
        reply
    }

    fn dispatch(&mut self, req: Request) -> Reply {
        let msgid = req.msgid;
        match &req.op {
            RequestOp::Other(LdapOp::UnbindRequest) => return Reply::close(),
            RequestOp::Other(LdapOp::AbandonRequest(_)) => {
                // An abandon that reaches the dispatcher names nothing running: the
                // connection raises `abandon` for the operation in flight itself. A paged
                // search between pages is abandoned with a zero page size (RFC 2696 §3).
                return Reply::none();
            }
            _ => {}
        }
        let faults = self.host.faults();
        if faults.busy || faults.unavailable {
            let (code, text) = if faults.busy {
                (LdapResultCode::Busy, BUSY_TEXT)
            } else {
                (LdapResultCode::Unavailable, UNAVAILABLE_TEXT)
            };
            return error_reply(msgid, &req.op, LdapError::new(code, text));
        }
        if let Some(c) = req
            .controls
            .iter()
            .find(|c| c.critical && !understood(&c.oid))
        {
            tracing::debug!(oid = %c.oid, "unknown critical control");
            let e = LdapError::new(
                LdapResultCode::UnavailableCriticalExtension,
                super::errors::UNAVAILABLE_CRITICAL,
            );
            return error_reply(msgid, &req.op, e);
        }
        let controls = req.controls;
        match req.op {
            RequestOp::Search(s) => search::search(self, msgid, &s, &controls),
            RequestOp::Other(op) => match op {
                LdapOp::BindRequest(b) => bind::bind(self, msgid, &b),
                LdapOp::AddRequest(r) => write::add(self, msgid, &r),
                LdapOp::ModifyRequest(r) => write::modify(self, msgid, &r),
                LdapOp::DelRequest(dn) => write::delete(self, msgid, &dn),
                LdapOp::ModifyDNRequest(r) => write::modify_dn(self, msgid, &r),
                LdapOp::CompareRequest(r) => write::compare(self, msgid, &r),
                LdapOp::ExtendedRequest(r) => extended::extended(self, msgid, &r),
                // The codec lets only requests through; anything else is a protocol error.
                other => error_reply(
                    msgid,
                    &RequestOp::Other(other),
                    LdapError::new(LdapResultCode::ProtocolError, "unexpected protocolOp"),
                ),
            },
        }
    }
}

/// Controls fake-dc acts on or may safely ignore when marked critical: paged results,
/// show deleted / show recycled, extended DN, SD flags (no security descriptors are
/// returned), search options, permissive modify, tree delete is *not* here (refused), and
/// server-side sort, which AD supports and whose absence only changes the order.
fn understood(oid: &str) -> bool {
    matches!(
        oid,
        "1.2.840.113556.1.4.319"
            | "1.2.840.113556.1.4.417"
            | "1.2.840.113556.1.4.2064"
            | "1.2.840.113556.1.4.529"
            | "1.2.840.113556.1.4.801"
            | "1.2.840.113556.1.4.1338"
            | "1.2.840.113556.1.4.1413"
            | "1.2.840.113556.1.4.473"
            | "1.3.6.1.4.1.4203.1.11.3"
    )
}

/// The control with this OID, if the request carries it.
pub(crate) fn control<'a>(controls: &'a [Control], oid: &str) -> Option<&'a Control> {
    controls.iter().find(|c| c.oid == oid)
}

/// An error answer of the right response type for `op`.
pub(crate) fn error_reply(msgid: i32, op: &RequestOp, e: LdapError) -> Reply {
    let code = e.code.clone();
    Reply::one(LdapMsg::new(msgid, response_op(op, e.into_result())), code)
}

/// Wraps a result in the response matching the request.
pub(crate) fn response_op(op: &RequestOp, res: LdapResult) -> LdapOp {
    match op {
        RequestOp::Search(_) => LdapOp::SearchResultDone(res),
        RequestOp::Other(op) => match op {
            LdapOp::BindRequest(_) => LdapOp::BindResponse(ldap3_proto::proto::LdapBindResponse {
                res,
                saslcreds: None,
            }),
            LdapOp::AddRequest(_) => LdapOp::AddResponse(res),
            LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse(res),
            LdapOp::DelRequest(_) => LdapOp::DelResponse(res),
            LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse(res),
            LdapOp::CompareRequest(_) => LdapOp::CompareResult(res),
            _ => LdapOp::ExtendedResponse(LdapExtendedResponse {
                res,
                name: None,
                value: None,
            }),
        },
    }
}

/// Longest target (DN, filter) written to the operation log.
const MAX_LOGGED: usize = 400;

/// Operation name and target for the log line.
fn describe(op: &RequestOp) -> (&'static str, String) {
    match op {
        RequestOp::Search(s) => (
            "search",
            format!(
                "base={:?} scope={:?} filter={:?}",
                s.base, s.scope, s.filter
            ),
        ),
        RequestOp::Other(op) => match op {
            LdapOp::BindRequest(b) => ("bind", b.dn.clone()),
            LdapOp::UnbindRequest => ("unbind", String::new()),
            LdapOp::AddRequest(r) => ("add", r.dn.clone()),
            LdapOp::ModifyRequest(r) => ("modify", r.dn.clone()),
            LdapOp::DelRequest(dn) => ("delete", dn.clone()),
            LdapOp::ModifyDNRequest(r) => ("moddn", r.dn.clone()),
            LdapOp::CompareRequest(r) => ("compare", format!("{} {}", r.dn, r.atype)),
            LdapOp::AbandonRequest(id) => ("abandon", id.to_string()),
            LdapOp::ExtendedRequest(r) => ("extended", r.name.clone()),
            _ => ("other", String::new()),
        },
    }
}
