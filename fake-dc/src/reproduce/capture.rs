//! `fake-dc capture`: a live directory read into a fixture, over LDAP, LDAPS or StartTLS,
//! bound as a given account, read-only (searches only). It reads as a careful AD client
//! does: the rootDSE first (naming contexts, controls, whether it is AD at all), paged
//! searches, ranged `member` completed, binary identities as bytes; with `forest`, every
//! domain through the Global Catalog (its partial attribute set: the GC holds no more);
//! with `tombstones`, the deleted objects through the Show Deleted control. What it
//! cannot read is said in the result's notes, never silently dropped.

mod read;

use std::net::SocketAddr;
use std::time::Duration;

use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope};

use super::{Collected, Collector};
use read::{RawEntry, Search};

/// `LDAP_SERVER_SHOW_DELETED_OID`.
const SHOW_DELETED_OID: &str = "1.2.840.113556.1.4.417";
const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// `LDAP_CAP_ACTIVE_DIRECTORY_OID` (Windows AD and Samba AD both announce it).
const AD_CAPABILITY_OID: &str = "1.2.840.113556.1.4.800";
/// AD's default MaxPageSize: a page larger than the server's limit comes back short.
const DEFAULT_PAGE_SIZE: i32 = 1000;

/// How the connection is protected.
#[derive(Debug, Clone)]
pub enum Tls {
    /// Plain LDAP (`ldap://`), or StartTLS when `starttls` is set with `Strict`/`Relaxed`.
    None,
    /// The certificate must chain to one of these CA certificates (PEM) and name the
    /// URL's host.
    Strict { ca_pem: String },
    /// Any certificate (still encrypted to whoever holds its key).
    Relaxed,
}

/// What to read and how.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// `ldap://host:389`, `ldaps://host:636`, or the Global Catalog (`ldap://host:3268`,
    /// `ldaps://host:3269`).
    pub url: String,
    /// Connect to this address instead of resolving the URL's host; TLS still checks the
    /// certificate against the URL's host.
    pub address: Option<SocketAddr>,
    pub tls: Tls,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// Bind DN, UPN or `DOMAIN\name`; `None` reads anonymously.
    pub bind: Option<String>,
    pub password: Option<String>,
    /// Read every domain of the forest (the URL must be a Global Catalog port).
    pub forest: bool,
    /// Read tombstones too (Show Deleted control).
    pub tombstones: bool,
    /// Page size; default: the server's MaxPageSize when readable, else 1000.
    pub page_size: Option<i32>,
    /// Bound on connecting and on each operation.
    pub timeout: Duration,
    /// Becomes the fixture's `defaultPassword`.
    pub default_password: Option<String>,
}

/// Why a capture failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the bind as '{who}' failed: result {rc} ({text})")]
    Bind { who: String, rc: u32, text: String },
    #[error("{what} failed: {source}")]
    Ldap {
        what: &'static str,
        source: ldap3::LdapError,
    },
    #[error("the search under '{base}' failed: result {rc} ({text})")]
    Search { base: String, rc: u32, text: String },
    #[error("the server sent something unreadable: {0}")]
    Malformed(String),
    #[error("{0}")]
    Usage(String),
}

impl CaptureError {
    fn ldap(what: &'static str) -> impl Fn(ldap3::LdapError) -> CaptureError {
        move |source| CaptureError::Ldap { what, source }
    }
}

/// What a capture reports as it goes.
pub trait Progress: Send {
    /// `n` more entries read.
    fn entries(&mut self, n: u64);
    fn message(&mut self, text: &str);
    fn finish(&mut self);
}

/// No progress shown.
pub struct Quiet;

impl Progress for Quiet {
    fn entries(&mut self, _: u64) {}
    fn message(&mut self, _: &str) {}
    fn finish(&mut self) {}
}

/// What the capture counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaptureStats {
    pub entries: usize,
    pub pages: usize,
    pub ranged_fetches: usize,
    pub tombstones: usize,
}

