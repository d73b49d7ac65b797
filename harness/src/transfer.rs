//! The transfer stage: the snapshot as a versioned, authenticated payload, and (for the
//! agent method) its push over HTTPS to the cloud.
//!
//! # Payload
//!
//! ```text
//! "HSYN"  version:u16be  site-id-len:u16be  site-id  body-len:u64be  mac[32]  body
//! ```
//!
//! The body is the snapshot as compact JSON. The MAC is HMAC-SHA256 keyed by the site's
//! binding secret over everything before it plus the body, so the version, the site and
//! the length are authenticated too. A payload of another version, shorter or longer than
//! its length says, for another site, or with any byte changed is refused
//! ([`TransferError`]) before the body is parsed, and nothing is applied.
//!
//! HMAC comes from `ring`, already in the tree as rustls's crypto provider: no new crate
//! to vet, and `ring::hmac::verify` compares in constant time.
//!
//! # HTTPS push (agent)
//!
//! [`CloudEndpoint`] is a small HTTP/1.1 server on tokio-rustls (TLS 1.2 or 1.3 only)
//! that accepts `POST /v1/sites/<site-id>/snapshot` with the payload as the body,
//! verifies it with the binding of the site named in the path, and hands the snapshot
//! to whoever holds the endpoint. One request per connection; a request head over
//! 16 KiB, a body over [`MAX_PAYLOAD_BYTES`] or a stalled peer is refused. hyper would
//! do the same with more code to audit than this one route needs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ring::hmac;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::snapshot::DirectorySnapshot;

/// The payload format this build writes and reads.
pub const PAYLOAD_VERSION: u16 = 1;

/// The largest payload accepted (a 100,000-user directory is about 30 MB).
pub const MAX_PAYLOAD_BYTES: u64 = 512 * 1024 * 1024;

const MAGIC: &[u8; 4] = b"HSYN";
const MAC_LEN: usize = 32;
const MAX_HEAD_BYTES: usize = 16 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The name the in-process cloud's certificate is issued for.
pub const CLOUD_HOST: &str = "cloud.harness.test";

/// An agent site's binding credentials: the site's name and the secret shared with the
/// cloud when the site was bound.
#[derive(Clone, PartialEq, Eq)]
pub struct SiteBinding {
    /// The site's identifier, sent in the clear.
    pub site_id: String,
    /// The shared secret; keys the payload's MAC, never sent.
    pub secret: String,
}

impl std::fmt::Debug for SiteBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteBinding")
            .field("site_id", &self.site_id)
            .field("secret", &"<hidden>")
            .finish()
    }
}

impl SiteBinding {
    /// A binding from a site id and secret.
    pub fn new(site_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            site_id: site_id.into(),
            secret: secret.into(),
        }
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.secret.as_bytes())
    }
}

/// Why a payload was refused or could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// Not a payload at all.
    #[error("payload: not a sync payload (bad magic); was it sent by this agent?")]
    NotAPayload,
    /// Written by another version of the agent.
    #[error("payload: version {found} is not supported (this cloud reads version {PAYLOAD_VERSION}); update the agent")]
    Version {
        /// The version in the payload.
        found: u16,
    },
    /// Shorter than its header says.
    #[error(
        "payload: truncated ({got} bytes of {expected}); the transfer was cut off, retry the sync"
    )]
    Truncated {
        /// Bytes the header announced.
        expected: u64,
        /// Bytes present.
        got: u64,
    },
    /// Longer than its header says.
    #[error("payload: {0} bytes after the body; refused")]
    Trailing(usize),
    /// For a site other than the one it was sent as.
    #[error("payload: written for site '{found}', received as site '{expected}'")]
    WrongSite {
        /// The site the receiver expected.
        expected: String,
        /// The site in the payload.
        found: String,
    },
    /// The MAC does not match: changed in transit, or signed with another secret.
    #[error("payload: authentication failed for site '{0}' (tampered with, or the site's binding secret differs); rebind the agent if the secret changed")]
    Tampered(String),
    /// The body is not a snapshot.
    #[error("payload: body is not a snapshot: {0}")]
    Body(String),
    /// Too large to accept.
    #[error("payload: {0} bytes is over the {MAX_PAYLOAD_BYTES}-byte limit")]
    TooLarge(u64),
    /// The HTTPS exchange failed.
    #[error("{CLOUD_HOST} ({addr}): {reason}")]
    Http {
        /// The endpoint.
        addr: SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// The cloud answered with an error status.
    #[error("{CLOUD_HOST}: refused with HTTP {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The cloud's explanation.
        body: String,
    },
    /// The in-process endpoint could not be set up.
    #[error("cloud endpoint: {0}")]
    Endpoint(String),
}

