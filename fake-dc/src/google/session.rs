//! One Secure LDAP connection's protocol, sans IO: a request in, response messages out.
//!
//! What Google documents (its "Secure LDAP service: error code descriptions"), and what
//! this answers:
//! - Bind, Search, Abandon, Unbind and Extended (StartTLS only) are supported; Add,
//!   Compare, Delete, Modify and ModifyDN get PROTOCOL_ERROR (2), as does any other
//!   extended operation or an LDAP version other than 3;
//! - SIMPLE, SASL PLAIN and SASL EXTERNAL binds; another mechanism gets
//!   AUTH_METHOD_NOT_SUPPORTED (7);
//! - a client certificate that is missing, malformed, expired or otherwise invalid gets
//!   INAPPROPRIATE_AUTHENTICATION (48) on every operation but the rootDSE read;
//! - wrong access credentials get INVALID_CREDENTIALS (49);
//! - the bind quota, when the fixture sets it, ADMIN_LIMIT_EXCEEDED (11);
//! - a base that does not exist NO_SUCH_OBJECT (32), a malformed one INVALID_DN_SYNTAX (34).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindResponse, LdapExtendedResponse, LdapMsg, LdapOp, LdapPartialAttribute,
    LdapResult, LdapResultCode, LdapSearchResultEntry,
};

use super::filter::matches;
use super::spec::{CertState, GoogleSpec};
use super::tree::{self, GEntry};
use crate::directory::Scope;
use crate::dn::Dn;
use crate::server::codec::{Request, RequestOp, SearchRequest};
use crate::server::paging::{decode_page_request, PAGED_OID};
use crate::server::SharedDirectory;

/// What every connection of one service shares.
pub(crate) struct Service {
    pub spec: GoogleSpec,
    pub directory: SharedDirectory,
    /// Recent successful-certificate binds, for the quota.
    binds: Mutex<VecDeque<Instant>>,
    /// Binds still to refuse as over the quota whatever the rate: a scenario's fault,
    /// so a test of backing off does not depend on timing.
    refusals: AtomicU32,
}

impl Service {
    pub fn new(spec: GoogleSpec, directory: SharedDirectory) -> Self {
        Service {
            spec,
            directory,
            binds: Mutex::new(VecDeque::new()),
            refusals: AtomicU32::new(0),
        }
    }

    /// Refuses the next `n` binds as over the quota.
    pub fn refuse_binds(&self, n: u32) {
        self.refusals.store(n, Ordering::SeqCst);
    }

    /// Counts a bind against the quota; false when it is over.
    fn bind_allowed(&self) -> bool {
        let refused = self
            .refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if refused.is_ok() {
            return false;
        }
        let Some(quota) = self.spec.bind_quota_per_second.filter(|q| *q > 0) else {
            return true;
        };
        let now = Instant::now();
        let mut binds = self.binds.lock().unwrap_or_else(|e| e.into_inner());
        while binds
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            binds.pop_front();
        }
        if binds.len() >= quota as usize {
            return false;
        }
        binds.push_back(now);
        true
    }
}

/// How the connection's client certificate was judged when it connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Certificate {
    /// Issued to the fixture's client at this index, and good.
    Client(usize),
    /// Refused, with the diagnostic sent with every refusal.
    Refused(&'static str),
}

impl Certificate {
    /// Judges the first certificate of the peer's chain against the issued ones.
    pub fn judge(presented: Option<&[u8]>, registry: &super::certs::Registry) -> Certificate {
        let Some(der) = presented else {
            return Certificate::Refused("no client certificate was presented");
        };
        match registry.get(der) {
            None => Certificate::Refused(
                "the client certificate was not issued by this Secure LDAP service",
            ),
            Some(issued) => match issued.state {
                CertState::Valid => Certificate::Client(issued.client),
                CertState::Revoked => Certificate::Refused("the client certificate was revoked"),
                CertState::Expired => Certificate::Refused("the client certificate has expired"),
            },
        }
    }
}

/// Paged searches a connection keeps open at once.
const MAX_PAGED: usize = 10;

/// One connection's state.
pub(crate) struct Session {
    pub service: Arc<Service>,
    pub certificate: Certificate,
    /// Paged searches: cookie → (search fingerprint, entries still to send).
    pages: HashMap<Vec<u8>, (String, VecDeque<GEntry>)>,
    page_order: VecDeque<Vec<u8>>,
    next_cookie: u64,
}

/// The answer to one request.
pub(crate) struct Answer {
    pub messages: Vec<LdapMsg>,
    pub close: bool,
}

fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.to_string(),
        referral: Vec::new(),
    }
}

fn one(msgid: i32, op: LdapOp) -> Answer {
    Answer {
        messages: vec![LdapMsg::new(msgid, op)],
        close: false,
    }
}

fn done(msgid: i32, code: LdapResultCode, message: &str) -> Answer {
    one(msgid, LdapOp::SearchResultDone(result(code, message)))
}

impl Session {
    pub fn new(service: Arc<Service>, certificate: Certificate) -> Self {
        Session {
            service,
            certificate,
            pages: HashMap::new(),
            page_order: VecDeque::new(),
            next_cookie: 1,
        }
    }

    /// Answers one request.
    pub fn handle(&mut self, req: Request) -> Answer {
        let msgid = req.msgid;
        match req.op {
            RequestOp::Search(s) => self.search(msgid, &s, &req.controls),
            RequestOp::Other(op) => match op {
                LdapOp::UnbindRequest => Answer {
                    messages: Vec::new(),
                    close: true,
                },
                LdapOp::AbandonRequest(_) => Answer {
                    messages: Vec::new(),
                    close: false,
                },
                LdapOp::BindRequest(b) => {
                    let res = self.bind(&b.dn, b.version, &b.cred);
                    one(
                        msgid,
                        LdapOp::BindResponse(LdapBindResponse {
                            res,
                            saslcreds: None,
                        }),
                    )
                }
                LdapOp::AddRequest(_) => one(msgid, LdapOp::AddResponse(read_only())),
                LdapOp::ModifyRequest(_) => one(msgid, LdapOp::ModifyResponse(read_only())),
                LdapOp::DelRequest(_) => one(msgid, LdapOp::DelResponse(read_only())),
                LdapOp::ModifyDNRequest(_) => one(msgid, LdapOp::ModifyDNResponse(read_only())),
                LdapOp::CompareRequest(_) => one(msgid, LdapOp::CompareResult(read_only())),
                LdapOp::ExtendedRequest(x) => {
                    let res = if x.name == STARTTLS {
                        // Google offers StartTLS only on a connection not yet secured;
                        // this one is LDAPS from its first byte.
                        result(
                            LdapResultCode::OperationsError,
                            "StartTLS is only supported on an unsecured connection",
                        )
                    } else {
                        result(
                            LdapResultCode::ProtocolError,
                            "only the StartTLS extended operation is supported",
                        )
                    };
                    one(
                        msgid,
                        LdapOp::ExtendedResponse(LdapExtendedResponse {
                            res,
                            name: None,
                            value: None,
                        }),
                    )
                }
                _ => Answer {
                    messages: Vec::new(),
                    close: true,
                },
            },
        }
    }

    fn bind(&mut self, dn: &str, version: i64, cred: &LdapBindCred) -> LdapResult {
        if version != 3 {
            return result(
                LdapResultCode::ProtocolError,
                "only LDAP version 3 is supported",
            );
        }
        let client = match self.certificate {
            Certificate::Client(i) => i,
            Certificate::Refused(why) => {
                return result(LdapResultCode::InappropriateAuthentication, why)
            }
        };
        if !self.service.bind_allowed() {
            return result(
                LdapResultCode::AdminLimitExceeded,
                "the Secure LDAP bind quota was exceeded",
            );
        }
        let expected = self
            .service
            .spec
            .clients
            .get(client)
            .and_then(|c| c.access_credentials.clone());
        let check = |user: &str, password: &str| match &expected {
            Some(c) if c.username == user && c.password == password => {
                result(LdapResultCode::Success, "")
            }
            _ => result(
                LdapResultCode::InvalidCredentials,
                "the access credentials are not valid for this LDAP client",
            ),
        };
        match cred {
            // The certificate alone authenticates an anonymous simple bind.
            LdapBindCred::Simple(pw) if dn.is_empty() && pw.is_empty() => {
                result(LdapResultCode::Success, "")
            }
            LdapBindCred::Simple(pw) => check(dn, pw),
            LdapBindCred::SASL(sasl) => match sasl.mechanism.to_ascii_uppercase().as_str() {
                "EXTERNAL" => result(LdapResultCode::Success, ""),
                "PLAIN" => {
                    // authzid NUL authcid NUL passwd (RFC 4616).
                    let parts: Vec<&[u8]> = sasl.credentials.split(|b| *b == 0).collect();
                    match parts.as_slice() {
                        [_, user, pw] => {
                            check(&String::from_utf8_lossy(user), &String::from_utf8_lossy(pw))
                        }
                        _ => result(
                            LdapResultCode::InappropriateAuthentication,
                            "malformed SASL PLAIN credentials",
                        ),
                    }
                }
                _ => result(
                    LdapResultCode::AuthMethodNotSupported,
                    "supported: SIMPLE, SASL PLAIN and SASL EXTERNAL",
                ),
            },
            LdapBindCred::Unsupported => result(
                LdapResultCode::AuthMethodNotSupported,
                "supported: SIMPLE, SASL PLAIN and SASL EXTERNAL",
            ),
        }
    }