async fn connect(o: &CaptureOptions) -> Result<Ldap, CaptureError> {
    let fail = |reason: String| CaptureError::Connect {
        url: o.url.clone(),
        reason,
    };
    let mut settings = LdapConnSettings::new().set_conn_timeout(o.timeout);
    let tls_config = match &o.tls {
        Tls::None => None,
        Tls::Strict { ca_pem } => Some(
            crate::tls::client_config_trusting(ca_pem)
                .map_err(|e| fail(format!("the CA certificate: {e}")))?,
        ),
        Tls::Relaxed => Some(crate::tls::relaxed_client_config()),
    };
    let is_ldaps = o.url.to_ascii_lowercase().starts_with("ldaps://");
    if o.starttls && is_ldaps {
        return Err(CaptureError::Usage(
            "StartTLS upgrades a plain ldap:// connection; an ldaps:// URL is TLS already".into(),
        ));
    }
    if (is_ldaps || o.starttls) && tls_config.is_none() {
        return Err(CaptureError::Usage(
            "TLS needs --ca FILE (strict) or --insecure (relaxed)".into(),
        ));
    }
    if let Some(config) = tls_config {
        settings = settings.set_config(config);
    }
    settings = settings.set_starttls(o.starttls);
    if let Some(addr) = o.address {
        let stream = tokio::time::timeout(o.timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| fail(format!("{addr}: timed out")))?
            .map_err(|e| fail(format!("{addr}: {e}")))?;
        let stream = stream
            .into_std()
            .map_err(|e| fail(format!("{addr}: {e}")))?;
        settings = settings.set_std_stream(ldap3::StdStream::Tcp(stream));
    }
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &o.url)
        .await
        .map_err(|e| fail(e.to_string()))?;
    ldap3::drive!(conn);
    Ok(ldap)
}

/// The rootDSE's answers that decide how to read.
struct RootDse {
    default_nc: Option<String>,
    config_nc: Option<String>,
    controls: Vec<String>,
    capabilities: Vec<String>,
}

async fn root_dse(ldap: &mut Ldap, timeout: Duration) -> Result<RootDse, CaptureError> {
    let search = Search {
        base: "",
        scope: Scope::Base,
        filter: "(objectClass=*)",
        attrs: &[
            "defaultNamingContext",
            "configurationNamingContext",
            "supportedControl",
            "supportedCapabilities",
        ],
        controls: Vec::new(),
        page_size: None,
        timeout,
    };
    let mut found = None;
    read::paged(ldap, &search, |e| found = Some(e)).await?;
    let entry = found.unwrap_or(RawEntry {
        dn: String::new(),
        attrs: Vec::new(),
    });
    let get = |n: &str| -> Vec<String> {
        entry
            .attrs
            .iter()
            .filter(|(d, _)| d.eq_ignore_ascii_case(n))
            .flat_map(|(_, v)| v.iter().map(|b| String::from_utf8_lossy(b).into_owned()))
            .collect()
    };
    Ok(RootDse {
        default_nc: get("defaultNamingContext").into_iter().next(),
        config_nc: get("configurationNamingContext").into_iter().next(),
        controls: get("supportedControl"),
        capabilities: get("supportedCapabilities"),
    })
}