/// Encodes a snapshot for `site`.
pub fn encode(site: &SiteBinding, snapshot: &DirectorySnapshot) -> Result<Vec<u8>, TransferError> {
    let body = serde_json::to_vec(snapshot).map_err(|e| TransferError::Body(e.to_string()))?;
    let site_id = site.site_id.as_bytes();
    let site_len = u16::try_from(site_id.len())
        .map_err(|_| TransferError::Endpoint("site id longer than 65,535 bytes".into()))?;
    let mut out = Vec::with_capacity(body.len() + site_id.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&PAYLOAD_VERSION.to_be_bytes());
    out.extend_from_slice(&site_len.to_be_bytes());
    out.extend_from_slice(site_id);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    let mut context = hmac::Context::with_key(&site.key());
    context.update(&out);
    context.update(&body);
    out.extend_from_slice(context.sign().as_ref());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads the site id a payload claims, so the receiver can pick that site's binding.
pub fn site_of(payload: &[u8]) -> Result<String, TransferError> {
    let header = Header::read(payload)?;
    Ok(header.site_id.to_owned())
}

struct Header<'a> {
    site_id: &'a str,
    /// Bytes covered by the MAC before the body.
    signed_head: &'a [u8],
    mac: &'a [u8],
    body: &'a [u8],
}

impl<'a> Header<'a> {
    fn read(payload: &'a [u8]) -> Result<Self, TransferError> {
        let truncated = |expected: usize| TransferError::Truncated {
            expected: expected as u64,
            got: payload.len() as u64,
        };
        if payload.len() < 4 {
            return if MAGIC.starts_with(payload) {
                Err(truncated(4))
            } else {
                Err(TransferError::NotAPayload)
            };
        }
        if &payload[..4] != MAGIC {
            return Err(TransferError::NotAPayload);
        }
        let version = u16::from_be_bytes([
            *payload.get(4).ok_or_else(|| truncated(6))?,
            *payload.get(5).ok_or_else(|| truncated(6))?,
        ]);
        if version != PAYLOAD_VERSION {
            return Err(TransferError::Version { found: version });
        }
        let site_len = u16::from_be_bytes([
            *payload.get(6).ok_or_else(|| truncated(8))?,
            *payload.get(7).ok_or_else(|| truncated(8))?,
        ]) as usize;
        let site_end = 8 + site_len;
        let site_id = payload
            .get(8..site_end)
            .ok_or_else(|| truncated(site_end))?;
        let site_id = std::str::from_utf8(site_id).map_err(|_| TransferError::NotAPayload)?;
        let len_end = site_end + 8;
        let len_bytes: [u8; 8] = payload
            .get(site_end..len_end)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| truncated(len_end))?;
        let body_len = u64::from_be_bytes(len_bytes);
        if body_len > MAX_PAYLOAD_BYTES {
            return Err(TransferError::TooLarge(body_len));
        }
        let mac_end = len_end + MAC_LEN;
        let total = mac_end as u64 + body_len;
        if (payload.len() as u64) < total {
            return Err(TransferError::Truncated {
                expected: total,
                got: payload.len() as u64,
            });
        }
        if (payload.len() as u64) > total {
            return Err(TransferError::Trailing(payload.len() - total as usize));
        }
        Ok(Self {
            site_id,
            signed_head: &payload[..len_end],
            mac: &payload[len_end..mac_end],
            body: &payload[mac_end..],
        })
    }
}

/// Checks a payload for `site` and returns the snapshot it carries.
pub fn decode(site: &SiteBinding, payload: &[u8]) -> Result<DirectorySnapshot, TransferError> {
    let header = Header::read(payload)?;
    if header.site_id != site.site_id {
        return Err(TransferError::WrongSite {
            expected: site.site_id.clone(),
            found: header.site_id.to_owned(),
        });
    }
    let mut signed = Vec::with_capacity(header.signed_head.len() + header.body.len());
    signed.extend_from_slice(header.signed_head);
    signed.extend_from_slice(header.body);
    hmac::verify(&site.key(), &signed, header.mac)
        .map_err(|_| TransferError::Tampered(site.site_id.clone()))?;
    serde_json::from_slice(header.body).map_err(|e| TransferError::Body(e.to_string()))
}

