//! The extract stage: read every mail-enabled object, group and dynamic list under the
//! root DN, resolve group membership completely, and hand the transform a closed set.
//!
//! # What is asked of the DC
//!
//! 1. One paged subtree search from the root DN with [`EXTRACT_FILTER`] and
//!    [`BASE_ATTRIBUTES`] plus the configured additional attributes (pages of at most
//!    [`MAX_PAGE_SIZE`], AD's MaxPageSize).
//! 2. For each group whose `member` came back ranged (`member;range=0-1499` and an empty
//!    `member`), base searches for `member;range=<next>-*` until a range ends in `*`.
//! 3. Each group member that the search did not return is looked up by DN: for the
//!    directory connector with a base search on the same connection, for the agent on the
//!    Global Catalog of the same host (which covers every domain of the forest). A member
//!    that cannot be read (no such object, referral, access denied) is skipped with a
//!    warning: the service account may not be allowed to see it.
//! 4. Each dynamic distribution list's stored filter is evaluated by a paged subtree
//!    search under its base DN.
//!
//! An extraction either completes or fails as a whole: a dropped connection, a timeout or
//! an error result on any of these is an [`ExtractError`], and nothing is applied.
//!
//! # Scope of looked-up members (where SPEC is silent)
//!
//! Users that move out of the root DN have left the directory (SPEC "Apply"), even when a
//! group under the root DN still lists them, so a looked-up object in the root DN's own
//! domain is never synced itself: it only tells "not mail-enabled" (silent) from "outside
//! the root DN" (a warning). Objects of *other* domains found through the Global Catalog
//! (agent method) are synced as users, contacts and groups: covering a multi-domain
//! forest is what the agent's Global Catalog queries are for.
//!
//! # Identity and order
//!
//! Objects are keyed by `objectGUID`; DNs are matched case-insensitively (AD's DNs are
//! case-insensitive; the DC spells a DN the same way in an entry and in `member`, so no
//! escape normalisation is attempted). Everything is gathered into ordered maps so the
//! snapshot is the same whatever order the DC returned entries in.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use ldap3::adapters::EntriesOnly;
use ldap3::asn1::{parse_tag, StructureTag, PL};
use ldap3::controls::{PagedResults, RawControl};
use ldap3::{Ldap, LdapError, Scope};
use serde::{Deserialize, Serialize};

use crate::connect::{connect_host, ConnectError, ConnectOptions};
use crate::guid::Guid;
use crate::settings::ConnectorSettings;
use crate::snapshot::{DirContact, DirGroup, DirUser, DirectorySnapshot, GroupKind};
use crate::transform;

mod entry;
pub(crate) mod members;
mod to_snapshot;

pub use entry::RawEntry;
use entry::{parse_range, texts};
#[cfg(test)]
use members::domain_of;
use members::rdns;
pub(crate) use members::{
    base_entry, complete_range, evaluate_dynamic_lists, is_under, normalize_dn, resolve_members,
};
pub use to_snapshot::{to_snapshot, to_snapshot_keeping, Kept};

/// AD refuses pages larger than this (MaxPageSize).
pub const MAX_PAGE_SIZE: i32 = 1000;

/// The OID of the paged results control (RFC 2696).
const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";

/// Every mail-enabled object, every group and every dynamic distribution list.
pub const EXTRACT_FILTER: &str =
    "(|(mail=*)(proxyAddresses=*)(objectClass=group)(objectClass=msExchDynamicDistributionList))";

/// What the transform needs of each object.
pub const BASE_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectClass",
    "distinguishedName",
    "cn",
    "mail",
    "proxyAddresses",
    "userAccountControl",
    "member",
    "primaryGroupID",
    "primaryGroupToken",
    "objectSid",
    "msExchDynamicDLFilter",
    "msExchDynamicDLBaseDN",
    "displayName",
];

/// Bounds a ranged retrieval: 1,500 values a step makes this 150 million members.
const MAX_RANGE_STEPS: usize = 100_000;

