//! The transfer stage: the snapshot as a versioned, authenticated payload, and (for the
//! agent method) its push over HTTPS to the cloud.
//!
//! - [`payload`]: the format, and the checks that refuse another version, a truncated
//!   or a tampered payload before anything is parsed.
//! - [`ingest`]: the in-process cloud's HTTPS route that receives payloads (axum's
//!   router on hyper, over tokio-rustls).
//! - [`push`]: the agent's side, a reqwest client that trusts only the cloud's CA.
//! - [`sink`]: the two together as the stack's [`CloudSink`], started once and reused
//!   by every agent sync.
//!
//! Both ends use rustls with ring as its only crypto provider, TLS 1.2 or 1.3.

pub mod ingest;
pub mod payload;
pub mod push;
pub mod sink;

pub use ingest::{Ingest, IngestError, Receipt};
pub use payload::{decode, encode, site_of, SiteBinding, MAX_PAYLOAD_BYTES, PAYLOAD_VERSION};
pub use push::{ClientError, Pusher};
pub use sink::CloudSink;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The name the in-process cloud's certificate is issued for.
pub const CLOUD_HOST: &str = "cloud.harness.test";

/// The route a site posts its payload to, with `{site_id}` in axum's syntax.
const SNAPSHOT_ROUTE: &str = "/v1/sites/{site_id}/snapshot";

/// Bound on a TLS handshake, a request head, and reading a body; a push as a whole gets
/// four times as long, since a large payload is one body.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// TLS 1.2 or newer only (SPEC: HTTPS; older versions are broken).
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The workspace's one crypto provider, so no other (aws-lc-rs) is ever picked by default.
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
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
    /// A site id the header's 16-bit length cannot carry.
    #[error("payload: a site id of {0} bytes is over the 65,535-byte limit")]
    SiteIdTooLong(usize),
    /// The HTTPS exchange failed before the cloud answered.
    #[error("{CLOUD_HOST} ({addr}): the push failed")]
    Push {
        /// The endpoint.
        addr: SocketAddr,
        /// What went wrong, without the URL (the message already names the host).
        #[source]
        source: reqwest::Error,
    },
    /// The cloud answered with an error status.
    #[error("{CLOUD_HOST}: refused with HTTP {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The cloud's explanation.
        body: String,
    },
    /// The cloud said it accepted the payload but its answer carries no receipt.
    #[error("{CLOUD_HOST}: accepted the payload without a receipt")]
    NoReceipt,
    /// The cloud's receipt names nothing it holds.
    #[error("cloud ingest: receipt {0} names no accepted snapshot")]
    NotAccepted(Receipt),
    /// The in-process cloud could not start.
    #[error("cloud ingest: cannot start")]
    Ingest(#[source] IngestError),
    /// The agent's HTTPS client could not be set up.
    #[error("agent: cannot set up the HTTPS client for {CLOUD_HOST}")]
    Client(#[source] ClientError),
}
