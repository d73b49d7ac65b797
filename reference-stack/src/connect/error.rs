//! Why a connection or bind failed: AD's bind sub-codes, unreachable hosts, TLS with a
//! hint, and the mapping from ldap3's errors. Each variant names its host.

use super::*;

/// Why an AD simple bind was refused, from the result code and the `data XXX` sub-code
/// of the diagnostic message (AD-BEHAVIOUR.md "Bind").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindFailure {
    /// `data 52e`: wrong password (Windows also answers this for unknown accounts).
    #[error("invalid credentials (AD data 52e): the password is wrong or the account does not exist; check the bind DN and password")]
    BadCredentials,
    /// `data 525`: no such user.
    #[error("no such user (AD data 525): the bind DN names no account; check the bind DN")]
    NoSuchUser,
    /// `data 530`: outside the account's permitted logon hours.
    #[error("not permitted to log on at this time (AD data 530); widen the account's logon hours")]
    LogonHours,
    /// `data 531`: not permitted to log on from this workstation.
    #[error("not permitted to log on from this workstation (AD data 531); allow this host in the account's logon workstations")]
    Workstation,
    /// `data 532`: the password has expired.
    #[error("password expired (AD data 532); set a new password for the account")]
    PasswordExpired,
    /// `data 533`: the account is disabled.
    #[error("account disabled (AD data 533); enable the account in Active Directory")]
    AccountDisabled,
    /// `data 701`: the account has expired.
    #[error("account expired (AD data 701); extend the account's expiry date")]
    AccountExpired,
    /// `data 773`: the password must be changed before the first logon.
    #[error("password must be changed (AD data 773); log on once interactively or clear 'must change password at next logon'")]
    MustChangePassword,
    /// `data 775`: the account is locked out.
    #[error("account locked out (AD data 775); unlock it, and check for a wrong password stored elsewhere")]
    LockedOut,
    /// Result 49 without a sub-code this stack knows.
    #[error("invalid credentials (result 49: {diagnostic})")]
    InvalidCredentials {
        /// The server's diagnostic message.
        diagnostic: String,
    },
    /// Any other result code (e.g. 8 strongerAuthRequired when plain binds are refused).
    #[error("bind refused with result {rc}: {diagnostic}")]
    Refused {
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic message.
        diagnostic: String,
    },
}

impl BindFailure {
    /// Turns a non-zero bind result into a failure; `None` for success.
    pub fn from_result(rc: u32, diagnostic: &str) -> Option<Self> {
        let diagnostic = diagnostic.trim_end_matches(['\0', '\n']).to_owned();
        match rc {
            0 => None,
            49 => Some(match sub_code(&diagnostic).as_deref() {
                Some("52e") => BindFailure::BadCredentials,
                Some("525") => BindFailure::NoSuchUser,
                Some("530") => BindFailure::LogonHours,
                Some("531") => BindFailure::Workstation,
                Some("532") => BindFailure::PasswordExpired,
                Some("533") => BindFailure::AccountDisabled,
                Some("701") => BindFailure::AccountExpired,
                Some("773") => BindFailure::MustChangePassword,
                Some("775") => BindFailure::LockedOut,
                _ => BindFailure::InvalidCredentials { diagnostic },
            }),
            rc => Some(BindFailure::Refused { rc, diagnostic }),
        }
    }
}

/// The hex sub-code after `data ` in an AD diagnostic (`…, data 52e, v4563`), lower case.
fn sub_code(diagnostic: &str) -> Option<String> {
    let start = diagnostic.find("data ")? + "data ".len();
    let code: String = diagnostic[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (!code.is_empty()).then(|| code.to_ascii_lowercase())
}

/// Why a connection to one host failed. Every variant names its host.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The trusted CA list could not be read; nothing was attempted.
    #[error("trusted CAs: {reason}; give PEM-encoded CA certificates")]
    TrustedCa {
        /// What was wrong with the PEM.
        reason: String,
    },
    /// AD binds an empty password anonymously, so it is refused before the wire.
    #[error("{host}: refusing to bind '{account}' with an empty password (Active Directory would bind anonymously)")]
    EmptyPassword {
        /// The host that would have been asked.
        host: String,
        /// The account.
        account: String,
    },
    /// The host name did not resolve.
    #[error("{host}: cannot be reached")]
    Unresolved {
        /// The host.
        host: String,
        /// The resolver's answer.
        #[source]
        source: ResolveError,
    },
    /// Connection refused, timed out or reset: the host cannot be reached.
    #[error(
        "{host}:{port}: cannot be reached: {reason}; check that the DC is up and the port is open"
    )]
    Unreachable {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Refused, timed out, reset, as the system put it.
        reason: String,
    },
    /// The DC took a request and sent no complete answer within the per-operation
    /// timeout: stalled, dripping, or answering with a message ID nobody asked for.
    #[error(
        "{host}:{port}: no complete answer within the per-operation timeout; the DC is \
         reachable but stalled or sent an answer this client cannot match to its request"
    )]
    NoAnswer {
        /// The host.
        host: String,
        /// The port.
        port: u16,
    },
    /// Neither host could be reached; each attempt in order.
    #[error("no domain controller could be reached: {}", join(.0))]
    NoHostReachable(Vec<ConnectError>),
    /// The TLS handshake or the certificate check failed.
    #[error("{host}:{port}: TLS failed: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// What TLS said, with a hint.
        reason: String,
    },
    /// The bind was refused.
    #[error("{host}: bind as '{account}' failed: {failure}")]
    Bind {
        /// The host that refused.
        host: String,
        /// The DN bound as.
        account: String,
        /// Why, by AD sub-code.
        failure: BindFailure,
    },
    /// The connection broke in a way that is neither unreachable nor TLS.
    #[error("{host}: LDAP error")]
    Ldap {
        /// The host.
        host: String,
        /// ldap3's error (boxed: it is large and rare).
        #[source]
        source: Box<LdapError>,
    },
}

