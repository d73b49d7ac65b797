//! Extended operations (RFC 4511 §4.12): StartTLS (RFC 4511 §4.14) and WhoAmI (RFC 4532).

use ldap3_proto::proto::{LdapExtendedRequest, LdapResultCode};

use super::errors::{self, LdapError};
use super::lock_read;
use super::reply::{reply, After, Reply, Response};
use super::state::Session;

/// StartTLS.
pub const START_TLS_OID: &str = "1.3.6.1.4.1.1466.20037";
/// WhoAmI.
pub const WHOAMI_OID: &str = "1.3.6.1.4.1.4203.1.11.3";

fn respond(
    msgid: i32,
    name: Option<&str>,
    value: Option<Vec<u8>>,
    result: Result<(), LdapError>,
) -> Reply {
    let name = name.map(str::to_string);
    reply(msgid, Response::Extended { name, value }, result)
}

pub(crate) fn extended(session: &mut Session, msgid: i32, req: &LdapExtendedRequest) -> Reply {
    match req.name.as_str() {
        START_TLS_OID => {
            if session.tls {
                let e = LdapError::new(LdapResultCode::OperationsError, errors::TLS_ALREADY);
                return respond(msgid, Some(START_TLS_OID), None, Err(e));
            }
            // The upgrade happens in the connection loop, after this response is sent in
            // the clear (RFC 4511 §4.14.2).
            let mut reply = respond(msgid, Some(START_TLS_OID), None, Ok(()));
            reply.after = After::StartTls;
            reply
        }
        WHOAMI_OID => {
            // AD answers `u:DOMAIN\sam`; anonymous gets an empty authzId (RFC 4532 §2.2).
            let authz = match session.identity {
                None => String::new(),
                Some(id) => {
                    let dir = lock_read(&session.shared.directory);
                    let netbios = dir
                        .domain_of(id)
                        .map(|d| d.netbios.clone())
                        .unwrap_or_default();
                    let sam = dir
                        .entry(id)
                        .get_str("sAMAccountName")
                        .unwrap_or_default()
                        .to_string();
                    format!("u:{netbios}\\{sam}")
                }
            };
            respond(msgid, None, Some(authz.into_bytes()), Ok(()))
        }
        _ => {
            // RFC 4511 §4.12: an unrecognized extended operation is a protocolError.
            let e = LdapError::new(
                LdapResultCode::ProtocolError,
                format!("0000203D: LdapErr: DSID-0C090C7D, comment: Unknown extended request OID, data 0, v4563 ({})", req.name),
            );
            respond(msgid, None, None, Err(e))
        }
    }
}
