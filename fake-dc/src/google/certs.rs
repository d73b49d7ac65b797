//! The certificates of a Google Secure LDAP service: the client certificates the Admin
//! console hands out (one per LDAP client, from Google's own issuing CA), the server's
//! certificate, and the TLS configuration that asks every client for its certificate.
//!
//! The handshake accepts any client certificate whose key the client proves it holds,
//! and none at all; the certificate is judged afterwards, per operation, so a client
//! with a missing, revoked, expired or unknown certificate gets an LDAP result it can
//! report (INAPPROPRIATE_AUTHENTICATION, 48, as Google documents for a client
//! certificate that is malformed, expired or otherwise invalid) rather than a torn
//! connection.

use std::collections::HashMap;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, ServerConfig, SignatureScheme};
use time::{Duration, OffsetDateTime};

use super::spec::{CertState, GoogleSpec};
use crate::tls::{provider, CertificateAuthority, TlsError, PROTOCOL_VERSIONS};

/// One client's certificate and key, as the Admin console offers them for download.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The client's name from the fixture.
    pub name: String,
    /// What the fixture made of the certificate.
    pub state: CertState,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The access credentials the fixture gave it, if any.
    pub access_credentials: Option<super::spec::AccessCredentials>,
}

/// Who a presented certificate belongs to, and whether it is still good.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    /// The client's index in the fixture's `clients`.
    pub client: usize,
    pub state: CertState,
}

/// Every certificate the service issued, by its DER bytes.
pub(crate) type Registry = HashMap<Vec<u8>, Issued>;

fn generate_err(what: &'static str) -> impl FnOnce(rcgen::Error) -> TlsError {
    move |source| TlsError::Generate { what, source }
}

/// Issues each client of `spec` a certificate signed by a fresh issuing CA named as
/// Google's is, and returns them with the registry the listener judges them by.
pub(crate) fn issue_clients(
    spec: &GoogleSpec,
) -> Result<(Vec<ClientCredentials>, Registry), TlsError> {
    let now = OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate().map_err(generate_err("Secure LDAP client CA key"))?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = google_subject("Google LDAP Client CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now - Duration::days(3 * 365);
    ca.not_after = now + Duration::days(10 * 365);
    let issuer = Issuer::new(ca, ca_key);

    let mut out = Vec::new();
    let mut registry = Registry::new();
    for (index, client) in spec.clients.iter().enumerate() {
        let key = KeyPair::generate().map_err(generate_err("Secure LDAP client key"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = google_subject("LDAP Client");
        params.distinguished_name.push(
            DnType::OrganizationalUnitName,
            format!("GSuite {}", client.name),
        );
        // Google's client certificates last three years; an expired one ended yesterday.
        let (from, to) = match client.certificate {
            CertState::Expired => (now - Duration::days(3 * 365 + 1), now - Duration::days(1)),
            CertState::Valid | CertState::Revoked => {
                (now - Duration::days(1), now + Duration::days(3 * 365))
            }
        };
        params.not_before = from;
        params.not_after = to;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(generate_err("Secure LDAP client certificate"))?;
        registry.insert(
            cert.der().to_vec(),
            Issued {
                client: index,
                state: client.certificate,
            },
        );
        out.push(ClientCredentials {
            name: client.name.clone(),
            state: client.certificate,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            access_credentials: client.access_credentials.clone(),
        });
    }
    Ok((out, registry))
}

/// The subject fields Google puts in its LDAP certificates.
fn google_subject(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "Google Inc.");
    dn.push(DnType::LocalityName, "Mountain View");
    dn.push(DnType::StateOrProvinceName, "California");
    dn.push(DnType::CountryName, "US");
    dn
}

/// The listener's TLS configuration: a server certificate from fake-dc's CA for
/// `host_names`, and a request for a client certificate (optional at this layer).
pub(crate) fn server_config(
    ca: &CertificateAuthority,
    host_names: &[String],
) -> Result<Arc<ServerConfig>, TlsError> {
    let (cert, key) = ca.issue_server_cert(host_names)?;
    let provider = provider();
    let verifier = Arc::new(AnyClientCertificate {
        provider: provider.clone(),
    });
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|source| TlsError::Config {
            side: "server",
            source,
        })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], key)
        .map_err(|source| TlsError::Config {
            side: "server",
            source,
        })?;
    Ok(Arc::new(config))
}

/// Asks for a client certificate and accepts any, checking only that the client holds
/// its key: which certificate it is, and whether it is still good, is the session's
/// judgement.
#[derive(Debug)]
struct AnyClientCertificate {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    // No hint: GnuTLS (Debian's libldap) and OpenSSL then send whatever certificate
    // they were given, so an unknown one reaches the session and is refused there.
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
