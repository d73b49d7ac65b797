//! What a run tells the administrator: how it connected, what it changed, what it left
//! out and why. Rendered as text (one line per item, stable order, for snapshot tests and
//! people) and as JSON (for machines).

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::change::{Change, Conflict, MaxUnlinkStop, OutOfDomain};
use crate::extraction::ExtractionMode;

/// Which of the two sync methods ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SyncMethod {
    /// The cloud connected inbound to the domain controller.
    DirectoryConnector,
    /// The synchronization engine inside the customer network pushed its extraction.
    Agent,
    /// The cloud read the customer's Azure AD tenant through Microsoft Graph.
    AzureAd,
    /// The cloud read a Google Workspace tenant over Google's Secure LDAP with the
    /// client certificate the tenant issued ([`crate::google`]).
    GoogleWorkspace,
}

/// How the connection to the domain controller was protected, as it turned out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "tls",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum TlsOutcome {
    /// No connection was made (settings refused, or the agent reported no detail).
    NotConnected,
    /// Plain LDAP, encryption `none`: the bind password crossed the network readable.
    Plain,
    /// TLS with the certificate verified against the trusted CAs and the host name.
    Verified {
        /// The name the certificate was checked against.
        server_name: String,
    },
    /// TLS with the certificate accepted unverified (encryption `relaxed`).
    Relaxed,
    /// The TLS handshake or certificate check failed; nothing was extracted.
    Failed {
        /// Why, as the TLS stack put it.
        reason: String,
    },
}

/// How many objects each kind of change touched.
///
/// Counts are of distinct objects, not of change lines: a user with a new alias and a new
/// department is one updated user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Counts {
    /// Users added as directory generated.
    pub users_added: usize,
    /// Manual users converted to directory generated.
    pub users_converted: usize,
    /// Users taken over by a new directory object with the same address.
    pub users_relinked: usize,
    /// Users whose address, aliases or additional attributes changed.
    pub users_updated: usize,
    /// Users that left the directory and were kept as manual users.
    pub users_unlinked: usize,
    /// Users that left the directory and were removed (`delete users`).
    pub users_removed: usize,
    /// Users disabled because the directory disabled them.
    pub users_disabled: usize,
    /// Users enabled again because the directory enabled them.
    pub users_enabled: usize,
    /// Groups added.
    pub groups_added: usize,
    /// Groups renamed, readdressed or with changed membership.
    pub groups_updated: usize,
    /// Groups removed.
    pub groups_removed: usize,
    /// Contacts added.
    pub contacts_added: usize,
    /// Contacts converted, renamed or readdressed.
    pub contacts_updated: usize,
    /// Contacts removed.
    pub contacts_removed: usize,
    /// Contested addresses.
    pub conflicts: usize,
    /// Addresses outside the registered domains.
    pub out_of_domain: usize,
}

impl Counts {
    /// Counts a run's changes, conflicts and out-of-domain addresses.
    pub fn of(changes: &[Change], conflicts: &[Conflict], out_of_domain: &[OutOfDomain]) -> Self {
        let mut users_updated = BTreeSet::new();
        let mut groups_updated = BTreeSet::new();
        let mut contacts_updated = BTreeSet::new();
        let mut counts = Counts {
            conflicts: conflicts.len(),
            out_of_domain: out_of_domain.len(),
            ..Counts::default()
        };
        for change in changes {
            match change {
                Change::AddUser { .. } => counts.users_added += 1,
                Change::ConvertUser { .. } => counts.users_converted += 1,
                Change::RelinkUser { .. } => counts.users_relinked += 1,
                Change::UnlinkUser { .. } => counts.users_unlinked += 1,
                Change::RemoveUser { .. } => counts.users_removed += 1,
                Change::DisableUser { .. } => counts.users_disabled += 1,
                Change::EnableUser { .. } => counts.users_enabled += 1,
                Change::ChangeUserAddress { to: address, .. }
                | Change::LinkAlias { address, .. }
                | Change::UnlinkAlias { address, .. }
                | Change::SetAttribute { address, .. }
                | Change::ClearAttribute { address, .. } => {
                    users_updated.insert(address);
                }
                Change::AddGroup { .. } => counts.groups_added += 1,
                Change::RemoveGroup { .. } => counts.groups_removed += 1,
                Change::RenameGroup { guid, .. }
                | Change::SetGroupAddress { guid, .. }
                | Change::AddGroupMember { guid, .. }
                | Change::RemoveGroupMember { guid, .. } => {
                    groups_updated.insert(guid);
                }
                Change::AddContact { .. } => counts.contacts_added += 1,
                Change::RemoveContact { .. } => counts.contacts_removed += 1,
                Change::ChangeContactAddress { to: address, .. }
                | Change::ConvertContact { address, .. }
                | Change::RenameContact { address, .. } => {
                    contacts_updated.insert(address);
                }
            }
        }
        counts.users_updated = users_updated.len();
        counts.groups_updated = groups_updated.len();
        counts.contacts_updated = contacts_updated.len();
        counts
    }
}

