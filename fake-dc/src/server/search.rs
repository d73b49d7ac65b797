//! Search (RFC 4511 §4.5) with AD's rules: anonymous access only to the rootDSE,
//! MaxPageSize, paged results, ranged values, Show Deleted, read scopes, referrals and
//! continuation references, and the Global Catalog's forest-wide, partial view.

use std::time::{Duration, Instant};

use ldap3_lber::parse::Parser;
use ldap3_lber::structure::PL;
use ldap3_proto::proto::{
    LdapMsg, LdapOp, LdapResultCode, LdapSearchResultEntry, LdapSearchResultReference,
};

use super::base;
use super::codec::{ber_int, control, Control, SearchRequest};
use super::dirsync;
use super::errors::{self, LdapError};
use super::ids::IdQueue;
use super::lock_read;
use super::notify;
use super::paging::{decode_page_request, CookieError, PagedSearch, Paging, PAGED_OID};
use super::ranged::{Render, Selection};
use super::reply::{reply, search_done, Reply, Response};
use super::rootdse;
use super::sort;
use super::state::Session;
use crate::directory::{Directory, EntryId, Scope};
use crate::dn::Dn;
use crate::filter::{Budget, Stopped};
use crate::schema::{self, Syntax};

/// AD's default MaxPageSize: the most entries one page — or one unpaged search — returns
/// (the query policy can change it).
pub const MAX_PAGE_SIZE: usize = 1_000;

const SHOW_DELETED_OID: &str = "1.2.840.113556.1.4.417";
const SHOW_RECYCLED_OID: &str = "1.2.840.113556.1.4.2064";
const EXTENDED_DN_OID: &str = "1.2.840.113556.1.4.529";
const SEARCH_OPTIONS_OID: &str = "1.2.840.113556.1.4.1338";

/// `SEARCH_FLAG_PHANTOM_ROOT` of the search options control: search every naming
/// context below the base, as a GC does for base "".
const PHANTOM_ROOT: i64 = 0x2;

/// The first INTEGER of an optional `SEQUENCE { INTEGER … }` control value.
fn control_int(c: &Control) -> Option<i64> {
    let v = c.value.as_deref()?;
    let (_, tag) = Parser::new(4).parse(v).ok()?;
    let PL::C(inner) = tag.payload else {
        return None;
    };
    match &inner.first()?.payload {
        PL::P(b) => ber_int(b),
        PL::C(_) => None,
    }
}

/// Answers a search request.
pub(crate) fn search(
    session: &mut Session,
    msgid: i32,
    req: &SearchRequest,
    controls: &[Control],
) -> Reply {
    match run(session, msgid, req, controls) {
        Ok(answer) => answer,
        Err(e) => reply(msgid, Response::SearchDone, Err::<(), _>(e)),
    }
}