/// Why an extraction did not complete. Every variant names the host.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The connection dropped or an operation timed out.
    #[error("extraction from {host} did not complete")]
    Connection {
        /// The host.
        host: String,
        /// What happened to the connection.
        #[source]
        source: ConnectError,
    },
    /// The DC answered a search with an error result.
    #[error("{host}: search under '{base}' failed with result {rc}: {diagnostic}")]
    Search {
        /// The host.
        host: String,
        /// The search base.
        base: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic message.
        diagnostic: String,
    },
    /// The DC sent something this stack cannot read.
    #[error("{host}: malformed answer: {reason}")]
    Malformed {
        /// The host.
        host: String,
        /// What was wrong.
        reason: String,
    },
    /// Ranged retrieval of a group's members did not make progress.
    #[error("{host}: ranged retrieval of the members of '{group}' failed: {reason}")]
    Range {
        /// The host.
        host: String,
        /// The group's DN.
        group: String,
        /// What went wrong.
        reason: String,
    },
    /// The Global Catalog could not be reached or bound.
    #[error("Global Catalog")]
    GlobalCatalog(#[source] ConnectError),
}

/// Counters and timings of one run, for the report and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Entries returned by the main search.
    pub entries: usize,
    /// Pages of the main search.
    pub pages: usize,
    /// Base searches for a further `member;range=…`.
    pub ranged_fetches: usize,
    /// Base searches for members the main search did not return (same connection).
    pub lookups: usize,
    /// Base searches on the Global Catalog.
    pub gc_lookups: usize,
    /// Dynamic distribution lists evaluated.
    pub dynamic_lists: usize,
    /// Members skipped because they could not be read.
    pub skipped_members: usize,
    /// Tombstones read by a delta run (objects deleted since the last run).
    pub tombstones: usize,
    /// Containers whose subtree a delta run read again because they were renamed,
    /// moved or otherwise changed.
    pub containers: usize,
    /// Time to connect and bind.
    pub connect: Duration,
    /// Time to extract.
    pub extract: Duration,
    /// Time to transform into a snapshot.
    pub transform: Duration,
    /// Time to encode, transfer and decode the payload.
    pub transfer: Duration,
    /// Time to plan and apply.
    pub apply: Duration,
}

/// What kind of object an entry is, from its `objectClass` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    /// A user (not a computer).
    User,
    /// A contact.
    Contact,
    /// A group.
    Group,
    /// A dynamic distribution list.
    DynamicList,
    /// Anything else (computers, foreign security principals, OUs).
    Other,
}

/// One directory object as extracted, with the attributes the transform reads.
///
/// Serializable because a delta run keeps the last run's objects (see [`crate::delta`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Object {
    /// The entry's DN as the DC spelled it.
    pub dn: String,
    /// `objectGUID`.
    pub guid: Guid,
    /// From `objectClass`.
    pub kind: ObjectKind,
    /// `cn`.
    pub cn: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `mail`.
    pub mail: Option<String>,
    /// `proxyAddresses`.
    pub proxy_addresses: Vec<String>,
    /// `userAccountControl` (0 when absent).
    pub user_account_control: u32,
    /// `member` values, ranged chunks joined.
    pub members: Vec<String>,
    /// Where ranged retrieval must continue, when `member` came back ranged.
    pub member_range_next: Option<usize>,
    /// `primaryGroupID` (users).
    pub primary_group_id: Option<u32>,
    /// The group's RID within its domain: `primaryGroupToken`, else the last sub-authority
    /// of `objectSid` (they are equal in AD; the token is only computed on some searches).
    pub group_rid: Option<u32>,
    /// The domain part of `objectSid`, so primary groups match within one domain only.
    pub domain_sid: Option<Vec<u8>>,
    /// `msExchDynamicDLFilter`.
    pub dl_filter: Option<String>,
    /// `msExchDynamicDLBaseDN`.
    pub dl_base: Option<String>,
    /// The configured additional attributes present, keyed as configured, values sorted.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Found by a member lookup rather than by the main search.
    pub looked_up: bool,
}

