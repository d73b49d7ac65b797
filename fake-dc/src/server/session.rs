//! The dispatcher: one decoded request in, one [`Reply`] out, against the connection's
//! [`Session`] state.
//!
//! It is sans-IO (kanidm's shape): [`handle`] never touches the socket, so the protocol
//! logic is the same for plain and TLS streams, and `connection.rs` can run it on a
//! worker thread. Refusals that come before any operation — unbind, abandon, a faulted
//! host, an unknown critical control — are decided here; everything else goes to the
//! operation's own file.

use std::time::Instant;

use ldap3_proto::proto::{LdapOp, LdapResultCode};

use super::codec::{Request, RequestOp};
use super::errors::{LdapError, UNAVAILABLE_CRITICAL};
use super::paging::PAGED_OID;
use super::reply::{reply, Reply, Response};
use super::state::Session;
use super::stats::{OpKind, Seen};
use super::{bind, extended, notify, rootdse, search, write};

/// Answers one request, and logs it.
pub(crate) fn handle(session: &mut Session, req: Request) -> Reply {
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
    let seen = seen(&req);
    let reply = dispatch(session, req);
    session
        .host
        .stats
        .record(&seen, reply.code.as_ref(), reply.entries);
    let code = reply.code.clone().map(|c| c as i64);
    tracing::info!(
        host = %session.host.name,
        port = session.port.name(),
        peer = %session.peer,
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

fn dispatch(session: &mut Session, req: Request) -> Reply {
    let msgid = req.msgid;
    match &req.op {
        RequestOp::Other(LdapOp::UnbindRequest) => return Reply::close(),
        RequestOp::Other(LdapOp::AbandonRequest(id)) => {
            // An abandon that reaches the dispatcher names nothing running: the
            // connection raises `abandon` for the operation in flight itself. It may
            // end a change notification; a paged search between pages is abandoned with
            // a zero page size (RFC 2696 §3).
            let id = *id;
            session.watches.retain(|w| w.msgid != id);
            return Reply::none();
        }
        _ => {}
    }
    if let Some(e) = session.host.faults().refusal() {
        return refuse(msgid, &req.op, e);
    }
    if let Some(c) = req
        .controls
        .iter()
        .find(|c| c.critical && !understood(&c.oid))
    {
        tracing::debug!(oid = %c.oid, "unknown critical control");
        let e = LdapError::new(
            LdapResultCode::UnavailableCriticalExtension,
            UNAVAILABLE_CRITICAL,
        );
        return refuse(msgid, &req.op, e);
    }
    let controls = req.controls;
    match req.op {
        RequestOp::Search(s) => search::search(session, msgid, &s, &controls),
        RequestOp::Other(op) => match op {
            LdapOp::BindRequest(b) => bind::bind(session, msgid, &b),
            LdapOp::AddRequest(r) => write::add(session, msgid, &r),
            LdapOp::ModifyRequest(r) => write::modify(session, msgid, &r),
            LdapOp::DelRequest(dn) => write::delete(session, msgid, &dn),
            LdapOp::ModifyDNRequest(r) => write::modify_dn(session, msgid, &r),
            LdapOp::CompareRequest(r) => write::compare(session, msgid, &r),
            LdapOp::ExtendedRequest(r) => extended::extended(session, msgid, &r),
            // The codec lets only requests through; anything else is a protocol error.
            other => refuse(
                msgid,
                &RequestOp::Other(other),
                LdapError::new(LdapResultCode::ProtocolError, "unexpected protocolOp"),
            ),
        },
    }
}

/// Controls fake-dc acts on, or may safely ignore, when marked critical: the ones the
/// rootDSE advertises (SD flags among them: no security descriptors are returned; tree
/// delete is not there, so it is refused), and WhoAmI's OID, which some clients send as a
/// control.
fn understood(oid: &str) -> bool {
    rootdse::SUPPORTED_CONTROLS.contains(&oid) || oid == "1.3.6.1.4.1.4203.1.11.3"
}

/// An answer of the right response type for `op`, when the operation never ran.
fn refuse(msgid: i32, op: &RequestOp, e: LdapError) -> Reply {
    reply(msgid, Response::to(op), Err::<(), _>(e))
}

/// What the statistics count of a request, read before it is dispatched.
fn seen(req: &Request) -> Seen {
    let kind = match &req.op {
        RequestOp::Search(_) => OpKind::Search,
        RequestOp::Other(LdapOp::BindRequest(_)) => OpKind::Bind,
        RequestOp::Other(
            LdapOp::AddRequest(_)
            | LdapOp::ModifyRequest(_)
            | LdapOp::DelRequest(_)
            | LdapOp::ModifyDNRequest(_)
            | LdapOp::CompareRequest(_),
        ) => OpKind::Write,
        RequestOp::Other(LdapOp::ExtendedRequest(_)) => OpKind::Extended,
        RequestOp::Other(_) => OpKind::Other,
    };
    let ranged = match &req.op {
        RequestOp::Search(s) => s
            .attrs
            .iter()
            .any(|a| a.to_ascii_lowercase().contains(";range=")),
        RequestOp::Other(_) => false,
    };
    Seen {
        kind,
        paged: kind == OpKind::Search && req.controls.iter().any(|c| c.oid == PAGED_OID),
        ranged,
        controls: req.controls.iter().map(|c| c.oid.clone()).collect(),
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

/// The entries the connection's change notifications have to send now (`notify.rs`).
pub(crate) fn poll(session: &mut Session) -> Vec<ldap3_proto::proto::LdapMsg> {
    if session.watches.is_empty() {
        return Vec::new();
    }
    let shared = session.shared.clone();
    let dir = super::lock_read(&shared.directory);
    let faults = session.host.faults();
    let ctx = notify::PollCtx {
        identity: session.identity,
        gc: session.port.is_gc(),
        max_val_range: shared.options.policy.max_val_range,
        faults,
    };
    let messages = notify::poll(&dir, &mut session.watches, &ctx);
    if !messages.is_empty() {
        tracing::info!(
            host = %session.host.name,
            peer = %session.peer,
            entries = messages.len(),
            "change notification"
        );
    }
    messages
}
