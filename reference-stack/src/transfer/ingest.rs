//! The in-process cloud's ingest endpoint: `POST /v1/sites/<site-id>/snapshot` with a
//! payload as the body, over HTTPS.
//!
//! The route is an axum handler; hyper serves it on each connection once tokio-rustls has
//! finished the handshake, because axum's own `serve` speaks plain TCP only. The handler
//! verifies the payload with the binding of the site named in the path and keeps the
//! snapshot under a [`Receipt`] that the answer carries, so concurrent pushes through one
//! ingest each get back their own snapshot.
//!
//! Refused, each with the payload's own message ([`TransferError`]): a site that is not
//! bound (401), a payload that fails authentication or names another site (401), a body
//! over [`MAX_PAYLOAD_BYTES`] (413), anything else wrong with it (400). A stalled peer is
//! dropped after [`IO_TIMEOUT`] in the handshake, the request head or the body.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use super::{
    crypto_provider, decode, SiteBinding, TransferError, CLOUD_HOST, IO_TIMEOUT, MAX_PAYLOAD_BYTES,
    SNAPSHOT_ROUTE, VERSIONS,
};
use crate::snapshot::DirectorySnapshot;

/// Room for a request's framing on top of the largest payload, so a payload at the limit
/// is refused by the payload check (with its message), not by the body limit.
const BODY_SLACK: u64 = 1024;

/// Names one accepted snapshot; the ingest answers a push with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Receipt(pub u64);

impl std::fmt::Display for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Why the ingest could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// rcgen refused to issue the CA or the server certificate.
    #[error("cannot issue the certificate for {CLOUD_HOST}")]
    Certificate(#[source] rcgen::Error),
    /// The issued key did not read back as a private key.
    #[error("cannot read back the issued key")]
    Key(#[source] rustls::pki_types::pem::Error),
    /// rustls refused the server configuration.
    #[error("the TLS configuration was refused")]
    Tls(#[source] rustls::Error),
    /// No loopback port could be bound.
    #[error("cannot listen on loopback")]
    Listen(#[source] std::io::Error),
}

impl From<IngestError> for TransferError {
    fn from(error: IngestError) -> Self {
        TransferError::Ingest(error)
    }
}

/// A running ingest endpoint on a loopback port, with its own CA. Dropping it stops
/// accepting connections.
pub struct Ingest {
    /// Where it listens.
    addr: SocketAddr,
    /// The CA that issued its certificate, for the agent to trust.
    ca_pem: String,
    /// What the handler shares with this handle: bound sites and accepted snapshots.
    shared: Arc<Shared>,
    /// Ends the accept loop when the ingest is dropped.
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").field("addr", &self.addr).finish()
    }
}

/// State the handler and the [`Ingest`] handle share.
#[derive(Default)]
struct Shared {
    /// Bound sites by id. A std lock: held for a lookup or an insert, never across an
    /// await.
    sites: RwLock<HashMap<String, SiteBinding>>,
    /// Accepted snapshots not taken yet, by receipt, with the site that sent them.
    accepted: Mutex<Accepted>,
}

/// Snapshots the handler accepted, waiting for whoever holds the receipt.
#[derive(Default)]
struct Accepted {
    /// The receipt the next accepted snapshot gets.
    next: u64,
    /// Not taken yet.
    by_receipt: HashMap<Receipt, (String, DirectorySnapshot)>,
}

impl Ingest {
    /// Starts an ingest on a loopback port, with a fresh CA and a certificate for
    /// [`CLOUD_HOST`], accepting the given sites.
    pub async fn start(sites: impl IntoIterator<Item = SiteBinding>) -> Result<Self, IngestError> {
        let (ca_pem, config) = server_config()?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(IngestError::Listen)?;
        let addr = listener.local_addr().map_err(IngestError::Listen)?;
        let shared = Arc::new(Shared::default());
        for site in sites {
            shared.bind(site);
        }
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(run(
            listener,
            TlsAcceptor::from(config),
            router(shared.clone()),
            stopped,
        ));
        Ok(Self {
            addr,
            ca_pem,
            shared,
            _stop: stop,
        })
    }

    /// Where the ingest listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate the agent must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Accepts payloads from `site` from now on, replacing an earlier binding of its id
    /// (a site rebound with a new secret).
    pub fn bind(&self, site: SiteBinding) {
        self.shared.bind(site);
    }

    /// The snapshot accepted under `receipt`, with the site that sent it; each is handed
    /// out once.
    pub fn take(&self, receipt: Receipt) -> Option<(String, DirectorySnapshot)> {
        self.shared.accepted().by_receipt.remove(&receipt)
    }

    /// How many accepted snapshots nobody has taken yet.
    pub fn pending(&self) -> usize {
        self.shared.accepted().by_receipt.len()
    }
}

impl Shared {
    fn bind(&self, site: SiteBinding) {
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still whole.
        let mut sites = self.sites.write().unwrap_or_else(PoisonError::into_inner);
        sites.insert(site.site_id.clone(), site);
    }

    fn site(&self, site_id: &str) -> Option<SiteBinding> {
        let sites = self.sites.read().unwrap_or_else(PoisonError::into_inner);
        sites.get(site_id).cloned()
    }

    fn accepted(&self) -> std::sync::MutexGuard<'_, Accepted> {
        self.accepted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn accept(&self, site_id: String, snapshot: DirectorySnapshot) -> Receipt {
        let mut accepted = self.accepted();
        let receipt = Receipt(accepted.next);
        accepted.next += 1;
        accepted.by_receipt.insert(receipt, (site_id, snapshot));
        receipt
    }
}

/// Accepts connections until `stop` fires or its sender is dropped; each connection gets
/// its own task, so a slow handshake holds up nobody else.
async fn run(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let socket = match accepted {
            Ok((socket, _)) => socket,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: back off
                // a little rather than spin, then keep serving.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Answers are one small write; without this each pays Nagle plus delayed ACK.
        let _ = socket.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(IO_TIMEOUT, acceptor.accept(socket)).await
            else {
                return;
            };
            // A connection that fails mid-request only concerns its own peer.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(IO_TIMEOUT)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(SNAPSHOT_ROUTE, post(receive))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "POST /v1/sites/<site-id>/snapshot only",
            )
        })
        .with_state(shared)
}

