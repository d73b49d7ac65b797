//! `fake-dc serve` for programs: the ready line a test framework reads to learn where
//! everything is, the ways the process is told to stop, and `--watch`.
//!
//! - this file: [`ReadyLine`] and [`stop_signal`];
//! - `watch.rs`: reloading the fixture when its file changes.

mod watch;

use std::path::Path;

use serde::Serialize;
use tokio::io::AsyncReadExt as _;

use crate::control::HostInfo;
use crate::directory::Directory;
use crate::server::FakeDc;

pub use watch::watch;

/// Everything a client of a running fake-dc needs, printed as one JSON line on standard
/// output once every listener is bound (nothing else is printed there).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReadyLine {
    /// Always true: lets a reader tell this line from anything else.
    pub ready: bool,
    /// The server's process id.
    pub pid: u32,
    /// Every served DC host and where it listens.
    pub hosts: Vec<HostInfo>,
    /// The forest's domains.
    pub domains: Vec<DomainInfo>,
    /// The CA that signed every host's certificate.
    pub ca: CaInfo,
    /// The control API, when it is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<ControlInfo>,
    /// Microsoft Graph, when the fixture declares an `azureAd:` tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<GraphInfo>,
    /// Google Secure LDAP, when the fixture declares a `google:` tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google: Option<GoogleInfo>,
}

/// How to reach the fixture's tenant: Graph's base URL and the identity platform's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct GraphInfo {
    /// `https://127.0.0.1:PORT/v1.0`: what a Graph SDK takes as its base URL.
    pub url: String,
    /// `https://127.0.0.1:PORT`: the authority host for MSAL or azure-identity.
    pub authority: String,
    /// `https://127.0.0.1:PORT/<tenant>/oauth2/v2.0/token`.
    pub token_endpoint: String,
    /// The tenant ID.
    pub tenant_id: String,
}

impl GraphInfo {
    /// The addresses of a running Graph listener.
    pub fn of(server: &crate::graph::GraphServer) -> Self {
        let base = server.url();
        GraphInfo {
            url: format!("{base}/v1.0"),
            token_endpoint: format!("{base}/{}/oauth2/v2.0/token", server.tenant_id()),
            tenant_id: server.tenant_id().to_owned(),
            authority: base,
        }
    }
}

/// Google Secure LDAP as a client reaches it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct GoogleInfo {
    /// `ldaps://127.0.0.1:PORT`; the certificate is also valid for `localhost` and
    /// `ldap.google.com`, and signed by the ready line's CA.
    pub url: String,
    /// The tenant's primary domain.
    pub domain: String,
    /// `dc=example,dc=com`.
    pub base_dn: String,
    /// Each LDAP client and where its certificate and key were written.
    pub clients: Vec<GoogleClientInfo>,
}

/// One LDAP client's files.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct GoogleClientInfo {
    pub name: String,
    /// `valid`, `revoked` or `expired`, as the fixture declared it.
    pub certificate: String,
    /// The certificate's PEM file (`<name>.crt`).
    pub cert_path: String,
    /// The key's PEM file (`<name>.key`, readable by its owner only).
    pub key_path: String,
}

/// Writes every client's certificate and key into `dir` (created if missing), as
/// `<name>.crt` and `<name>.key`, the names Google's downloads suggest.
pub fn write_google_credentials(
    google: &crate::google::GoogleLdap,
    dir: &Path,
) -> std::io::Result<GoogleInfo> {
    std::fs::create_dir_all(dir)?;
    let mut clients = Vec::new();
    for c in &google.clients {
        let cert = dir.join(format!("{}.crt", c.name));
        let key = dir.join(format!("{}.key", c.name));
        std::fs::write(&cert, &c.cert_pem)?;
        write_private(&key, &c.key_pem)?;
        clients.push(GoogleClientInfo {
            name: c.name.clone(),
            certificate: c.state.name().to_string(),
            cert_path: cert.display().to_string(),
            key_path: key.display().to_string(),
        });
    }
    Ok(GoogleInfo {
        url: google.url(),
        domain: google.domain.clone(),
        base_dn: google.base_dn.clone(),
        clients,
    })
}

/// A key file only its owner can read, as TLS libraries expect of private keys.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

/// One domain, as a client addresses it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DomainInfo {
    /// `corp.example.test`.
    pub dns_name: String,
    /// `CORP`.
    pub netbios: String,
    /// `DC=corp,DC=example,DC=test`: the search base.
    pub base_dn: String,
    /// Its DC hosts' names.
    pub dc_hosts: Vec<String>,
}

/// The CA, as a file and as text.
#[derive(Debug, Serialize)]
pub struct CaInfo {
    /// Where its PEM was written.
    pub path: String,
    /// The PEM itself.
    pub pem: String,
}

/// How to reach the control API.
#[derive(Debug, Serialize)]
pub struct ControlInfo {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bearer token every request must carry.
    pub token: String,
}

impl ReadyLine {
    /// The ready line of a started DC whose CA was written to `ca_path`.
    pub fn new(dc: &FakeDc, ca_path: &Path, control: Option<ControlInfo>) -> Self {
        let show = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string());
        let hosts = dc
            .all_addresses()
            .into_iter()
            .map(|(name, a)| HostInfo {
                name,
                ldap: show(a.ldap),
                ldaps: show(a.ldaps),
                gc: show(a.gc),
                gc_tls: show(a.gc_tls),
            })
            .collect();
        let domains = {
            let dir = dc.directory().read().unwrap_or_else(|e| e.into_inner());
            domains(&dir)
        };
        ReadyLine {
            ready: true,
            pid: std::process::id(),
            hosts,
            domains,
            ca: CaInfo {
                path: ca_path.display().to_string(),
                pem: dc.ca_pem().to_string(),
            },
            control,
            graph: None,
            google: None,
        }
    }

    /// The line, without its newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

fn domains(dir: &Directory) -> Vec<DomainInfo> {
    dir.domains
        .iter()
        .map(|d| DomainInfo {
            dns_name: d.dns_name.clone(),
            netbios: d.netbios.clone(),
            base_dn: dir.dn_str(d.head).to_string(),
            dc_hosts: d.dc_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        })
        .collect()
}

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM (a process manager, `docker stop`, a test framework's kill).
    Terminate,
    /// Standard input reached its end: the parent is gone or closed the pipe.
    StdinClosed,
}

/// Waits for the first reason to stop: Ctrl-C, SIGTERM, or (when `stdin_closes` is set)
/// the end of standard input, which is how a test framework that dies without cleaning
/// up still stops its fake-dc: its end of the pipe closes with it.
pub async fn stop_signal(stdin_closes: bool) -> std::io::Result<Stop> {
    let stdin = async {
        if !stdin_closes {
            return std::future::pending().await;
        }
        let mut input = tokio::io::stdin();
        let mut buf = [0u8; 256];
        // Whatever is written is ignored; only the end counts.
        loop {
            match input.read(&mut buf).await {
                Ok(0) | Err(_) => return Stop::StdinClosed,
                Ok(_) => {}
            }
        }
    };
    let term = async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            term.recv().await;
            Ok::<_, std::io::Error>(Stop::Terminate)
        }
        #[cfg(not(unix))]
        {
            std::future::pending::<std::io::Result<Stop>>().await
        }
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map(|()| Stop::Interrupt),
        r = term => r,
        s = stdin => Ok(s),
    }
}