/// The in-process cloud's HTTPS endpoint for agent pushes.
pub struct CloudEndpoint {
    /// Where it listens.
    addr: SocketAddr,
    /// The CA that issued its certificate, for the agent to trust.
    ca_pem: String,
    /// Snapshots accepted, in arrival order, with the site that sent them.
    received: mpsc::Receiver<(String, DirectorySnapshot)>,
    /// Stops the accept loop when dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl CloudEndpoint {
    /// Starts an endpoint on a loopback port, with a fresh CA and certificate for
    /// [`CLOUD_HOST`], accepting the given sites.
    pub async fn start(sites: Vec<SiteBinding>) -> Result<Self, TransferError> {
        let (ca_pem, config) = server_config()?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| TransferError::Endpoint(format!("cannot listen: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| TransferError::Endpoint(e.to_string()))?;
        let (sender, received) = mpsc::channel(16);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sites: Arc<HashMap<String, SiteBinding>> = Arc::new(
            sites
                .into_iter()
                .map(|site| (site.site_id.clone(), site))
                .collect(),
        );
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => accepted,
                };
                let Ok((socket, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let sites = sites.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(IO_TIMEOUT, acceptor.accept(socket)).await
                    else {
                        return;
                    };
                    serve(tls, &sites, &sender).await;
                });
            }
        });
        Ok(Self {
            addr,
            ca_pem,
            received,
            _stop: stop,
        })
    }

    /// Where the endpoint listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate the agent must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The next accepted snapshot, waiting up to `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<(String, DirectorySnapshot)> {
        tokio::time::timeout(timeout, self.received.recv())
            .await
            .ok()
            .flatten()
    }
}

