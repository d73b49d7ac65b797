//! The connect stage: a TCP connection to a domain controller, TLS as the encryption mode
//! says, and a simple bind, with failover to the secondary host only when the primary
//! cannot be reached.
//!
//! # How a connection is made
//!
//! The socket is opened here (through the [`Resolver`], under the per-operation timeout)
//! and handed to ldap3 with `LdapConnSettings::set_std_stream`; ldap3 is given the URL
//! `ldaps://<host name>:<port>`, so TLS checks the certificate against the host NAME even
//! when the resolver points that name at a loopback port. ldap3 0.12 then does the TLS
//! handshake with the rustls config chosen here:
//!
//! - `strict`: the given CAs only (not the system store: a DC's certificate comes from
//!   the customer's own CA), validity period and host name, TLS 1.2 or 1.3;
//! - `relaxed`: any certificate, but the handshake signature is still verified, so the
//!   session is encrypted to whoever holds the certificate's key;
//! - `none`: plain LDAP.
//!
//! # Failover (SPEC "Connector settings")
//!
//! Only [`ConnectError::is_unreachable`] errors move on to the secondary host: the name
//! does not resolve, the connection is refused, times out or is reset. A TLS or
//! certificate failure and every bind failure are configuration errors that the other DC
//! would answer the same way, so they end the attempt on the host that produced them.
//! Resolution failures count as unreachable: a DC taken out of DNS is the case failover
//! exists for (a misspelt name then fails on both hosts, each error naming its host).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, StdStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::report::TlsOutcome;
use crate::resolve::{ResolveError, Resolver};
use crate::settings::{ConnectorSettings, EncryptionMode};

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

/// The two TLS client configs a run may use, built once.
#[derive(Clone)]
pub struct TlsConfigs {
    /// Trusts only the given CAs.
    strict: Arc<ClientConfig>,
    /// Accepts any certificate.
    relaxed: Arc<ClientConfig>,
}

impl std::fmt::Debug for TlsConfigs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfigs { .. }")
    }
}

/// TLS 1.2 and 1.3: AD supports both; older versions are broken.
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

impl TlsConfigs {
    /// Builds both configs; `trusted_ca_pems` are PEM texts, each with one or more
    /// certificates. An empty list is allowed: strict mode then trusts nothing and every
    /// certificate fails as untrusted, which the report says plainly.
    pub fn new(trusted_ca_pems: &[String]) -> Result<Self, ConnectError> {
        let mut roots = RootCertStore::empty();
        for pem in trusted_ca_pems {
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| ConnectError::TrustedCa {
                    reason: format!("unreadable PEM ({e})"),
                })?;
                roots.add(cert).map_err(|e| ConnectError::TrustedCa {
                    reason: format!("not a usable CA certificate ({e})"),
                })?;
                found += 1;
            }
            if found == 0 {
                return Err(ConnectError::TrustedCa {
                    reason: "a PEM text holds no CERTIFICATE block".into(),
                });
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls_error = |e: rustls::Error| ConnectError::TrustedCa {
            reason: format!("TLS configuration failed ({e})"),
        };
        let strict = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(VERSIONS)
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let relaxed = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(VERSIONS)
            .map_err(tls_error)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth();
        Ok(Self {
            strict: Arc::new(strict),
            relaxed: Arc::new(relaxed),
        })
    }

    fn for_mode(&self, mode: EncryptionMode) -> Option<Arc<ClientConfig>> {
        match mode {
            EncryptionMode::Strict => Some(self.strict.clone()),
            EncryptionMode::Relaxed => Some(self.relaxed.clone()),
            EncryptionMode::None => None,
        }
    }
}

/// `relaxed` mode: any certificate is accepted, but the handshake signatures are still
/// checked against it, so a man in the middle must at least present a key it holds.
#[derive(Debug)]
struct AnyCertificate {
    /// The provider's signature algorithms, for the handshake checks.
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What every connection of a run shares.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Where host names point.
    pub resolver: Resolver,
    /// The TLS configs for strict and relaxed mode.
    pub tls: TlsConfigs,
    /// Bound on each step: TCP connect, TLS handshake, each LDAP operation.
    pub timeout: Duration,
}

