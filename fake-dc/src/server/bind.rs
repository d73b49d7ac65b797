//! Simple bind the way Windows AD answers it (AD-BEHAVIOUR.md "Bind").
//!
//! Names: a DN, a UPN (`user@suffix`) or a down-level name (`DOMAIN\sam`); a bare `user`
//! is no name AD resolves and fails with `52e`. An empty password is an unauthenticated
//! bind (RFC 4513 §5.1.2): Windows answers success and leaves the connection anonymous.
//! Failures are 49 with `data <sub-code>`: `775` (locked out) whatever the password, as
//! Windows checks lockout first; `533`, `701`, `532`, `773` only with the right password;
//! a wrong password or an unknown name `52e`. SASL is not implemented: 7.

use ldap3_proto::proto::{LdapBindCred, LdapBindRequest, LdapResultCode};

use super::errors::{self, LdapError};
use super::lock_read;
use super::reply::{reply, Reply, Response};
use super::state::Session;
use crate::directory::{Directory, EntryId};
use crate::dn::Dn;
use crate::schema::ObjectKind;

fn respond(msgid: i32, result: Result<(), LdapError>) -> Reply {
    reply(msgid, Response::Bind, result)
}

/// Finds the account a bind name designates.
fn resolve(dir: &Directory, name: &str) -> Option<EntryId> {
    // A DN first: DNs may hold escaped characters (`CN=Smith\, John,…`), while `=` is
    // never part of a down-level name or a UPN AD would resolve before it.
    let as_dn = || {
        name.contains('=')
            .then(|| Dn::parse(name).ok())
            .flatten()
            .and_then(|dn| dir.lookup(&dn))
    };
    let id = as_dn().or_else(|| {
        if name.contains('=') {
            None
        } else if name.contains('\\') {
            dir.by_down_level(name)
        } else if name.contains('@') {
            dir.by_upn(name)
        } else {
            // A bare `user`: Windows does not guess a domain.
            None
        }
    });
    id.filter(|id| {
        let e = dir.entry(*id);
        !e.deleted && matches!(e.kind, ObjectKind::User | ObjectKind::Computer)
    })
}

/// Answers a bind request; on success the connection takes the account's identity.
pub(crate) fn bind(session: &mut Session, msgid: i32, req: &LdapBindRequest) -> Reply {
    // RFC 4513 §4: whatever happens, the previous authentication is gone; paged searches
    // of the previous identity go with it.
    session.identity = None;
    session.paging.clear();
    let password = match &req.cred {
        LdapBindCred::Simple(p) => p,
        LdapBindCred::SASL(_) | LdapBindCred::Unsupported => {
            return respond(
                msgid,
                Err(LdapError::new(
                    LdapResultCode::AuthMethodNotSupported,
                    errors::UNKNOWN_SASL,
                )),
            );
        }
    };
    if password.is_empty() {
        // Windows: an unauthenticated bind (name, no password) succeeds as anonymous;
        // so does the anonymous bind (no name, no password).
        return respond(msgid, Ok(()));
    }
    let dir = lock_read(&session.shared.directory);
    let Some(id) = resolve(&dir, req.dn.trim()) else {
        let code = if session.shared.options.unknown_user_525 && !req.dn.trim().is_empty() {
            "525"
        } else {
            "52e"
        };
        return respond(msgid, Err(LdapError::bind(code)));
    };
    if dir.is_locked_out(id) {
        return respond(msgid, Err(LdapError::bind("775")));
    }
    if dir.entry(id).password.as_deref() != Some(password.as_str()) {
        return respond(msgid, Err(LdapError::bind("52e")));
    }
    let refusal = if dir.is_disabled(id) {
        Some("533")
    } else if dir.account_expired(id) {
        Some("701")
    } else if dir.password_expired(id) {
        Some("532")
    } else if dir.must_change_password(id) {
        Some("773")
    } else {
        None
    };
    if let Some(code) = refusal {
        return respond(msgid, Err(LdapError::bind(code)));
    }
    drop(dir);
    session.identity = Some(id);
    respond(msgid, Ok(()))
}
