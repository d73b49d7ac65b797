//! The Azure AD method: the cloud reads the customer's tenant through Microsoft Graph
//! with the application's client credentials, then feeds the same transform and apply
//! as the LDAP methods.
//!
//! - `client.rs`: sign-in (client credentials), GETs that wait out throttling;
//! - `read.rs`: delta rounds (paging to the delta link) and `transitiveMembers`;
//! - `tenant.rs`: the tenant as the last run left it, rounds folded in;
//! - `convert.rs`: the tenant as an [`Extraction`](crate::extract::Extraction).
//!
//! A full read is a first delta round over `/users/delta` and `/groups/delta` (every
//! object, groups with their members in `members@delta`), which also yields the links a
//! later delta run continues from; a delta run follows those links and folds the changes
//! into the state it was given. A link Graph no longer holds (`syncStateNotFound`) reads
//! everything again and says so. Every failure (credentials refused, Graph gone, a
//! nextLink that expired) fails the run with nothing applied and the state kept.

mod client;
mod convert;
mod read;
mod tenant;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

pub use client::{GraphClient, GraphError, GraphStats};
pub use tenant::TenantState;

use crate::account::Account;
use crate::apply;
use crate::extract;
use crate::report::{self, Report, SyncMethod, TlsOutcome};
use crate::settings::AccountSettings;
use crate::stack::{ExtractStats, SyncOutcome};
use engine_contract::azure_ad::{AzureAdSettings, AzureAdSettingsError, GraphEndpoint};
use engine_contract::extraction::{ExtractionMode, FullReason};

/// Why an Azure AD run applied nothing.
#[derive(Debug, thiserror::Error)]
pub enum AzureAdError {
    /// Settings refused before any request.
    #[error("settings refused: {0}")]
    Settings(String),
    /// The runner gave no Graph endpoint.
    #[error("no microsoft graph endpoint given for the azure-ad method")]
    NoEndpoint,
    /// Reading the tenant failed; nothing was applied.
    #[error("reading the tenant failed, nothing applied")]
    Graph(#[source] GraphError),
    /// A group named in the settings is not in the tenant.
    #[error(
        "groups: no group '{0}' in the tenant (by display name or object ID); nothing applied"
    )]
    NoSuchGroup(String),
    /// Graph's answers could not be folded into the tenant.
    #[error("unexpected delta answer: {0}; nothing applied")]
    Malformed(String),
}

/// Where and how a run reaches the tenant.
#[derive(Debug, Clone)]
pub struct AzureAdEnvironment {
    /// The identity platform and Graph (the runner's fake in tests).
    pub endpoint: Option<GraphEndpoint>,
    /// CAs trusted for both.
    pub trusted_ca_pems: Vec<String>,
    /// Bound on connecting; a request may take four times this.
    pub timeout: Duration,
}

/// What an Azure AD run produced.
#[derive(Debug, Clone)]
pub struct AzureAdOutcome {
    /// The run.
    pub sync: SyncOutcome,
    /// The state to continue from: this run's, or the one it was given when it failed.
    pub state: Option<TenantState>,
    /// Requests and retries.
    pub graph: GraphStats,
}

/// Runs one Azure AD sync; `delta` continues from `previous` where it can.
pub async fn run(
    env: &AzureAdEnvironment,
    azure: &AzureAdSettings,
    settings: &AccountSettings,
    account: &Account,
    previous: Option<&TenantState>,
    delta: bool,
) -> AzureAdOutcome {
    let host = Some(azure.tenant.trim().to_owned());
    let mut stats = ExtractStats::default();
    let mut graph_stats = GraphStats::default();
    let failed = |tls: TlsOutcome, error: AzureAdError, stats: ExtractStats, graph: GraphStats| {
        AzureAdOutcome {
            sync: SyncOutcome {
                report: Report::failed(SyncMethod::AzureAd, host.clone(), tls, &error),
                account: account.clone(),
                snapshot: None,
                stats,
            },
            state: previous.cloned(),
            graph,
        }
    };
    let mut refused: Vec<String> = Vec::new();
    if let Err(errors) = azure.validate() {
        refused.extend(errors.iter().map(AzureAdSettingsError::to_string));
    }
    if let Err(errors) = settings.validate() {
        refused.extend(errors.0.iter().map(ToString::to_string));
    }
    if !refused.is_empty() {
        let error = AzureAdError::Settings(refused.join("; "));
        return failed(TlsOutcome::NotConnected, error, stats, graph_stats);
    }
    let Some(endpoint) = &env.endpoint else {
        return failed(
            TlsOutcome::NotConnected,
            AzureAdError::NoEndpoint,
            stats,
            graph_stats,
        );
    };
    let started = Instant::now();
    let mut client =
        match GraphClient::sign_in(endpoint, azure, &env.trusted_ca_pems, env.timeout).await {
            Ok(c) => c,
            Err(e) => {
                let tls = tls_of(endpoint, &e);
                return failed(tls, AzureAdError::Graph(e), stats, graph_stats);
            }
        };
    stats.connect = started.elapsed();
    let tls = TlsOutcome::Verified {
        server_name: server_name(endpoint),
    };

    let started = Instant::now();
    let read = read_tenant(&mut client, azure, previous, delta, &mut stats).await;
    graph_stats = client.stats;
    let (state, mode) = match read {
        Ok(read) => read,
        Err(e) => return failed(tls, e, stats, graph_stats),
    };
    let only = if azure.groups.is_empty() {
        None
    } else {
        match included_users(&mut client, &state, &azure.groups).await {
            Ok(users) => Some(users),
            Err(e) => {
                graph_stats = client.stats;
                return failed(tls, e, stats, graph_stats);
            }
        }
    };
    graph_stats = client.stats;
    stats.extract = started.elapsed();

    let started = Instant::now();
    let extraction = convert::extraction(&state, only.as_ref());
    let mut warnings = extraction.warnings.clone();
    if !settings.additional_attributes.is_empty() {
        warnings.push(
            "additional attributes are read from the directory by the LDAP methods only; the azure-ad method ignores them".into(),
        );
    }
    let (snapshot, transform_warnings) = extract::to_snapshot(extraction);
    warnings.extend(transform_warnings);
    stats.transform = started.elapsed();

    let started = Instant::now();
    let (next, plan) = apply::sync(account, &snapshot, settings);
    stats.apply = started.elapsed();
    let mut report = report::from_plan(SyncMethod::AzureAd, host.clone(), tls, plan);
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    report.extraction = delta.then_some(mode);
    AzureAdOutcome {
        sync: SyncOutcome {
            report,
            account: next,
            snapshot: Some(snapshot),
            stats,
        },
        state: Some(state),
        graph: graph_stats,
    }
}