fn server_config() -> Result<(String, Arc<ServerConfig>), TransferError> {
    let error = |e: rcgen::Error| TransferError::Endpoint(format!("certificate: {e}"));
    let ca_key = rcgen::KeyPair::generate().map_err(error)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(error)?;
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "harness cloud test CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(error)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().map_err(error)?;
    let leaf = rcgen::CertificateParams::new(vec![CLOUD_HOST.to_owned()])
        .map_err(error)?
        .signed_by(&leaf_key, &issuer)
        .map_err(error)?;
    let key = PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes())
        .map_err(|e| TransferError::Endpoint(format!("key: {e}")))?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(VERSIONS)
            .map_err(|e| TransferError::Endpoint(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
            .map_err(|e| TransferError::Endpoint(e.to_string()))?;
    Ok((ca_cert.pem(), Arc::new(config)))
}

/// TLS 1.2 or newer only (SPEC: HTTPS; older versions are broken).
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// Answers one request on a connection.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    sites: &HashMap<String, SiteBinding>,
    sender: &mpsc::Sender<(String, DirectorySnapshot)>,
) {
    let (status, message) = match handle(&mut stream, sites).await {
        Ok((site, snapshot)) => {
            let _ = sender.send((site, snapshot)).await;
            (200, "accepted".to_owned())
        }
        Err((status, message)) => (status, message),
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{message}",
        message.len()
    );
    let _ = tokio::time::timeout(IO_TIMEOUT, async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

async fn handle<S: AsyncRead + Unpin>(
    stream: &mut S,
    sites: &HashMap<String, SiteBinding>,
) -> Result<(String, DirectorySnapshot), (u16, String)> {
    let mut buffer = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err((400, "request head too large".into()));
        }
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(IO_TIMEOUT, stream.read(&mut chunk))
            .await
            .map_err(|_| (400, "timed out reading the request".to_owned()))?
            .map_err(|e| (400, format!("read failed: {e}")))?;
        if read == 0 {
            return Err((400, "connection closed before the request ended".into()));
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let site_id = path
        .strip_prefix("/v1/sites/")
        .and_then(|rest| rest.strip_suffix("/snapshot"))
        .filter(|_| method == "POST")
        .ok_or((404, "POST /v1/sites/<site-id>/snapshot only".to_owned()))?;
    let site = sites.get(site_id).ok_or((
        401,
        format!("site '{site_id}' is not bound to this account"),
    ))?;
    let length: u64 = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .ok_or((400, "content-length required".to_owned()))?;
    if length > MAX_PAYLOAD_BYTES + 1024 {
        return Err((413, TransferError::TooLarge(length).to_string()));
    }
    let mut body = buffer.split_off(head_end + 4);
    if body.len() as u64 > length {
        return Err((400, "more bytes than content-length".into()));
    }
    body.reserve(length as usize - body.len());
    let missing = length - body.len() as u64;
    let read = tokio::time::timeout(IO_TIMEOUT, stream.take(missing).read_to_end(&mut body))
        .await
        .map_err(|_| (400, "timed out reading the payload".to_owned()))?;
    // A peer that closes early leaves the body short; decode reports it as truncated.
    let _ = read;
    let snapshot = decode(site, &body).map_err(|error| {
        let status = match error {
            TransferError::Tampered(_) | TransferError::WrongSite { .. } => 401,
            TransferError::TooLarge(_) => 413,
            _ => 400,
        };
        (status, error.to_string())
    })?;
    Ok((site_id.to_owned(), snapshot))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Posts a payload to the endpoint at `addr` as `site_id`, trusting `ca_pem`.
pub async fn push(
    addr: SocketAddr,
    ca_pem: &str,
    site_id: &str,
    payload: &[u8],
) -> Result<(), TransferError> {
    let http = |reason: String| TransferError::Http { addr, reason };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| http(format!("cloud CA: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| http(format!("cloud CA: {e}")))?;
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(VERSIONS)
            .map_err(|e| http(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let exchange = async {
        let socket = TcpStream::connect(addr)
            .await
            .map_err(|e| http(format!("cannot connect: {e}")))?;
        let name = ServerName::try_from(CLOUD_HOST).map_err(|e| http(e.to_string()))?;
        let mut tls = TlsConnector::from(Arc::new(config))
            .connect(name, socket)
            .await
            .map_err(|e| http(format!("TLS failed: {e}")))?;
        let head = format!(
            "POST /v1/sites/{site_id}/snapshot HTTP/1.1\r\nhost: {CLOUD_HOST}\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            payload.len()
        );
        tls.write_all(head.as_bytes())
            .await
            .map_err(|e| http(format!("send failed: {e}")))?;
        tls.write_all(payload)
            .await
            .map_err(|e| http(format!("send failed: {e}")))?;
        tls.flush()
            .await
            .map_err(|e| http(format!("send failed: {e}")))?;
        let mut response = Vec::new();
        // The server closes after its answer; a TLS close_notify missing at the end is
        // not an error worth failing a delivered payload for.
        let _ = tls.read_to_end(&mut response).await;
        let text = String::from_utf8_lossy(&response);
        let status: u16 = text
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| http("no HTTP status in the answer".into()))?;
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
            .to_owned();
        if status == 200 {
            Ok(())
        } else {
            Err(TransferError::Refused { status, body })
        }
    };
    tokio::time::timeout(IO_TIMEOUT * 4, exchange)
        .await
        .map_err(|_| http("timed out".into()))?
}

/// The agent's transfer in one call: starts an in-process cloud endpoint bound to
/// `site`, pushes the encoded snapshot over HTTPS, and returns what the cloud decoded.
pub async fn push_in_process(
    site: &SiteBinding,
    snapshot: &DirectorySnapshot,
) -> Result<DirectorySnapshot, TransferError> {
    let payload = encode(site, snapshot)?;
    let mut endpoint = CloudEndpoint::start(vec![site.clone()]).await?;
    push(endpoint.addr(), endpoint.ca_pem(), &site.site_id, &payload).await?;
    endpoint
        .next(IO_TIMEOUT)
        .await
        .map(|(_, snapshot)| snapshot)
        .ok_or_else(|| TransferError::Endpoint("the cloud accepted nothing".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> DirectorySnapshot {
        serde_yaml::from_str(
            "users:\n  - { guid: 00000000-0000-0000-0000-000000000001, dn: 'CN=A,DC=x', primary: a@x.test }\n",
        )
        .unwrap()
    }

    #[test]
    fn a_payload_round_trips() {
        let site = SiteBinding::new("site-1", "secret");
        let payload = encode(&site, &snapshot()).unwrap();
        assert_eq!(decode(&site, &payload).unwrap(), snapshot());
        assert_eq!(site_of(&payload).unwrap(), "site-1");
    }

    #[test]
    fn version_truncation_tampering_and_wrong_keys_are_refused() {
        let site = SiteBinding::new("site-1", "secret");
        let payload = encode(&site, &snapshot()).unwrap();

        let mut other_version = payload.clone();
        other_version[5] = 2;
        assert!(matches!(
            decode(&site, &other_version),
            Err(TransferError::Version { found: 2 })
        ));

        for cut in [0, 3, 7, 20, payload.len() - 1] {
            let result = decode(&site, &payload[..cut]);
            assert!(
                matches!(result, Err(TransferError::Truncated { .. })),
                "cut at {cut}: {result:?}"
            );
        }

        let mut tampered = payload.clone();
        let last = tampered.len() - 2;
        tampered[last] ^= 0x20;
        assert!(matches!(
            decode(&site, &tampered),
            Err(TransferError::Tampered(_))
        ));

        let other_secret = SiteBinding::new("site-1", "other");
        assert!(matches!(
            decode(&other_secret, &payload),
            Err(TransferError::Tampered(_))
        ));
        let other_site = SiteBinding::new("site-2", "secret");
        assert!(matches!(
            decode(&other_site, &payload),
            Err(TransferError::WrongSite { .. })
        ));

        let mut longer = payload.clone();
        longer.push(0);
        assert!(matches!(
            decode(&site, &longer),
            Err(TransferError::Trailing(1))
        ));
        assert!(matches!(
            decode(&site, b"GET / HTTP/1.1"),
            Err(TransferError::NotAPayload)
        ));
    }
}
