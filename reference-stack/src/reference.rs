//! The reference stack as a [`SyncEngine`]: the one adapter between the engine contract
//! and the stack's stages, and the engine every scenario's snapshot is written against.
//!
//! A delta request runs [`stack::run_delta_sync`]; the [`DeltaState`] travels as the
//! response's `engine-state` (JSON) and comes back with the next request. A state that
//! does not parse (written by another version) counts as none: the run is full.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt as _;

use crate::delta::{DeltaState, ExtractionMode};
use crate::graph::{AzureAdEnvironment, TenantState};
use crate::resolve::Resolver;
use crate::stack::{self, SignInOutcome, SyncEnvironment};
use crate::transfer::CloudSink;
use engine_contract::engine::{
    DcEndpoint, EngineError, SignInRequest, SignInResult, SyncEngine, SyncMode, SyncRequest,
    SyncResponse,
};

/// The name of the reference stack as an engine.
pub const REFERENCE_ENGINE: &str = "reference";

/// The reference engine.
#[derive(Debug, Clone)]
pub struct ReferenceEngine {
    /// Per LDAP operation.
    pub timeout: Duration,
    /// The cloud every agent sync of this engine (and its clones) pushes to: one ingest
    /// started on the first, not one per sync.
    cloud: CloudSink,
}

impl Default for ReferenceEngine {
    fn default() -> Self {
        ReferenceEngine {
            timeout: Duration::from_secs(20),
            cloud: CloudSink::new(),
        }
    }
}

/// A directory-connector or agent request without connector settings.
#[derive(Debug, thiserror::Error)]
#[error("settings refused: the {0} method needs connector settings")]
struct NoConnector(crate::report::SyncMethod);

impl ReferenceEngine {
    /// An Azure AD sync: Microsoft Graph instead of a DC ([`crate::graph`]). Its
    /// `engine-state` is the tenant as read ([`TenantState`]).
    async fn azure_ad(&self, request: &SyncRequest) -> SyncResponse {
        let Some(azure) = &request.azure_ad else {
            let error = crate::graph::AzureAdError::Settings(
                "azure-ad: the azure-ad method needs its settings (tenant, application, secret)"
                    .into(),
            );
            let report = crate::report::Report::failed(
                crate::report::SyncMethod::AzureAd,
                None,
                crate::report::TlsOutcome::NotConnected,
                &error,
            );
            return SyncResponse {
                report,
                account: request.account.clone(),
                extraction: None,
                engine_state: None,
            };
        };
        let env = AzureAdEnvironment {
            endpoint: request.graph.as_deref().cloned(),
            trusted_ca_pems: request.ca_pem.iter().cloned().collect(),
            timeout: self.timeout,
        };
        let previous: Option<TenantState> = request
            .engine_state
            .clone()
            .and_then(|state| serde_json::from_value(state).ok());
        let delta = request.mode == SyncMode::Delta;
        let outcome = crate::graph::run(
            &env,
            azure,
            &request.settings,
            &request.account,
            previous.as_ref(),
            delta,
        )
        .await;
        let extraction = outcome.sync.snapshot.as_ref().map(|snap| {
            format!(
                "{} users, {} groups ({} objects, {} pages, {} graph requests, {} retried after throttling)",
                snap.users.len(),
                snap.groups.len(),
                outcome.sync.stats.entries,
                outcome.sync.stats.pages,
                outcome.graph.requests,
                outcome.graph.retries
            )
        });
        SyncResponse {
            report: outcome.sync.report,
            account: outcome.sync.account,
            extraction,
            engine_state: outcome.state.and_then(|s| serde_json::to_value(s).ok()),
        }
    }
}

/// Points each DC host's well-known ports at the addresses fake-dc listens on, so the
/// stack connects by host name (and checks certificates against it) on loopback.
fn environment(
    dcs: &[DcEndpoint],
    ca: Option<&String>,
    method: crate::report::SyncMethod,
    timeout: Duration,
    cloud: &CloudSink,
) -> SyncEnvironment {
    let mut resolver = Resolver::pinned();
    for dc in dcs {
        for port in [389u16, 636, 3268, 3269] {
            if let Some(addr) = dc.address_for_port(port) {
                resolver.pin(&dc.host, port, addr);
            }
        }
    }
    let mut env = SyncEnvironment::new(resolver, ca.into_iter().cloned().collect(), method);
    env.timeout = timeout;
    env.cloud = cloud.clone();
    env
}

impl SyncEngine for ReferenceEngine {
    fn name(&self) -> &str {
        REFERENCE_ENGINE
    }