fn join(errors: &[ConnectError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConnectError {
    /// Whether the secondary host should be tried after this error (SPEC: only when the
    /// primary cannot be reached).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ConnectError::Unresolved { .. }
                | ConnectError::Unreachable { .. }
                | ConnectError::NoAnswer { .. }
                | ConnectError::NoHostReachable(_)
        )
    }

    /// What the report records about TLS for this failure.
    pub fn tls_outcome(&self, mode: EncryptionMode) -> TlsOutcome {
        match self {
            ConnectError::Tls { reason, .. } => TlsOutcome::Failed {
                reason: reason.clone(),
            },
            _ if mode == EncryptionMode::None => TlsOutcome::Plain,
            _ => TlsOutcome::NotConnected,
        }
    }

    /// Classifies an ldap3 error met while talking to `host`.
    pub fn from_ldap(host: &str, port: u16, error: LdapError) -> Self {
        match error {
            LdapError::Io { source } => Self::from_io(host, port, source),
            LdapError::Timeout { .. } => ConnectError::NoAnswer {
                host: host.to_owned(),
                port,
            },
            LdapError::DNSName { source } => ConnectError::Tls {
                host: host.to_owned(),
                port,
                reason: format!(
                    "'{host}' cannot be a TLS server name ({source}); use the DC's DNS name"
                ),
            },
            // The connection driver went away: the socket closed under the operation.
            LdapError::EndOfStream
            | LdapError::OpSend { .. }
            | LdapError::ResultRecv { .. }
            | LdapError::IdScrubSend { .. } => ConnectError::Unreachable {
                host: host.to_owned(),
                port,
                reason: "connection closed by the server".into(),
            },
            source => ConnectError::Ldap {
                host: host.to_owned(),
                source: Box::new(source),
            },
        }
    }

    fn from_io(host: &str, port: u16, error: io::Error) -> Self {
        if let Some(tls) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return ConnectError::Tls {
                host: host.to_owned(),
                port,
                reason: explain_tls(host, tls),
            };
        }
        use io::ErrorKind::*;
        match error.kind() {
            ConnectionRefused | ConnectionReset | ConnectionAborted | TimedOut | NotConnected
            | BrokenPipe | UnexpectedEof | HostUnreachable | NetworkUnreachable
            | AddrNotAvailable => ConnectError::Unreachable {
                host: host.to_owned(),
                port,
                reason: error.to_string(),
            },
            _ => ConnectError::Ldap {
                host: host.to_owned(),
                source: Box::new(LdapError::from(error)),
            },
        }
    }
}

/// A rustls error in words an administrator can act on.
fn explain_tls(host: &str, error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => format!(
            "the certificate does not chain to a trusted CA ({error}); add the issuing CA to \
             the trusted CAs, or use relaxed encryption"
        ),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            format!("the certificate has expired ({error}); renew the DC's certificate")
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            format!(
                "the certificate is not valid yet ({error}); check the DC's and this host's clocks"
            )
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => format!(
            "the certificate is not valid for '{host}' ({error}); connect by a name the \
             certificate lists, or reissue it with '{host}' as a subjectAltName"
        ),
        rustls::Error::AlertReceived(alert) => format!(
            "the server refused the handshake (alert {alert:?}); check the DC's certificate \
             and TLS configuration"
        ),
        other => other.to_string(),
    }
}