impl ConnectOptions {
    /// Options from a resolver, the trusted CAs and the per-operation timeout.
    pub fn new(
        resolver: Resolver,
        trusted_ca_pems: &[String],
        timeout: Duration,
    ) -> Result<Self, ConnectError> {
        Ok(Self {
            resolver,
            tls: TlsConfigs::new(trusted_ca_pems)?,
            timeout,
        })
    }
}

/// A bound LDAP connection and what it took to get it.
pub struct Connection {
    /// The ldap3 handle; its driver task ends when the handle and its clones are dropped.
    pub ldap: Ldap,
    /// The host that answered (the one every later outcome names).
    pub host: String,
    /// The port connected to.
    pub port: u16,
    /// How the connection is protected.
    pub tls: TlsOutcome,
    /// Hosts tried first that could not be reached (for the report's warnings).
    pub unreachable: Vec<ConnectError>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// A failed connect: the error, the host that produced it and the TLS outcome.
#[derive(Debug)]
pub struct ConnectFailure {
    /// The host whose answer ended the attempt (the last one tried).
    pub host: Option<String>,
    /// How far TLS got.
    pub tls: TlsOutcome,
    /// Why.
    pub error: ConnectError,
}

/// Opens a connection to `host:port` with the given encryption, unbound.
pub async fn open(
    options: &ConnectOptions,
    host: &str,
    port: u16,
    mode: EncryptionMode,
) -> Result<(Ldap, TlsOutcome), ConnectError> {
    let addrs = options
        .resolver
        .resolve(host, port)
        .await
        .map_err(|source| ConnectError::Unresolved {
            host: host.to_owned(),
            source,
        })?;
    let stream = tcp_connect(host, port, &addrs, options.timeout).await?;
    let mut settings = LdapConnSettings::new().set_std_stream(StdStream::Tcp(stream));
    let scheme = match options.tls.for_mode(mode) {
        Some(config) => {
            settings = settings.set_config(config);
            "ldaps"
        }
        None => "ldap",
    };
    let url_host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let url = format!("{scheme}://{url_host}:{port}");
    let connecting = LdapConnAsync::with_settings(settings, &url);
    let (conn, ldap) = match tokio::time::timeout(options.timeout, connecting).await {
        Err(_) => {
            return Err(ConnectError::Unreachable {
                host: host.to_owned(),
                port,
                reason: format!("TLS handshake timed out after {:?}", options.timeout),
            })
        }
        Ok(Err(error)) => return Err(ConnectError::from_ldap(host, port, error)),
        Ok(Ok(pair)) => pair,
    };
    tokio::spawn(async move {
        // The driver ends with an error when the peer drops the connection; the
        // operations waiting on it see that as their own error.
        let _ = conn.drive().await;
    });
    let tls = match mode {
        EncryptionMode::Strict => TlsOutcome::Verified {
            server_name: host.to_owned(),
        },
        EncryptionMode::Relaxed => TlsOutcome::Relaxed,
        EncryptionMode::None => TlsOutcome::Plain,
    };
    Ok((ldap, tls))
}

async fn tcp_connect(
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<std::net::TcpStream, ConnectError> {
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // LDAP is request/response in small messages: Nagle would add a delayed
                // ACK's worth of latency to every one.
                let _ = stream.set_nodelay(true);
                return stream.into_std().map_err(|e| ConnectError::Unreachable {
                    host: host.to_owned(),
                    port,
                    reason: e.to_string(),
                });
            }
            Ok(Err(error)) => last = Some(format!("{addr}: {error}")),
            Err(_) => last = Some(format!("{addr}: connect timed out after {timeout:?}")),
        }
    }
    Err(ConnectError::Unreachable {
        host: host.to_owned(),
        port,
        reason: last.unwrap_or_else(|| "no address to connect to".into()),
    })
}

