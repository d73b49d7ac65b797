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

mod error;

pub use error::{BindFailure, ConnectError};

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
