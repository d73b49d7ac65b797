//! Certificates and rustls configurations for fake-dc's TLS listeners (LDAPS, GC over TLS).
//!
//! Each DC process makes one [`CertificateAuthority`] at start-up and asks it for a
//! [`rustls::ServerConfig`] per listener, choosing a [`CertProfile`]: a certificate a strict
//! client accepts, or one that is wrong in exactly one way (self-signed, expired, wrong
//! host name, signed by a CA nobody trusts), so every branch of a client's certificate
//! checking can be driven on purpose.
//!
//! Everything is built on rustls' `ring` provider, passed explicitly: the workspace compiles
//! no other provider, and relying on a process-wide default would make a config's
//! behaviour depend on which test or binary happened to install one first.
//!
//! Keys are ECDSA P-256 throughout. RSA key generation is slow (and unsupported by rcgen on
//! `ring`), while P-256 keys take microseconds, so a DC can issue fresh certificates on
//! every start without slowing test suites down. Measured on a 2-core development machine,
//! debug build: a CA plus one server config for each of the five profiles (seven keys and
//! certificates, counting the throwaway CA of `untrusted-ca`) takes 1.7-2.5 ms in total;
//! the `tls_generation_is_fast` test prints the time with `--nocapture`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, DnsName, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The only name the `wrong-host` profile's certificate is valid for. `.invalid` is
/// reserved (RFC 2606), so no real host can ever match it by accident.
pub const WRONG_HOST_NAME: &str = "wrong-host.invalid";

/// Which certificate a TLS listener presents.
///
/// Every profile except [`CertProfile::CaSigned`] must make a strict client (trusting only
/// [`CertificateAuthority::ca_pem`], connecting by one of the DC's host names) fail, each
/// for a different reason. A relaxed client ([`relaxed_client_config`]) accepts them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertProfile {
    /// Signed by the DC's CA, currently valid, subjectAltNames for every host name.
    #[default]
    CaSigned,
    /// Signed by its own key, with the right host names; no CA vouches for it.
    SelfSigned,
    /// Signed by the DC's CA with the right host names, but its validity ended yesterday.
    Expired,
    /// Signed by the DC's CA and valid, but only for [`WRONG_HOST_NAME`].
    WrongHost,
    /// Valid, with the right host names, but signed by a second CA that is never published.
    UntrustedCa,
}

impl CertProfile {
    /// Every profile, in the order the docs list them; handy for tests that cover them all.
    pub const ALL: [CertProfile; 5] = [
        CertProfile::CaSigned,
        CertProfile::SelfSigned,
        CertProfile::Expired,
        CertProfile::WrongHost,
        CertProfile::UntrustedCa,
    ];

    /// The kebab-case name used in YAML, on the command line and in [`fmt::Display`].
    pub fn name(self) -> &'static str {
        match self {
            CertProfile::CaSigned => "ca-signed",
            CertProfile::SelfSigned => "self-signed",
            CertProfile::Expired => "expired",
            CertProfile::WrongHost => "wrong-host",
            CertProfile::UntrustedCa => "untrusted-ca",
        }
    }
}

