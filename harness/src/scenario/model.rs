//! The scenario file format (YAML): a directory, DC hosts, connector and account
//! settings, the cloud account's starting state, and steps. Documented with a worked
//! example in `scenarios/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

use engine_contract::account::Account;
use engine_contract::report::SyncMethod;
use engine_contract::settings::{AccountSettings, ConnectorSettings};

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario pins, in a sentence or two; printed at the top of the transcript.
    pub description: String,
    /// The directory fake-dc serves.
    pub directory: DirectorySpec,
    /// DC hosts and their certificates; default: every DC of the fixture, `ca-signed`.
    #[serde(default)]
    pub dcs: Vec<DcSpec>,
    /// Whether strict mode trusts fake-dc's CA (false: as if the customer never imported it).
    #[serde(default = "yes")]
    pub trust_ca: bool,
    /// Directory connector (default), agent or azure-ad.
    #[serde(default = "default_method")]
    pub method: SyncMethod,
    /// The connector settings: the LDAP methods and sign-in (all but `azure-ad` and
    /// `google-workspace` need them).
    #[serde(default)]
    pub connector: Option<ConnectorSettings>,
    /// The Azure AD method's settings; its tenant is the fixture's `azureAd:` section,
    /// served as Microsoft Graph by the scenario's fake-dc.
    #[serde(default)]
    pub azure_ad: Option<engine_contract::azure_ad::AzureAdSettings>,
    /// The Google Workspace tenant and LDAP client, for `method: google-workspace`.
    #[serde(default)]
    pub google_workspace: Option<super::google::GoogleScenario>,
    /// The account settings.
    pub settings: AccountSettings,
    /// The cloud account before the first step.
    #[serde(default)]
    pub account: Account,
    /// The fuzz property this scenario pins (`harness fuzz` writes it): an engine that
    /// claims `property:<name>` is held to it as if it claimed the scenario.
    #[serde(default)]
    pub property: Option<String>,
    /// Start of the scenario's clock (RFC 3339); default 2026-01-05T00:00:00Z.
    #[serde(default)]
    pub start: Option<String>,
    /// The steps, in order. (A step is a one-key map, `- expect: {...}`; serde_yaml 0.9
    /// would otherwise want YAML tags for enum variants.)
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Whether `engine` is judged on this scenario, named `name`: it claims the scenario,
    /// or the fuzz property the scenario pins.
    pub fn claimed_by(&self, name: &str, engine: &dyn engine_contract::engine::SyncEngine) -> bool {
        engine.claims(name)
            || self
                .property
                .as_ref()
                .is_some_and(|p| engine.claims(&format!("property:{p}")))
    }
}

fn yes() -> bool {
    true
}

fn default_method() -> SyncMethod {
    SyncMethod::DirectoryConnector
}

/// Where the directory comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DirectorySpec {
    /// A fixture file, relative to the scenario file.
    #[serde(default)]
    pub fixture: Option<String>,
    /// An inline fixture (the fixture format of `fixtures/README.md`).
    #[serde(default)]
    pub inline: Option<serde_yaml::Value>,
    /// Directory changes applied after loading, before the first step.
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
    pub changes: Vec<Step>,
}

/// One DC host of the scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DcSpec {
    /// A DC host name of the fixture.
    pub host: String,
    /// Certificate profile on its TLS listeners.
    #[serde(default)]
    pub cert: fake_dc::tls::CertProfile,
}

/// One step.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// Run a sync now.
    Sync,
    /// Run a delta sync now: only what changed since the last delta sync of the scenario
    /// (the first one reads everything and records where it got to).
    DeltaSync,
    /// Preview a sync: a dry run that reports what a sync would change (the change list,
    /// conflicts, what max unlink would do) and applies nothing.
    Preview,
    /// Add a user under `parent`.
    AddUser(fake_dc::control::NewUser),
    /// Change attributes of an entry.
    Modify(fake_dc::control::Modify),
    /// Delete an entry (it becomes a tombstone).
    Delete(String),
    /// Move an entry under another parent (keeps its objectGUID).
    Move {
        /// The entry.
        dn: String,
        /// The new parent.
        to: String,
    },
    /// Rename an entry (new CN; keeps its objectGUID).
    Rename {
        /// The entry.
        dn: String,
        /// The new CN.
        cn: String,
    },
    /// Add a member to a group.
    AddMember {
        /// The group's DN.
        group: String,
        /// The member's DN.
        member: String,
    },
    /// Remove a member from a group.
    RemoveMember {
        /// The group's DN.
        group: String,
        /// The member's DN.
        member: String,
    },
    /// Disable an account (userAccountControl bit 0x2).
    Disable(String),
    /// Enable an account.
    Enable(String),
    /// Lock an account out.
    Lock(String),
    /// Unlock an account.
    Unlock(String),
    /// Make a DC host misbehave.
    Fault(FaultSpec),
    /// Clear every fault of a host.
    ClearFaults(String),
    /// Make the Microsoft Graph listener misbehave (throttle, 503, expire nextLinks,
    /// forget delta links), in the shape of the fixture's `azureAd.faults`.
    GraphFault(fake_dc::graph::GraphFaultSpec),
    /// Clear every fault of the Microsoft Graph listener (`clear-graph-faults: all`).
    ClearGraphFaults(String),
    /// Make Google Secure LDAP refuse binds as over its bind quota
    /// (`google-fault: { refuse-binds: 2 }`).
    GoogleFault(super::google::GoogleFault),
    /// Move the clock forward (`90m`, `6h`, `2d`); the account's schedule (08:00, 13:00,
    /// 23:00 in its region) runs every sync that falls due.
    AdvanceClock(String),
    /// Sign-in pass-through.
    SignIn(SignIn),
    /// Check the cloud account and the last run.
    Expect(Box<Expectation>),
}