/// Why the handler refused a push; the answer's status and body.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// No site of that id is bound.
    #[error("site '{0}' is not bound to this account")]
    UnknownSite(String),
    /// The payload itself was refused.
    #[error(transparent)]
    Payload(#[from] TransferError),
    /// The body could not be read to its end.
    #[error("reading the payload failed: {0}")]
    Read(axum::Error),
    /// The peer stopped sending the body.
    #[error("timed out reading the payload")]
    Stalled,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match &self {
            Refusal::UnknownSite(_)
            | Refusal::Payload(TransferError::Tampered(_) | TransferError::WrongSite { .. }) => {
                StatusCode::UNAUTHORIZED
            }
            Refusal::Payload(TransferError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, self.to_string()).into_response()
    }
}

/// The route: checks the site, reads the body within the limit, verifies the payload
/// and answers with the receipt it is kept under.
async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(site_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<String, Refusal> {
    let site = shared
        .site(&site_id)
        .ok_or_else(|| Refusal::UnknownSite(site_id.clone()))?;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(length) = announced.filter(|&length| length > MAX_PAYLOAD_BYTES + BODY_SLACK) {
        return Err(TransferError::TooLarge(length).into());
    }
    // The limit also bounds a body sent without a length (chunked).
    let limit = usize::try_from(MAX_PAYLOAD_BYTES + BODY_SLACK).unwrap_or(usize::MAX);
    let payload = tokio::time::timeout(IO_TIMEOUT, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| Refusal::Stalled)?
        .map_err(Refusal::Read)?;
    let snapshot = decode(&site, &payload)?;
    Ok(shared.accept(site_id, snapshot).to_string())
}

fn server_config() -> Result<(String, Arc<ServerConfig>), IngestError> {
    let ca_key = rcgen::KeyPair::generate().map_err(IngestError::Certificate)?;
    let mut ca_params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(IngestError::Certificate)?;
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "harness cloud test CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(IngestError::Certificate)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().map_err(IngestError::Certificate)?;
    let leaf = rcgen::CertificateParams::new(vec![CLOUD_HOST.to_owned()])
        .map_err(IngestError::Certificate)?
        .signed_by(&leaf_key, &issuer)
        .map_err(IngestError::Certificate)?;
    let key = PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes())
        .map_err(IngestError::Key)?;
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(VERSIONS)
        .map_err(IngestError::Tls)?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
        .map_err(IngestError::Tls)?;
    // hyper serves HTTP/1.1 only here; say so, so a client offering h2 does not try it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((ca_cert.pem(), Arc::new(config)))
}
