//! The certificate authority and the TLS configurations, checked in-process against
//! rustls clients.

use super::*;
use rustls::{CertificateError, Error as RustlsError};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const HOST: &str = "dc1.corp.example.test";

fn hosts() -> Vec<String> {
    vec![HOST.to_owned(), "corp.example.test".to_owned()]
}

fn ca() -> CertificateAuthority {
    CertificateAuthority::generate("fake-dc").unwrap()
}

/// Runs a real handshake over an in-memory pipe and echoes one byte so both sides have
/// finished (in TLS 1.3 a client can consider itself connected before the server has
/// seen its Finished). Returns the client's error, if any, as a rustls error.
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    server_name: &str,
) -> Result<rustls::ProtocolVersion, RustlsError> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let acceptor = TlsAcceptor::from(server);
    let connector = TlsConnector::from(client);
    let name = ServerName::try_from(server_name.to_owned()).unwrap();

    let server_side = async move {
        let mut tls = acceptor.accept(server_io).await?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await?;
        tls.write_all(&byte).await?;
        tls.shutdown().await
    };
    let client_side = async move {
        let mut tls = connector.connect(name, client_io).await?;
        tls.write_all(b"x").await?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await?;
        assert_eq!(&byte, b"x");
        let version = tls.get_ref().1.protocol_version();
        Ok::<_, std::io::Error>(version.unwrap())
    };
    let (server_result, client_result) = tokio::join!(server_side, client_side);
    match client_result {
        Ok(version) => {
            server_result.unwrap();
            Ok(version)
        }
        Err(err) => {
            assert!(server_result.is_err(), "server must see the failure too");
            let inner = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<RustlsError>())
                .unwrap_or_else(|| panic!("not a rustls error: {err:?}"));
            Err(inner.clone())
        }
    }
}

async fn strict_handshake(profile: CertProfile, server_name: &str) -> Result<(), RustlsError> {
    let ca = ca();
    let server = ca.server_config(profile, &hosts()).unwrap();
    let client = client_config_trusting(ca.ca_pem()).unwrap();
    handshake(server, client, server_name).await.map(|_| ())
}

#[tokio::test]
async fn tls_ca_signed_passes_strict_client() {
    strict_handshake(CertProfile::CaSigned, HOST).await.unwrap();
}

#[tokio::test]
async fn tls_ca_signed_covers_every_host_name() {
    strict_handshake(CertProfile::CaSigned, "corp.example.test")
        .await
        .unwrap();
}