    fn search(
        &mut self,
        msgid: i32,
        s: &SearchRequest,
        controls: &[crate::server::codec::Control],
    ) -> Answer {
        if s.base.trim().is_empty() && s.scope == Scope::Base {
            return entries_answer(msgid, vec![root_dse()], s, LdapResultCode::Success, None);
        }
        if let Certificate::Refused(why) = self.certificate {
            return done(msgid, LdapResultCode::InappropriateAuthentication, why);
        }
        let Ok(base) = Dn::parse(&s.base) else {
            return done(
                msgid,
                LdapResultCode::InvalidDNSyntax,
                "the base DN cannot be parsed",
            );
        };
        let base_key = base.key();
        let paging = controls
            .iter()
            .find(|c| c.oid == PAGED_OID)
            .map(|c| c.value.as_deref().and_then(decode_page_request));
        let fingerprint = format!("{base_key}|{:?}|{:?}", s.scope, s.filter);
        let mut pending = match &paging {
            Some(None) => {
                return done(
                    msgid,
                    LdapResultCode::ProtocolError,
                    "the paged results control value is malformed",
                )
            }
            Some(Some(page)) if !page.cookie.is_empty() => match self.pages.remove(&page.cookie) {
                Some((f, rest)) if f == fingerprint => rest,
                Some(_) => {
                    return done(
                        msgid,
                        LdapResultCode::UnwillingToPerform,
                        "the paged results cookie belongs to another search",
                    )
                }
                None => {
                    return done(
                        msgid,
                        LdapResultCode::UnwillingToPerform,
                        "the paged results cookie is not valid",
                    )
                }
            },
            _ => match self.matching(&base_key, s) {
                Some(found) => found.into(),
                None => {
                    return done(
                        msgid,
                        LdapResultCode::NoSuchObject,
                        "the base object does not exist in this directory",
                    )
                }
            },
        };
        let Some(Some(page)) = paging else {
            let limit = usize::try_from(s.size_limit).unwrap_or(0);
            let (code, take) = if limit > 0 && pending.len() > limit {
                (LdapResultCode::SizeLimitExceeded, limit)
            } else {
                (LdapResultCode::Success, pending.len())
            };
            let sent: Vec<GEntry> = pending.drain(..take).collect();
            return entries_answer(msgid, sent, s, code, None);
        };
        if page.size <= 0 {
            return entries_answer(
                msgid,
                Vec::new(),
                s,
                LdapResultCode::Success,
                Some(Vec::new()),
            );
        }
        let take = usize::try_from(page.size)
            .unwrap_or(usize::MAX)
            .min(pending.len());
        let sent: Vec<GEntry> = pending.drain(..take).collect();
        let cookie = if pending.is_empty() {
            Vec::new()
        } else {
            let cookie = self.next_cookie.to_be_bytes().to_vec();
            self.next_cookie += 1;
            self.pages.insert(cookie.clone(), (fingerprint, pending));
            self.page_order.push_back(cookie.clone());
            while self.page_order.len() > MAX_PAGED {
                if let Some(old) = self.page_order.pop_front() {
                    self.pages.remove(&old);
                }
            }
            cookie
        };
        entries_answer(msgid, sent, s, LdapResultCode::Success, Some(cookie))
    }

    /// The entries under `base_key` in the request's scope that match its filter;
    /// `None` when the base does not exist.
    fn matching(&self, base_key: &str, s: &SearchRequest) -> Option<Vec<GEntry>> {
        let tree = {
            let dir = self
                .service
                .directory
                .read()
                .unwrap_or_else(|e| e.into_inner());
            tree::build(&dir, &self.service.spec)
        };
        if base_key == "cn=subschema" {
            let entry = subschema();
            let found = (s.scope == Scope::Base && matches(&entry, &s.filter))
                .then_some(entry)
                .into_iter()
                .collect();
            return Some(found);
        }
        tree.get(base_key)?;
        let suffix = format!(",{base_key}");
        Some(
            tree.entries
                .into_iter()
                .filter(|e| match s.scope {
                    Scope::Base => e.key == base_key,
                    Scope::OneLevel => e.parent == base_key,
                    Scope::Subtree => e.key == base_key || e.key.ends_with(&suffix),
                })
                .filter(|e| matches(e, &s.filter))
                .collect(),
        )
    }
}

