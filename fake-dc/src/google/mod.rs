//! Google Secure LDAP, as Google serves it: a fixture's `google:` tenant over LDAPS with
//! client certificates, read-only, in Google's tree and schema.
//!
//! - `spec.rs`: the fixture section (domain, the fixture domain it mirrors, clients);
//! - `certs.rs`: the clients' certificates and keys, the server's TLS configuration;
//! - `tree.rs`: Google's tree (`ou=Users`, `ou=Groups`) read from the directory;
//! - `filter.rs`: search filters over that tree;
//! - `session.rs`: one connection's protocol (binds, searches, refusals);
//! - `listener.rs`: the socket.
//!
//! It shares the LDAP codec with the AD server (`server::codec`) and fake-dc's CA signs
//! its server certificate, so a client that trusts fake-dc's CA trusts it too.
//! docs/google-secure-ldap.md says what Google documents and where fake-dc chose.

mod certs;
mod filter;
mod listener;
mod session;
pub mod spec;
pub mod tree;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use certs::ClientCredentials;
pub use spec::{AccessCredentials, CertState, ClientSpec, GoogleSpec};

use crate::server::{ServerError, SharedDirectory};
use crate::tls::CertificateAuthority;

/// The names the service's certificate is valid for: Google's host, and the loopback
/// names a test connects by.
pub const HOST_NAMES: [&str; 3] = ["ldap.google.com", "localhost", "127.0.0.1"];

/// A running Secure LDAP service.
#[derive(Clone)]
pub struct GoogleLdap {
    /// Where it listens.
    pub address: SocketAddr,
    /// The tenant's primary domain.
    pub domain: String,
    /// `dc=example,dc=com`.
    pub base_dn: String,
    /// Every client's certificate and key.
    pub clients: Vec<ClientCredentials>,
    service: Arc<session::Service>,
}

impl std::fmt::Debug for GoogleLdap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleLdap")
            .field("address", &self.address)
            .field("domain", &self.domain)
            .field("clients", &self.clients.len())
            .finish_non_exhaustive()
    }
}

impl GoogleLdap {
    /// `ldaps://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldaps://{}", self.address)
    }

    /// Refuses the next `n` binds with ADMIN_LIMIT_EXCEEDED (11), as Google answers a
    /// client over its bind quota, however slowly they come: a fault for tests of a
    /// client's backing off.
    pub fn refuse_binds_over_quota(&self, n: u32) {
        self.service.refuse_binds(n);
    }

    /// The credentials of the client named `name`.
    pub fn client(&self, name: &str) -> Option<&ClientCredentials> {
        self.clients.iter().find(|c| c.name == name)
    }

    /// Issues the clients' certificates, binds `addr` and starts serving `directory`
    /// as `spec`'s tenant; every task goes on `tracker` and stops with `token`.
    pub(crate) async fn start(
        spec: GoogleSpec,
        directory: SharedDirectory,
        ca: &CertificateAuthority,
        addr: SocketAddr,
        tracker: &TaskTracker,
        token: CancellationToken,
    ) -> Result<GoogleLdap, ServerError> {
        let names: Vec<String> = HOST_NAMES.iter().map(|n| n.to_string()).collect();
        let tls = certs::server_config(ca, &names)?;
        let (clients, registry) = certs::issue_clients(&spec)?;
        let bind_error = |source| ServerError::Bind {
            host: "Google Secure LDAP".to_string(),
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let service = Arc::new(session::Service::new(spec.clone(), directory));
        let ldap = GoogleLdap {
            address,
            domain: spec.domain.clone(),
            base_dn: spec.base_dn(),
            clients,
            service: service.clone(),
        };
        tracker.spawn(listener::accept_loop(
            listener,
            tls,
            service,
            Arc::new(registry),
            tracker.clone(),
            token,
        ));
        Ok(ldap)
    }
}
