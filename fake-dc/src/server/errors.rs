//! LDAP errors with AD's diagnostic texts, in one place: what an operation refuses with.
//! `reply.rs` turns them into responses.
//!
//! Texts are Windows Server 2016's (`v4563`); see AD-BEHAVIOUR.md. Where that page gives no
//! text, the message follows AD's `XXXXXXXX: Kind: DSID-…, problem NNNN (NAME), data 0`
//! shape and says so in a comment.

use ldap3_proto::proto::{LdapResult, LdapResultCode};

use crate::directory::DirError;

/// RFC 4511 §4.4.1: the unsolicited Notice of Disconnection.
pub const NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";

/// Anonymous operation other than reading the rootDSE (AD-BEHAVIOUR.md "Anonymous access").
pub const NEEDS_BIND: &str = "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563";

/// A failed simple bind; `data` is the sub-code (52e, 525, 532, 533, 701, 773, 775).
pub fn bind_failure(data: &str) -> String {
    format!("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {data}, v4563")
}

/// A SASL mechanism fake-dc does not implement. AD answers unknown mechanisms with
/// authMethodNotSupported and this text.
pub const UNKNOWN_SASL: &str =
    "00002027: LdapErr: DSID-0C0906A1, comment: Unknown authentication mechanism, data 0, v4563";

/// Result 3 timeLimitExceeded: the search ran past MaxQueryDuration or the client's time
/// limit (AD's LdapErr form; Windows gives DSID values that vary by build).
pub const TIME_LIMIT_EXCEEDED: &str =
    "00000DB0: LdapErr: DSID-0C0906EA, comment: Time limit exceeded, data 0, v4563";

/// A paged-results cookie this connection never handed out (AD: unwillingToPerform).
pub const BAD_COOKIE: &str =
    "00002024: SvcErr: DSID-0314061A, problem 5003 (WILL_NOT_PERFORM), data 0\n";

/// A critical control AD does not support, or a paged cookie reused with another search.
pub const UNAVAILABLE_CRITICAL: &str =
    "000020EF: SvcErr: DSID-03140594, problem 5010 (UNAVAIL_EXTENSION), data 0\n";

/// StartTLS on a connection that already has TLS.
pub const TLS_ALREADY: &str =
    "00000000: LdapErr: DSID-0C09108D, comment: TLS or SSL already in effect, data 0, v4563";

/// Writes are refused on Global Catalog ports: the GC is a read-only partial replica.
pub const GC_READ_ONLY: &str =
    "00002035: SvcErr: DSID-031A1262, problem 5003 (WILL_NOT_PERFORM), data 0\n";

/// An invalid DN (AD-BEHAVIOUR.md: 34 invalidDNSyntax, `00002032: …`).
pub fn invalid_dn(dn: &str) -> String {
    format!("00002032: InvalidDNSyntax: DSID-0C090F5A, comment: Invalid DN syntax, data 0, v4563 ({dn})")
}

/// A base that does not exist: 32 with AD's best-match text.
pub fn no_such_object(best_match: &str) -> String {
    format!("0000208D: NameErr: DSID-0310028B, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'{best_match}'\n")
}

/// A base in another domain of the forest (AD-BEHAVIOUR.md "Referrals").
pub fn referral(dns_name: &str) -> String {
    format!("0000202B: RefErr: DSID-0310082F, data 0, 1 access points\n\tref 1: '{dns_name}'\n")
}

/// An LDAP error result: code, AD's text, matchedDN and referral URIs.
#[derive(Debug, Clone, PartialEq)]
pub struct LdapError {
    /// The result code (RFC 4511 §4.1.9).
    pub code: LdapResultCode,
    /// AD's diagnosticMessage.
    pub message: String,
    /// The closest existing ancestor for noSuchObject; empty otherwise.
    pub matched: String,
    /// Referral URIs for result 10.
    pub referral: Vec<String>,
}

impl LdapError {
    /// An error with a code and text, no matchedDN, no referral.
    pub fn new(code: LdapResultCode, message: impl Into<String>) -> Self {
        LdapError {
            code,
            message: message.into(),
            matched: String::new(),
            referral: Vec::new(),
        }
    }

    /// 1 operationsError: the connection has not bound.
    pub fn needs_bind() -> Self {
        LdapError::new(LdapResultCode::OperationsError, NEEDS_BIND)
    }

    /// 49 invalidCredentials with a sub-code.
    pub fn bind(data: &str) -> Self {
        LdapError::new(LdapResultCode::InvalidCredentials, bind_failure(data))
    }

    /// 34 invalidDNSyntax.
    pub fn invalid_dn(dn: &str) -> Self {
        LdapError::new(LdapResultCode::InvalidDNSyntax, invalid_dn(dn))
    }

    /// 32 noSuchObject with the best match as matchedDN.
    pub fn no_such_object(best_match: &str) -> Self {
        LdapError {
            code: LdapResultCode::NoSuchObject,
            message: no_such_object(best_match),
            matched: best_match.to_string(),
            referral: Vec::new(),
        }
    }

    /// 10 referral to another domain's DC.
    pub fn referral(dns_name: &str, dn: &str) -> Self {
        LdapError {
            code: LdapResultCode::Referral,
            message: referral(dns_name),
            matched: String::new(),
            referral: vec![format!("ldap://{dns_name}/{dn}")],
        }
    }

    /// The result to send.
    pub fn into_result(self) -> LdapResult {
        LdapResult {
            code: self.code,
            matcheddn: self.matched,
            message: self.message,
            referral: self.referral,
        }
    }
}

/// Maps a numeric result code; codes ldap3_proto does not name become `other` (80).
pub fn code(n: u32) -> LdapResultCode {
    LdapResultCode::try_from(i64::from(n)).unwrap_or(LdapResultCode::Other)
}

impl From<DirError> for LdapError {
    fn from(e: DirError) -> Self {
        LdapError {
            code: code(e.result_code()),
            message: e.diagnostic(),
            matched: e.matched_dn().to_string(),
            referral: Vec::new(),
        }
    }
}

/// A success result with no text.
pub fn success() -> LdapResult {
    LdapResult {
        code: LdapResultCode::Success,
        matcheddn: String::new(),
        message: String::new(),
        referral: Vec::new(),
    }
}