impl Object {
    /// The primary address and aliases, by SPEC's rule.
    pub fn addresses(
        &self,
    ) -> Option<(crate::address::Address, BTreeSet<crate::address::Address>)> {
        transform::addresses(self.mail.as_deref(), &self.proxy_addresses)
    }
}

/// Where members missing from the main search are looked up.
pub enum MemberSource<'a> {
    /// A base search on the extraction's own connection (directory connector).
    SameConnection,
    /// A base search on the Global Catalog of the same host (agent), opened on first use.
    GlobalCatalog(GlobalCatalog<'a>),
}

/// A Global Catalog connection opened when the first member needs it, bound as the
/// service account with the connector's encryption.
pub struct GlobalCatalog<'a> {
    /// Resolver, TLS and timeout.
    pub options: &'a ConnectOptions,
    /// The service account and encryption mode.
    pub connector: &'a ConnectorSettings,
    /// The host the main connection is bound to.
    pub host: String,
    /// 3268 (plain) or 3269 (TLS) unless configured otherwise.
    pub port: u16,
    /// The connection, once open.
    ldap: Option<Ldap>,
}

impl<'a> GlobalCatalog<'a> {
    /// A Global Catalog of `host` on `port`, not yet connected.
    pub fn new(
        options: &'a ConnectOptions,
        connector: &'a ConnectorSettings,
        host: &str,
        port: u16,
    ) -> Self {
        Self {
            options,
            connector,
            host: host.to_owned(),
            port,
            ldap: None,
        }
    }

    async fn ldap(&mut self) -> Result<&mut Ldap, ExtractError> {
        if self.ldap.is_none() {
            let connection = connect_host(self.options, self.connector, &self.host, self.port)
                .await
                .map_err(|(_, error)| ExtractError::GlobalCatalog(error))?;
            self.ldap = Some(connection.ldap);
        }
        self.ldap.as_mut().ok_or_else(|| {
            ExtractError::GlobalCatalog(ConnectError::Unreachable {
                host: self.host.clone(),
                port: self.port,
                reason: "not connected".into(),
            })
        })
    }
}

/// A complete extraction: every object by GUID and every group's resolved membership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extraction {
    /// Objects by GUID: the main search's and the synced looked-up ones.
    pub objects: BTreeMap<Guid, Object>,
    /// Each group's and dynamic list's direct members that resolved to an object.
    pub direct: BTreeMap<Guid, BTreeSet<Guid>>,
    /// Each group's members whose `objectGUID` is known, synced or not (members without
    /// mail, outside the root DN, foreign principals). `direct` is this set narrowed to
    /// `objects`; a delta run keeps it for the groups it does not read again, because
    /// membership follows identities while the DNs in `member` change with every rename.
    pub member_identities: BTreeMap<Guid, BTreeSet<Guid>>,
    /// Things worth knowing that did not stop the run, sorted.
    pub warnings: Vec<String>,
}

/// The extract stage's inputs.
#[derive(Debug, Clone)]
pub struct ExtractRequest<'a> {
    /// The host the connection is bound to (named by every error).
    pub host: &'a str,
    /// The port of the main connection, for error messages.
    pub port: u16,
    /// Where the subtree search starts.
    pub root_dn: &'a str,
    /// Configured additional attributes.
    pub additional_attributes: &'a [String],
    /// Page size, clamped to 1..=[`MAX_PAGE_SIZE`].
    pub page_size: i32,
    /// Bound on each operation (reset by every entry of a search).
    pub timeout: Duration,
    /// The judgements a test kit may replace ([`crate::steps`]); [`Faithful`] in the
    /// stack.
    ///
    /// [`Faithful`]: crate::steps::Faithful
    pub steps: &'a dyn crate::steps::Steps,
}