impl fmt::Display for CertProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A certificate profile name that is not one of [`CertProfile::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown certificate profile `{given}`; valid profiles are: \
     ca-signed, self-signed, expired, wrong-host, untrusted-ca"
)]
pub struct UnknownCertProfile {
    /// The text that did not match any profile, kept so the message can quote it.
    pub given: String,
}

impl FromStr for CertProfile {
    type Err = UnknownCertProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CertProfile::ALL
            .into_iter()
            .find(|profile| profile.name() == s)
            .ok_or_else(|| UnknownCertProfile {
                given: s.to_owned(),
            })
    }
}

/// Why a certificate or TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A server certificate was requested without any host name to put in it.
    #[error(
        "no host names given for the TLS certificate; pass the DC's DNS name(s), \
         e.g. dc1.corp.example.test, so clients can check the certificate against the \
         name they connect to"
    )]
    NoHostNames,

    /// A host name cannot appear in a certificate's subjectAltName.
    #[error(
        "`{name}` cannot be put in a TLS certificate: it is neither an IP address nor a \
         valid DNS name ({reason}); use the DC's fully qualified host name, \
         e.g. dc1.corp.example.test"
    )]
    InvalidHostName {
        /// The host name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// rcgen failed to make a key or sign a certificate.
    #[error("could not generate the {what}: {source}")]
    Generate {
        /// Which key or certificate was being made, e.g. "CA certificate".
        what: &'static str,
        /// rcgen's own error.
        #[source]
        source: rcgen::Error,
    },

    /// rustls refused the generated material or the protocol settings.
    #[error("could not build the TLS {side} configuration: {source}")]
    Config {
        /// "server" or "client".
        side: &'static str,
        /// rustls' own error.
        #[source]
        source: rustls::Error,
    },

    /// The CA PEM given to a client could not be read.
    #[error(
        "could not read the CA certificate PEM: {source}; pass the CA file fake-dc \
         wrote at start-up (it begins with -----BEGIN CERTIFICATE-----)"
    )]
    CaPem {
        /// The PEM parser's error.
        #[source]
        source: rustls::pki_types::pem::Error,
    },

    /// The CA PEM given to a client held no certificate at all.
    #[error(
        "the CA PEM contains no CERTIFICATE block; pass the CA file fake-dc wrote at \
         start-up, not a key or an empty file"
    )]
    NoCaCertificate,

    /// rustls would not accept a CA certificate as a trust anchor.
    #[error("the CA certificate cannot be used as a trust anchor: {source}")]
    BadCaCertificate {
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },
}

fn generate_err(what: &'static str) -> impl FnOnce(rcgen::Error) -> TlsError {
    move |source| TlsError::Generate { what, source }
}

/// The one crypto provider this workspace builds configs with.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Both versions, because AD (and the sync clients under test) still negotiate TLS 1.2.
pub(crate) const PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The per-process certificate authority that signs every trusted listener certificate.
///
/// Made fresh on every start, so its key never touches disk and no test can come to rely
/// on a certificate from an earlier run. Only the CA certificate is published
/// ([`Self::ca_pem`]); clients that should trust the DC trust exactly that.
pub struct CertificateAuthority {
    /// Subject and signing key of the CA; signs the leaves of the trusting profiles.
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate in DER, for rustls root stores.
    ca_der: CertificateDer<'static>,
    /// The same certificate in PEM, made once because every listener, test and the CLI
    /// (which writes it to disk) asks for it.
    ca_pem: String,
    /// The CA's subject common name, for `Debug` output (the key is never printed).
    common_name: String,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Makes a new self-signed root CA named "`{name}` Test Root CA" (e.g. `generate("fake-dc")`
    /// gives "fake-dc Test Root CA"), with a fresh ECDSA P-256 key.
    pub fn generate(name: &str) -> Result<Self, TlsError> {
        let common_name = format!("{name} Test Root CA");
        let now = OffsetDateTime::now_utc();
        let key = KeyPair::generate().map_err(generate_err("CA key"))?;

        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(&common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, name);
        // Clients find a certificate's issuer by subject name. Were every run's CA named
        // alike, a client holding another run's CA would match it by name, fail on the
        // signature, and report BadSignature instead of UnknownIssuer; a per-key unit
        // keeps the CN readable while making each CA's subject its own.
        let key_id: String = params
            .key_identifier(&key)
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, format!("CA key {key_id}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        // Starts well before the `expired` leaf's not_before so that, to a client, the
        // only thing wrong with that leaf is its own validity.
        params.not_before = now - Duration::days(60);
        params.not_after = now + Duration::days(5 * 365);

        let cert = params
            .self_signed(&key)
            .map_err(generate_err("CA certificate"))?;
        Ok(Self {
            ca_pem: cert.pem(),
            ca_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            common_name,
        })
    }

    /// The CA certificate in PEM: what tests and clients trust, and what the CLI writes out.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate in DER, ready for a [`RootCertStore`].
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// Issues a fresh leaf certificate for `profile` and wraps it in a server config that
    /// offers TLS 1.2 and 1.3 and asks for no client certificate.
    ///
    /// `host_names` are the names clients will connect by (e.g. `dc1.corp.example.test`,
    /// `corp.example.test`); all go in DNS subjectAltNames and the first also in the
    /// subject CN. An entry that parses as an IP address becomes an IP subjectAltName.
    /// Nothing else is added — no `localhost`, no `127.0.0.1` — so a test that connects
    /// by anything but a listed name exercises the client's host-name check for real.
    /// The `wrong-host` profile ignores `host_names` for the certificate's contents but
    /// still rejects empty or invalid ones, so a bad setting fails the same way whichever
    /// profile is chosen.
    pub fn server_config(
        &self,
        profile: CertProfile,
        host_names: &[String],
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let sans = subject_alt_names(host_names)?;
        let first = host_names.first().ok_or(TlsError::NoHostNames)?;
        let now = OffsetDateTime::now_utc();
        let valid_from = now - Duration::days(1);
        let valid_to = now + Duration::days(365);

        let key = KeyPair::generate().map_err(generate_err("server key"))?;
        let cert = match profile {
            CertProfile::CaSigned => leaf_params(first, sans, valid_from, valid_to)
                .signed_by(&key, &self.issuer)
                .map_err(generate_err("CA-signed server certificate"))?,
            CertProfile::SelfSigned => leaf_params(first, sans, valid_from, valid_to)
                .self_signed(&key)
                .map_err(generate_err("self-signed server certificate"))?,
            CertProfile::Expired => leaf_params(
                first,
                sans,
                now - Duration::days(30),
                now - Duration::days(1),
            )
            .signed_by(&key, &self.issuer)
            .map_err(generate_err("expired server certificate"))?,
            CertProfile::WrongHost => {
                let wrong = subject_alt_names(&[WRONG_HOST_NAME.to_owned()])?;
                leaf_params(WRONG_HOST_NAME, wrong, valid_from, valid_to)
                    .signed_by(&key, &self.issuer)
                    .map_err(generate_err("wrong-host server certificate"))?
            }
            CertProfile::UntrustedCa => {
                // Made per call and dropped at once: nobody can ever be handed this CA,
                // so no client can be configured to trust it by mistake.
                let stranger = CertificateAuthority::generate("fake-dc Untrusted")?;
                leaf_params(first, sans, valid_from, valid_to)
                    .signed_by(&key, &stranger.issuer)
                    .map_err(generate_err("untrusted-CA server certificate"))?
            }
        };

        // Only the leaf is sent, as a DC with a certificate straight from its root would;
        // clients must already hold the CA, which is the point of the exercise.
        let chain = vec![cert.der().clone()];
        let key = PrivateKeyDer::from(key);
        let config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(PROTOCOL_VERSIONS)
            .map_err(|source| TlsError::Config {
                side: "server",
                source,
            })?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|source| TlsError::Config {
                side: "server",
                source,
            })?;
        Ok(Arc::new(config))
    }
}

impl CertificateAuthority {
    /// A current, CA-signed leaf for `host_names` and its key, for a listener that builds
    /// its own rustls config (Google Secure LDAP asks for client certificates).
    pub(crate) fn issue_server_cert(
        &self,
        host_names: &[String],
    ) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
        let sans = subject_alt_names(host_names)?;
        let first = host_names.first().ok_or(TlsError::NoHostNames)?;
        let now = OffsetDateTime::now_utc();
        let key = KeyPair::generate().map_err(generate_err("server key"))?;
        let cert = leaf_params(
            first,
            sans,
            now - Duration::days(1),
            now + Duration::days(365),
        )
        .signed_by(&key, &self.issuer)
        .map_err(generate_err("CA-signed server certificate"))?;
        Ok((cert.der().clone(), PrivateKeyDer::from(key)))
    }
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn leaf_params(
    common_name: &str,
    subject_alt_names: Vec<SanType>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(common_name);
    params.subject_alt_names = subject_alt_names;
    params.not_before = not_before;
    params.not_after = not_after;
    // ExplicitNoCa writes `CA:FALSE`, so no client can mistake a leaf for an issuer.
    params.is_ca = IsCa::ExplicitNoCa;
    // ECDSA keys sign the handshake; they never encrypt a key, so digitalSignature only.
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params
}

/// Checks every host name before any key is made, so a typo fails at start-up with the
/// name quoted rather than as a mysterious certificate error in some client later.
fn subject_alt_names(host_names: &[String]) -> Result<Vec<SanType>, TlsError> {
    if host_names.is_empty() {
        return Err(TlsError::NoHostNames);
    }
    host_names
        .iter()
        .map(|name| {
            if let Ok(ip) = name.parse::<IpAddr>() {
                return Ok(SanType::IpAddress(ip));
            }
            let invalid = |reason: String| TlsError::InvalidHostName {
                name: name.clone(),
                reason,
            };
            // A leading wildcard label is legal in a SAN but not in a DnsName, so the
            // rest of the name is what gets checked.
            let checked = name.strip_prefix("*.").unwrap_or(name);
            DnsName::try_from(checked).map_err(|e| invalid(e.to_string()))?;
            let ia5 = name
                .as_str()
                .try_into()
                .map_err(|e: rcgen::Error| invalid(e.to_string()))?;
            Ok(SanType::DnsName(ia5))
        })
        .collect()
}

/// A client config that trusts only the CA(s) in `ca_pem` — normally
/// [`CertificateAuthority::ca_pem`] — and checks certificates strictly: chain, validity
/// period and host name. Uses the `ring` provider and TLS 1.2 or 1.3.
///
/// Every CERTIFICATE block in `ca_pem` becomes a trust anchor; other blocks (keys) are
/// ignored; a PEM with no certificate is an error rather than a client that trusts nothing.
pub fn client_config_trusting(ca_pem: &str) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|source| TlsError::CaPem { source })?;
        roots
            .add(cert)
            .map_err(|source| TlsError::BadCaCertificate { source })?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCaCertificate);
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|source| TlsError::Config {
            side: "client",
            source,
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client config for the sync stack's `relaxed` encryption mode: any certificate is
/// accepted (self-signed, expired, wrong host, unknown CA), but the server must still
/// prove it holds the certificate's key, so the connection is encrypted to whoever owns
/// that certificate rather than to anyone on the path who can forge a handshake.
pub fn relaxed_client_config() -> Arc<ClientConfig> {
    let provider = provider();
    let verifier = Arc::new(AcceptAnyCertificate {
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)
        // The ring provider implements both TLS versions, so this cannot fail unless the
        // workspace's rustls features change; the tests below would catch that at once.
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}

/// Accepts any server certificate but still verifies handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate {
    /// Supplies the signature algorithms for the handshake checks.
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
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

#[cfg(test)]
// A failed unwrap is the clearest test failure; the workspace lint targets library code.
#[allow(clippy::unwrap_used)]
mod tests;