/// Reads the directory the options point at into a fixture.
pub async fn capture(
    o: &CaptureOptions,
    progress: &mut dyn Progress,
) -> Result<(Collected, CaptureStats), CaptureError> {
    let mut ldap = connect(o).await?;
    if let Some(who) = &o.bind {
        let pw = o.password.clone().unwrap_or_default();
        let result = ldap
            .with_timeout(o.timeout)
            .simple_bind(who, &pw)
            .await
            .map_err(CaptureError::ldap("bind"))?;
        if result.rc != 0 {
            return Err(CaptureError::Bind {
                who: who.clone(),
                rc: result.rc,
                text: result.text.trim_end_matches(['\0', '\n']).to_string(),
            });
        }
    }
    let dse = root_dse(&mut ldap, o.timeout).await?;
    let mut collector = Collector::new();
    let mut stats = CaptureStats::default();
    let is_ad = dse.capabilities.iter().any(|c| c == AD_CAPABILITY_OID);
    if !is_ad {
        collector.note(
            "the server is not Active Directory (no AD capability in its rootDSE): no objectGUID, objectSid or USNs to keep, so identities are fake-dc's own; classes AD does not have are served as containers",
        );
    }
    let paging = dse.controls.iter().any(|c| c == PAGED_RESULTS_OID);
    let page_size = if paging {
        Some(match o.page_size {
            Some(n) => n.max(1),
            None => max_page_size(&mut ldap, &dse, o.timeout).await,
        })
    } else {
        collector.note("the server does not page (no paged results control): read in one search, which a size limit may cut short");
        None
    };
    // Domain names and NetBIOS names from the crossRefs (the Partitions container).
    let mut domain_ncs: Vec<String> = Vec::new();
    if let Some(config) = &dse.config_nc {
        let base = format!("CN=Partitions,{config}");
        let search = Search {
            base: &base,
            scope: Scope::Subtree,
            filter: "(|(objectClass=crossRef)(objectClass=crossRefContainer))",
            attrs: &["*"],
            controls: Vec::new(),
            page_size,
            timeout: o.timeout,
        };
        let mut refs = Vec::new();
        // A server without a Partitions container (not AD) has no crossRefs to give.
        if read::paged(&mut ldap, &search, |e| refs.push(e))
            .await
            .is_ok()
        {
            for e in refs {
                if let Some(nc) = nc_of_domain(&e) {
                    domain_ncs.push(nc);
                }
                collector.add_reference(&e.dn, e.attrs);
            }
        }
    }
    let bases: Vec<String> = if o.forest {
        if domain_ncs.is_empty() {
            vec![String::new()]
        } else {
            domain_ncs.clone()
        }
    } else {
        match &dse.default_nc {
            Some(nc) => vec![nc.clone()],
            None => {
                return Err(CaptureError::Usage(
                    "the server names no defaultNamingContext: nothing to read".into(),
                ))
            }
        }
    };
    if !o.forest && domain_ncs.len() > 1 {
        collector.note(format!(
            "the forest has {} domains and only {} was read: capture the Global Catalog (port 3268/3269) with --forest for all of them",
            domain_ncs.len(),
            bases.join(", ")
        ));
    }
    if o.forest {
        collector.note("read through the Global Catalog: only its partial attribute set (attributes outside it, such as description or pwdLastSet, are not in the fixture)");
    }
    let mut seen = std::collections::HashSet::new();
    let mut ranged: Vec<(RawEntry, usize)> = Vec::new();
    for base in &bases {
        progress.message(&format!(
            "reading {}",
            if base.is_empty() { "the forest" } else { base }
        ));
        let search = Search {
            base,
            scope: Scope::Subtree,
            filter: "(objectClass=*)",
            attrs: &["*"],
            controls: Vec::new(),
            page_size,
            timeout: o.timeout,
        };
        let collector = &mut collector;
        let (seen, ranged, stats_entries) = (&mut seen, &mut ranged, &mut stats.entries);
        let pages = read::paged(&mut ldap, &search, |e| {
            // A GC search under the root domain also returns its child domains: once each.
            if !seen.insert(e.dn.to_ascii_lowercase()) {
                return;
            }
            *stats_entries += 1;
            progress.entries(1);
            match e.member_range_next() {
                Some(next) => ranged.push((e, next)),
                None => collector.add(&e.dn, e.attrs),
            }
        })
        .await?;
        stats.pages += pages;
    }
    if !ranged.is_empty() {
        progress.message(&format!(
            "completing the members of {} large groups",
            ranged.len()
        ));
    }
    for (mut e, next) in ranged {
        stats.ranged_fetches += read::complete_members(&mut ldap, &mut e, next, o.timeout).await?;
        collector.add(&e.dn, e.attrs);
    }
    if o.tombstones {
        stats.tombstones =
            tombstones(&mut ldap, &dse, &bases, page_size, o, &mut collector).await?;
    }
    let _ = ldap.unbind().await;
    progress.finish();
    Ok((collector.finish(o.default_password.clone()), stats))
}

