//! Shared setup for fake-dc's socket-level tests: one fixture, a DC with two hosts of the
//! root domain and one of the child domain, and ldap3 clients.
#![allow(dead_code)]

use std::net::SocketAddr;

use fake_dc::directory::Directory;
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};
use fake_dc::tls::CertProfile;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

/// The fixture text (see fixtures/forest.yaml).
pub const FIXTURE: &str = include_str!("../fixtures/forest.yaml");
/// The pinned directory clock: 2026-11-21 (so snapshots and account states are stable).
pub const FIXED_TIME: i64 = 1_795_300_000;
pub const DC1: &str = "dc1.corp.example.test";
pub const DC2: &str = "dc2.corp.example.test";
pub const EMEA_DC: &str = "dc1.emea.corp.example.test";
pub const DOMAIN: &str = "DC=corp,DC=example,DC=test";
pub const EMEA: &str = "DC=emea,DC=corp,DC=example,DC=test";
pub const SVC_DN: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";
pub const SVC_PW: &str = "Sync-Secret-1";
pub const BIG_GROUP: &str = "CN=Bulk Group 0,OU=Bulk,DC=corp,DC=example,DC=test";
pub const ALICE: &str = "CN=Alice Archer,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test";

/// The test forest with the clock pinned.
pub fn directory() -> Directory {
    fixture::load_str(
        FIXTURE,
        "forest.yaml",
        LoadOptions {
            fixed_time: Some(FIXED_TIME),
        },
    )
    .expect("test fixture loads")
}

/// Every service of a host on loopback, with `127.0.0.1` in the certificate so command-line
/// tools can check it while connecting by IP.
pub fn host(cert: CertProfile) -> HostConfig {
    HostConfig {
        cert,
        extra_names: vec!["127.0.0.1".into()],
        ..HostConfig::loopback()
    }
}

/// A DC with hosts dc1 and dc2 (corp) and dc1.emea, all CA-signed.
pub async fn start() -> FakeDc {
    start_with(ServerOptions::default()).await
}

pub async fn start_with(options: ServerOptions) -> FakeDc {
    FakeDc::builder(directory())
        .host(DC1, host(CertProfile::CaSigned))
        .host(DC2, host(CertProfile::CaSigned))
        .host(EMEA_DC, host(CertProfile::CaSigned))
        .options(options)
        .start()
        .await
        .expect("fake DC starts")
}

pub fn ldap_addr(dc: &FakeDc, host: &str) -> SocketAddr {
    dc.addresses(host)
        .and_then(|a| a.ldap)
        .expect("ldap listener")
}

/// A plain LDAP connection to a socket address.
pub async fn connect(addr: SocketAddr) -> Ldap {
    let (conn, ldap) = LdapConnAsync::new(&format!("ldap://{addr}"))
        .await
        .expect("connect");
    ldap3::drive!(conn);
    ldap
}

/// A connection over an already connected socket, so TLS checks the certificate against
/// `host` while the socket goes to loopback.
pub async fn connect_as(
    scheme: &str,
    host: &str,
    addr: SocketAddr,
    settings: LdapConnSettings,
) -> ldap3::result::Result<Ldap> {
    let stream = std::net::TcpStream::connect(addr).expect("tcp connect");
    let settings = settings.set_std_stream(ldap3::StdStream::Tcp(stream));
    let (conn, ldap) =
        LdapConnAsync::with_settings(settings, &format!("{scheme}://{host}:{}", addr.port()))
            .await?;
    ldap3::drive!(conn);
    Ok(ldap)
}

/// A strict TLS client config trusting the DC's CA.
pub fn strict(dc: &FakeDc) -> LdapConnSettings {
    LdapConnSettings::new()
        .set_config(fake_dc::tls::client_config_trusting(dc.ca_pem()).expect("CA parses"))
}

/// A relaxed TLS client config (any certificate).
pub fn relaxed() -> LdapConnSettings {
    LdapConnSettings::new().set_config(fake_dc::tls::relaxed_client_config())
}

/// A connection to dc1's LDAP port bound as the sync service account.
pub async fn svc(dc: &FakeDc) -> Ldap {
    let mut ldap = connect(ldap_addr(dc, DC1)).await;
    ldap.simple_bind(SVC_DN, SVC_PW)
        .await
        .expect("bind")
        .success()
        .expect("bind succeeds");
    ldap
}

/// Searches and returns the entries (references dropped) and the result.
pub async fn search(
    ldap: &mut Ldap,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
) -> (Vec<SearchEntry>, ldap3::LdapResult) {
    let ldap3::SearchResult(entries, res) = ldap
        .search(base, scope, filter, attrs.to_vec())
        .await
        .expect("search");
    (
        entries
            .into_iter()
            .filter(|e| !e.is_ref())
            .map(SearchEntry::construct)
            .collect(),
        res,
    )
}