const STARTTLS: &str = "1.3.6.1.4.1.1466.20037";

fn read_only() -> LdapResult {
    result(
        LdapResultCode::ProtocolError,
        "the Secure LDAP service is read-only: Add, Compare, Delete, Modify and ModifyDN \
         are not supported",
    )
}

/// The rootDSE, with the server metadata Google lists.
fn root_dse() -> GEntry {
    GEntry {
        dn: String::new(),
        key: String::new(),
        parent: String::new(),
        attrs: vec![
            ("objectClass", vec!["top".into()]),
            ("supportedLDAPVersion", vec!["3".into()]),
            (
                "supportedSASLMechanisms",
                vec!["EXTERNAL".into(), "PLAIN".into()],
            ),
            ("supportedExtension", vec![STARTTLS.into()]),
            ("subschemaSubentry", vec!["cn=subschema".into()]),
        ],
    }
}

/// The subschema entry: the object classes the tree uses.
fn subschema() -> GEntry {
    let classes = [
        "( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
        "( 0.9.2342.19200300.100.4.13 NAME 'domain' SUP top STRUCTURAL MUST dc )",
        "( 1.3.6.1.4.1.1466.344 NAME 'dcObject' SUP top AUXILIARY MUST dc )",
        "( 2.5.6.5 NAME 'organizationalUnit' SUP top STRUCTURAL MUST ou MAY description )",
        "( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) )",
        "( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL )",
        "( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP organizationalPerson STRUCTURAL \
         MAY ( mail $ uid $ givenName $ displayName ) )",
        "( 1.3.6.1.1.1.2.0 NAME 'posixAccount' SUP top AUXILIARY MUST ( cn $ uid $ \
         uidNumber $ gidNumber $ homeDirectory ) MAY ( loginShell $ gecos ) )",
        "( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST cn MAY ( member $ description ) )",
        "( 1.3.6.1.1.1.2.2 NAME 'posixGroup' SUP top AUXILIARY MUST ( cn $ gidNumber ) \
         MAY memberUid )",
    ];
    GEntry {
        dn: "cn=subschema".into(),
        key: "cn=subschema".into(),
        parent: String::new(),
        attrs: vec![
            ("objectClass", vec!["top".into(), "subschema".into()]),
            ("cn", vec!["subschema".into()]),
            (
                "objectClasses",
                classes.iter().map(|c| c.to_string()).collect(),
            ),
        ],
    }
}

/// The entries of a search, then its SearchResultDone (with the paged-results control
/// when `cookie` is given).
fn entries_answer(
    msgid: i32,
    entries: Vec<GEntry>,
    s: &SearchRequest,
    code: LdapResultCode,
    cookie: Option<Vec<u8>>,
) -> Answer {
    let wanted: Vec<String> = s.attrs.iter().map(|a| a.to_ascii_lowercase()).collect();
    let all = wanted.is_empty() || wanted.iter().any(|a| a == "*" || a == "+");
    let none = !all && wanted.iter().all(|a| a == "1.1");
    let mut messages: Vec<LdapMsg> = entries
        .into_iter()
        .map(|e| {
            let attributes = e
                .attrs
                .into_iter()
                .filter(|(name, _)| {
                    !none && (all || wanted.iter().any(|w| w.eq_ignore_ascii_case(name)))
                })
                .map(|(name, vals)| LdapPartialAttribute {
                    atype: name.to_string(),
                    vals: if s.types_only {
                        Vec::new()
                    } else {
                        vals.into_iter().map(String::into_bytes).collect()
                    },
                })
                .collect();
            LdapMsg::new(
                msgid,
                LdapOp::SearchResultEntry(LdapSearchResultEntry {
                    dn: e.dn,
                    attributes,
                }),
            )
        })
        .collect();
    let controls = match cookie {
        Some(cookie) => vec![LdapControl::SimplePagedResults { size: 0, cookie }],
        None => Vec::new(),
    };
    let message = if code == LdapResultCode::SizeLimitExceeded {
        "size limit exceeded"
    } else {
        ""
    };
    messages.push(LdapMsg::new_with_ctrls(
        msgid,
        LdapOp::SearchResultDone(result(code, message)),
        controls,
    ));
    Answer {
        messages,
        close: false,
    }
}
