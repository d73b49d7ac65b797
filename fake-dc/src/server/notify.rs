//! Change notification (LDAP_SERVER_NOTIFICATION_OID, 1.2.840.113556.1.4.528;
//! MS-ADTS 3.1.1.3.4.1.9): a search that never completes on its own and sends the
//! object again, with the requested attributes, each time it changes.
//!
//! AD's restrictions, all answered before anything is registered:
//! - the filter must be `(objectClass=*)`, else unwillingToPerform (53);
//! - base and one-level scopes anywhere, subtree only from the head of a naming context,
//!   else unwillingToPerform (53);
//! - at most five per connection (MaxNotificationPerConn), else adminLimitExceeded (11);
//! - only objects the caller may read are reported.
//!
//! The search sends nothing when registered. The connection asks [`poll`] for changes
//! on a timer while it waits for the next request; [`poll`] only reads the directory,
//! and a watch whose scope saw no change since the last poll costs one comparison.
//! An abandon with the search's message id ends it (no response, RFC 4511 §4.11), as do
//! unbind and closing the connection.

use ldap3_proto::proto::{LdapMsg, LdapOp, LdapResultCode, LdapSearchResultEntry};

use super::codec::SearchRequest;
use super::errors::{self, LdapError};
use super::faults::FaultSet;
use super::ranged::{Render, Selection};
use crate::directory::{Directory, EntryId, Scope};
use crate::dn::Dn;
use crate::filter::Filter;

/// The control's OID.
pub(crate) const OID: &str = "1.2.840.113556.1.4.528";
/// MaxNotificationPerConn's default.
pub(crate) const MAX_PER_CONNECTION: usize = 5;

/// AD's refusal of a filter, scope or base the control does not allow (53; the
/// LdapErr shape, "Error processing control").
const NOT_ALLOWED: &str =
    "00002040: LdapErr: DSID-0C0909F2, comment: Error processing control, data 0, v4563";
/// More than MaxNotificationPerConn on one connection (11).
const TOO_MANY: &str =
    "00002024: LdapErr: DSID-0C090A2D, comment: Exceeded the maximum number of notification requests on this connection, data 0, v4563";

/// One registered notification search.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    /// The search's message id: every entry is sent with it, and abandon names it.
    pub msgid: i32,
    pub base: EntryId,
    pub scope: Scope,
    /// The attributes to send (not necessarily the ones that changed).
    pub attrs: Vec<String>,
    pub types_only: bool,
    /// Show Deleted was sent too: a deleted object in scope is reported as a tombstone.
    pub show_deleted: bool,
    /// The highest USN already reported on (the directory's at registration, then at
    /// each poll).
    pub seen: u64,
}

/// Checks a notification search and makes its watch; `held` is how many the
/// connection has already.
pub(crate) fn register(
    dir: &Directory,
    identity: EntryId,
    msgid: i32,
    req: &SearchRequest,
    show_deleted: bool,
    held: usize,
) -> Result<Watch, LdapError> {
    let not_allowed = || LdapError::new(LdapResultCode::UnwillingToPerform, NOT_ALLOWED);
    if !matches!(&req.filter, Filter::Present(a) if a.eq_ignore_ascii_case("objectClass")) {
        return Err(not_allowed());
    }
    let dn = Dn::parse(req.base.trim()).map_err(|_| {
        LdapError::new(
            LdapResultCode::InvalidDNSyntax,
            errors::invalid_dn(req.base.trim()),
        )
    })?;
    let base = match dir.lookup(&dn) {
        Some(id) if !dir.entry(id).deleted && dir.can_start_at(identity, id) => id,
        _ => {
            let best = dir
                .best_match(&dn)
                .map(|id| dir.dn_str(id).to_string())
                .unwrap_or_default();
            let mut e = LdapError::new(LdapResultCode::NoSuchObject, errors::no_such_object(&best));
            e.matched = best;
            return Err(e);
        }
    };
    if req.scope == Scope::Subtree && dir.entry(base).parent.is_some() {
        return Err(not_allowed());
    }
    if held >= MAX_PER_CONNECTION {
        return Err(LdapError::new(LdapResultCode::AdminLimitExceeded, TOO_MANY));
    }
    Ok(Watch {
        msgid,
        base,
        scope: req.scope,
        attrs: req.attrs.clone(),
        types_only: req.types_only,
        show_deleted,
        seen: dir.highest_usn(),
    })
}

/// How a poll renders entries.
pub(crate) struct PollCtx {
    pub identity: Option<EntryId>,
    pub gc: bool,
    pub max_val_range: usize,
    pub faults: FaultSet,
}

/// The entries changed since each watch's last poll, in USN order, as search result
/// entries of its search; moves every watch's `seen` forward.
pub(crate) fn poll(dir: &Directory, watches: &mut [Watch], ctx: &PollCtx) -> Vec<LdapMsg> {
    let highest = dir.highest_usn();
    let mut out = Vec::new();
    for w in watches.iter_mut() {
        if w.seen >= highest {
            continue;
        }
        let mut changed: Vec<EntryId> = in_scope(dir, w)
            .into_iter()
            .filter(|id| {
                let e = dir.entry(*id);
                e.usn_changed > w.seen
                    && (w.show_deleted || !e.deleted)
                    && dir.can_read(ctx.identity, *id)
            })
            .collect();
        changed.sort_by_key(|id| dir.entry(*id).usn_changed);
        let selection = Selection::parse(&w.attrs);
        let render = Render {
            selection: &selection,
            gc: ctx.gc,
            base_scope: w.scope == Scope::Base,
            types_only: w.types_only,
            max_val_range: ctx.max_val_range,
            faults: ctx.faults,
        };
        for id in changed {
            let entry = LdapSearchResultEntry {
                dn: dir.dn_str(id).to_string(),
                attributes: render.attributes(dir, id),
            };
            out.push(LdapMsg::new(w.msgid, LdapOp::SearchResultEntry(entry)));
        }
        w.seen = highest;
    }
    out
}

/// The objects a watch covers now. A deleted child leaves its parent for
/// `CN=Deleted Objects`; with Show Deleted it is still reported, through its
/// `lastKnownParent`.
fn in_scope(dir: &Directory, w: &Watch) -> Vec<EntryId> {
    let mut ids = match w.scope {
        Scope::Base => vec![w.base],
        Scope::OneLevel => dir.entry(w.base).children.clone(),
        Scope::Subtree => dir.scope(w.base, Scope::Subtree),
    };
    if w.show_deleted && w.scope == Scope::OneLevel {
        if let Some(graveyard) = dir.domain_of(w.base).map(|d| d.deleted_objects) {
            ids.extend(
                dir.entry(graveyard)
                    .children
                    .iter()
                    .filter(|id| dir.entry(**id).last_known_parent == Some(w.base)),
            );
        }
    }
    ids
}