/// A fault on one host.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FaultSpec {
    /// The DC host.
    pub host: String,
    /// Listeners closed: connections refused.
    #[serde(default)]
    pub down: bool,
    /// Delay before every reply, in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Drop a connection after it has sent this many entries.
    #[serde(default)]
    pub drop_after_entries: Option<u64>,
    /// Drop a paged search when this page (1-based) is asked for.
    #[serde(default)]
    pub drop_on_page: Option<u32>,
    /// Answer 51 busy.
    #[serde(default)]
    pub busy: bool,
    /// Answer 52 unavailable.
    #[serde(default)]
    pub unavailable: bool,
    /// Fail TLS handshakes.
    #[serde(default)]
    pub tls_failure: bool,
    /// Protocol faults (see `fake_dc::server::ProtocolFault`): garbage bytes after this
    /// many entries.
    #[serde(default)]
    pub garbage_after_entries: Option<u64>,
    /// Half a message, then close, after this many entries.
    #[serde(default)]
    pub truncate_after_entries: Option<u64>,
    /// Search responses with a message ID the client never sent.
    #[serde(default)]
    pub wrong_message_id: bool,
    /// A 10 MB value in the first entry of each answer.
    #[serde(default)]
    pub huge_value: bool,
    /// Paged searches never end.
    #[serde(default)]
    pub endless_paging: bool,
    /// Ranged retrieval never ends.
    #[serde(default)]
    pub endless_range: bool,
    /// Every search answers a referral to the same host.
    #[serde(default)]
    pub self_referral: bool,
    /// Responses written one byte per second.
    #[serde(default)]
    pub slow_drip: bool,
    /// Pages miss every other entry while saying more are to come.
    #[serde(default)]
    pub missing_entries: bool,
}

/// A sign-in attempt and what it must yield.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SignIn {
    /// The address typed.
    pub address: String,
    /// The password typed.
    pub password: String,
    /// The expected result.
    pub expect: engine_contract::engine::SignInResult,
}

/// Checks on the cloud account and the last run. Every field is optional; only what is
/// given is checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Expectation {
    /// Users by address.
    #[serde(default)]
    pub users: BTreeMap<String, UserExpect>,
    /// Groups by name.
    #[serde(default)]
    pub groups: BTreeMap<String, GroupExpect>,
    /// Contacts by address.
    #[serde(default)]
    pub contacts: BTreeMap<String, Presence>,
    /// Totals of the account.
    #[serde(default)]
    pub totals: Option<Totals>,
    /// The last sync run.
    #[serde(default)]
    pub last_sync: Option<RunExpect>,
}

/// Expected state of one cloud user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UserExpect {
    /// Present or absent.
    #[serde(default)]
    pub exists: Option<bool>,
    /// Disabled or enabled.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// `manual` or `directory-generated`.
    #[serde(default)]
    pub origin: Option<String>,
    /// Exactly these aliases.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    /// These attributes with exactly these values.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Directory generated and linked to the directory object with this `objectGUID`
    /// (so a rename or move that became a removal and an add shows).
    #[serde(default)]
    pub object_guid: Option<String>,
}

/// Expected state of one cloud group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GroupExpect {
    /// Present or absent.
    #[serde(default)]
    pub exists: Option<bool>,
    /// Exactly these members (addresses), no more and no fewer.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Exactly this many members.
    #[serde(default)]
    pub member_count: Option<usize>,
    /// These addresses are members (others may be too).
    #[serde(default)]
    pub includes: Option<Vec<String>>,
    /// These addresses are not members.
    #[serde(default)]
    pub excludes: Option<Vec<String>>,
    /// Comes from the directory group with this `objectGUID`.
    #[serde(default)]
    pub object_guid: Option<String>,
}

/// Present or absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Presence {
    /// Present or absent.
    pub exists: bool,
}

/// Expected totals of the account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Totals {
    /// Users (manual and directory generated).
    #[serde(default)]
    pub users: Option<usize>,
    /// Directory-generated users.
    #[serde(default)]
    pub directory_users: Option<usize>,
    /// Groups.
    #[serde(default)]
    pub groups: Option<usize>,
    /// Contacts.
    #[serde(default)]
    pub contacts: Option<usize>,
}

/// How the last sync must have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// A plan was made and applied.
    Applied,
    /// Max unlink stopped it.
    Stopped,
    /// It failed before apply.
    Failed,
}

/// Checks on the last sync.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunExpect {
    /// Applied, stopped or failed.
    #[serde(default)]
    pub outcome: Option<RunOutcome>,
    /// The host named by the report.
    #[serde(default)]
    pub host: Option<String>,
    /// `verified`, `relaxed`, `plain`, `failed` or `not-connected`.
    #[serde(default)]
    pub tls: Option<String>,
    /// Text that must appear in one of the report's errors. Every engine is held to it,
    /// so a scenario names the part any engine would say (the DC's diagnostic, AD's
    /// sub-code), not one engine's sentence.
    #[serde(default)]
    pub error_contains: Option<String>,
    /// Number of changes applied.
    #[serde(default)]
    pub changes: Option<usize>,
    /// Number of conflicts reported.
    #[serde(default)]
    pub conflicts: Option<usize>,
    /// Number of out-of-domain addresses reported.
    #[serde(default)]
    pub out_of_domain: Option<usize>,
    /// How a delta sync read the directory: `full` or `delta`.
    #[serde(default)]
    pub extraction: Option<ExtractionKind>,
}

/// How a delta sync read the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtractionKind {
    /// Everything.
    Full,
    /// Only the changes.
    Delta,
}
