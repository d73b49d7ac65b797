//! The cloud as the stack's sink for the agent's payloads: one in-process [`Ingest`] and
//! a [`Pusher`] for it, started on the first push and reused by every later one.
//!
//! A CA, a certificate and a listener per sync cost more than the push itself; the
//! sink is made once per [`crate::stack::SyncEnvironment`] (or once per
//! [`crate::reference::ReferenceEngine`], which hands its own to every environment),
//! and clones share it. The ingest runs on the tokio runtime of the first push: a sink
//! lives no longer than that runtime.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::{encode, Ingest, Pusher, SiteBinding, TransferError};
use crate::snapshot::DirectorySnapshot;

/// Where an agent's payload goes: see the module docs. Cheap to clone; clones push to
/// the same ingest.
#[derive(Clone, Default)]
pub struct CloudSink {
    /// The running ingest and its client, once the first push has started them.
    running: Arc<OnceCell<Running>>,
}

/// A started sink.
struct Running {
    /// The cloud's side: receives, verifies and keeps payloads.
    ingest: Ingest,
    /// The agent's side, trusting the ingest's CA; keeps its connections between syncs.
    pusher: Pusher,
}

impl std::fmt::Debug for CloudSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudSink")
            .field("addr", &self.addr())
            .finish()
    }
}

impl CloudSink {
    /// A sink that starts its ingest on the first push.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the ingest listens; `None` until the first push has started it.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.running.get().map(|running| running.ingest.addr())
    }

    /// The agent's transfer: encodes `snapshot` for `site`, pushes it over HTTPS, and
    /// returns what the cloud decoded, the snapshot apply then runs on.
    pub async fn deliver(
        &self,
        site: &SiteBinding,
        snapshot: &DirectorySnapshot,
    ) -> Result<DirectorySnapshot, TransferError> {
        let payload = encode(site, snapshot)?;
        let running = self.running.get_or_try_init(Running::start).await?;
        // In a real deployment the site is bound once, when the agent is installed; here
        // every environment brings its own binding, so it is (re)bound before its push.
        running.ingest.bind(site.clone());
        let receipt = running.pusher.push(&site.site_id, payload).await?;
        running
            .ingest
            .take(receipt)
            .map(|(_, snapshot)| snapshot)
            .ok_or(TransferError::NotAccepted(receipt))
    }
}

impl Running {
    async fn start() -> Result<Self, TransferError> {
        let ingest = Ingest::start([]).await?;
        let pusher = Pusher::new(ingest.addr(), ingest.ca_pem())?;
        Ok(Self { ingest, pusher })
    }
}
