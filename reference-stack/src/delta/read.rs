//! The reads of a delta run: the rootDSE, tombstones, changed entries and the subtrees
//! of changed containers. Every search is paged, as in a full extraction.

use std::collections::BTreeSet;

use ldap3::controls::RawControl;
use ldap3::Ldap;

use super::merge::{is_container, Changed};
use crate::extract::{
    self, ExtractError, ExtractRequest, ExtractStats, Object, RawEntry, EXTRACT_FILTER,
};
use crate::guid::Guid;

/// The Show Deleted control (MS-ADTS 3.1.1.3.4.1.14): tombstones are returned too.
const SHOW_DELETED_OID: &str = "1.2.840.113556.1.4.417";

/// LDAP result codes that mean "this account may not see it".
const NO_SUCH_OBJECT: u32 = 32;
const INSUFFICIENT_ACCESS: u32 = 50;

/// What the rootDSE says about the DC; `None` where it says nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct DcInfo {
    /// `dsServiceName`.
    pub(crate) service_name: Option<String>,
    /// `highestCommittedUSN`.
    pub(crate) highest_usn: Option<u64>,
    /// `defaultNamingContext`: the head of the DC's domain.
    pub(crate) default_naming_context: Option<String>,
}

/// Reads the rootDSE.
pub(crate) async fn root_dse(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
) -> Result<DcInfo, ExtractError> {
    let attrs = [
        "dsServiceName".to_owned(),
        "highestCommittedUSN".to_owned(),
        "defaultNamingContext".to_owned(),
    ];
    let entry = match extract::base_entry(ldap, request, "", &attrs).await? {
        Ok(entry) => entry.unwrap_or_default(),
        Err((rc, diagnostic)) => {
            return Err(ExtractError::Search {
                host: request.host.to_owned(),
                base: String::new(),
                rc,
                diagnostic,
            })
        }
    };
    let value = |name: &str| {
        entry
            .attrs
            .iter()
            .find(|(attr, _)| attr.eq_ignore_ascii_case(name))
            .and_then(|(_, values)| values.first())
            .map(|value| String::from_utf8_lossy(value).trim().to_owned())
    };
    Ok(DcInfo {
        service_name: value("dsServiceName"),
        highest_usn: value("highestCommittedUSN").and_then(|usn| usn.parse().ok()),
        default_naming_context: value("defaultNamingContext"),
    })
}

/// The objectGUID of an entry, when it has a readable one.
fn guid_of(entry: &RawEntry) -> Option<Guid> {
    entry.attrs.iter().find_map(|(name, values)| {
        name.eq_ignore_ascii_case("objectGUID")
            .then(|| values.first())
            .flatten()
            .and_then(|value| <[u8; 16]>::try_from(value.as_slice()).ok())
            .map(Guid)
    })
}

/// The GUIDs of objects deleted after USN `since` in the domain headed by `domain`;
/// `None` when the service account cannot read `CN=Deleted Objects`.
pub(crate) async fn tombstones(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    domain: &str,
    since: u64,
    stats: &mut ExtractStats,
) -> Result<Option<Vec<Guid>>, ExtractError> {
    let base = format!("CN=Deleted Objects,{domain}");
    let filter = format!(
        "(&(isDeleted=TRUE)(uSNChanged>={}))",
        since.saturating_add(1)
    );
    let attrs = [
        "objectGUID".to_owned(),
        "isDeleted".to_owned(),
        "lastKnownParent".to_owned(),
    ];
    let show_deleted = RawControl {
        ctype: SHOW_DELETED_OID.to_owned(),
        crit: true,
        val: None,
    };
    let mut guids = Vec::new();
    let mut pages = 0;
    let searched = extract::paged_search(
        ldap,
        request,
        &base,
        &filter,
        &attrs,
        &[show_deleted],
        &mut pages,
        |entry| guids.extend(guid_of(&entry)),
    )
    .await;
    stats.pages += pages;
    match searched {
        Ok(()) => {
            stats.tombstones += guids.len();
            Ok(Some(guids))
        }
        Err(ExtractError::Search { rc, .. })
            if rc == NO_SUCH_OBJECT || rc == INSUFFICIENT_ACCESS =>
        {
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

/// Every entry of the domain headed by `domain` that `filter` finds (changed after the
/// watermark, or named by DirSync), read with `attrs`; entries that cannot be read as
/// objects are reported in `warnings`.
pub(crate) async fn changed(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    domain: &str,
    filter: &str,
    attrs: &[String],
    warnings: &mut BTreeSet<String>,
    stats: &mut ExtractStats,
) -> Result<Vec<Changed>, ExtractError> {
    let mut changed = Vec::new();
    let mut pages = 0;
    extract::paged_search(
        ldap,
        request,
        domain,
        filter,
        attrs,
        &[],
        &mut pages,
        |entry| {
            stats.entries += 1;
            let container = entry
                .attrs
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("objectClass"))
                .is_some_and(|(_, values)| {
                    let classes: Vec<String> = values
                        .iter()
                        .map(|value| String::from_utf8_lossy(value).into_owned())
                        .collect();
                    is_container(&classes)
                });
            match Object::from_entry(entry, request.additional_attributes) {
                Ok(object) => changed.push(Changed { object, container }),
                Err(reason) => {
                    warnings.insert(format!("{}: entry skipped: {reason}", request.host));
                }
            }
        },
    )
    .await?;
    stats.pages += pages;
    Ok(changed)
}

/// What the extraction filter finds below `base` (a changed container), read with
/// `attrs`.
pub(crate) async fn subtree(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    base: &str,
    attrs: &[String],
    warnings: &mut BTreeSet<String>,
    stats: &mut ExtractStats,
) -> Result<Vec<Object>, ExtractError> {
    let mut objects = Vec::new();
    let mut pages = 0;
    extract::paged_search(
        ldap,
        request,
        base,
        EXTRACT_FILTER,
        attrs,
        &[],
        &mut pages,
        |entry| {
            stats.entries += 1;
            match Object::from_entry(entry, request.additional_attributes) {
                Ok(object) => objects.push(object),
                Err(reason) => {
                    warnings.insert(format!("{}: entry skipped: {reason}", request.host));
                }
            }
        },
    )
    .await?;
    stats.pages += pages;
    Ok(objects)
}
