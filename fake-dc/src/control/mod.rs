//! The control API: HTTP on loopback, for test suites in any language to drive a running
//! fake-dc — change its directory, inject faults per host, move its clock, snapshot and
//! restore it, reload its fixture, read what clients asked.
//!
//! - `model.rs`: request and response bodies; `changes.rs`: the change vocabulary
//!   (scenario steps) and applying a batch all or nothing;
//! - `state.rs`: what the routes act on (snapshots, reload), synchronous;
//!   `clock.rs`: the movable directory clock;
//! - `handlers.rs`: one function per route; `error.rs`: errors as JSON naming the field;
//! - `graph.rs`: the Graph listener's faults;
//! - `openapi.rs`: the OpenAPI document derived from all of the above.
//!
//! Every request must carry the bearer token printed in the ready line: the API can
//! rewrite the directory, and loopback is shared with every local user.

mod changes;
mod clock;
mod error;
mod graph;
mod handlers;
mod model;
mod openapi;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio_util::sync::CancellationToken;

pub use changes::{apply_all, Change, ChangeError, Modify, NewContact, NewGroup, NewUser};
pub use clock::DirectoryClock;
pub use error::ApiError;
pub use graph::GraphFaults;
pub use model::{ErrorBody, Faults, HostInfo};
pub use openapi::document as openapi_document;
pub use state::{ControlState, ReloadError};

/// Why the control API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The address could not be bound.
    #[error("cannot listen for the control API on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No token could be drawn from the system's random source.
    #[error("cannot draw a random token")]
    Random,
}

/// A fresh bearer token: 32 random bytes from the system's source, as hex.
pub fn new_token() -> Result<String, ControlError> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ControlError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every route, behind the token check.
pub fn router(state: Arc<ControlState>) -> Router {
    use handlers as h;
    Router::new()
        .route("/hosts", get(h::hosts))
        .route("/changes", post(h::apply_changes).get(h::changes_since))
        .route(
            "/hosts/{host}/faults",
            get(h::get_faults)
                .post(h::add_faults)
                .delete(h::clear_faults),
        )
        .route("/hosts/{host}/stats", get(h::host_stats))
        .route("/stats", get(h::all_stats).delete(h::reset_stats))
        .route("/clock", get(h::get_clock).post(h::set_clock))
        .route("/snapshots", get(h::list_snapshots).post(h::take_snapshot))
        .route(
            "/snapshots/{name}",
            axum::routing::delete(h::delete_snapshot),
        )
        .route("/snapshots/{name}/restore", post(h::restore_snapshot))
        .route("/reload", post(h::reload))
        .route(
            "/graph/faults",
            get(graph::get_faults)
                .post(graph::add_faults)
                .delete(graph::clear_faults),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // A batch of thousands of changes is a few megabytes; axum's default is 2 MB.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state)
}

/// The largest request body accepted.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

async fn not_found() -> ApiError {
    ApiError::not_found("path", "no such route: see docs/control-api.md")
}

async fn method_not_allowed(req: Request) -> Response {
    let message = format!("{} is not a method of {}", req.method(), req.uri().path());
    let mut response = ApiError::bad("method", message).into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// Refuses a request without the right bearer token (compared in constant time, so the
/// token cannot be guessed byte by byte from response times).
async fn authorize(State(state): State<Arc<ControlState>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let want = state.token.as_bytes();
    let same = given.len() == want.len()
        && given
            .bytes()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        next.run(req).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

/// Serves the control API on `addr` (port 0: a free one) until `shutdown` is cancelled;
/// returns the bound address and the serving task.
pub async fn serve(
    state: Arc<ControlState>,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ControlError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ControlError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ControlError::Bind { addr, source })?;
    let app = router(state);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "control API stopped");
        }
    });
    Ok((bound, task))
}