/// A simple bind, refusing empty passwords before the wire.
pub async fn bind(
    ldap: &mut Ldap,
    host: &str,
    port: u16,
    dn: &str,
    password: &str,
    timeout: Duration,
) -> Result<(), ConnectError> {
    if password.is_empty() {
        return Err(ConnectError::EmptyPassword {
            host: host.to_owned(),
            account: dn.to_owned(),
        });
    }
    let result = ldap
        .with_timeout(timeout)
        .simple_bind(dn, password)
        .await
        .map_err(|error| ConnectError::from_ldap(host, port, error))?;
    match BindFailure::from_result(result.rc, &result.text) {
        None => Ok(()),
        Some(failure) => Err(ConnectError::Bind {
            host: host.to_owned(),
            account: dn.to_owned(),
            failure,
        }),
    }
}

/// Opens and binds to `host` on `port` as the connector's service account.
pub async fn connect_host(
    options: &ConnectOptions,
    connector: &ConnectorSettings,
    host: &str,
    port: u16,
) -> Result<Connection, (TlsOutcome, ConnectError)> {
    if connector.password.is_empty() {
        return Err((
            TlsOutcome::NotConnected,
            ConnectError::EmptyPassword {
                host: host.to_owned(),
                account: connector.bind_dn.clone(),
            },
        ));
    }
    let (mut ldap, tls) = open(options, host, port, connector.encryption)
        .await
        .map_err(|error| (error.tls_outcome(connector.encryption), error))?;
    if let Err(error) = bind(
        &mut ldap,
        host,
        port,
        &connector.bind_dn,
        &connector.password,
        options.timeout,
    )
    .await
    {
        return Err((tls, error));
    }
    Ok(Connection {
        ldap,
        host: host.to_owned(),
        port,
        tls,
        unreachable: Vec::new(),
    })
}

/// Connects and binds to the primary host, or to the secondary when the primary cannot
/// be reached.
pub async fn connect(
    options: &ConnectOptions,
    connector: &ConnectorSettings,
) -> Result<Connection, ConnectFailure> {
    let mut unreachable = Vec::new();
    let mut last_host = None;
    for host in connector.hosts() {
        last_host = Some(host.to_owned());
        match connect_host(options, connector, host, connector.port).await {
            Ok(mut connection) => {
                connection.unreachable = unreachable;
                return Ok(connection);
            }
            Err((_, error)) if error.is_unreachable() => unreachable.push(error),
            Err((tls, error)) => {
                return Err(ConnectFailure {
                    host: Some(host.to_owned()),
                    tls,
                    error,
                })
            }
        }
    }
    let error = if unreachable.len() == 1 {
        unreachable.remove(0)
    } else {
        ConnectError::NoHostReachable(unreachable)
    };
    Err(ConnectFailure {
        host: last_host,
        tls: error.tls_outcome(connector.encryption),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ad_sub_code_has_its_own_failure() {
        let text = |code: &str| {
            format!("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {code}, v4563\0")
        };
        for (code, expected) in [
            ("52e", BindFailure::BadCredentials),
            ("525", BindFailure::NoSuchUser),
            ("530", BindFailure::LogonHours),
            ("531", BindFailure::Workstation),
            ("532", BindFailure::PasswordExpired),
            ("533", BindFailure::AccountDisabled),
            ("701", BindFailure::AccountExpired),
            ("773", BindFailure::MustChangePassword),
            ("775", BindFailure::LockedOut),
        ] {
            assert_eq!(
                BindFailure::from_result(49, &text(code)),
                Some(expected),
                "{code}"
            );
        }
        assert_eq!(BindFailure::from_result(0, ""), None);
        assert!(matches!(
            BindFailure::from_result(49, "no sub-code"),
            Some(BindFailure::InvalidCredentials { .. })
        ));
        assert!(matches!(
            BindFailure::from_result(8, "BindSimple: Transport encryption required."),
            Some(BindFailure::Refused { rc: 8, .. })
        ));
    }

    #[test]
    fn bad_ca_pem_is_a_configuration_error() {
        assert!(matches!(
            TlsConfigs::new(&["not a pem".into()]),
            Err(ConnectError::TrustedCa { .. })
        ));
        assert!(TlsConfigs::new(&[]).is_ok());
    }
}
