//! Delta sync: an extraction that reads only what changed since the last run, by AD's
//! `uSNChanged` watermark, and merges it into what the last run read.
//!
//! # What is kept between runs
//!
//! A [`DeltaState`]: the watermark (the DC's identity and its `highestCommittedUSN` read
//! *before* the last complete extraction began) and the last extraction's objects by
//! `objectGUID`, *before* the transform. Pre-transform, because what a user or group
//! becomes in the cloud depends on other objects (nested groups, primary groups, dynamic
//! lists): a changed user can change a group that did not change. For each group the
//! state also keeps the identities of its members ([`Extraction::member_identities`]),
//! synced or not: AD links members by identity, and a renamed member changes the text of
//! every `member` value naming it without changing the group's `uSNChanged`.
//!
//! # A delta run
//!
//! 1. Read the rootDSE: `dsServiceName`, `highestCommittedUSN` (the next watermark),
//!    `defaultNamingContext` (the domain head).
//! 2. Decide full or delta ([`FullReason`] says why a run is full): no state; other
//!    settings (root DN, service account, method, additional attributes); another DC
//!    (`dsServiceName` or host differs: USNs are per DC, e.g. after failover to the
//!    secondary); `highestCommittedUSN` below the watermark (the DC was restored from a
//!    backup); the last run synced members of other domains (the Global Catalog's
//!    objects are not covered by one domain's change search, so they are read in full);
//!    the root DN outside the DC's domain.
//! 3. Tombstones: a paged search under `CN=Deleted Objects` with the Show Deleted control
//!    for `(&(isDeleted=TRUE)(uSNChanged>=watermark+1))`. When the service account cannot
//!    read the container, deletions would go unseen: the run is full instead.
//! 4. Changes: one paged subtree search under the *domain head* (not the root DN, so an
//!    object moved out of the root DN is seen and dropped) for
//!    `(uSNChanged>=watermark+1)` with the attributes of a full extraction. Changed
//!    objects under the root DN that a full extraction would read replace the stored
//!    ones; the others (moved out, mail removed) are dropped.
//! 5. Containers: AD does not change the `uSNChanged` of the objects below a renamed or
//!    moved OU, though their DNs change. The subtree of every changed container (an
//!    entry that is neither a user, contact, group, list, computer nor foreign
//!    principal) is read again with the full extraction's filter.
//! 6. Groups that changed, or that the state holds no members for (moved into the root
//!    DN), get their whole `member` list (ranged retrieval as in a full extraction) and
//!    their members resolved; every other group keeps its stored member identities.
//!    Dynamic lists are evaluated again every run: their members change without the list
//!    changing.
//! 7. Transform, transfer and apply as after a full extraction.
//!
//! Changes committed while a run reads have USNs above the watermark it started from, so
//! the next run reads them again: nothing is lost, some things are read twice. A run that
//! fails keeps the state it was given.
//!
//! Warnings about group members (unreadable, outside the root DN) come from the groups a
//! run resolves, so a delta run repeats them only for groups that changed.

mod decide;
mod dirsync;
mod merge;
pub(crate) mod read;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ldap3::Ldap;
use serde::{Deserialize, Serialize};

use crate::extract::{
    self, normalize_dn, ExtractError, ExtractRequest, ExtractStats, Extraction, MemberSource,
    Object, ObjectKind,
};
use crate::guid::Guid;
use crate::settings::ChangeTracking;
pub use engine_contract::extraction::{ExtractionMode, FullReason};

use decide::decide;

/// How far the stored objects are known: up to `usn` on the DC `dc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Watermark {
    /// The host name the run connected to (the primary or the secondary).
    pub host: String,
    /// The DC's `dsServiceName` (its NTDS Settings object): its identity whatever name it
    /// was reached by.
    pub dc: String,
    /// `highestCommittedUSN`, read before the extraction began.
    pub usn: u64,
}

/// What the stored objects were extracted for. A run with a different scope reads
/// everything, as the stored objects may lack attributes or objects it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExtractionScope {
    /// The root DN, normalized.
    pub root_dn: String,
    /// The service account, normalized: another account may be allowed to read more.
    pub bind_dn: String,
    /// The configured additional attributes, lower case, sorted.
    pub additional_attributes: Vec<String>,
    /// Members of other domains looked up on the Global Catalog (the agent).
    pub global_catalog: bool,
    /// How changes are found: a state kept by one method is no start for the other.
    #[serde(default, skip_serializing_if = "ChangeTracking::is_default")]
    pub change_tracking: ChangeTracking,
}