#[tokio::test]
async fn tls_ca_signed_is_not_valid_for_localhost() {
    let err = strict_handshake(CertProfile::CaSigned, "localhost")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RustlsError::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn tls_self_signed_fails_strict_client_with_unknown_issuer() {
    let err = strict_handshake(CertProfile::SelfSigned, HOST)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RustlsError::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

#[tokio::test]
async fn tls_expired_fails_strict_client_as_expired() {
    let err = strict_handshake(CertProfile::Expired, HOST)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RustlsError::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn tls_wrong_host_fails_strict_client_as_not_valid_for_name() {
    let err = strict_handshake(CertProfile::WrongHost, HOST)
        .await
        .unwrap_err();
    match err {
        RustlsError::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => {
            assert_eq!(expected, ServerName::try_from(HOST).unwrap());
            assert_eq!(presented, vec![format!("DnsName(\"{WRONG_HOST_NAME}\")")]);
        }
        other => panic!("expected NotValidForNameContext, got {other:?}"),
    }
}

#[tokio::test]
async fn tls_untrusted_ca_fails_strict_client_with_unknown_issuer() {
    let err = strict_handshake(CertProfile::UntrustedCa, HOST)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        RustlsError::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

/// Two DC processes (or two test runs) must not be able to vouch for each other.
#[tokio::test]
async fn tls_ca_of_another_dc_process_is_not_trusted() {
    let ours = ca();
    let theirs = ca();
    let server = ours.server_config(CertProfile::CaSigned, &hosts()).unwrap();
    let client = client_config_trusting(theirs.ca_pem()).unwrap();
    let err = handshake(server, client, HOST).await.unwrap_err();
    assert_eq!(
        err,
        RustlsError::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

#[tokio::test]
async fn tls_relaxed_client_accepts_every_profile() {
    let ca = ca();
    for profile in CertProfile::ALL {
        let server = ca.server_config(profile, &hosts()).unwrap();
        let result = handshake(server, relaxed_client_config(), HOST).await;
        assert!(result.is_ok(), "{profile}: {result:?}");
    }
}

/// A server whose certificate is genuine but whose handshake is signed with another
/// key: what an attacker replaying a captured certificate looks like.
fn impostor_server_config(version: &'static rustls::SupportedProtocolVersion) -> Arc<ServerConfig> {
    let ca = ca();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params(
        HOST,
        subject_alt_names(&hosts()).unwrap(),
        OffsetDateTime::now_utc() - Duration::days(1),
        OffsetDateTime::now_utc() + Duration::days(1),
    )
    .signed_by(&leaf_key, &ca.issuer)
    .unwrap();
    let other_key = KeyPair::generate().unwrap();
    let signer = provider()
        .key_provider
        .load_private_key(PrivateKeyDer::from(other_key))
        .unwrap();
    let certified = rustls::sign::CertifiedKey::new(vec![leaf.der().clone()], signer);
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    Arc::new(config)
}

#[tokio::test]
async fn tls_relaxed_client_still_checks_handshake_signatures() {
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let server = impostor_server_config(version);
        let err = handshake(server, relaxed_client_config(), HOST)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            RustlsError::InvalidCertificate(CertificateError::BadSignature),
            "{:?}",
            version.version
        );
    }
}

#[tokio::test]
async fn tls_both_protocol_versions_are_offered() {
    let ca = ca();
    let server = ca.server_config(CertProfile::CaSigned, &hosts()).unwrap();
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let mut roots = RootCertStore::empty();
        roots.add(ca.ca_der().clone()).unwrap();
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let negotiated = handshake(server.clone(), Arc::new(client), HOST)
            .await
            .unwrap();
        assert_eq!(negotiated, version.version);
    }
}

#[test]
fn tls_generation_is_fast() {
    let start = Instant::now();
    let ca = ca();
    for profile in CertProfile::ALL {
        ca.server_config(profile, &hosts()).unwrap();
    }
    let elapsed = start.elapsed();
    println!(
        "CA + {} server configs: {elapsed:?}",
        CertProfile::ALL.len()
    );
    // Generous so a loaded CI machine never flakes; RSA keys would blow through it.
    assert!(elapsed.as_secs() < 5, "{elapsed:?}");
}

#[test]
fn tls_profile_names_round_trip() {
    let names = [
        "ca-signed",
        "self-signed",
        "expired",
        "wrong-host",
        "untrusted-ca",
    ];
    for (profile, name) in CertProfile::ALL.into_iter().zip(names) {
        assert_eq!(profile.to_string(), name);
        assert_eq!(name.parse::<CertProfile>().unwrap(), profile);
        assert_eq!(serde_yaml::to_string(&profile).unwrap().trim(), name);
        assert_eq!(serde_yaml::from_str::<CertProfile>(name).unwrap(), profile);
    }
}

#[test]
fn tls_unknown_profile_lists_valid_names() {
    let err = "CaSigned".parse::<CertProfile>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown certificate profile `CaSigned`; valid profiles are: \
         ca-signed, self-signed, expired, wrong-host, untrusted-ca"
    );
}

#[test]
fn tls_server_config_needs_host_names() {
    let err = ca().server_config(CertProfile::CaSigned, &[]).unwrap_err();
    assert!(matches!(err, TlsError::NoHostNames), "{err}");
}

#[test]
fn tls_server_config_rejects_invalid_host_names() {
    let ca = ca();
    for bad in ["dc1 corp", "", "dc1..corp.example.test", "dc1.corp/x"] {
        let err = ca
            .server_config(CertProfile::WrongHost, &[bad.to_owned()])
            .unwrap_err();
        match &err {
            TlsError::InvalidHostName { name, .. } => assert_eq!(name, bad),
            other => panic!("{bad:?}: expected InvalidHostName, got {other}"),
        }
        assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
    }
}

#[tokio::test]
async fn tls_ip_and_wildcard_host_names_are_honoured() {
    let ca = ca();
    let names = vec!["*.corp.example.test".to_owned(), "192.0.2.10".to_owned()];
    let server = ca.server_config(CertProfile::CaSigned, &names).unwrap();
    let client = client_config_trusting(ca.ca_pem()).unwrap();
    handshake(server.clone(), client.clone(), "dc2.corp.example.test")
        .await
        .unwrap();
    handshake(server, client, "192.0.2.10").await.unwrap();
}

#[test]
fn tls_client_config_rejects_pem_without_certificate() {
    let err = client_config_trusting("").unwrap_err();
    assert!(matches!(err, TlsError::NoCaCertificate), "{err}");
    let err = client_config_trusting("-----BEGIN CERTIFICATE-----\n!!!\n").unwrap_err();
    assert!(matches!(err, TlsError::CaPem { .. }), "{err}");
}

#[test]
fn tls_ca_pem_and_der_agree() {
    let ca = ca();
    let from_pem = CertificateDer::from_pem_slice(ca.ca_pem().as_bytes()).unwrap();
    assert_eq!(&from_pem, ca.ca_der());
    assert!(format!("{ca:?}").contains("fake-dc Test Root CA"));
}
