//! The system under test, as the scenario runner sees it: anything that can run a sync
//! and a sign-in against a set of domain controllers. The reference stack is one engine;
//! an external program speaking the JSON contract is another. The runner
//! only ever talks to this trait, never to an engine's internals.

use std::net::SocketAddr;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::azure_ad::{AzureAdSettings, GraphEndpoint};
use crate::report::{Report, SyncMethod};
use crate::settings::{AccountSettings, ConnectorSettings};

/// One simulated DC host and where its services listen. Engines must reach the host by
/// these addresses while checking certificates against `host`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct DcEndpoint {
    /// The DC's host name, as the connector settings and certificates name it.
    pub host: String,
    /// Plain LDAP (AD's port 389).
    pub ldap: Option<SocketAddr>,
    /// LDAP over TLS (636).
    pub ldaps: Option<SocketAddr>,
    /// Global Catalog (3268).
    pub gc: Option<SocketAddr>,
    /// Global Catalog over TLS (3269).
    pub gc_tls: Option<SocketAddr>,
}

impl DcEndpoint {
    /// The address serving AD's well-known `port` on this host, if any.
    pub fn address_for_port(&self, port: u16) -> Option<SocketAddr> {
        match port {
            389 => self.ldap,
            636 => self.ldaps,
            3268 => self.gc,
            3269 => self.gc_tls,
            _ => None,
        }
    }
}

/// How an engine is asked to read the directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SyncMode {
    /// Read everything.
    #[default]
    Full,
    /// Read only what changed since the sync that returned `engine-state`, where the
    /// engine can (an engine without delta sync reads everything).
    Delta,
}

impl SyncMode {
    /// Whether this is [`SyncMode::Full`], the default left out of messages.
    pub fn is_full(&self) -> bool {
        *self == SyncMode::Full
    }
}

/// Everything an engine needs for one sync.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct SyncRequest {
    /// Directory connector or agent.
    pub method: SyncMethod,
    /// The DC hosts of the scenario.
    pub dcs: Vec<DcEndpoint>,
    /// The CA strict mode trusts; `None` when the scenario trusts no CA.
    pub ca_pem: Option<String>,
    /// The connector settings, as the customer entered them; absent for `azure-ad`,
    /// which reaches no domain controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<ConnectorSettings>,
    /// The Azure AD method's settings; present exactly when `method` is `azure-ad`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_ad: Option<Box<AzureAdSettings>>,
    /// Where the tenant's Microsoft Graph and token endpoint listen (`azure-ad` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Box<GraphEndpoint>>,
    /// What the sync may do to the account.
    pub settings: AccountSettings,
    /// The cloud account before the run.
    pub account: Account,
    /// Full (the default) or delta.
    #[serde(default, skip_serializing_if = "SyncMode::is_full")]
    pub mode: SyncMode,
    /// The `engine-state` the engine returned last in this scenario, handed back unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_state: Option<serde_json::Value>,
    /// A preview: plan as usual and report what the run would apply (changes, conflicts,
    /// addresses out of domain, a max unlink stop), apply nothing, and answer with the
    /// account as it was sent. The runner never keeps a dry run's account or
    /// `engine-state`, so an engine that does not know the flag still answers safely.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// For the `google-workspace` method: the tenant's Secure LDAP service and the
    /// settings entered for it; absent for every other method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_workspace: Option<Box<crate::google::GoogleWorkspaceRequest>>,
}

/// What an engine reports for one sync.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct SyncResponse {
    /// The run report (method, host, TLS outcome, changes, errors).
    pub report: Report,
    /// The cloud account after the run (unchanged when it failed or was stopped).
    pub account: Account,
    /// Engine-specific detail for the transcript (what was extracted); not part of the
    /// contract, so expectations never look at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extraction: Option<String>,
    /// Whatever the engine wants back with the next sync request of the scenario (a
    /// delta watermark and what it read, say). The runner keeps the last one given and
    /// never reads it; leaving it out keeps the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_state: Option<serde_json::Value>,
}

/// A sign-in pass-through attempt.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct SignInRequest {
    /// The DC hosts of the scenario.
    pub dcs: Vec<DcEndpoint>,
    /// The CA strict mode trusts.
    pub ca_pem: Option<String>,
    /// The connector settings.
    pub connector: ConnectorSettings,
    /// The address the user typed.
    pub address: String,
    /// The password the user typed.
    pub password: String,
}

/// How a sign-in ended; the contract's stable names (kebab-case in JSON and scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignInResult {
    /// The directory accepted the password.
    SignedIn,
    /// Wrong password (AD `data 52e`).
    WrongPassword,
    /// No user holds that address.
    UnknownAddress,
    /// The account is disabled (533).
    Disabled,
    /// The account is locked out (775).
    LockedOut,
    /// The password has expired (532).
    PasswordExpired,
    /// The user must change the password first (773).
    MustChangePassword,
    /// Anything else: unreachable DC, bad settings, a TLS failure.
    Failed,
}

impl std::fmt::Display for SignInResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// Why an engine gave no answer at all (as opposed to a failed sync, which is a report).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine could not be started or talked to.
    #[error("engine {engine} could not be run: {reason}")]
    Unavailable {
        /// The engine's name.
        engine: String,
        /// What went wrong.
        reason: String,
    },
    /// The engine answered something that breaks the contract.
    #[error("engine {engine} broke the contract: {reason}")]
    Contract {
        /// The engine's name.
        engine: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The engine did not answer in time.
    #[error("engine {engine} did not answer within {seconds} s")]
    Timeout {
        /// The engine's name.
        engine: String,
        /// The limit.
        seconds: u64,
    },
}

/// A sync engine under test.
pub trait SyncEngine: Send + Sync {
    /// A short name for tables and messages.
    fn name(&self) -> &str;

    /// Whether the engine implements the behaviour of the scenario named `scenario` (the
    /// file name without `.yaml`). Unclaimed scenarios are reported as not claimed,
    /// neither passed nor failed. `harness fuzz` asks the same of `property:<name>`
    /// for each property it may judge. The reference engine claims everything; an engine
    /// speaking the contract lists its claims in its answer to `hello`.
    fn claims(&self, scenario: &str) -> bool {
        let _ = scenario;
        true
    }

    /// Runs one sync.
    fn sync<'a>(
        &'a self,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncResponse, EngineError>>;

    /// Runs one sign-in pass-through.
    fn sign_in<'a>(
        &'a self,
        request: &'a SignInRequest,
    ) -> BoxFuture<'a, Result<(SignInResult, String), EngineError>>;
}