impl ExtractionScope {
    /// The scope of an extraction with these settings.
    pub fn new(
        root_dn: &str,
        bind_dn: &str,
        additional_attributes: &[String],
        global_catalog: bool,
    ) -> Self {
        let mut additional: Vec<String> = additional_attributes
            .iter()
            .map(|attribute| attribute.to_ascii_lowercase())
            .collect();
        additional.sort();
        additional.dedup();
        Self {
            root_dn: normalize_dn(root_dn),
            bind_dn: normalize_dn(bind_dn),
            additional_attributes: additional,
            global_catalog,
            change_tracking: ChangeTracking::UsnChanged,
        }
    }

    /// The same scope, its changes found by `tracking`.
    pub fn with_tracking(mut self, tracking: ChangeTracking) -> Self {
        self.change_tracking = tracking;
        self
    }
}

/// What a delta run continues from: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeltaState {
    /// Up to where the objects are known.
    watermark: Watermark,
    /// What they were extracted for.
    scope: ExtractionScope,
    /// The last extraction's objects by GUID, with `member` emptied: the DNs in it go
    /// stale when members are renamed, so membership is kept in `members` instead.
    objects: BTreeMap<Guid, Object>,
    /// Each group's member identities (see [`Extraction::member_identities`]).
    members: BTreeMap<Guid, BTreeSet<Guid>>,
    /// The DirSync cookie (hex) the next run sends, when changes are tracked by DirSync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dirsync_cookie: Option<String>,
}

impl DeltaState {
    /// Moves the watermark, as a stack would that took it at another moment; only the
    /// test kit's planted defects do.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn set_watermark_usn(&mut self, usn: u64) {
        self.watermark.usn = usn;
    }

    /// The state after a complete extraction that began at `watermark`, copied from it
    /// (a run moves the extraction's objects in instead: [`PendingState::capture`]).
    pub fn capture(watermark: Watermark, scope: ExtractionScope, extraction: &Extraction) -> Self {
        PendingState::new(watermark, scope).capture(
            extraction.objects.clone(),
            extraction.member_identities.clone(),
        )
    }

    /// Up to where the stored objects are known.
    pub fn watermark(&self) -> &Watermark {
        &self.watermark
    }

    /// What they were extracted for.
    pub fn scope(&self) -> &ExtractionScope {
        &self.scope
    }

    /// The stored objects by GUID.
    pub fn objects(&self) -> &BTreeMap<Guid, Object> {
        &self.objects
    }

    /// Whether the stored objects include members of other domains, found through the
    /// Global Catalog.
    pub fn has_cross_domain_members(&self) -> bool {
        self.objects.values().any(|object| object.looked_up)
    }
}

/// The state a run will leave, before the extraction's objects are moved into it.
///
/// A run builds its snapshot from the extraction first and only then hands the objects
/// over ([`crate::extract::to_snapshot_keeping`]): copying them into the state while the
/// extraction was still alive put a second copy of every object in the sync's peak
/// memory (hundreds of megabytes at 100,000 users, gigabytes at a million).
#[derive(Debug, Clone)]
pub struct PendingState {
    watermark: Watermark,
    scope: ExtractionScope,
    dirsync_cookie: Option<String>,
}

impl PendingState {
    fn new(watermark: Watermark, scope: ExtractionScope) -> Self {
        Self {
            watermark,
            scope,
            dirsync_cookie: None,
        }
    }

    /// This state, continued next time from DirSync's `cookie`.
    fn with_cookie(mut self, cookie: Option<Vec<u8>>) -> Self {
        self.dirsync_cookie = cookie.map(|c| dirsync::to_hex(&c));
        self
    }

    /// The state, from a complete extraction's objects and member identities. `member`
    /// DNs are dropped: they go stale when members are renamed, so membership is kept
    /// by identity instead.
    pub fn capture(
        self,
        mut objects: BTreeMap<Guid, Object>,
        member_identities: BTreeMap<Guid, BTreeSet<Guid>>,
    ) -> DeltaState {
        for object in objects.values_mut() {
            object.members = Vec::new();
            object.member_range_next = None;
        }
        let members = member_identities
            .into_iter()
            .filter(|(group, _)| {
                objects
                    .get(group)
                    .is_some_and(|object| object.kind == ObjectKind::Group)
            })
            .collect();
        DeltaState {
            watermark: self.watermark,
            scope: self.scope,
            objects,
            members,
            dirsync_cookie: self.dirsync_cookie,
        }
    }
}

/// A complete delta-capable extraction.
#[derive(Debug, Clone)]
pub struct DeltaExtraction {
    /// What the transform reads, as a full extraction would have produced it.
    pub extraction: Extraction,
    /// How the directory was read.
    pub mode: ExtractionMode,
    /// What the next run continues from, once the extraction's objects are moved in;
    /// `None` when the DC offers no watermark.
    pub state: Option<PendingState>,
}