/// Everything one run yields (SPEC: counts, an itemized deterministically ordered change
/// list, and the errors and warnings met).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// Directory connector or agent.
    pub method: SyncMethod,
    /// The domain controller that produced the outcome (SPEC: every outcome names its
    /// host); `None` when no connection was attempted.
    pub host: Option<String>,
    /// How the connection was protected.
    pub tls: TlsOutcome,
    /// How a delta-capable run read the directory (everything or only the changes, and
    /// why); absent for runs that always read everything, and for failed runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction: Option<ExtractionMode>,
    /// Totals, for dashboards and quick reading.
    pub counts: Counts,
    /// Set when max unlink stopped the run; then there are no changes.
    pub stopped: Option<MaxUnlinkStop>,
    /// The applied changes, in plan order.
    pub changes: Vec<Change>,
    /// Contested addresses, left as they were.
    pub conflicts: Vec<Conflict>,
    /// Addresses outside the registered domains, not applied.
    pub out_of_domain: Vec<OutOfDomain>,
    /// Things worth knowing that changed nothing.
    pub warnings: Vec<String>,
    /// What went wrong; a run with errors before apply changed nothing.
    pub errors: Vec<String>,
}

impl Report {
    /// The report of a run that has changed nothing and met nothing yet.
    pub fn new(method: SyncMethod, host: Option<String>, tls: TlsOutcome) -> Self {
        Self {
            method,
            host,
            tls,
            extraction: None,
            counts: Counts::default(),
            stopped: None,
            changes: Vec::new(),
            conflicts: Vec::new(),
            out_of_domain: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The report of a run that failed before a plan (settings refused, connection or
    /// bind failed, extraction incomplete): SPEC says such a run applies nothing.
    pub fn failed(
        method: SyncMethod,
        host: Option<String>,
        tls: TlsOutcome,
        error: &dyn std::error::Error,
    ) -> Self {
        Self {
            errors: vec![error_chain(error)],
            ..Self::new(method, host, tls)
        }
    }

    /// The report as text: a header, the counts, then one line per item in plan order.
    /// Empty sections are left out.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// An error with its causes, `: `-separated, as `{:#}` prints an `anyhow` chain.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

impl fmt::Display for SyncMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncMethod::DirectoryConnector => "directory connector",
            SyncMethod::Agent => "synchronization engine (agent)",
            SyncMethod::AzureAd => "azure ad (microsoft graph)",
            SyncMethod::GoogleWorkspace => "Google Workspace (Secure LDAP)",
        })
    }
}

impl fmt::Display for TlsOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsOutcome::NotConnected => f.write_str("not connected"),
            TlsOutcome::Plain => f.write_str("none (plain LDAP)"),
            TlsOutcome::Verified { server_name } => {
                write!(f, "verified (certificate valid for {server_name})")
            }
            TlsOutcome::Relaxed => f.write_str("relaxed (certificate not verified)"),
            TlsOutcome::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(f, "sync: {}", self.method)?;
        writeln!(f, "host: {}", self.host.as_deref().unwrap_or("(none)"))?;
        writeln!(f, "tls: {}", self.tls)?;
        if let Some(mode) = &self.extraction {
            writeln!(f, "extraction: {mode}")?;
        }
        writeln!(
            f,
            "users: {} added, {} converted, {} relinked, {} updated, {} unlinked, {} removed, \
             {} disabled, {} enabled",
            c.users_added,
            c.users_converted,
            c.users_relinked,
            c.users_updated,
            c.users_unlinked,
            c.users_removed,
            c.users_disabled,
            c.users_enabled
        )?;
        writeln!(
            f,
            "groups: {} added, {} updated, {} removed",
            c.groups_added, c.groups_updated, c.groups_removed
        )?;
        writeln!(
            f,
            "contacts: {} added, {} updated, {} removed",
            c.contacts_added, c.contacts_updated, c.contacts_removed
        )?;
        writeln!(
            f,
            "conflicts: {}, out of domain: {}",
            c.conflicts, c.out_of_domain
        )?;
        if let Some(stop) = &self.stopped {
            writeln!(f, "{stop}")?;
        }
        section(f, "changes", &self.changes)?;
        section(f, "conflicts", &self.conflicts)?;
        section(f, "out of domain", &self.out_of_domain)?;
        section(f, "warnings", &self.warnings)?;
        section(f, "errors", &self.errors)
    }
}

fn section(f: &mut fmt::Formatter<'_>, title: &str, items: &[impl fmt::Display]) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(f, "{title}:")?;
    for item in items {
        writeln!(f, "  {item}")?;
    }
    Ok(())
}
