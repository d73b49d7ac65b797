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
const MAX_VALUE_BYTES: usize = 4 << 20;

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

/// A search result entry: DN and attributes with raw values, read without panicking on
/// whatever a peer sends (ldap3's `SearchEntry::construct` panics on malformed BER).
#[derive(Debug, Clone, Default)]
pub struct RawEntry {
    /// The entry's DN.
    pub dn: String,
    /// Attribute descriptions (options such as `;range=0-1499` included) and values.
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl RawEntry {
    /// Reads a SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName, attributes }`).
    pub fn parse(tag: StructureTag) -> Result<Self, String> {
        let mut parts = tag
            .match_id(4)
            .and_then(StructureTag::expect_constructed)
            .ok_or("not a search result entry")?
            .into_iter();
        let dn = parts
            .next()
            .and_then(StructureTag::expect_primitive)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or("entry without a UTF-8 DN")?;
        let list = parts
            .next()
            .and_then(StructureTag::expect_constructed)
            .ok_or_else(|| format!("'{dn}': no attribute list"))?;
        let mut attrs = Vec::with_capacity(list.len());
        for attribute in list {
            let mut pair = attribute
                .expect_constructed()
                .ok_or_else(|| format!("'{dn}': malformed attribute"))?
                .into_iter();
            let name = pair
                .next()
                .and_then(StructureTag::expect_primitive)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| format!("'{dn}': attribute without a name"))?;
            let values = match pair.next().map(|set| set.payload) {
                Some(PL::C(values)) => values
                    .into_iter()
                    .map(|value| match value.payload {
                        PL::P(bytes) if bytes.len() > MAX_VALUE_BYTES => Err(format!(
                            "'{dn}': {name}: a value of {} bytes, over the {} MiB any \
                             directory attribute holds",
                            bytes.len(),
                            MAX_VALUE_BYTES >> 20
                        )),
                        PL::P(bytes) => Ok(bytes),
                        PL::C(_) => Err(format!("'{dn}': {name}: constructed value")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(format!("'{dn}': {name}: no value set")),
            };
            attrs.push((name, values));
        }
        Ok(Self { dn, attrs })
    }
}

fn text(values: &[Vec<u8>]) -> Option<String> {
    values
        .first()
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

fn texts(values: Vec<Vec<u8>>) -> Vec<String> {
    values
        .into_iter()
        .map(|value| {
            String::from_utf8(value)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
        .collect()
}

fn number(values: &[Vec<u8>]) -> Option<u32> {
    // AD writes flags as signed 32-bit decimals (the sign bit of userAccountControl shows
    // as a negative number), so read as i64 and keep the low 32 bits.
    let text = std::str::from_utf8(values.first()?).ok()?;
    text.trim().parse::<i64>().ok().map(|n| n as u32)
}

/// `member;range=1500-2999` → (1500, Some(2999)); `member;range=1500-*` → (1500, None).
fn parse_range(options: &str) -> Option<(usize, Option<usize>)> {
    let spec = options.split(';').find_map(|option| {
        option
            .strip_prefix("range=")
            .or_else(|| option.strip_prefix("Range="))
    })?;
    let (low, high) = spec.split_once('-')?;
    let low = low.trim().parse().ok()?;
    let high = match high.trim() {
        "*" => None,
        high => Some(high.parse().ok()?),
    };
    Some((low, high))
}

impl Object {
    /// Reads an entry into an object; the error says why an entry cannot be used.
    pub fn from_entry(entry: RawEntry, additional: &[String]) -> Result<Self, String> {
        let RawEntry { dn, attrs } = entry;
        let mut object = Object {
            dn,
            guid: Guid([0; 16]),
            kind: ObjectKind::Other,
            cn: None,
            display_name: None,
            mail: None,
            proxy_addresses: Vec::new(),
            user_account_control: 0,
            members: Vec::new(),
            member_range_next: None,
            primary_group_id: None,
            group_rid: None,
            domain_sid: None,
            dl_filter: None,
            dl_base: None,
            attributes: BTreeMap::new(),
            looked_up: false,
        };
        let mut guid = None;
        let mut classes = Vec::new();
        let mut token = None;
        for (description, values) in attrs {
            let (name, options) = description
                .split_once(';')
                .unwrap_or((description.as_str(), ""));
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "objectguid" => {
                    guid = values
                        .first()
                        .and_then(|value| <[u8; 16]>::try_from(value.as_slice()).ok())
                        .map(Guid);
                }
                "objectclass" => classes = texts(values),
                "cn" => object.cn = text(&values),
                "displayname" => object.display_name = text(&values),
                "mail" => object.mail = text(&values),
                "proxyaddresses" => object.proxy_addresses = texts(values),
                "useraccountcontrol" => {
                    object.user_account_control = number(&values).unwrap_or(0);
                }
                "member" => {
                    if let Some((low, high)) = parse_range(options) {
                        if low != 0 {
                            return Err(format!(
                                "'{}': member range starts at {low}, not 0",
                                object.dn
                            ));
                        }
                        object.member_range_next = high.map(|high| high + 1);
                    }
                    object.members.extend(texts(values));
                }
                "primarygroupid" => object.primary_group_id = number(&values),
                "primarygrouptoken" => token = number(&values),
                "objectsid" => {
                    if let Some(sid) = values.first() {
                        // Revision, count, 6-byte authority, then 4-byte sub-authorities;
                        // the last one is the RID, the rest names the domain.
                        if sid.len() >= 12 && (sid.len() - 8) % 4 == 0 {
                            let split = sid.len() - 4;
                            object.domain_sid = Some(sid[2..split].to_vec());
                            let rid: [u8; 4] =
                                [sid[split], sid[split + 1], sid[split + 2], sid[split + 3]];
                            object.group_rid = Some(u32::from_le_bytes(rid));
                        }
                    }
                }
                "msexchdynamicdlfilter" => object.dl_filter = text(&values),
                "msexchdynamicdlbasedn" => object.dl_base = text(&values),
                _ => {
                    if let Some(configured) = additional
                        .iter()
                        .find(|configured| configured.eq_ignore_ascii_case(name))
                    {
                        let mut values = texts(values);
                        values.sort();
                        object.attributes.insert(configured.clone(), values);
                    }
                }
            }
        }
        object.guid = guid.ok_or_else(|| format!("'{}' has no readable objectGUID", object.dn))?;
        let has = |class: &str| classes.iter().any(|c| c.eq_ignore_ascii_case(class));
        object.kind = if has("msExchDynamicDistributionList") {
            ObjectKind::DynamicList
        } else if has("group") {
            ObjectKind::Group
        } else if has("computer") {
            ObjectKind::Other
        } else if has("user") {
            ObjectKind::User
        } else if has("contact") {
            ObjectKind::Contact
        } else {
            ObjectKind::Other
        };
        if object.kind == ObjectKind::Group {
            object.group_rid = token.or(object.group_rid);
        } else {
            object.group_rid = None;
        }
        Ok(object)
    }
}

/// Fetches the rest of a ranged `member` with base searches until a range ends in `*`.
pub(crate) async fn complete_range(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    object: &mut Object,
    stats: &mut ExtractStats,
) -> Result<(), ExtractError> {
    let mut steps = 0;
    while let Some(next) = object.member_range_next {
        steps += 1;
        let range_error = |reason: String| ExtractError::Range {
            host: request.host.to_owned(),
            group: object.dn.clone(),
            reason,
        };
        if steps > MAX_RANGE_STEPS {
            return Err(range_error(format!("more than {MAX_RANGE_STEPS} steps")));
        }
        let attr = format!("member;range={next}-*");
        let entry = base_entry(ldap, request, &object.dn, &[attr]).await?;
        stats.ranged_fetches += 1;
        let entry = match entry {
            Ok(Some(entry)) => entry,
            Ok(None) => return Err(range_error("the group is no longer readable".into())),
            Err((rc, diagnostic)) => return Err(range_error(format!("result {rc}: {diagnostic}"))),
        };
        let chunk = entry.attrs.into_iter().find_map(|(description, values)| {
            let (name, options) = description.split_once(';')?;
            name.eq_ignore_ascii_case("member")
                .then(|| parse_range(options).map(|range| (range, values)))
                .flatten()
        });
        let Some(((low, high), values)) = chunk else {
            return Err(range_error(format!(
                "asked for {next}-* and got no member range"
            )));
        };
        if low != next || high.is_some_and(|high| high < low) {
            return Err(range_error(format!(
                "asked for {next}-* and got {low}-{}",
                high.map_or("*".into(), |h| h.to_string())
            )));
        }
        object.members.extend(texts(values));
        object.member_range_next = high.map(|high| high + 1);
    }
    Ok(())
}

/// A base search for one entry: `Ok(Ok(Some))` found, `Ok(Ok(None))` no entry, `Ok(Err)`
/// an LDAP error result (the entry cannot be read), `Err` the connection failed.
pub(crate) async fn base_entry(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    dn: &str,
    attrs: &[String],
) -> Result<Result<Option<RawEntry>, (u32, String)>, ExtractError> {
    let mut stream = ldap
        .with_timeout(request.timeout)
        .streaming_search_with(
            EntriesOnly::new(),
            dn,
            Scope::Base,
            "(objectClass=*)",
            attrs,
        )
        .await
        .map_err(|e| connection_error(request, e))?;
    let mut found = None;
    while let Some(entry) = stream
        .next()
        .await
        .map_err(|e| connection_error(request, e))?
    {
        found = Some(
            RawEntry::parse(entry.0).map_err(|reason| ExtractError::Malformed {
                host: request.host.to_owned(),
                reason,
            })?,
        );
    }
    let result = stream.finish().await;
    if result.rc != 0 {
        return Ok(Err((
            result.rc,
            result.text.trim_end_matches(['\0', '\n']).to_owned(),
        )));
    }
    Ok(Ok(found))
}

/// The form DNs are compared in (AD's DNs are case-insensitive).
pub(crate) fn normalize_dn(dn: &str) -> String {
    dn.trim().to_lowercase()
}

/// Splits a DN into RDNs at unescaped commas.
fn rdns(dn: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (index, ch) in dn.char_indices() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == ',' {
            parts.push(&dn[start..index]);
            start = index + 1;
        }
    }
    parts.push(&dn[start..]);
    parts
}

/// The naming context of the domain a DN lies in: its trailing run of `DC=` RDNs.
pub(crate) fn domain_of(dn: &str) -> String {
    let parts = rdns(dn);
    let first_dc = parts
        .iter()
        .rposition(|rdn| !rdn.trim().to_ascii_lowercase().starts_with("dc="))
        .map_or(0, |last_other| last_other + 1);
    normalize_dn(&parts[first_dc..].join(","))
}

/// Whether a normalized DN is `root` or lies below it.
pub(crate) fn is_under(dn_normalized: &str, root_normalized: &str) -> bool {
    dn_normalized == root_normalized
        || dn_normalized
            .strip_suffix(root_normalized)
            .is_some_and(|head| head.ends_with(','))
}

/// Resolves the `member` values of `groups` to GUIDs, looking up the DNs that are not
/// among the extraction's objects (see the module docs for which looked-up objects are
/// synced). Fills `direct` and `member_identities` of each group resolved, including
/// groups of other domains that the lookups add.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn resolve_members(
    ldap: &mut Ldap,
    mut source: MemberSource<'_>,
    request: &ExtractRequest<'_>,
    attrs: &[String],
    extraction: &mut Extraction,
    groups: Vec<Guid>,
    warnings: &mut BTreeSet<String>,
    stats: &mut ExtractStats,
) -> Result<(), ExtractError> {
    let root = normalize_dn(request.root_dn);
    let root_domain = domain_of(request.root_dn);
    let mut by_dn: HashMap<String, Guid> = extraction
        .objects
        .values()
        .map(|object| (normalize_dn(&object.dn), object.guid))
        .collect();
    // DNs already looked up: what they resolved to (None: unreadable or not synced) and
    // whose objectGUID they carry (None: unreadable).
    let mut looked_up: HashMap<String, (Option<Guid>, Option<Guid>)> = HashMap::new();
    let mut pending = groups;

    while let Some(group_guid) = pending.pop() {
        let Some(group) = extraction.objects.get(&group_guid) else {
            continue;
        };
        let group_dn = group.dn.clone();
        let member_dns = group.members.clone();
        let mut resolved = BTreeSet::new();
        let mut identities = BTreeSet::new();
        for member in member_dns {
            let key = normalize_dn(&member);
            if let Some(guid) = by_dn.get(&key) {
                resolved.insert(*guid);
                identities.insert(*guid);
                continue;
            }
            if let Some((outcome, identity)) = looked_up.get(&key) {
                resolved.extend(*outcome);
                identities.extend(*identity);
                continue;
            }
            let found = match &mut source {
                MemberSource::SameConnection => {
                    stats.lookups += 1;
                    base_entry(ldap, request, &member, attrs).await?
                }
                MemberSource::GlobalCatalog(gc) => {
                    stats.gc_lookups += 1;
                    base_entry(gc.ldap().await?, request, &member, attrs).await?
                }
            };
            let outcome = match found {
                Ok(Some(entry)) => match Object::from_entry(entry, request.additional_attributes) {
                    Ok(mut object) => {
                        let identity = Some(object.guid);
                        let same_domain = domain_of(&object.dn) == root_domain;
                        let mail_enabled = object.addresses().is_some()
                            || matches!(object.kind, ObjectKind::Group | ObjectKind::DynamicList);
                        if same_domain || !matches!(source, MemberSource::GlobalCatalog(_)) {
                            // In the root DN's domain (or no GC): membership facts only.
                            if mail_enabled && !is_under(&normalize_dn(&object.dn), &root) {
                                warnings.insert(format!(
                                    "{}: member '{}' of '{group_dn}' is outside the root DN '{}'; not synced",
                                    request.host, object.dn, request.root_dn
                                ));
                            }
                            (None, identity)
                        } else {
                            object.looked_up = true;
                            if let MemberSource::GlobalCatalog(gc) = &mut source {
                                complete_range(gc.ldap().await?, request, &mut object, stats)
                                    .await?;
                            }
                            let guid = object.guid;
                            by_dn.insert(normalize_dn(&object.dn), guid);
                            if object.kind == ObjectKind::Group {
                                pending.push(guid);
                            }
                            extraction.objects.entry(guid).or_insert(object);
                            (Some(guid), identity)
                        }
                    }
                    Err(reason) => {
                        stats.skipped_members += 1;
                        warnings.insert(format!(
                            "{}: member '{member}' of '{group_dn}' skipped: {reason}",
                            request.host
                        ));
                        (None, None)
                    }
                },
                Ok(None) | Err(_) => {
                    let why = match &found {
                        Err((rc, diagnostic)) => format!("result {rc}: {}", first_line(diagnostic)),
                        _ => "not visible to the service account".into(),
                    };
                    stats.skipped_members += 1;
                    warnings.insert(format!(
                        "{}: member '{member}' of '{group_dn}' cannot be read ({why}); skipped",
                        request.host
                    ));
                    (None, None)
                }
            };
            resolved.extend(outcome.0);
            identities.extend(outcome.1);
            looked_up.insert(key, outcome);
        }
        extraction.direct.insert(group_guid, resolved);
        extraction.member_identities.insert(group_guid, identities);
    }
    Ok(())
}

pub(crate) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim_end_matches('\0')
}

/// Evaluates each dynamic list's stored filter under its base DN.
///
/// A list whose filter the client cannot parse, or whose base the DC refuses, gets no
/// members and a warning (one broken list must not stop the account's sync); a dropped
/// connection or timeout still fails the whole extraction.
pub(crate) async fn evaluate_dynamic_lists(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    extraction: &mut Extraction,
    warnings: &mut BTreeSet<String>,
    stats: &mut ExtractStats,
) -> Result<(), ExtractError> {
    let lists: Vec<(Guid, String, Option<String>, Option<String>)> = extraction
        .objects
        .values()
        .filter(|object| object.kind == ObjectKind::DynamicList)
        .map(|object| {
            (
                object.guid,
                object.dn.clone(),
                object.dl_filter.clone(),
                object.dl_base.clone(),
            )
        })
        .collect();
    let guid_only = ["objectGUID".to_owned()];
    for (guid, dn, filter, base) in lists {
        stats.dynamic_lists += 1;
        let Some(filter) = filter else {
            warnings.insert(format!(
                "{}: dynamic list '{dn}' has no msExchDynamicDLFilter; it has no members",
                request.host
            ));
            extraction.direct.insert(guid, BTreeSet::new());
            continue;
        };
        let base = base.unwrap_or_else(|| request.root_dn.to_owned());
        let mut found = Vec::new();
        let mut pages = 0;
        let outcome = paged_search(
            ldap,
            request,
            &base,
            &filter,
            &guid_only,
            &[],
            &mut pages,
            |entry| found.push(entry),
        )
        .await;
        let members = match outcome {
            Ok(()) => found
                .into_iter()
                .filter_map(|entry| {
                    entry.attrs.into_iter().find_map(|(name, values)| {
                        name.eq_ignore_ascii_case("objectGUID")
                            .then(|| {
                                values
                                    .first()
                                    .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
                            })
                            .flatten()
                            .map(Guid)
                    })
                })
                .collect(),
            Err(ExtractError::Search { rc, diagnostic, .. }) => {
                warnings.insert(format!(
                    "{}: dynamic list '{dn}': search under '{base}' failed with result {rc} ({}); it has no members",
                    request.host,
                    first_line(&diagnostic)
                ));
                BTreeSet::new()
            }
            Err(ExtractError::Connection {
                source: ConnectError::Ldap { ref source, .. },
                ..
            }) if matches!(**source, LdapError::FilterParsing) => {
                warnings.insert(format!(
                    "{}: dynamic list '{dn}': filter '{filter}' cannot be parsed; it has no members",
                    request.host
                ));
                BTreeSet::new()
            }
            Err(other) => return Err(other),
        };
        extraction.direct.insert(guid, members);
    }
    Ok(())
}

/// Turns a complete extraction into the snapshot the apply stage reads (SPEC
/// "Transform"), plus warnings about objects that could not be used.
///
/// - Users and contacts need a primary address ([`transform::addresses`]); a user or
///   contact with `mail`/`proxyAddresses` values but no usable primary is reported.
/// - Groups and dynamic lists are all listed, members expanded by
///   [`transform::group_closure`]; one with no mail-enabled member is not a cloud group,
///   which the apply stage decides.
/// - A group's name is its `displayName`, else its `cn`, else the first RDN's value.
/// - Primary-group members: users whose `primaryGroupID` equals a group's RID in the
///   same domain (RIDs repeat across the domains of a forest).
pub fn to_snapshot(extraction: Extraction) -> (DirectorySnapshot, Vec<String>) {
    let Extraction {
        objects, direct, ..
    } = extraction;
    let mut snapshot = DirectorySnapshot::default();
    let mut warnings = Vec::new();
    let mut membership = transform::Membership {
        direct,
        ..transform::Membership::default()
    };
    let mut primary_groups: HashMap<(&[u8], u32), Guid> = HashMap::new();
    for object in objects.values() {
        if object.kind == ObjectKind::Group {
            membership.direct.entry(object.guid).or_default();
            if let (Some(domain), Some(rid)) = (&object.domain_sid, object.group_rid) {
                primary_groups.insert((domain.as_slice(), rid), object.guid);
            }
        }
    }
    for object in objects.values() {
        match object.kind {
            ObjectKind::User => {
                if let (Some(domain), Some(rid)) = (&object.domain_sid, object.primary_group_id) {
                    if let Some(group) = primary_groups.get(&(domain.as_slice(), rid)) {
                        membership
                            .primary
                            .entry(*group)
                            .or_default()
                            .insert(object.guid);
                    }
                }
                let Some((primary, aliases)) = object.addresses() else {
                    if object.mail.is_some() || !object.proxy_addresses.is_empty() {
                        warnings.push(format!(
                            "user '{}' has no usable primary address; not synced",
                            object.dn
                        ));
                    }
                    continue;
                };
                membership.mail_enabled.insert(object.guid);
                snapshot.users.insert(
                    object.guid,
                    DirUser {
                        guid: object.guid,
                        dn: object.dn.clone(),
                        primary,
                        aliases,
                        disabled: transform::is_disabled(object.user_account_control),
                        attributes: object.attributes.clone(),
                    },
                );
            }
            ObjectKind::Contact => {
                let Some((primary, aliases)) = object.addresses() else {
                    if object.mail.is_some() || !object.proxy_addresses.is_empty() {
                        warnings.push(format!(
                            "contact '{}' has no usable primary address; not synced",
                            object.dn
                        ));
                    }
                    continue;
                };
                membership.mail_enabled.insert(object.guid);
                snapshot.contacts.insert(
                    object.guid,
                    DirContact {
                        guid: object.guid,
                        dn: object.dn.clone(),
                        name: display_name(object),
                        primary,
                        aliases,
                    },
                );
            }
            ObjectKind::Group | ObjectKind::DynamicList | ObjectKind::Other => {}
        }
    }
    let mut closure = transform::group_closure(&membership);
    drop(membership);
    for object in objects.values() {
        let kind = match object.kind {
            ObjectKind::Group => GroupKind::Group,
            ObjectKind::DynamicList => GroupKind::DynamicList,
            _ => continue,
        };
        snapshot.groups.insert(
            object.guid,
            DirGroup {
                guid: object.guid,
                dn: object.dn.clone(),
                name: display_name(object),
                kind,
                address: object.addresses().map(|(primary, _)| primary),
                members: closure.remove(&object.guid).unwrap_or_default(),
            },
        );
    }
    (snapshot, warnings)
}

fn display_name(object: &Object) -> String {
    object
        .display_name
        .clone()
        .or_else(|| object.cn.clone())
        .unwrap_or_else(|| {
            rdns(&object.dn)
                .first()
                .and_then(|rdn| rdn.split_once('='))
                .map_or_else(|| object.dn.clone(), |(_, value)| value.to_owned())
        })
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