fn run(
    session: &mut Session,
    msgid: i32,
    req: &SearchRequest,
    controls: &[Control],
) -> Result<Reply, LdapError> {
    let started = Instant::now();
    let selection = Selection::parse(&req.attrs);
    let show_deleted = control(controls, SHOW_DELETED_OID).is_some()
        || control(controls, SHOW_RECYCLED_OID).is_some();
    let phantom_root = control(controls, SEARCH_OPTIONS_OID)
        .and_then(control_int)
        .is_some_and(|f| f & PHANTOM_ROOT != 0);
    let extended_dn = control(controls, EXTENDED_DN_OID).map(|c| control_int(c).unwrap_or(0));
    let paged = match control(controls, PAGED_OID) {
        None => None,
        Some(c) => Some(
            decode_page_request(c.value.as_deref().unwrap_or_default()).ok_or_else(|| {
                LdapError::new(
                    LdapResultCode::ProtocolError,
                    "00002024: paged results control value is not SEQUENCE { size, cookie }",
                )
            })?,
        ),
    };
    let shared = session.shared.clone();
    let policy = &shared.options.policy;
    // MaxQueryDuration, or the client's own time limit when shorter, from the moment the
    // request arrived; checked while evaluating and between entries.
    let time_limit = match req.time_limit {
        t if t > 0 => Duration::from_secs(t as u64).min(policy.max_query_duration),
        _ => policy.max_query_duration,
    };
    let budget = Budget {
        deadline: Some(started + time_limit),
        cancel: Some(session.abandon.clone()),
    };
    let dir = lock_read(&shared.directory);
    let base = req.base.trim();
    if base.is_empty() && req.scope == Scope::Base {
        let entry = rootdse::entry(
            &dir,
            &session.host.name,
            session.host.domain,
            &selection,
            req.types_only,
        );
        let messages = vec![
            LdapMsg::new(msgid, LdapOp::SearchResultEntry(entry)),
            search_done(msgid, LdapResultCode::Success, None),
        ];
        return Ok(Reply::search(messages, LdapResultCode::Success, 1));
    }
    let Some(identity) = session.identity else {
        return Err(LdapError::needs_bind());
    };
    let faults = session.host.faults();
    if let Some(refusal) = faults.search_refusal(&session.host.name, base, &session.peer) {
        return Err(refusal);
    }
    Directory::validate_filter(&req.filter).map_err(|_| {
        LdapError::new(
            LdapResultCode::OperationsError,
            "00000057: LdapErr: DSID-0C090D8A, comment: Error in attribute conversion operation, data 0, v4563",
        )
    })?;
    let gc = session.port.is_gc();
    if control(controls, notify::OID).is_some() {
        let held = session.watches.len();
        let watch = notify::register(&dir, identity, msgid, req, show_deleted, held)?;
        session.watches.push(watch);
        // Nothing now: entries follow as the objects change (`connection.rs` polls).
        return Ok(Reply::none());
    }
    if let Some(c) = control(controls, dirsync::OID) {
        let ctx = dirsync::Ctx {
            dir: &dir,
            identity,
            host: &session.host.name,
            budget: &budget,
            render: Render {
                selection: &selection,
                gc,
                base_scope: false,
                types_only: req.types_only,
                max_val_range: policy.max_val_range,
                faults,
            },
            max_objects: policy.max_page_size,
        };
        return dirsync::search(&ctx, msgid, req, c);
    }
    let plan = base::plan(
        &dir,
        base,
        req.scope,
        gc || phantom_root,
        session.host.domain,
        show_deleted,
        identity,
    )?;
    // Evaluated for an unpaged search and for the first page only: later pages continue
    // from the snapshot kept with the cookie.
    let matches = || -> Result<Vec<EntryId>, Stopped> {
        let mut ids = Vec::new();
        for (b, scope) in &plan.targets {
            ids.extend(dir.search_within(*b, *scope, &req.filter, show_deleted, &budget)?);
        }
        ids.retain(|id| dir.can_read(Some(identity), *id));
        dir.entry_order.apply(&mut ids, dir.seed);
        Ok(ids)
    };
    let render = Render {
        selection: &selection,
        gc,
        base_scope: req.scope == Scope::Base,
        types_only: req.types_only,
        max_val_range: policy.max_val_range,
        faults,
    };
    let entry = |id: EntryId| -> LdapMsg {
        let mut attributes = render.attributes(&dir, id);
        let mut dn = dir.dn_str(id).to_string();
        if let Some(format) = extended_dn {
            dn = extended(&dir, id, format);
            for a in &mut attributes {
                let name = a.atype.split(';').next().unwrap_or_default();
                if schema::syntax(name) == Syntax::Dn {
                    for v in &mut a.vals {
                        if let Some(target) = Dn::parse(&String::from_utf8_lossy(v))
                            .ok()
                            .and_then(|d| dir.lookup(&d))
                        {
                            *v = extended(&dir, target, format).into_bytes();
                        }
                    }
                }
            }
        }
        LdapMsg::new(
            msgid,
            LdapOp::SearchResultEntry(LdapSearchResultEntry { dn, attributes }),
        )
    };
    let reference = |uris: &[String]| -> Vec<LdapMsg> {
        uris.iter()
            .map(|u| {
                LdapMsg::new(
                    msgid,
                    LdapOp::SearchResultReference(LdapSearchResultReference {
                        uris: vec![u.clone()],
                    }),
                )
            })
            .collect()
    };
    let Some(page) = paged else {
        // Unpaged: MaxPageSize caps the whole search (AD answers sizeLimitExceeded).
        let limit = match req.size_limit {
            n if n > 0 => (n as usize).min(policy.max_page_size),
            _ => policy.max_page_size,
        };
        let mut code = LdapResultCode::Success;
        let ids = match matches() {
            Ok(ids) => ids,
            Err(why) => return stopped(msgid, why),
        };
        let sorted = sort::apply(&dir, ids, controls);
        if let Some(failure) = sorted.failure {
            let mut done = search_done(msgid, failure.clone(), None);
            done.ctrl = sorted.controls;
            return Ok(Reply::search(vec![done], failure, 0));
        }
        let ids = sorted.ids;
        let mut messages = Vec::with_capacity(ids.len().min(limit) + 4);
        for (n, id) in ids.iter().enumerate() {
            if n == limit {
                code = LdapResultCode::SizeLimitExceeded;
                break;
            }
            if n % 64 == 0 && budget.check().is_err() {
                code = LdapResultCode::TimeLimitExceeded;
                break;
            }
            messages.push(entry(*id));
        }
        let entries = messages.len();
        if code == LdapResultCode::Success {
            messages.extend(reference(&plan.references));
        }
        let mut done = search_done(msgid, code.clone(), None);
        done.ctrl.extend(sorted.controls);
        messages.push(done);
        return Ok(Reply::search(messages, code, entries));
    };
    // Paged (RFC 2696).
    let fingerprint = Paging::fingerprint(req);
    let mut state = if page.cookie.is_empty() {
        let ids = match matches() {
            Ok(ids) => ids,
            Err(why) => return stopped(msgid, why),
        };
        // A sorted paged search is sorted once, before its first page.
        let sorted = sort::apply(&dir, ids, controls);
        if let Some(failure) = sorted.failure {
            let mut done = search_done(msgid, failure.clone(), None);
            done.ctrl.extend(sorted.controls);
            return Ok(Reply::search(vec![done], failure, 0));
        }
        let ids = sorted.ids;
        let replay = faults.replay(&ids, policy.max_page_size);
        PagedSearch {
            fingerprint,
            remaining: IdQueue::new(ids),
            references: plan.references.clone(),
            pages: 0,
            sent: 0,
            replay,
        }
    } else {
        match session.paging.take(&page.cookie, fingerprint) {
            Ok(s) => s,
            Err(CookieError::Unknown) => {
                return Err(LdapError::new(
                    LdapResultCode::UnwillingToPerform,
                    errors::BAD_COOKIE,
                ))
            }
            Err(CookieError::OtherSearch) => {
                return Err(LdapError::new(
                    LdapResultCode::UnavailableCriticalExtension,
                    errors::UNAVAILABLE_CRITICAL,
                ))
            }
        }
    };
    let paged_done = |cookie: Vec<u8>, code: LdapResultCode| search_done(msgid, code, Some(cookie));
    if page.size <= 0 {
        // RFC 2696 §3: a zero size abandons the search; its state is already dropped.
        return Ok(Reply::one(
            paged_done(Vec::new(), LdapResultCode::Success),
            LdapResultCode::Success,
        ));
    }
    state.pages += 1;
    if faults.drops_page(state.pages, &session.peer) {
        return Ok(Reply::close());
    }
    let page_size = (page.size as usize).min(policy.max_page_size);
    let mut messages = Vec::with_capacity(page_size + 4);
    let mut code = LdapResultCode::Success;
    let mut taken = 0;
    // A fault may start the search over, at most once a page (`FaultSet::start_over`).
    let mut refilled = false;
    while taken < page_size {
        if req.size_limit > 0 && state.sent >= req.size_limit as usize {
            code = LdapResultCode::SizeLimitExceeded;
            break;
        }
        if taken % 64 == 0 && budget.check().is_err() {
            code = LdapResultCode::TimeLimitExceeded;
            break;
        }
        let Some(id) = state.remaining.pop_front() else {
            if faults.start_over(&mut state, &mut refilled, &session.peer) {
                continue;
            }
            break;
        };
        // Entries deleted, or made unreadable, since the first page are skipped.
        if (dir.entry(id).deleted && !show_deleted) || !dir.can_read(Some(identity), id) {
            continue;
        }
        messages.push(entry(id));
        taken += 1;
        state.sent += 1;
        faults.after_entry(&mut state);
    }
    let promise_more = faults.end_page(&mut state, taken);
    let entries = messages.len();
    if (state.remaining.is_empty() && !promise_more) || code != LdapResultCode::Success {
        if code == LdapResultCode::Success {
            messages.extend(reference(&state.references));
        }
        messages.push(paged_done(Vec::new(), code.clone()));
    } else {
        let cookie = session.paging.keep(state);
        messages.push(paged_done(cookie, code.clone()));
    }
    Ok(Reply::search(messages, code, entries))
}

