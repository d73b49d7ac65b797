//! Where a domain controller's host name points: an injectable map, then real DNS.
//!
//! Strict TLS checks the certificate against the host NAME an administrator typed
//! (`dc1.corp.example.test`), while tests serve that name from a loopback port picked at
//! run time. The resolver is what lets both be true: the socket goes to the mapped
//! address, the TLS server name stays the host name.
//!
//! Lookup order, per (host, port):
//! 1. the pinned map (host names compare case-insensitively, as DNS does);
//! 2. if the resolver allows it ([`Resolver::system`]), the system resolver via
//!    `tokio::net::lookup_host`, every address it returns tried in order by the caller.
//!
//! [`Resolver::pinned`] never falls back to DNS, so a test that forgot to pin a name fails
//! at once with [`ResolveError::NotPinned`] instead of leaking a query to the network.

use std::collections::HashMap;
use std::net::SocketAddr;

/// Why a host name could not be turned into socket addresses.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name is not in the map and DNS fallback is off.
    #[error("{host}:{port} is not in the resolver's map and DNS lookup is off; pin it with Resolver::pin")]
    NotPinned {
        /// The host name asked for.
        host: String,
        /// The port asked for.
        port: u16,
    },
    /// DNS answered with an error.
    #[error("cannot resolve {host}:{port}; check the host name and the DNS servers")]
    Dns {
        /// The host name asked for.
        host: String,
        /// The port asked for.
        port: u16,
        /// What the system resolver said.
        #[source]
        source: std::io::Error,
    },
    /// DNS answered without any address.
    #[error("{host}:{port} resolves to no address; check the host's DNS records")]
    NoAddress {
        /// The host name asked for.
        host: String,
        /// The port asked for.
        port: u16,
    },
}

/// An injectable map from (host name, port) to socket address, with an optional fallback
/// to the system resolver.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// Pinned addresses by (lower-case host name, port).
    pinned: HashMap<(String, u16), SocketAddr>,
    /// Whether names not pinned are looked up in DNS.
    dns_fallback: bool,
}

impl Resolver {
    /// A resolver that uses DNS for every name not pinned: what production uses.
    pub fn system() -> Self {
        Self {
            pinned: HashMap::new(),
            dns_fallback: true,
        }
    }

    /// A resolver that knows only the pinned names: what tests use.
    pub fn pinned() -> Self {
        Self::default()
    }

    /// Points `host:port` at `addr`; later pins of the same pair replace earlier ones.
    pub fn pin(&mut self, host: &str, port: u16, addr: SocketAddr) -> &mut Self {
        self.pinned.insert((normalize(host), port), addr);
        self
    }

    /// [`Resolver::pin`] for building in one expression.
    pub fn with(mut self, host: &str, port: u16, addr: SocketAddr) -> Self {
        self.pin(host, port, addr);
        self
    }

    /// The addresses to try for `host:port`, in order.
    ///
    /// An IP literal resolves to itself without DNS (`[::1]` and `::1` alike).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        if let Some(addr) = self.pinned.get(&(normalize(host), port)) {
            return Ok(vec![*addr]);
        }
        let bare = host.trim().trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        if !self.dns_fallback {
            return Err(ResolveError::NotPinned {
                host: host.to_owned(),
                port,
            });
        }
        let found: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|source| ResolveError::Dns {
                host: host.to_owned(),
                port,
                source,
            })?
            .collect();
        if found.is_empty() {
            return Err(ResolveError::NoAddress {
                host: host.to_owned(),
                port,
            });
        }
        Ok(found)
    }
}

/// DNS names are case-insensitive and may carry a trailing root dot.
fn normalize(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pinned_names_ignore_case_and_the_root_dot() {
        let addr: SocketAddr = "127.0.0.1:40636".parse().unwrap();
        let resolver = Resolver::pinned().with("DC1.corp.example.test.", 636, addr);
        assert_eq!(
            resolver
                .resolve("dc1.corp.example.test", 636)
                .await
                .unwrap(),
            [addr]
        );
        assert!(matches!(
            resolver.resolve("dc1.corp.example.test", 389).await,
            Err(ResolveError::NotPinned { port: 389, .. })
        ));
    }

    #[tokio::test]
    async fn ip_literals_need_no_lookup() {
        let resolver = Resolver::pinned();
        assert_eq!(
            resolver.resolve("[::1]", 636).await.unwrap(),
            ["[::1]:636".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolver.resolve("10.0.0.1", 389).await.unwrap(),
            ["10.0.0.1:389".parse::<SocketAddr>().unwrap()]
        );
    }
}