/// Runs the whole extraction on a bound connection.
pub async fn extract(
    ldap: &mut Ldap,
    members: MemberSource<'_>,
    request: &ExtractRequest<'_>,
    stats: &mut ExtractStats,
) -> Result<Extraction, ExtractError> {
    let host = request.host;
    let attrs = requested_attributes(request.additional_attributes);
    let mut warnings = BTreeSet::new();
    let mut objects: BTreeMap<Guid, Object> = BTreeMap::new();

    let mut pages = 0;
    paged_search(
        ldap,
        request,
        request.root_dn,
        EXTRACT_FILTER,
        &attrs,
        &[],
        &mut pages,
        |entry| {
            stats.entries += 1;
            match Object::from_entry(entry, request.additional_attributes) {
                Ok(object) => {
                    objects.insert(object.guid, object);
                }
                Err(reason) => {
                    warnings.insert(format!("{host}: entry skipped: {reason}"));
                }
            }
        },
    )
    .await?;
    stats.pages += pages;

    for object in objects.values_mut() {
        complete_range(ldap, request, object, stats).await?;
    }

    let mut extraction = Extraction {
        objects,
        ..Extraction::default()
    };
    let groups = extraction
        .objects
        .values()
        .filter(|object| object.kind == ObjectKind::Group)
        .map(|object| object.guid)
        .collect();
    resolve_members(
        ldap,
        members,
        request,
        &attrs,
        &mut extraction,
        groups,
        &mut warnings,
        stats,
    )
    .await?;
    evaluate_dynamic_lists(ldap, request, &mut extraction, &mut warnings, stats).await?;
    extraction.warnings = warnings.into_iter().collect();
    Ok(extraction)
}

/// [`BASE_ATTRIBUTES`] plus the configured additional attributes, each once.
pub(crate) fn requested_attributes(additional: &[String]) -> Vec<String> {
    let mut attrs: Vec<String> = BASE_ATTRIBUTES.iter().map(|a| (*a).to_owned()).collect();
    for extra in additional {
        if !attrs.iter().any(|a| a.eq_ignore_ascii_case(extra)) {
            attrs.push(extra.clone());
        }
    }
    attrs
}

/// One paged subtree search, each entry (references skipped) handed to `on_entry`.
/// `controls` go with every page besides the paging control (Show Deleted, say).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn paged_search(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    base: &str,
    filter: &str,
    attrs: &[String],
    controls: &[RawControl],
    pages: &mut usize,
    mut on_entry: impl FnMut(RawEntry),
) -> Result<(), ExtractError> {
    let host = request.host;
    let size = request.page_size.clamp(1, MAX_PAGE_SIZE);
    let mut cookie = Vec::new();
    // A server whose paging never ends sends entries again: each DN is remembered by a
    // 64-bit hash (8 bytes an entry, not the DN's text), so a repeat fails the search.
    let mut seen: HashSet<u64> = HashSet::new();
    let mut page = 0usize;
    loop {
        page += 1;
        let mut in_page = 0usize;
        let mut repeated: Option<String> = None;
        let mut page_controls: Vec<RawControl> = vec![PagedResults {
            size,
            cookie: std::mem::take(&mut cookie),
        }
        .into()];
        page_controls.extend(controls.iter().cloned());
        let mut stream = ldap
            .with_controls(page_controls)
            .with_timeout(request.timeout)
            .streaming_search_with(EntriesOnly::new(), base, Scope::Subtree, filter, attrs)
            .await
            .map_err(|e| connection_error(request, e))?;
        while let Some(entry) = stream
            .next()
            .await
            .map_err(|e| connection_error(request, e))?
        {
            let entry = RawEntry::parse(entry.0).map_err(|reason| ExtractError::Malformed {
                host: host.to_owned(),
                reason,
            })?;
            in_page += 1;
            if !seen.insert(dn_hash(&entry.dn)) && repeated.is_none() {
                repeated = Some(entry.dn.clone());
            }
            on_entry(entry);
        }
        let result = stream.finish().await;
        *pages += 1;
        if let Some(dn) = repeated {
            return Err(ExtractError::Malformed {
                host: host.to_owned(),
                reason: format!(
                    "the paged search under '{base}' returned '{dn}' a second time (page \
                     {page}): the server's paging does not end"
                ),
            });
        }
        if result.rc != 0 {
            return Err(ExtractError::Search {
                host: host.to_owned(),
                base: base.to_owned(),
                rc: result.rc,
                diagnostic: result.text.trim_end_matches(['\0', '\n']).to_owned(),
            });
        }
        let returned = result
            .ctrls
            .iter()
            .find(|control| control.1.ctype == PAGED_RESULTS_OID)
            .and_then(|control| control.1.val.as_deref());
        cookie = match returned {
            Some(value) => paged_cookie(value).ok_or_else(|| ExtractError::Malformed {
                host: host.to_owned(),
                reason: "unreadable paged results control".into(),
            })?,
            // A server that ignores paging sends everything in one page.
            None => Vec::new(),
        };
        if cookie.is_empty() {
            return Ok(());
        }
        // AD fills every page but the last; a short page that promises more has lost
        // entries (or the DC's MaxPageSize is below the page size asked for).
        if in_page < size as usize {
            return Err(ExtractError::Malformed {
                host: host.to_owned(),
                reason: format!(
                    "page {page} under '{base}' held {in_page} entries of the {size} asked for \
                     and promised more: entries are missing (if the DC's MaxPageSize is \
                     below {size}, lower the page size to match)"
                ),
            });
        }
        if page >= MAX_PAGES {
            return Err(ExtractError::Malformed {
                host: host.to_owned(),
                reason: format!(
                    "the paged search under '{base}' did not end after {MAX_PAGES} pages"
                ),
            });
        }
    }
}