/// Runs a delta-capable extraction on a bound connection: see the module docs (and
/// `dirsync.rs` for the `dirsync` change tracking, which replaces step 4's search).
pub async fn extract(
    ldap: &mut Ldap,
    members: MemberSource<'_>,
    request: &ExtractRequest<'_>,
    scope: ExtractionScope,
    previous: Option<&DeltaState>,
    stats: &mut ExtractStats,
) -> Result<DeltaExtraction, ExtractError> {
    let dc = read::root_dse(ldap, request).await?;
    let (Some(dc_name), Some(usn)) = (dc.service_name.clone(), dc.highest_usn) else {
        let extraction = extract::extract(ldap, members, request, stats).await?;
        return Ok(DeltaExtraction {
            extraction,
            mode: ExtractionMode::Full {
                reason: FullReason::NoChangeTracking,
            },
            state: None,
        });
    };
    let watermark = Watermark {
        host: request.host.to_owned(),
        dc: dc_name,
        usn,
    };
    let domain = dc.default_naming_context.unwrap_or_default();
    let by_dirsync = scope.change_tracking == ChangeTracking::DirSync;
    let decided = decide(previous, &watermark, &scope, &domain, request.root_dn).and_then(
        |(state, since)| {
            // DirSync continues from the cookie the last run kept, not from a USN.
            let cookie = match by_dirsync {
                false => None,
                true => Some(
                    state
                        .dirsync_cookie
                        .as_deref()
                        .and_then(dirsync::from_hex)
                        .ok_or(FullReason::SettingsChanged)?,
                ),
            };
            Ok((state, since, cookie))
        },
    );
    // Deletions are read by USN under `CN=Deleted Objects` in both modes: when the
    // account cannot read it, DirSync would not show it tombstones either.
    let tombstones = match decided {
        Ok((_, since, _)) => read::tombstones(ldap, request, &domain, since, stats).await?,
        Err(_) => Some(Vec::new()),
    };
    match (decided, tombstones) {
        (Ok((state, since, cookie)), Some(mut tombstones)) => {
            let attrs = extract::requested_attributes(request.additional_attributes);
            let (changed, cookie) = match cookie {
                None => (ChangedBy::Usn, None),
                Some(cookie) => {
                    let mut asked = attrs.clone();
                    asked.push("name".to_owned());
                    let found = dirsync::changes(
                        ldap,
                        request,
                        &domain,
                        &cookie,
                        "(objectClass=*)",
                        &asked,
                        stats,
                    )
                    .await?;
                    tombstones.extend(found.deleted);
                    tombstones.sort();
                    tombstones.dedup();
                    (ChangedBy::Guids(found.live), Some(found.cookie))
                }
            };
            let from = Continued {
                state,
                since,
                tombstones: request.steps.deleted(tombstones),
                domain,
                changed,
            };
            let mut done =
                continue_from(ldap, members, request, scope, watermark, from, stats).await?;
            done.state = done.state.map(|s| s.with_cookie(cookie));
            Ok(done)
        }
        (Err(reason), _) => {
            let cookie = first_cookie(ldap, request, &domain, by_dirsync, stats).await?;
            let mut done = full(ldap, members, request, scope, watermark, reason, stats).await?;
            done.state = done.state.map(|s| s.with_cookie(cookie));
            Ok(done)
        }
        (Ok(_), None) => {
            let reason = FullReason::DeletedObjectsHidden;
            let cookie = first_cookie(ldap, request, &domain, by_dirsync, stats).await?;
            let mut done = full(ldap, members, request, scope, watermark, reason, stats).await?;
            done.state = done.state.map(|s| s.with_cookie(cookie));
            Ok(done)
        }
    }
}

/// For a full run tracked by DirSync, the cookie the next run continues from, taken
/// before the extraction (a round that matches only the domain head); `None` otherwise.
async fn first_cookie(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    domain: &str,
    by_dirsync: bool,
    stats: &mut ExtractStats,
) -> Result<Option<Vec<u8>>, ExtractError> {
    // Without a domain head there is no naming context to ask: the next run is full.
    if !by_dirsync || domain.is_empty() {
        return Ok(None);
    }
    let attrs = ["objectGUID".to_owned()];
    let found = dirsync::changes(
        ldap,
        request,
        domain,
        &[],
        "(objectClass=domainDNS)",
        &attrs,
        stats,
    )
    .await?;
    Ok(Some(found.cookie))
}

