//! How a run read the directory, as its report says: everything (and why a delta was not
//! possible) or only what changed since the last run's watermark.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a run read the directory, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum ExtractionMode {
    /// Everything under the root DN was read.
    Full {
        /// Why a delta was not possible.
        reason: FullReason,
    },
    /// Only what changed after `since-usn`, up to `up-to-usn` (the next watermark).
    Delta {
        /// The watermark of the run continued from.
        since_usn: u64,
        /// The DC's `highestCommittedUSN` when this run began.
        up_to_usn: u64,
    },
    /// Only what Microsoft Graph's delta query returned since the last run's delta links
    /// (the Azure AD method, which has no USNs).
    GraphDelta {
        /// Objects created or changed.
        changed: u64,
        /// Objects removed.
        removed: u64,
    },
}

/// Why a delta-capable run read everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case")]
pub enum FullReason {
    /// No earlier run to continue from.
    NoPreviousState,
    /// The root DN, service account, method or additional attributes changed.
    SettingsChanged,
    /// Another DC answered than the one the watermark was taken on (USNs are per DC).
    DcChanged {
        /// The DC of the watermark.
        previous: String,
        /// The DC that answered now.
        current: String,
    },
    /// The DC's `highestCommittedUSN` is below the watermark: restored from a backup.
    UsnBelowWatermark {
        /// The stored watermark.
        watermark: u64,
        /// What the DC reports now.
        highest: u64,
    },
    /// The last run synced members of other domains, found through the Global Catalog,
    /// whose changes one domain's change search does not see.
    CrossDomainMembers,
    /// The service account cannot read `CN=Deleted Objects`, so deletions would go unseen.
    DeletedObjectsHidden,
    /// The root DN does not lie in the DC's domain.
    RootOutsideDomain {
        /// The DC's `defaultNamingContext`.
        domain: String,
    },
    /// The DC's rootDSE has no `highestCommittedUSN` or `dsServiceName` (not Active
    /// Directory): there is nothing to take a watermark from, so every run is full.
    NoChangeTracking,
    /// Microsoft Graph no longer holds the last run's delta link (`syncStateNotFound`):
    /// a full read starts over.
    DeltaLinkExpired,
}

impl fmt::Display for ExtractionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractionMode::Full { reason } => write!(f, "full ({reason})"),
            ExtractionMode::Delta {
                since_usn,
                up_to_usn,
            } => write!(
                f,
                "delta (changes after USN {since_usn}, up to {up_to_usn})"
            ),
            ExtractionMode::GraphDelta { changed, removed } => write!(
                f,
                "delta (graph delta query: {changed} changed, {removed} removed)"
            ),
        }
    }
}

impl fmt::Display for FullReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FullReason::NoPreviousState => f.write_str("no earlier run to continue from"),
            FullReason::SettingsChanged => {
                f.write_str("the root DN, service account, method or additional attributes changed")
            }
            FullReason::DcChanged { previous, current } => write!(
                f,
                "the DC changed from {previous} to {current}; USNs are per DC"
            ),
            FullReason::UsnBelowWatermark { watermark, highest } => write!(
                f,
                "the DC's highestCommittedUSN {highest} is below the watermark {watermark}; \
                 restored from a backup?"
            ),
            FullReason::CrossDomainMembers => {
                f.write_str("the last run synced members of other domains")
            }
            FullReason::DeletedObjectsHidden => f.write_str(
                "the service account cannot read CN=Deleted Objects, so deletions would go unseen",
            ),
            FullReason::RootOutsideDomain { domain } => {
                write!(f, "the root DN is not in the DC's domain {domain}")
            }
            FullReason::NoChangeTracking => {
                f.write_str("the DC publishes no highestCommittedUSN or dsServiceName")
            }
            FullReason::DeltaLinkExpired => f.write_str(
                "microsoft graph no longer holds the last run's delta link (syncStateNotFound)",
            ),
        }
    }
}
