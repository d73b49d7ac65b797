//! The agent's side of the transfer: a reqwest client that posts a payload to the
//! cloud's ingest and returns the receipt it answers with.
//!
//! The client trusts the cloud's CA alone (never the system store), speaks TLS 1.2 or
//! 1.3 through rustls on ring, ignores proxy settings from the environment (the cloud
//! here is on loopback), and connects to the ingest's address while checking its
//! certificate against [`CLOUD_HOST`].

use std::net::SocketAddr;

use reqwest::{Client, StatusCode, Url};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::{crypto_provider, Receipt, TransferError, CLOUD_HOST, IO_TIMEOUT, VERSIONS};

/// How long an unused connection stays pooled: shorter than the ingest's wait for the
/// next request head ([`IO_TIMEOUT`]), so the client never reuses a connection the
/// server is closing.
const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the agent's HTTPS client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The cloud CA is not a PEM certificate.
    #[error("the cloud CA is not a PEM certificate")]
    CaPem(#[source] rustls::pki_types::pem::Error),
    /// rustls refused the cloud CA or the client configuration.
    #[error("the TLS configuration was refused")]
    Tls(#[source] rustls::Error),
    /// reqwest could not build the client.
    #[error("cannot build the client")]
    Build(#[source] reqwest::Error),
    /// The ingest's URL did not parse.
    #[error("'{0}' is not a URL")]
    Url(String),
}

impl From<ClientError> for TransferError {
    fn from(error: ClientError) -> Self {
        TransferError::Client(error)
    }
}

/// Pushes payloads to one ingest; cheap to clone, and reuses its connections.
#[derive(Debug, Clone)]
pub struct Pusher {
    /// The client, trusting only the cloud CA; holds the connection pool.
    client: Client,
    /// `https://CLOUD_HOST:port/`, which the client resolves to `addr`.
    base: Url,
    /// Where the ingest listens, for error messages.
    addr: SocketAddr,
}

impl Pusher {
    /// A client for the ingest at `addr`, trusting the CAs in `ca_pem` only.
    pub fn new(addr: SocketAddr, ca_pem: &str) -> Result<Self, ClientError> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots
                .add(cert.map_err(ClientError::CaPem)?)
                .map_err(ClientError::Tls)?;
        }
        let mut tls = ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(VERSIONS)
            .map_err(ClientError::Tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = Client::builder()
            .tls_backend_preconfigured(tls)
            .resolve(CLOUD_HOST, addr)
            .no_proxy()
            .connect_timeout(IO_TIMEOUT)
            .timeout(IO_TIMEOUT * 4)
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(ClientError::Build)?;
        let base = format!("https://{CLOUD_HOST}:{}/", addr.port());
        let base = Url::parse(&base).map_err(|_| ClientError::Url(base))?;
        Ok(Self { client, base, addr })
    }

    /// Posts `payload` as site `site_id`; the receipt names the snapshot the cloud kept.
    pub async fn push(&self, site_id: &str, payload: Vec<u8>) -> Result<Receipt, TransferError> {
        let failed = |source: reqwest::Error| TransferError::Push {
            addr: self.addr,
            source: source.without_url(),
        };
        let mut url = self.base.clone();
        // Segment by segment, so a site id is percent-encoded rather than read as a path.
        url.path_segments_mut()
            .map_err(|()| ClientError::Url(self.base.to_string()))?
            .extend(["v1", "sites", site_id, "snapshot"]);
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(payload)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let body = response.text().await.map_err(failed)?;
        if status != StatusCode::OK {
            return Err(TransferError::Refused {
                status: status.as_u16(),
                body,
            });
        }
        body.trim()
            .parse()
            .map(Receipt)
            .map_err(|_| TransferError::NoReceipt)
    }
}