    fn sync<'a>(
        &'a self,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncResponse, EngineError>> {
        async move {
            if request.method == crate::report::SyncMethod::AzureAd {
                return Ok(self.azure_ad(request).await);
            }
            if let (crate::report::SyncMethod::GoogleWorkspace, Some(google)) =
                (request.method, &request.google_workspace)
            {
                let env = environment(&request.dcs, request.ca_pem.as_ref(), request.method, self.timeout, &self.cloud);
                let delta = request.mode == SyncMode::Delta;
                let previous: Option<crate::google::GoogleState> = request
                    .engine_state
                    .clone()
                    .and_then(|state| serde_json::from_value(state).ok());
                let ran = crate::google::run(
                    &env,
                    request.ca_pem.as_deref(),
                    google,
                    &request.settings,
                    &request.account,
                    delta,
                    previous.as_ref(),
                )
                .await;
                let engine_state = ran.state.and_then(|s| serde_json::to_value(s).ok());
                return Ok(SyncResponse {
                    report: ran.sync.report,
                    account: ran.sync.account,
                    extraction: ran.detail,
                    engine_state,
                });
            }
            if request.method == crate::report::SyncMethod::GoogleWorkspace {
                return Err(EngineError::Contract {
                    engine: REFERENCE_ENGINE.to_owned(),
                    reason: "a google-workspace sync request without its google-workspace settings"
                        .to_owned(),
                });
            }
            let Some(connector) = &request.connector else {
                let error = NoConnector(request.method);
                let report = crate::report::Report::failed(
                    request.method,
                    None,
                    crate::report::TlsOutcome::NotConnected,
                    &error,
                );
                return Ok(SyncResponse { report, account: request.account.clone(), extraction: None, engine_state: None });
            };
            let env = environment(&request.dcs, request.ca_pem.as_ref(), request.method, self.timeout, &self.cloud);
            let (settings, account) = (&request.settings, &request.account);
            let (outcome, engine_state) = match request.mode {
                SyncMode::Full => (stack::run_sync(&env, connector, settings, account).await, None),
                SyncMode::Delta => {
                    let previous: Option<DeltaState> = request
                        .engine_state
                        .clone()
                        .and_then(|state| serde_json::from_value(state).ok());
                    let delta = stack::run_delta_sync(&env, connector, settings, account, previous.as_ref()).await;
                    let state = delta.state.and_then(|state| serde_json::to_value(state).ok());
                    (delta.sync, state)
                }
            };
            let s = &outcome.stats;
            let extraction = outcome.snapshot.as_ref().map(|snap| {
                let mut line = format!(
                    "{} users, {} groups, {} contacts ({} entries, {} pages, {} ranged fetches, {} GC lookups)",
                    snap.users.len(),
                    snap.groups.len(),
                    snap.contacts.len(),
                    s.entries,
                    s.pages,
                    s.ranged_fetches,
                    s.gc_lookups
                );
                if matches!(outcome.report.extraction, Some(ExtractionMode::Delta { .. })) {
                    line.push_str(&format!(
                        "; tombstones: {}, containers read again: {}",
                        s.tombstones, s.containers
                    ));
                }
                line
            });
            // A dry run's plan is the report; the account it would have made is dropped.
            let account = if request.dry_run { request.account.clone() } else { outcome.account };
            Ok(SyncResponse { report: outcome.report, account, extraction, engine_state })
        }
        .boxed()
    }

    fn sign_in<'a>(
        &'a self,
        request: &'a SignInRequest,
    ) -> BoxFuture<'a, Result<(SignInResult, String), EngineError>> {
        async move {
            let env = environment(
                &request.dcs,
                request.ca_pem.as_ref(),
                crate::report::SyncMethod::DirectoryConnector,
                self.timeout,
                &self.cloud,
            );
            let outcome = stack::sign_in(
                &env,
                &request.connector,
                &request.address,
                &request.password,
            )
            .await;
            Ok(match outcome {
                SignInOutcome::SignedIn { dn } => (SignInResult::SignedIn, dn),
                SignInOutcome::WrongPassword => (SignInResult::WrongPassword, String::new()),
                SignInOutcome::UnknownAddress => (SignInResult::UnknownAddress, String::new()),
                SignInOutcome::Disabled => (SignInResult::Disabled, String::new()),
                SignInOutcome::LockedOut => (SignInResult::LockedOut, String::new()),
                SignInOutcome::PasswordExpired => (SignInResult::PasswordExpired, String::new()),
                SignInOutcome::MustChangePassword => {
                    (SignInResult::MustChangePassword, String::new())
                }
                SignInOutcome::Failed { reason } => (SignInResult::Failed, reason),
            })
        }
        .boxed()
    }
}
