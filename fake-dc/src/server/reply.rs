//! The one place an operation's outcome becomes LDAP messages. Operations decide *what*
//! happened — a result code, or an [`LdapError`] carrying AD's code and text — and say
//! which response type answers them; this file builds the response, so every operation's
//! refusal looks the same on the wire (as lldap turns its `LdapError` into responses in
//! one place).

use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindResponse, LdapExtendedResponse, LdapMsg, LdapOp, LdapResult, LdapResultCode,
};

use super::codec::RequestOp;
use super::errors::{self, LdapError, NOTICE_OF_DISCONNECTION};

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

    /// A search's answer: `entries` entries among `messages`, the last of which is the
    /// SearchResultDone carrying `code`.
    pub fn search(messages: Vec<LdapMsg>, code: LdapResultCode, entries: usize) -> Self {
        Reply {
            messages,
            after: After::Continue,
            code: Some(code),
            entries,
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

/// The response type that answers an operation, less its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Response {
    /// BindResponse (no SASL credentials: only simple binds are implemented).
    Bind,
    /// SearchResultDone, ending a search that sent nothing else.
    SearchDone,
    /// AddResponse.
    Add,
    /// ModifyResponse.
    Modify,
    /// DelResponse.
    Delete,
    /// ModifyDNResponse.
    ModifyDn,
    /// CompareResponse.
    Compare,
    /// ExtendedResponse, with the operation's name and value when it has them.
    Extended {
        /// responseName.
        name: Option<String>,
        /// responseValue.
        value: Option<Vec<u8>>,
    },
}

impl Response {
    /// The response that answers `op`, for refusals made before an operation runs.
    /// Anything that is not a known request is answered as an extended operation.
    pub fn to(op: &RequestOp) -> Response {
        match op {
            RequestOp::Search(_) => Response::SearchDone,
            RequestOp::Other(op) => match op {
                LdapOp::BindRequest(_) => Response::Bind,
                LdapOp::AddRequest(_) => Response::Add,
                LdapOp::ModifyRequest(_) => Response::Modify,
                LdapOp::DelRequest(_) => Response::Delete,
                LdapOp::ModifyDNRequest(_) => Response::ModifyDn,
                LdapOp::CompareRequest(_) => Response::Compare,
                _ => Response::Extended {
                    name: None,
                    value: None,
                },
            },
        }
    }

    fn wrap(self, res: LdapResult) -> LdapOp {
        match self {
            Response::Bind => LdapOp::BindResponse(LdapBindResponse {
                res,
                saslcreds: None,
            }),
            Response::SearchDone => LdapOp::SearchResultDone(res),
            Response::Add => LdapOp::AddResponse(res),
            Response::Modify => LdapOp::ModifyResponse(res),
            Response::Delete => LdapOp::DelResponse(res),
            Response::ModifyDn => LdapOp::ModifyDNResponse(res),
            Response::Compare => LdapOp::CompareResult(res),
            Response::Extended { name, value } => {
                LdapOp::ExtendedResponse(LdapExtendedResponse { res, name, value })
            }
        }
    }
}

/// How an operation that did not fail ended: success, or compare's true or false.
pub(crate) struct Done(pub LdapResultCode);

impl From<()> for Done {
    fn from((): ()) -> Self {
        Done(LdapResultCode::Success)
    }
}

impl From<LdapResultCode> for Done {
    fn from(code: LdapResultCode) -> Self {
        Done(code)
    }
}

/// The reply to an operation that answers with one message: `response` carrying the
/// result, with no text on success and AD's on failure.
pub(crate) fn reply(
    msgid: i32,
    response: Response,
    result: Result<impl Into<Done>, LdapError>,
) -> Reply {
    let res = match result {
        Ok(done) => LdapResult {
            code: done.into().0,
            ..errors::success()
        },
        Err(e) => e.into_result(),
    };
    let code = res.code.clone();
    Reply::one(LdapMsg::new(msgid, response.wrap(res)), code)
}

/// The SearchResultDone that ends a search's entries: `code` with the text AD gives it,
/// and, for a paged search, the paged-results control with the cookie of the next page
/// (empty on the last).
pub(crate) fn search_done(msgid: i32, code: LdapResultCode, cookie: Option<Vec<u8>>) -> LdapMsg {
    let message = match code {
        LdapResultCode::TimeLimitExceeded => errors::TIME_LIMIT_EXCEEDED.to_string(),
        _ => String::new(),
    };
    let res = LdapResult {
        code,
        matcheddn: String::new(),
        message,
        referral: Vec::new(),
    };
    let controls = match cookie {
        Some(cookie) => vec![LdapControl::SimplePagedResults { size: 0, cookie }],
        None => Vec::new(),
    };
    LdapMsg::new_with_ctrls(msgid, LdapOp::SearchResultDone(res), controls)
}

/// RFC 4511 §4.4.1: tells the client the server is about to close, then it closes.
pub(crate) fn notice_of_disconnection(text: &str) -> LdapMsg {
    let res = LdapResult {
        code: LdapResultCode::ProtocolError,
        matcheddn: String::new(),
        message: text.to_string(),
        referral: Vec::new(),
    };
    let op = Response::Extended {
        name: Some(NOTICE_OF_DISCONNECTION.to_string()),
        value: None,
    };
    LdapMsg::new(0, op.wrap(res))
}
