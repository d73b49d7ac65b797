//! Runs one scenario: starts a private in-process fake-dc (port 0, nothing shared with
//! other scenarios), plays the steps through an engine, checks expectations and the
//! invariant "a second sync straight after a successful one changes nothing", and writes
//! the transcript a person reviews as the snapshot.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use fake_dc::directory::Directory;
use fake_dc::fixture::{LoadOptions, Locator};
use fake_dc::graph::GraphServer;
use fake_dc::server::{FakeDc, HostConfig};
use time::OffsetDateTime;

use super::changes::{apply_change, describe, faults};

mod clock;
mod preview;
use super::model::{Scenario, Step};
use super::{expect, invariant, render};
use engine_contract::account::Account;
use engine_contract::engine::{
    DcEndpoint, SignInRequest, SyncEngine, SyncMode, SyncRequest, SyncResponse,
};

/// A scenario file, parsed.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file stem: names the snapshot and the test.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Its contents.
    pub scenario: Scenario,
    /// The raw text, to locate steps in errors.
    text: String,
}

/// Why a scenario could not run (as opposed to running and failing an expectation).
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The directory, a DC or the clock could not be set up.
    #[error("{file}: {message}")]
    Setup {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A step could not be carried out (e.g. it names an entry that does not exist).
    #[error("{file}:{line}: step {step} ({kind}): {message}")]
    Step {
        /// The file.
        file: String,
        /// The step's line.
        line: usize,
        /// 1-based step number.
        step: usize,
        /// The step's kind.
        kind: String,
        /// What went wrong.
        message: String,
    },
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The readable transcript (the snapshot's content).
    pub transcript: String,
    /// Failed expectations and invariant violations; empty when the scenario passed.
    pub failures: Vec<String>,
}

/// The default start of a scenario's clock: a Monday in January (no DST anywhere north).
const DEFAULT_START: &str = "2026-01-05T00:00:00Z";

impl LoadedScenario {
    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(path, text)
    }

    /// Parses a scenario's text as if read from `path` (which names it in errors and is
    /// where a `fixture:` path is resolved from): generated scenarios need no file.
    pub fn parse(path: &Path, text: String) -> Result<LoadedScenario, ScenarioError> {
        let file = path.display().to_string();
        let scenario: Scenario = serde_yaml::from_str(&text).map_err(|e| {
            let (mut line, mut column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            // Settings are checked as a whole after parsing (every bad field at once), and
            // serde_yaml then reports the document start: point at the section instead.
            if (line, column) == (1, 1) {
                let locator = Locator::new(&text);
                let msg = e.to_string();
                let account_fields = [
                    "registered domain",
                    "additional attributes",
                    "max unlink",
                    "region",
                ];
                let section = if account_fields.iter().any(|f| msg.contains(f)) {
                    "settings"
                } else {
                    "connector"
                };
                if let Some(pos) = locator.find(section) {
                    (line, column) = (pos.line, pos.column);
                }
            }
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_string(),
                None => message,
            };
            ScenarioError::Invalid {
                file: file.clone(),
                line,
                column,
                message,
            }
        })?;
        let locator = Locator::new(&text);
        let mut problems: Vec<((usize, usize), String)> = super::check::problems(&scenario)
            .into_iter()
            .map(|p| {
                let at = locator
                    .find(&p.path)
                    .map_or((0, 0), |at| (at.line, at.column));
                (at, format!("{}: {}", p.path, p.message))
            })
            .collect();
        problems.sort();
        if let Some(((line, column), _)) = problems.first() {
            return Err(ScenarioError::Invalid {
                file,
                line: *line,
                column: *column,
                message: problems
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        let name = path
            .file_stem()
            .map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
        Ok(LoadedScenario {
            name,
            path: path.to_path_buf(),
            scenario,
            text,
        })
    }

    /// A scenario built in memory (`harness preview`), named `name`, as if read from
    /// `path`; it is not held to the rules of a scenario file (it checks nothing).
    pub fn from_parts(name: &str, path: &Path, scenario: Scenario) -> LoadedScenario {
        LoadedScenario {
            name: name.to_string(),
            path: path.to_path_buf(),
            scenario,
            text: String::new(),
        }
    }

    fn step_error(&self, index: usize, step: &Step, message: impl Into<String>) -> ScenarioError {
        let line = Locator::new(&self.text)
            .find(&format!("steps[{index}]"))
            .map_or(0, |p| p.line);
        ScenarioError::Step {
            file: self.path.display().to_string(),
            line,
            step: index + 1,
            kind: step_kind(step).to_string(),
            message: message.into(),
        }
    }

    fn setup_error(&self, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Setup {
            file: self.path.display().to_string(),
            message: message.into(),
        }
    }
}

/// A step's name as the file spells it.
pub fn step_kind(step: &Step) -> &'static str {
    match step {
        Step::Sync => "sync",
        Step::DeltaSync => "delta-sync",
        Step::Preview => "preview",
        Step::AddUser(_) => "add-user",
        Step::Modify(_) => "modify",
        Step::Delete(_) => "delete",
        Step::Move { .. } => "move",
        Step::Rename { .. } => "rename",
        Step::AddMember { .. } => "add-member",
        Step::RemoveMember { .. } => "remove-member",
        Step::Disable(_) => "disable",
        Step::Enable(_) => "enable",
        Step::Lock(_) => "lock",
        Step::Unlock(_) => "unlock",
        Step::Fault(_) => "fault",
        Step::ClearFaults(_) => "clear-faults",
        Step::GraphFault(_) => "graph-fault",
        Step::ClearGraphFaults(_) => "clear-graph-faults",
        Step::GoogleFault(_) => "google-fault",
        Step::AdvanceClock(_) => "advance-clock",
        Step::SignIn(_) => "sign-in",
        Step::Expect(_) => "expect",
    }
}

/// The state a run carries from step to step.
struct Run<'a> {
    loaded: &'a LoadedScenario,
    engine: &'a dyn SyncEngine,
    dc: FakeDc,
    dcs: Vec<DcEndpoint>,
    /// Microsoft Graph, when the directory declares an Azure AD tenant.
    graph: Option<GraphServer>,
    /// The Google Workspace part of every sync request, for that method.
    google: Option<engine_contract::google::GoogleWorkspaceRequest>,
    /// Unix seconds; the directory's clock reads it too, so account expiry and the
    /// schedule agree.
    now: Arc<AtomicI64>,
    account: Account,
    /// The `engine-state` the engine returned last, handed back with every sync.
    engine_state: Option<serde_json::Value>,
    last: Option<SyncResponse>,
    out: String,
    failures: Vec<String>,
}

/// Runs a scenario through `engine`.
pub async fn run(
    loaded: &LoadedScenario,
    engine: &dyn SyncEngine,
) -> Result<RunOutput, ScenarioError> {
    let sc = &loaded.scenario;
    let start = OffsetDateTime::parse(
        sc.start.as_deref().unwrap_or(DEFAULT_START),
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|e| loaded.setup_error(format!("start: not an RFC 3339 time: {e}")))?;
    let now = Arc::new(AtomicI64::new(start.unix_timestamp()));
    let mut directory = load_directory(loaded, start.unix_timestamp())?;
    let clock = now.clone();
    directory.set_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    for (i, change) in sc.directory.changes.iter().enumerate() {
        apply_change(&mut directory, change).map_err(|m| {
            loaded.setup_error(format!(
                "directory.changes[{i}] ({}): {m}",
                step_kind(change)
            ))
        })?;
    }
    let hosts: Vec<(String, fake_dc::tls::CertProfile)> = if sc.dcs.is_empty() {
        directory
            .domains
            .iter()
            .flat_map(|d| d.dc_hosts.iter().map(|h| (h.clone(), Default::default())))
            .collect()
    } else {
        sc.dcs.iter().map(|d| (d.host.clone(), d.cert)).collect()
    };
    let mut builder = FakeDc::builder(directory);
    for (host, cert) in &hosts {
        builder = builder.host(
            host.clone(),
            HostConfig {
                cert: *cert,
                ..HostConfig::loopback()
            },
        );
    }
    let dc = builder
        .start()
        .await
        .map_err(|e| loaded.setup_error(format!("cannot start fake-dc: {e}")))?;
    let dcs = hosts
        .iter()
        .filter_map(|(host, _)| {
            dc.addresses(host).map(|a| DcEndpoint {
                host: host.clone(),
                ldap: a.ldap,
                ldaps: a.ldaps,
                gc: a.gc,
                gc_tls: a.gc_tls,
            })
        })
        .collect();
    let graph = super::graph::start(&dc, sc.method)
        .await
        .map_err(|m| loaded.setup_error(m))?;
    let google = match &sc.google_workspace {
        Some(section) if sc.method == engine_contract::report::SyncMethod::GoogleWorkspace => {
            Some(super::google::request(section, &dc).map_err(|m| loaded.setup_error(m))?)
        }
        _ => None,
    };
    let mut run = Run {
        loaded,
        engine,
        dc,
        dcs,
        graph,
        google,
        now,
        account: sc.account.clone(),
        engine_state: None,
        last: None,
        out: String::new(),
        failures: Vec::new(),
    };
    let _ = writeln!(
        run.out,
        "scenario: {}\n{}",
        loaded.name,
        sc.description.trim()
    );
    let header = match &sc.google_workspace {
        Some(g) if sc.method == engine_contract::report::SyncMethod::GoogleWorkspace => {
            format!(
                "method: {}; domain: {}; LDAP client: {}",
                sc.method, g.domain, g.client
            )
        }
        _ => super::graph::header(sc),
    };
    let _ = writeln!(run.out, "{header}");
    let result = run.steps().await;
    let Run {
        dc,
        graph,
        mut out,
        failures,
        account,
        ..
    } = run;
    if let Some(graph) = graph {
        graph.stop();
    }
    dc.shutdown().await;
    result?;
    out.push_str("\n== cloud account after the last step\n");
    out.push_str(&render::account(&account));
    Ok(RunOutput {
        transcript: out,
        failures,
    })
}

fn load_directory(loaded: &LoadedScenario, now: i64) -> Result<Directory, ScenarioError> {
    let spec = &loaded.scenario.directory;
    let options = LoadOptions {
        fixed_time: Some(now),
    };
    match (&spec.fixture, &spec.inline) {
        (Some(path), None) => {
            let base = loaded.path.parent().unwrap_or(Path::new("."));
            fake_dc::fixture::load_file(&base.join(path), options)
                .map_err(|e| loaded.setup_error(format!("directory: {e}")))
        }
        (None, Some(value)) => {
            let text = serde_yaml::to_string(value)
                .map_err(|e| loaded.setup_error(format!("directory.inline: {e}")))?;
            fake_dc::fixture::load_str(
                &text,
                &format!("{} (directory.inline)", loaded.path.display()),
                options,
            )
            .map_err(|e| loaded.setup_error(e.to_string()))
        }
        _ => Err(loaded.setup_error("directory: give exactly one of `fixture` and `inline`")),
    }
}

impl Run<'_> {
    async fn steps(&mut self) -> Result<(), ScenarioError> {
        let steps = self.loaded.scenario.steps.clone();
        for (i, step) in steps.iter().enumerate() {
            let _ = write!(self.out, "\n== step {}: {}", i + 1, describe(step));
            self.out.push('\n');
            match step {
                Step::Sync => self.sync("requested", SyncMode::Full).await,
                Step::DeltaSync => self.sync("requested", SyncMode::Delta).await,
                Step::Preview => self.preview(i).await,
                Step::Fault(spec) => {
                    for fault in faults(spec) {
                        self.dc
                            .fault(&spec.host, fault)
                            .await
                            .map_err(|e| self.loaded.step_error(i, step, e.to_string()))?;
                    }
                }
                Step::GraphFault(_) | Step::ClearGraphFaults(_) => {
                    super::graph::fault(self.graph.as_ref(), step)
                        .map_err(|m| self.loaded.step_error(i, step, m))?;
                    let _ = writeln!(self.out, "done");
                }
                Step::GoogleFault(f) => {
                    let google = self.dc.google().ok_or_else(|| {
                        self.loaded.step_error(
                            i,
                            step,
                            "the directory declares no `google:` tenant to serve Secure LDAP",
                        )
                    })?;
                    google.refuse_binds_over_quota(f.refuse_binds);
                    let _ = writeln!(self.out, "done");
                }
                Step::ClearFaults(host) => {
                    self.dc
                        .clear_faults(host)
                        .await
                        .map_err(|e| self.loaded.step_error(i, step, e.to_string()))?;
                }
                Step::AdvanceClock(text) => {
                    let by = humantime::parse_duration(text).map_err(|e| {
                        self.loaded.step_error(
                            i,
                            step,
                            format!("'{text}' is not a duration (e.g. 90m, 6h, 2d): {e}"),
                        )
                    })?;
                    self.advance(by).await;
                }
                Step::SignIn(s) => {
                    let Some(connector) = self.loaded.scenario.connector.clone() else {
                        return Err(self.loaded.step_error(
                            i,
                            step,
                            "sign-in needs a `connector:` section",
                        ));
                    };
                    let request = SignInRequest {
                        dcs: self.dcs.clone(),
                        ca_pem: self.ca(),
                        connector,
                        address: s.address.clone(),
                        password: s.password.clone(),
                    };
                    match self.engine.sign_in(&request).await {
                        Ok((result, detail)) => {
                            let _ = writeln!(
                                self.out,
                                "result: {result}{}",
                                if detail.is_empty() {
                                    String::new()
                                } else {
                                    format!(" ({detail})")
                                }
                            );
                            if result != s.expect {
                                self.fail(
                                    i,
                                    format!(
                                        "sign-in {}: expected {}, got {result}",
                                        s.address, s.expect
                                    ),
                                );
                            }
                        }
                        Err(e) => self.fail(i, format!("sign-in {}: {e}", s.address)),
                    }
                }
                Step::Expect(e) => {
                    let problems = expect::check(e, &self.account, self.last.as_ref());
                    if problems.is_empty() {
                        let _ = writeln!(self.out, "ok");
                    }
                    for p in problems {
                        let _ = writeln!(self.out, "FAILED: {p}");
                        self.fail(i, p);
                    }
                }
                change => {
                    let result = self.dc.with_directory(|d| apply_change(d, change));
                    result.map_err(|m| self.loaded.step_error(i, step, m))?;
                    let _ = writeln!(self.out, "done");
                }
            }
        }
        Ok(())
    }

    fn fail(&mut self, index: usize, message: String) {
        self.failures.push(format!("step {}: {message}", index + 1));
    }

    fn ca(&self) -> Option<String> {
        self.loaded
            .scenario
            .trust_ca
            .then(|| self.dc.ca_pem().to_string())
    }

    fn request(&self, mode: SyncMode) -> SyncRequest {
        SyncRequest {
            method: self.loaded.scenario.method,
            dcs: self.dcs.clone(),
            ca_pem: self.ca(),
            connector: self.loaded.scenario.connector.clone(),
            azure_ad: self.loaded.scenario.azure_ad.clone().map(Box::new),
            graph: self
                .graph
                .as_ref()
                .map(|g| Box::new(super::graph::endpoint(g))),
            settings: self.loaded.scenario.settings.clone(),
            account: self.account.clone(),
            mode,
            engine_state: self.engine_state.clone(),
            dry_run: false,
            google_workspace: self.google.clone().map(Box::new),
        }
    }

    /// One sync, recorded; then, if it applied, the invariant: the same sync again, in the
    /// same mode and from the state the first returned, must succeed and change nothing.
    async fn sync(&mut self, why: &str, mode: SyncMode) {
        let request = self.request(mode);
        let response = match self.engine.sync(&request).await {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(self.out, "engine error: {e}");
                self.failures.push(format!("sync ({why}): {e}"));
                return;
            }
        };
        if let Some(ex) = &response.extraction {
            let _ = writeln!(self.out, "extracted: {ex}");
        }
        let _ = write!(self.out, "{}", render::report(&response.report));
        let applied = expect::outcome(&response.report) == super::model::RunOutcome::Applied;
        self.account = response.account.clone();
        if response.engine_state.is_some() {
            self.engine_state.clone_from(&response.engine_state);
        }
        if applied {
            let again = self.request(mode);
            let second = self.engine.sync(&again).await;
            match invariant::judge(&response, mode, &second) {
                Some(msg) => {
                    let msg = format!("invariant ({why} sync): {msg}");
                    let _ = writeln!(self.out, "{msg}");
                    self.failures.push(msg);
                }
                // The second run is a run like any other: a delta sync after it continues
                // from where it got to, so a state it broke shows at the next delta sync.
                None => {
                    if let Some(state) = second.ok().and_then(|s| s.engine_state) {
                        self.engine_state = Some(state);
                    }
                }
            }
        }
        self.last = Some(response);
    }
}
