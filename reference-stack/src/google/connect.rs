//! Connecting to Google Secure LDAP: TCP to the endpoint, TLS that checks Google's
//! certificate strictly (the request's CA, the host `ldap.google.com`) and presents the
//! LDAP client's certificate, then a bind: anonymous simple (the certificate alone
//! authenticates) or with the client's access credentials.

use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, StdStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::connect::{BindFailure, ConnectError};
use engine_contract::google::{GoogleWorkspaceRequest, SECURE_LDAP_HOST};

/// Why the client's TLS material is unusable (before any connection).
fn material(reason: String) -> ConnectError {
    ConnectError::TrustedCa { reason }
}

/// The TLS client config: the trusted CAs, and the client certificate with its key.
fn tls_config(
    request: &GoogleWorkspaceRequest,
    ca_pem: Option<&str>,
) -> Result<Arc<ClientConfig>, ConnectError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.unwrap_or_default().as_bytes()) {
        let cert = cert.map_err(|e| material(format!("unreadable PEM ({e})")))?;
        roots
            .add(cert)
            .map_err(|e| material(format!("not a usable CA certificate ({e})")))?;
    }
    let settings = &request.settings;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(settings.certificate.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| material(format!("the Google client certificate is unreadable ({e})")))?;
    let key = PrivateKeyDer::from_pem_slice(settings.key.as_bytes())
        .map_err(|e| material(format!("the Google client key is unreadable ({e})")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| material(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| {
            material(format!(
                "the Google client certificate and key do not go together ({e})"
            ))
        })?;
    Ok(Arc::new(config))
}

/// How often a bind refused for Google's bind quota is tried again, and the first wait.
/// Google asks clients over the quota to back off exponentially; four tries with waits of
/// 0.5, 1 and 2 s outlast a quota of one bind per second with room to spare.
const QUOTA_TRIES: u32 = 4;
const FIRST_WAIT: Duration = Duration::from_millis(500);

/// A connection, and how many binds Google refused for its quota before one went through.
pub(super) struct Connected {
    pub ldap: Ldap,
    pub quota_retries: u32,
}

/// Connects and binds, backing off and trying again while Google answers the bind with
/// ADMIN_LIMIT_EXCEEDED (11, its bind quota); every other error is final.
pub(super) async fn connect(
    request: &GoogleWorkspaceRequest,
    ca_pem: Option<&str>,
    timeout: Duration,
) -> Result<Connected, ConnectError> {
    let mut wait = FIRST_WAIT;
    let mut quota_retries = 0;
    loop {
        match connect_once(request, ca_pem, timeout).await {
            Ok(ldap) => {
                return Ok(Connected {
                    ldap,
                    quota_retries,
                })
            }
            Err(ConnectError::Bind {
                failure: BindFailure::Refused { rc: 11, .. },
                ..
            }) if quota_retries + 1 < QUOTA_TRIES => {
                tokio::time::sleep(wait).await;
                wait *= 2;
                quota_retries += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// One connection and bind; every error names Google's host.
async fn connect_once(
    request: &GoogleWorkspaceRequest,
    ca_pem: Option<&str>,
    timeout: Duration,
) -> Result<Ldap, ConnectError> {
    let host = SECURE_LDAP_HOST;
    let port = request.endpoint.port();
    let config = tls_config(request, ca_pem)?;
    let unreachable = |reason: String| ConnectError::Unreachable {
        host: host.to_owned(),
        port,
        reason,
    };
    let stream =
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(request.endpoint)).await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => return Err(unreachable(format!("no answer within {timeout:?}"))),
        };
    let _ = stream.set_nodelay(true);
    let stream = stream.into_std().map_err(|e| unreachable(e.to_string()))?;
    let settings = LdapConnSettings::new()
        .set_std_stream(StdStream::Tcp(stream))
        .set_config(config);
    let url = format!("ldaps://{host}:{port}");
    let (conn, mut ldap) =
        match tokio::time::timeout(timeout, LdapConnAsync::with_settings(settings, &url)).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "TLS handshake timed out after {timeout:?}"
                )))
            }
            Ok(Err(error)) => return Err(ConnectError::from_ldap(host, port, error)),
            Ok(Ok(pair)) => pair,
        };
    tokio::spawn(async move {
        let _ = conn.drive().await;
    });
    let (user, password) = match &request.settings.access_credentials {
        Some(c) => (c.username.as_str(), c.password.as_str()),
        None => ("", ""),
    };
    let bound = ldap
        .with_timeout(timeout)
        .simple_bind(user, password)
        .await
        .map_err(|e| ConnectError::from_ldap(host, port, e))?;
    if let Some(failure) = BindFailure::from_result(bound.rc, &bound.text) {
        let account = match user {
            "" => "the client certificate".to_owned(),
            name => name.to_owned(),
        };
        return Err(ConnectError::Bind {
            host: host.to_owned(),
            account,
            failure,
        });
    }
    Ok(ldap)
}
