//! The rootDSE (RFC 4512 §5.1) as a Windows Server 2016 DC lists it (AD-BEHAVIOUR.md
//! "rootDSE"), per host: `defaultNamingContext` and `dnsHostName` are the host's own.
//! Readable anonymously.

use ldap3_proto::proto::{LdapPartialAttribute, LdapSearchResultEntry};

use super::ranged::Selection;
use crate::directory::{generalized_time, Directory};

/// Controls listed in `supportedControl`: those of a Windows Server 2016 DC's list that
/// fake-dc implements, in AD's order. A control fake-dc does not implement is not
/// advertised (a client that probes the rootDSE then knows not to send it), and the
/// dispatcher accepts exactly these when critical (`session.rs`).
pub const SUPPORTED_CONTROLS: &[&str] = &[
    "1.2.840.113556.1.4.319",   // paged results
    "1.2.840.113556.1.4.801",   // SD flags (no security descriptors are returned)
    "1.2.840.113556.1.4.473",   // server-side sort
    "1.2.840.113556.1.4.528",   // change notification
    "1.2.840.113556.1.4.417",   // show deleted
    "1.2.840.113556.1.4.841",   // DirSync
    "1.2.840.113556.1.4.529",   // extended DN
    "1.2.840.113556.1.4.1338",  // search options (phantom root)
    "1.2.840.113556.1.4.474",   // sort response
    "1.2.840.113556.1.4.1413",  // permissive modify
    "2.16.840.1.113730.3.4.9",  // VLV request
    "2.16.840.1.113730.3.4.10", // VLV response
    "1.2.840.113556.1.4.2064",  // show recycled
];

/// `supportedCapabilities`: AD DS, LDAP integration, partial secrets, fast concurrent
/// bind, … (MS-ADTS 3.1.1.3.4.3).
pub const SUPPORTED_CAPABILITIES: &[&str] = &[
    "1.2.840.113556.1.4.800",
    "1.2.840.113556.1.4.1670",
    "1.2.840.113556.1.4.1791",
    "1.2.840.113556.1.4.1935",
    "1.2.840.113556.1.4.2080",
    "1.2.840.113556.1.4.2237",
];

/// `supportedLDAPPolicies` (MS-ADTS 3.1.1.3.4.6).
pub const LDAP_POLICIES: &[&str] = &[
    "MaxPoolThreads",
    "MaxPercentDirSyncRequests",
    "MaxDatagramRecv",
    "MaxReceiveBuffer",
    "InitRecvTimeout",
    "MaxConnections",
    "MaxConnIdleTime",
    "MaxPageSize",
    "MaxBatchReturnMessages",
    "MaxQueryDuration",
    "MaxDirSyncDuration",
    "MaxTempTableSize",
    "MaxResultSetSize",
    "MinResultSets",
    "MaxResultSetsPerConn",
    "MaxNotificationPerConn",
    "MaxValRange",
    "MaxValRangeTransitive",
    "ThreadMemoryLimit",
    "SystemMemoryLimitPercent",
];

/// Every rootDSE attribute of `host` (a DC of `dir.domains[domain]`), in AD's order.
pub fn attributes(dir: &Directory, host: &str, domain: usize) -> Vec<(&'static str, Vec<String>)> {
    let root = dir
        .root_domain()
        .map(|d| dir.dn_str(d.head).to_string())
        .unwrap_or_default();
    let root_dns = dir
        .root_domain()
        .map(|d| d.dns_name.clone())
        .unwrap_or_default();
    let own = dir.domains.get(domain);
    let default_nc = own
        .map(|d| dir.dn_str(d.head).to_string())
        .unwrap_or_default();
    let own_dns = own.map(|d| d.dns_name.clone()).unwrap_or_default();
    let config = dir
        .configuration
        .map(|c| dir.dn_str(c).to_string())
        .unwrap_or_default();
    let schema = dir
        .schema
        .map(|s| dir.dn_str(s).to_string())
        .unwrap_or_default();
    let short = host.split('.').next().unwrap_or(host);
    let server = format!(
        "CN={},CN=Servers,CN=Default-First-Site-Name,CN=Sites,{config}",
        short.to_ascii_uppercase()
    );
    let mut contexts = vec![default_nc.clone(), config.clone(), schema.clone()];
    contexts.extend(dir.dns_zones.iter().map(|z| dir.dn_str(*z).to_string()));
    let one = |s: String| vec![s];
    let many = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("currentTime", one(generalized_time(dir.now()))),
        ("subschemaSubentry", one(format!("CN=Aggregate,{schema}"))),
        ("dsServiceName", one(format!("CN=NTDS Settings,{server}"))),
        ("namingContexts", contexts),
        ("defaultNamingContext", one(default_nc)),
        ("schemaNamingContext", one(schema)),
        ("configurationNamingContext", one(config)),
        ("rootDomainNamingContext", one(root)),
        ("supportedControl", many(SUPPORTED_CONTROLS)),
        ("supportedLDAPVersion", many(&["3", "2"])),
        ("supportedLDAPPolicies", many(LDAP_POLICIES)),
        ("highestCommittedUSN", one(dir.highest_usn().to_string())),
        (
            "supportedSASLMechanisms",
            many(&["GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5"]),
        ),
        ("dnsHostName", one(host.to_string())),
        (
            "ldapServiceName",
            one(format!(
                "{root_dns}:{}$@{}",
                short.to_ascii_lowercase(),
                own_dns.to_ascii_uppercase()
            )),
        ),
        ("serverName", one(server)),
        ("supportedCapabilities", many(SUPPORTED_CAPABILITIES)),
        ("isSynchronized", one("TRUE".into())),
        ("isGlobalCatalogReady", one("TRUE".into())),
        ("domainFunctionality", one("7".into())),
        ("forestFunctionality", one("7".into())),
        ("domainControllerFunctionality", one("7".into())),
        (
            "supportedExtension",
            many(&["1.3.6.1.4.1.1466.20037", "1.3.6.1.4.1.4203.1.11.3"]),
        ),
    ]
}

/// The rootDSE entry with the attributes a search selected.
pub fn entry(
    dir: &Directory,
    host: &str,
    domain: usize,
    sel: &Selection,
    types_only: bool,
) -> LdapSearchResultEntry {
    let attributes = attributes(dir, host, domain)
        .into_iter()
        .filter(|(name, _)| {
            sel.all_user || sel.named.iter().any(|r| r.name.eq_ignore_ascii_case(name))
        })
        .map(|(name, vals)| LdapPartialAttribute {
            atype: name.to_string(),
            vals: if types_only {
                Vec::new()
            } else {
                vals.into_iter().map(String::into_bytes).collect()
            },
        })
        .collect();
    LdapSearchResultEntry {
        dn: String::new(),
        attributes,
    }
}