/// A search the budget stopped while evaluating: timeLimitExceeded with AD's text, or
/// nothing at all for an abandoned one (RFC 4511 §4.11).
fn stopped(msgid: i32, why: Stopped) -> Result<Reply, LdapError> {
    match why {
        Stopped::TimeLimit => Err(LdapError::new(
            LdapResultCode::TimeLimitExceeded,
            errors::TIME_LIMIT_EXCEEDED,
        )),
        Stopped::Abandoned => {
            tracing::debug!(msgid, "search abandoned while evaluating");
            Ok(Reply::none())
        }
    }
}

/// `<GUID=…>;<SID=…>;dn` (AD-BEHAVIOUR.md: value 0 → hex, 1 → string forms).
fn extended(dir: &Directory, id: EntryId, format: i64) -> String {
    let e = dir.entry(id);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut out = if format == 1 {
        format!("<GUID={}>;", e.guid)
    } else {
        format!("<GUID={}>;", hex(&e.guid.0))
    };
    if let Some(sid) = &e.sid {
        if format == 1 {
            out.push_str(&format!("<SID={sid}>;"));
        } else {
            out.push_str(&format!("<SID={}>;", hex(&sid.to_bytes())));
        }
    }
    out.push_str(dir.dn_str(id));
    out
}