/// How a delta run learns which objects changed.
enum ChangedBy {
    /// A search for `uSNChanged` above the watermark.
    Usn,
    /// DirSync named them: they are read whole by `objectGUID`.
    Guids(Vec<Guid>),
}

/// Objects DirSync named that one search reads back by `objectGUID`: a filter of a
/// hundred 16-byte assertions stays a few kilobytes.
const GUIDS_PER_SEARCH: usize = 100;

/// What a delta run continues from.
struct Continued<'a> {
    /// The last run's state.
    state: &'a DeltaState,
    /// Its watermark.
    since: u64,
    /// Objects deleted since.
    tombstones: Vec<Guid>,
    /// The head of the DC's domain, where changes are searched.
    domain: String,
    /// How the changed objects are found.
    changed: ChangedBy,
}

/// The delta proper: steps 4 to 6 of the module docs.
async fn continue_from(
    ldap: &mut Ldap,
    members: MemberSource<'_>,
    request: &ExtractRequest<'_>,
    scope: ExtractionScope,
    watermark: Watermark,
    from: Continued<'_>,
    stats: &mut ExtractStats,
) -> Result<DeltaExtraction, ExtractError> {
    let Continued {
        state,
        since: since_usn,
        tombstones,
        domain,
        changed,
    } = from;
    let attrs = extract::requested_attributes(request.additional_attributes);
    let mut warnings = BTreeSet::new();
    let changed = match changed {
        ChangedBy::Usn => {
            let filter = format!("(uSNChanged>={})", since_usn.saturating_add(1));
            read::changed(
                ldap,
                request,
                &domain,
                &filter,
                &attrs,
                &mut warnings,
                stats,
            )
            .await?
        }
        ChangedBy::Guids(guids) => {
            let mut found = Vec::new();
            for chunk in guids.chunks(GUIDS_PER_SEARCH) {
                let filter = dirsync::guid_filter(chunk);
                found.extend(
                    read::changed(
                        ldap,
                        request,
                        &domain,
                        &filter,
                        &attrs,
                        &mut warnings,
                        stats,
                    )
                    .await?,
                );
            }
            found
        }
    };
    let mut refreshed = Vec::new();
    let containers = request
        .steps
        .containers_to_read(merge::containers_to_read(&changed, &domain));
    for container in containers {
        stats.containers += 1;
        refreshed
            .extend(read::subtree(ldap, request, &container, &attrs, &mut warnings, stats).await?);
    }
    let merged = merge::merge(
        state,
        merge::Changes {
            changed,
            refreshed,
            tombstones,
        },
        request.root_dn,
    );

    let mut extraction = Extraction {
        objects: merged.objects,
        ..Extraction::default()
    };
    for guid in &merged.to_read {
        if let Some(object) = extraction.objects.get_mut(guid) {
            extract::complete_range(ldap, request, object, stats).await?;
        }
    }
    extract::resolve_members(
        ldap,
        members,
        request,
        &attrs,
        &mut extraction,
        merged.to_read,
        &mut warnings,
        stats,
    )
    .await?;
    // Every kept group's members are checked against the objects: millions of lookups at
    // a million objects, several times faster in a hash set than in the ordered map.
    let extracted: HashSet<Guid> = extraction.objects.keys().copied().collect();
    for (group, identities) in merged.kept_members {
        if extraction.direct.contains_key(&group) {
            continue;
        }
        let direct = identities
            .iter()
            .filter(|member| extracted.contains(member))
            .copied()
            .collect();
        extraction.direct.insert(group, direct);
        extraction.member_identities.insert(group, identities);
    }
    extract::evaluate_dynamic_lists(ldap, request, &mut extraction, &mut warnings, stats).await?;
    extraction.warnings = warnings.into_iter().collect();
    let up_to_usn = watermark.usn;
    let state = PendingState::new(watermark, scope);
    Ok(DeltaExtraction {
        extraction,
        mode: ExtractionMode::Delta {
            since_usn,
            up_to_usn,
        },
        state: Some(state),
    })
}

/// A full extraction that records the state a later delta run continues from.
async fn full(
    ldap: &mut Ldap,
    members: MemberSource<'_>,
    request: &ExtractRequest<'_>,
    scope: ExtractionScope,
    watermark: Watermark,
    reason: FullReason,
    stats: &mut ExtractStats,
) -> Result<DeltaExtraction, ExtractError> {
    let extraction = extract::extract(ldap, members, request, stats).await?;
    let state = PendingState::new(watermark, scope);
    Ok(DeltaExtraction {
        extraction,
        mode: ExtractionMode::Full { reason },
        state: Some(state),
    })
}
