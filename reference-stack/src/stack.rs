//! The entry points the scenario runner calls: a whole sync run, and a sign-in.
//!
//! [`run_sync`] strings the stages together — validate, connect (with failover),
//! extract, transform, transfer, apply — and turns every failure into a failed
//! [`Report`] with its cause chain; it never panics on anything the DC, the network or
//! the settings can do. A run that fails or is stopped leaves the account as it was.
//!
//! [`run_delta_sync`] is the same run with a delta-capable extraction ([`crate::delta`]):
//! it takes the state the last run left and returns the next one, and its report says
//! whether the run read everything or only the changes, and why.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::borrow::Cow;

use crate::account::Account;
use crate::apply;
use crate::connect::{self, ConnectError, ConnectOptions};
use crate::delta::{self, DeltaState, ExtractionMode, ExtractionScope, PendingState};
use crate::extract::{self, ExtractError, ExtractRequest, Extraction, GlobalCatalog, MemberSource};
use crate::report::{self, Report, SyncMethod, TlsOutcome};
use crate::resolve::Resolver;
use crate::settings::{AccountSettings, ConnectorSettings, EncryptionMode, SettingsErrors};
use crate::signin;
use crate::snapshot::DirectorySnapshot;
use crate::steps::{Faithful, Steps};
use crate::transfer::{CloudSink, SiteBinding, TransferError};

pub use crate::extract::ExtractStats;
pub use crate::signin::SignInOutcome;

/// Everything about where a run happens that is not a setting an administrator makes.
#[derive(Debug, Clone)]
pub struct SyncEnvironment {
    /// Where DC host names point (tests pin them to loopback ports).
    pub resolver: Resolver,
    /// PEM-encoded CAs that `strict` encryption trusts (not the system store: a DC's
    /// certificate is issued by the customer's own CA).
    pub trusted_ca_pems: Vec<String>,
    /// Directory connector or agent.
    pub method: SyncMethod,
    /// The Global Catalog port for the agent's member lookups; `None` means AD's
    /// defaults: 3269 with TLS, 3268 with encryption `none`.
    pub gc_port: Option<u16>,
    /// Bound on each LDAP operation (connect, handshake, bind, each search reply).
    pub timeout: Duration,
    /// Entries per page of the paged searches (AD caps it at 1,000).
    pub page_size: i32,
    /// The agent site's binding credentials, which authenticate the pushed payload.
    pub site: SiteBinding,
    /// The extraction's judgements: [`Faithful`] unless a test kit plants a defect.
    pub steps: Arc<dyn Steps>,
    /// The cloud the agent pushes its payload to; started on the first agent sync and
    /// shared by clones of this environment, so later syncs reuse it.
    pub cloud: CloudSink,
}

impl SyncEnvironment {
    /// An environment with AD's defaults: GC ports by encryption, 30 s per operation,
    /// pages of 1,000, a fresh site binding, and a cloud of its own (not started yet).
    pub fn new(resolver: Resolver, trusted_ca_pems: Vec<String>, method: SyncMethod) -> Self {
        Self {
            resolver,
            trusted_ca_pems,
            method,
            gc_port: None,
            timeout: Duration::from_secs(30),
            page_size: extract::MAX_PAGE_SIZE,
            site: SiteBinding::new("site-1", "site-secret"),
            steps: Arc::new(Faithful),
            cloud: CloudSink::new(),
        }
    }
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// What the administrator is told.
    pub report: Report,
    /// The account after the run; unchanged when the run failed or was stopped.
    pub account: Account,
    /// The transformed extraction, when extraction completed.
    pub snapshot: Option<DirectorySnapshot>,
    /// Counters and per-stage timings.
    pub stats: ExtractStats,
}