/// The domain naming context a crossRef names: its nCName when made of `DC=` RDNs only
/// (the DNS application partitions excluded).
fn nc_of_domain(e: &RawEntry) -> Option<String> {
    let get = |n: &str| {
        e.attrs
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(n))
            .and_then(|(_, v)| v.first())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let nc = get("nCName")?;
    let dn = crate::dn::Dn::parse(&nc).ok()?;
    let domain_like = !dn.rdns.is_empty()
        && dn.rdns.iter().all(|r| r.attr().eq_ignore_ascii_case("DC"))
        && !["DomainDnsZones", "ForestDnsZones"]
            .iter()
            .any(|z| dn.rdns[0].value().eq_ignore_ascii_case(z));
    // systemFlags bit 2 (FLAG_CR_NTDS_DOMAIN) marks a domain where the server says so.
    let flags: Option<i64> = get("systemFlags").and_then(|t| t.trim().parse().ok());
    (domain_like && flags.is_none_or(|f| f & 2 != 0)).then_some(nc)
}

/// The server's MaxPageSize from the Default Query Policy, else AD's default.
async fn max_page_size(ldap: &mut Ldap, dse: &RootDse, timeout: Duration) -> i32 {
    let Some(config) = &dse.config_nc else {
        return DEFAULT_PAGE_SIZE;
    };
    let base = format!(
        "CN=Default Query Policy,CN=Query-Policies,CN=Directory Service,CN=Windows NT,CN=Services,{config}"
    );
    let search = Search {
        base: &base,
        scope: Scope::Base,
        filter: "(objectClass=*)",
        attrs: &["lDAPAdminLimits"],
        controls: Vec::new(),
        page_size: None,
        timeout,
    };
    let mut limit = None;
    let read = read::paged(ldap, &search, |e| {
        for (_, values) in e.attrs {
            for v in values {
                let t = String::from_utf8_lossy(&v);
                if let Some(n) = t.strip_prefix("MaxPageSize=") {
                    limit = n.trim().parse::<i32>().ok();
                }
            }
        }
    })
    .await;
    match (read, limit) {
        (Ok(_), Some(n)) if n > 0 => n,
        _ => DEFAULT_PAGE_SIZE,
    }
}

/// Reads each domain's `CN=Deleted Objects` with the Show Deleted control.
async fn tombstones(
    ldap: &mut Ldap,
    dse: &RootDse,
    bases: &[String],
    page_size: Option<i32>,
    o: &CaptureOptions,
    collector: &mut Collector,
) -> Result<usize, CaptureError> {
    if !dse.controls.iter().any(|c| c == SHOW_DELETED_OID) {
        collector.note("tombstones were asked for, but the server does not offer the Show Deleted control: none read");
        return Ok(0);
    }
    let mut count = 0;
    for base in bases.iter().filter(|b| !b.is_empty()) {
        let graveyard = format!("CN=Deleted Objects,{base}");
        let search = Search {
            base: &graveyard,
            scope: Scope::OneLevel,
            filter: "(isDeleted=TRUE)",
            attrs: &["*", "isDeleted", "lastKnownParent"],
            controls: vec![RawControl {
                ctype: SHOW_DELETED_OID.into(),
                crit: true,
                val: None,
            }],
            page_size,
            timeout: o.timeout,
        };
        let mut found = Vec::new();
        match read::paged(ldap, &search, |e| found.push(e)).await {
            Ok(_) => {}
            Err(CaptureError::Search { rc: 32, .. }) => continue,
            Err(e) => return Err(e),
        }
        count += found.len();
        for e in found {
            collector.add(&e.dn, e.attrs);
        }
    }
    Ok(count)
}