/// Largest attribute value accepted. AD's largest values (photos, certificates) stay far
/// below it; a server sending more is broken, and the run fails rather than hold it.
pub(crate) const MAX_VALUE_BYTES: usize = 4 << 20;

/// Most pages one paged search may take: 20 million entries at AD's page size, far past
/// any forest, so only a server whose paging never ends meets it.
const MAX_PAGES: usize = 20_000;

/// A DN's identity for the repeat check: the hash of its normalized form.
fn dn_hash(dn: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    normalize_dn(dn).hash(&mut h);
    h.finish()
}

pub(crate) fn connection_error(request: &ExtractRequest<'_>, error: LdapError) -> ExtractError {
    ExtractError::Connection {
        host: request.host.to_owned(),
        source: ConnectError::from_ldap(request.host, request.port, error),
    }
}

/// The cookie of a paged results response value: `SEQUENCE { size INTEGER, cookie OCTET
/// STRING }`.
fn paged_cookie(value: &[u8]) -> Option<Vec<u8>> {
    let (_, tag) = parse_tag(value).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    let _size = parts.next()?;
    parts.next()?.expect_primitive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_ad_names_them() {
        assert_eq!(parse_range("range=0-1499"), Some((0, Some(1499))));
        assert_eq!(parse_range("range=1500-*"), Some((1500, None)));
        assert_eq!(parse_range("binary"), None);
        assert_eq!(parse_range("range=x-1"), None);
    }

    #[test]
    fn domains_are_the_trailing_dc_run() {
        assert_eq!(
            domain_of("CN=Smith\\, John,OU=Staff,DC=emea,DC=corp,DC=test"),
            "dc=emea,dc=corp,dc=test"
        );
        assert_eq!(domain_of("DC=corp,DC=test"), "dc=corp,dc=test");
        assert!(is_under("cn=a,ou=b,dc=x", "ou=b,dc=x"));
        assert!(!is_under("cn=a,ou=bb,dc=x", "b,dc=x"));
    }

    #[test]
    fn paged_cookie_reads_the_control_value() {
        // SEQUENCE { INTEGER 0, OCTET STRING "ab" }
        assert_eq!(
            paged_cookie(&[0x30, 0x07, 0x02, 0x01, 0x00, 0x04, 0x02, b'a', b'b']),
            Some(b"ab".to_vec())
        );
        assert_eq!(paged_cookie(&[0x30, 0x05, 0x02]), None);
    }
}