/// Why a run stopped before apply. Each variant says which stage failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Settings refused before any connection.
    #[error("settings refused")]
    Settings(#[source] SettingsErrors),
    /// Connecting or binding failed.
    #[error("cannot connect to the directory")]
    Connect(#[source] ConnectError),
    /// Extraction did not complete; nothing was applied.
    #[error("extraction incomplete, nothing applied")]
    Extract(#[source] ExtractError),
    /// The payload could not be handed over; nothing was applied.
    #[error("transfer to the cloud failed, nothing applied")]
    Transfer(#[source] TransferError),
}

/// What a delta-capable run produced.
#[derive(Debug, Clone)]
pub struct DeltaSyncOutcome {
    /// The run, as [`run_sync`] reports it; its report says how the directory was read.
    pub sync: SyncOutcome,
    /// What the next run continues from: the state this run reached, or the state it was
    /// given when it failed (a failed run loses nothing). `None` when there is nothing to
    /// continue from (no earlier state and this run failed, or a DC without USNs). A run
    /// stopped by max unlink still advances it: the state mirrors the directory, not the
    /// account, so the next run plans the same stop from it.
    pub state: Option<DeltaState>,
}

/// How a run extracts.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// Everything, every time.
    Full,
    /// Delta-capable, continuing from this state.
    Delta(Option<&'a DeltaState>),
}

/// Runs one sync: see the module docs.
pub async fn run_sync(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
) -> SyncOutcome {
    run(env, connector, settings, Cow::Borrowed(account), Mode::Full)
        .await
        .sync
}

/// Runs one delta-capable sync from `state`, the state the last one returned: see
/// [`crate::delta`] for when it reads only the changes and when everything.
pub async fn run_delta_sync(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: &Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    run_delta(env, connector, settings, Cow::Borrowed(account), state).await
}

/// [`run_delta_sync`] on an account the caller gives up: apply changes it in place rather
/// than a copy, which at a million users is gigabytes and seconds the run need not spend.
pub async fn run_delta_sync_owned(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: Account,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    run_delta(env, connector, settings, Cow::Owned(account), state).await
}

async fn run_delta(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: Cow<'_, Account>,
    state: Option<&DeltaState>,
) -> DeltaSyncOutcome {
    let ran = run(env, connector, settings, account, Mode::Delta(state)).await;
    DeltaSyncOutcome {
        state: match ran.state {
            Some(next) => next,
            None => state.cloned(),
        },
        sync: ran.sync,
    }
}

/// What [`run`] produced.
struct Ran {
    /// The run.
    sync: SyncOutcome,
    /// The state a delta-capable run reached, when it got as far as apply (`Some(None)`:
    /// the DC offers nothing to continue from); `None` when the run failed.
    state: Option<Option<DeltaState>>,
}

/// The stages strung together.
async fn run(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    settings: &AccountSettings,
    account: Cow<'_, Account>,
    mode: Mode<'_>,
) -> Ran {
    let mut stats = ExtractStats::default();
    let failed = |account: Cow<'_, Account>,
                  host: Option<String>,
                  tls: TlsOutcome,
                  error: SyncError,
                  stats,
                  warnings| {
        let mut report = Report::failed(env.method, host, tls, &error);
        report.warnings = warnings;
        Ran {
            sync: SyncOutcome {
                report,
                account: account.into_owned(),
                snapshot: None,
                stats,
            },
            state: None,
        }
    };

    let mut refused = Vec::new();
    for result in [connector.validate(), settings.validate()] {
        if let Err(SettingsErrors(errors)) = result {
            refused.extend(errors);
        }
    }
    if !refused.is_empty() {
        let error = SyncError::Settings(SettingsErrors(refused));
        return failed(
            account,
            None,
            TlsOutcome::NotConnected,
            error,
            stats,
            Vec::new(),
        );
    }
    let options = match ConnectOptions::new(env.resolver.clone(), &env.trusted_ca_pems, env.timeout)
    {
        Ok(options) => options,
        Err(error) => {
            let error = SyncError::Connect(error);
            return failed(
                account,
                None,
                TlsOutcome::NotConnected,
                error,
                stats,
                Vec::new(),
            );
        }
    };

    let started = Instant::now();
    let connected = connect::connect(&options, connector).await;
    stats.connect = started.elapsed();
    let mut connection = match connected {
        Ok(connection) => connection,
        Err(failure) => {
            let error = SyncError::Connect(failure.error);
            return failed(account, failure.host, failure.tls, error, stats, Vec::new());
        }
    };
    let host = connection.host.clone();
    let tls = connection.tls.clone();
    let mut warnings: Vec<String> = connection
        .unreachable
        .iter()
        .map(|error| format!("{error}; failed over to {host}"))
        .collect();

    let started = Instant::now();
    let request = ExtractRequest {
        host: &host,
        port: connection.port,
        root_dn: &connector.root_dn,
        additional_attributes: &settings.additional_attributes,
        page_size: env.page_size,
        timeout: env.timeout,
        steps: env.steps.as_ref(),
    };
    let source = match env.method {
        SyncMethod::DirectoryConnector | SyncMethod::AzureAd | SyncMethod::GoogleWorkspace => {
            MemberSource::SameConnection
        }
        SyncMethod::Agent => {
            let port = env.gc_port.unwrap_or(match connector.encryption {
                EncryptionMode::None => 3268,
                EncryptionMode::Strict | EncryptionMode::Relaxed => 3269,
            });
            MemberSource::GlobalCatalog(GlobalCatalog::new(&options, connector, &host, port))
        }
    };
    let extracted = match mode {
        Mode::Full => extract::extract(&mut connection.ldap, source, &request, &mut stats)
            .await
            .map(|extraction| (extraction, None)),
        Mode::Delta(state) => {
            let scope = ExtractionScope::new(
                &connector.root_dn,
                &connector.bind_dn,
                &settings.additional_attributes,
                env.method == SyncMethod::Agent,
            )
            .with_tracking(connector.change_tracking);
            let ldap = &mut connection.ldap;
            delta::extract(ldap, source, &request, scope, state, &mut stats)
                .await
                .map(|delta| (delta.extraction, Some((delta.mode, delta.state))))
        }
    };
    stats.extract = started.elapsed();
    // Unbind politely; a failure here changes nothing about the run.
    let _ = connection.ldap.unbind().await;
    let (extraction, delta): (Extraction, Option<(ExtractionMode, Option<PendingState>)>) =
        match extracted {
            Ok(extracted) => extracted,
            Err(error) => {
                return failed(
                    account,
                    Some(host),
                    tls,
                    SyncError::Extract(error),
                    stats,
                    warnings,
                );
            }
        };
    warnings.extend(extraction.warnings.iter().cloned());

    let started = Instant::now();
    let (snapshot, transform_warnings, kept) = extract::to_snapshot_keeping(extraction);
    warnings.extend(transform_warnings);
    // The state takes the objects over now that the snapshot no longer needs them; when
    // there is no state to take them, the closures drop them here, before apply.
    let delta = delta.map(|(mode, pending)| {
        let state = pending.map(|pending| pending.capture(kept.objects, kept.member_identities));
        (mode, state)
    });
    stats.transform = started.elapsed();

    let started = Instant::now();
    let snapshot = match env.method {
        // The connector runs in the cloud: the snapshot is already where apply runs.
        SyncMethod::DirectoryConnector | SyncMethod::AzureAd | SyncMethod::GoogleWorkspace => {
            snapshot
        }
        SyncMethod::Agent => match env.cloud.deliver(&env.site, &snapshot).await {
            Ok(received) => received,
            Err(error) => {
                stats.transfer = started.elapsed();
                return failed(
                    account,
                    Some(host),
                    tls,
                    SyncError::Transfer(error),
                    stats,
                    warnings,
                );
            }
        },
    };
    stats.transfer = started.elapsed();

    let started = Instant::now();
    let (next, plan) = apply::sync_owned(account.into_owned(), &snapshot, settings);
    stats.apply = started.elapsed();
    let mut report = report::from_plan(env.method, Some(host), tls, plan);
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    let (mode, state) = delta.unzip();
    report.extraction = mode;
    Ran {
        sync: SyncOutcome {
            report,
            account: next,
            snapshot: Some(snapshot),
            stats,
        },
        state,
    }
}

/// Signs a user in by address and directory password (directory connector only).
pub async fn sign_in(
    env: &SyncEnvironment,
    connector: &ConnectorSettings,
    address: &str,
    password: &str,
) -> SignInOutcome {
    signin::sign_in(env, connector, address, password).await
}