/// The host the certificate was checked against.
fn server_name(endpoint: &GraphEndpoint) -> String {
    let rest = endpoint
        .graph
        .split("://")
        .nth(1)
        .unwrap_or(&endpoint.graph);
    let host = rest.split('/').next().unwrap_or(rest);
    host.rsplit_once(':').map_or(host, |(h, _)| h).to_owned()
}

fn tls_of(endpoint: &GraphEndpoint, error: &GraphError) -> TlsOutcome {
    match error {
        GraphError::Http { .. } | GraphError::Tls(_) | GraphError::Build(_) => {
            TlsOutcome::NotConnected
        }
        _ => TlsOutcome::Verified {
            server_name: server_name(endpoint),
        },
    }
}

/// Reads the tenant: from the links of `previous` when asked for a delta and the
/// settings are the same, else everything.
async fn read_tenant(
    client: &mut GraphClient,
    azure: &AzureAdSettings,
    previous: Option<&TenantState>,
    delta: bool,
    stats: &mut ExtractStats,
) -> Result<(TenantState, ExtractionMode), AzureAdError> {
    let same = |p: &&TenantState| {
        p.tenant.eq_ignore_ascii_case(azure.tenant.trim())
            && p.application.eq_ignore_ascii_case(azure.application.trim())
    };
    let reason = match previous {
        _ if !delta => FullReason::NoPreviousState,
        None => FullReason::NoPreviousState,
        Some(p) if !same(&p) => FullReason::SettingsChanged,
        Some(p) => match continue_from(client, p.clone(), stats).await {
            Ok(read) => return Ok(read),
            Err(e) if e.code() == Some("syncStateNotFound") => FullReason::DeltaLinkExpired,
            Err(e) => return Err(AzureAdError::Graph(e)),
        },
    };
    let mut state = TenantState {
        tenant: azure.tenant.trim().to_owned(),
        application: azure.application.trim().to_owned(),
        ..TenantState::default()
    };
    let base = client.graph_url().to_owned();
    let users = read::round(
        client,
        &format!("{base}/users/delta?$select={}", read::USER_SELECT),
    )
    .await
    .map_err(AzureAdError::Graph)?;
    let groups = read::round(
        client,
        &format!("{base}/groups/delta?$select={}", read::GROUP_SELECT),
    )
    .await
    .map_err(AzureAdError::Graph)?;
    stats.entries = users.items.len() + groups.items.len();
    stats.pages = (users.pages + groups.pages) as usize;
    state.users_link = users.delta_link;
    state.groups_link = groups.delta_link;
    state
        .apply_users(users.items)
        .map_err(AzureAdError::Malformed)?;
    state
        .apply_groups(groups.items)
        .map_err(AzureAdError::Malformed)?;
    Ok((state, ExtractionMode::Full { reason }))
}

async fn continue_from(
    client: &mut GraphClient,
    mut state: TenantState,
    stats: &mut ExtractStats,
) -> Result<(TenantState, ExtractionMode), GraphError> {
    let users = read::round(client, &state.users_link.clone()).await?;
    let groups = read::round(client, &state.groups_link.clone()).await?;
    stats.entries = users.items.len() + groups.items.len();
    stats.pages = (users.pages + groups.pages) as usize;
    state.users_link = users.delta_link;
    state.groups_link = groups.delta_link;
    let malformed = |e: String| GraphError::Malformed(e);
    let u = state.apply_users(users.items).map_err(malformed)?;
    let g = state.apply_groups(groups.items).map_err(malformed)?;
    let mode = ExtractionMode::GraphDelta {
        changed: u.changed + g.changed,
        removed: u.removed + g.removed,
    };
    Ok((state, mode))
}

/// The users in the chosen groups, nested members included.
async fn included_users(
    client: &mut GraphClient,
    state: &TenantState,
    groups: &[String],
) -> Result<BTreeSet<String>, AzureAdError> {
    let mut users = BTreeSet::new();
    for wanted in groups {
        let wanted = wanted.trim();
        let id = state
            .groups
            .iter()
            .find(|(id, g)| {
                id.eq_ignore_ascii_case(wanted)
                    || g.get("displayName")
                        .and_then(|n| n.as_str())
                        .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            })
            .map(|(id, _)| id.clone())
            .ok_or_else(|| AzureAdError::NoSuchGroup(wanted.to_owned()))?;
        users.extend(
            read::transitive_users(client, &id)
                .await
                .map_err(AzureAdError::Graph)?,
        );
    }
    Ok(users)
}
