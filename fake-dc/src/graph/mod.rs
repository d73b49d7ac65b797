//! Microsoft Graph v1.0 over HTTPS: the fixture's forest as Azure AD sees it after
//! Azure AD Connect synchronized it, plus the tenant's cloud-only users and groups
//! (the fixture's `azureAd:` section). Choices where Microsoft's reference leaves room
//! are written down in `docs/graph.md`.
//!
//! - `spec.rs`: the fixture section; `tenant.rs`: it resolved against the directory;
//! - `objects.rs`: which objects the tenant holds and their memberships;
//!   `view.rs`: an object as Graph's JSON;
//! - `auth.rs`: OpenID discovery, the token endpoint, the bearer check;
//! - `query.rs` (`$select`, `$top`, …) and `filter.rs` (`$filter`);
//! - `handlers.rs`: the `/v1.0` routes; `page.rs`: nextLink paging; `delta.rs`: delta
//!   rounds; `state.rs`: tokens, open listings, delta states, faults;
//! - `error.rs`: Graph's and the identity platform's error shapes.
//!
//! The control API changes its faults (`control/graph.rs`).
//!
//! The listener serves HTTP/1.1 with hyper on each connection once tokio-rustls has
//! finished the handshake (axum's own `serve` speaks plain TCP only), with the same CA
//! and certificate profiles as the LDAPS listeners.

mod auth;
mod delta;
mod error;
pub mod filter;
mod handlers;
pub mod objects;
mod page;
mod query;
pub mod spec;
mod state;
pub mod tenant;
pub mod view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

pub use error::GraphError;
pub use spec::{AzureAdSpec, GraphFaultSpec};
pub use state::{FaultState, GraphState};
pub use tenant::Tenant;

use crate::server::SharedDirectory;
use crate::tls::{CertificateAuthority, TlsError};

/// A peer that stalls the handshake or a request head longer than this is dropped.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the Graph listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum GraphServeError {
    /// The fixture has no `azureAd:` section.
    #[error("the fixture declares no tenant: add an azureAd: section (see docs/graph.md)")]
    NoTenant,
    /// The certificate could not be made.
    #[error("cannot make the Graph listener's certificate: {0}")]
    Tls(#[from] TlsError),
    /// The address could not be bound.
    #[error("cannot listen for Microsoft Graph on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running Graph listener. Dropping it does not stop it; [`GraphServer::stop`] does.
pub struct GraphServer {
    /// Where it listens.
    addr: SocketAddr,
    /// Tokens, listings, delta states and faults, shared with the control API.
    state: Arc<GraphState>,
    /// The tenant ID, for the ready line.
    tenant_id: String,
    /// Ends the accept loop.
    stop: CancellationToken,
}

impl std::fmt::Debug for GraphServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl GraphServer {
    /// Serves the tenant of `directory` on `addr` (port 0: a free one), with a
    /// certificate from `ca` for `localhost` and `127.0.0.1` in the tenant's profile.
    pub async fn start(
        directory: SharedDirectory,
        ca: &CertificateAuthority,
        addr: SocketAddr,
    ) -> Result<GraphServer, GraphServeError> {
        let tenant = {
            let dir = directory.read().unwrap_or_else(|e| e.into_inner());
            dir.azure_ad.clone().ok_or(GraphServeError::NoTenant)?
        };
        let names = vec!["localhost".to_owned(), addr.ip().to_string()];
        let config = ca.server_config(tenant.certificate, &names)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| GraphServeError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| GraphServeError::Bind { addr, source })?;
        let state = Arc::new(GraphState::new(directory, tenant.faults.clone()));
        let stop = CancellationToken::new();
        tokio::spawn(accept(
            listener,
            TlsAcceptor::from(config),
            router(state.clone()),
            stop.clone(),
        ));
        Ok(GraphServer {
            addr: bound,
            state,
            tenant_id: tenant.tenant_id.clone(),
            stop,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`: both the authority host and Graph's host.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    pub fn state(&self) -> &Arc<GraphState> {
        &self.state
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for GraphServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The identity platform's routes and Graph's, the latter behind the bearer check.
pub fn router(state: Arc<GraphState>) -> Router {
    let graph = Router::new()
        .route("/v1.0/{collection}", get(handlers::collection))
        .route("/v1.0/{collection}/{segment}", get(handlers::item))
        .route(
            "/v1.0/{collection}/{id}/{relation}",
            get(handlers::relation),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ));
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(auth::openid_configuration),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
        .merge(graph)
        .fallback(|uri: axum::http::Uri| async move {
            let mut e = GraphError::bad_request(format!(
                "Invalid version or resource: {}. fake-dc serves /v1.0/users and /v1.0/groups.",
                uri.path()
            ));
            e.status = axum::http::StatusCode::NOT_FOUND;
            e
        })
        // A token request is a few hundred bytes; nothing here takes a large body.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// Accepts connections until `stop`; each gets its own task, so a slow handshake holds
/// up nobody else.
async fn accept(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((socket, _)) = accepted else {
            // Out of file descriptors or a reset before accept: back off, keep serving.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = socket.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let stop = stop.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(IO_TIMEOUT, acceptor.accept(socket)).await
            else {
                return;
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(IO_TIMEOUT)
                .serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}
