//! Runs one scenario: starts a private in-process fake-dc (port 0, nothing shared with
//! other scenarios), plays the steps through an engine, checks expectations and the
//! invariant "a second sync straight after a successful one changes nothing", and writes
//! the transcript a person reviews as the snapshot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use fake_dc::directory::{Directory, ModOp, Modification, NewEntry};
use fake_dc::dn::{Dn, Rdn};
use fake_dc::fixture::{LoadOptions, Locator};
use fake_dc::schema::ObjectKind;
use fake_dc::server::{FakeDc, Fault, HostConfig, ProtocolFault};
use time::OffsetDateTime;

use super::expect;
use super::model::{FaultSpec, Scenario, Step};
use crate::account::Account;
use crate::engine::{DcEndpoint, SignInRequest, SyncEngine, SyncMode, SyncRequest, SyncResponse};
use crate::schedule;

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
    let mut run = Run {
        loaded,
        engine,
        dc,
        dcs,
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
    let _ = writeln!(
        run.out,
        "method: {}; connector: {} {:?} port {}",
        sc.method, sc.connector.primary_host, sc.connector.encryption, sc.connector.port
    );
    let result = run.steps().await;
    let Run {
        dc,
        mut out,
        failures,
        account,
        ..
    } = run;
    dc.shutdown().await;
    result?;
    out.push_str("\n== cloud account after the last step\n");
    out.push_str(&expect::render_account(&account));
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
                Step::Fault(spec) => {
                    for fault in faults(spec) {
                        self.dc
                            .fault(&spec.host, fault)
                            .await
                            .map_err(|e| self.loaded.step_error(i, step, e.to_string()))?;
                    }
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
                    let request = SignInRequest {
                        dcs: self.dcs.clone(),
                        ca_pem: self.ca(),
                        connector: self.loaded.scenario.connector.clone(),
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
                    let problems =
                        expect::check(e, &self.account, self.last.as_ref(), self.engine.name());
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
            settings: self.loaded.scenario.settings.clone(),
            account: self.account.clone(),
            mode,
            engine_state: self.engine_state.clone(),
        }
    }

    /// One sync, recorded; then, if it applied, the idempotence check (in the same mode,
    /// from the state the sync returned).
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
        let _ = write!(self.out, "{}", expect::render_report(&response.report));
        let applied = response.report.errors.is_empty() && response.report.stopped.is_none();
        self.account = response.account.clone();
        if response.engine_state.is_some() {
            self.engine_state.clone_from(&response.engine_state);
        }
        self.last = Some(response);
        if applied {
            let again = self.request(mode);
            match self.engine.sync(&again).await {
                Ok(second)
                    if second.report.changes.is_empty() && second.account == self.account => {}
                Ok(second) if !second.report.errors.is_empty() => {
                    let msg = format!(
                        "invariant: the sync straight after a successful one failed: {}",
                        second.report.errors.join("; ")
                    );
                    let _ = writeln!(self.out, "{msg}");
                    self.failures.push(msg);
                }
                Ok(second) => {
                    let msg = format!(
                        "invariant: the sync straight after a successful one changed {} things: {}",
                        second.report.changes.len(),
                        second
                            .report
                            .changes
                            .iter()
                            .take(5)
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    let _ = writeln!(self.out, "{msg}");
                    self.failures.push(msg);
                }
                Err(e) => self.failures.push(format!("invariant check: {e}")),
            }
        }
    }

    /// Moves the clock, running every scheduled sync that falls due on the way.
    async fn advance(&mut self, by: std::time::Duration) {
        let region = self.loaded.scenario.settings.region;
        let from_secs = self.now.load(Ordering::SeqCst);
        let to_secs = from_secs.saturating_add(i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2));
        let (Ok(from), Ok(to)) = (
            OffsetDateTime::from_unix_timestamp(from_secs),
            OffsetDateTime::from_unix_timestamp(to_secs),
        ) else {
            self.failures
                .push("advance-clock: time out of range".into());
            return;
        };
        let runs = schedule::runs_between(region, from.to_utc(), to.to_utc());
        let _ = writeln!(
            self.out,
            "{} scheduled sync(s) between {} and {}",
            runs.len(),
            fmt_time(from),
            fmt_time(to)
        );
        for at in runs {
            self.now.store(at.unix_timestamp(), Ordering::SeqCst);
            let zone = schedule::zone_name(region, at);
            let local = at.to_offset(schedule::utc_offset(region, at));
            let _ = writeln!(
                self.out,
                "-- scheduled sync at {} ({:02}:{:02} {zone})",
                fmt_time(at.into()),
                local.hour(),
                local.minute()
            );
            self.sync("scheduled", SyncMode::Full).await;
        }
        self.now.store(to_secs, Ordering::SeqCst);
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn faults(spec: &FaultSpec) -> Vec<Fault> {
    let mut out = Vec::new();
    if spec.down {
        out.push(Fault::Down);
    }
    if let Some(ms) = spec.latency_ms {
        out.push(Fault::Latency(std::time::Duration::from_millis(ms)));
    }
    if let Some(n) = spec.drop_after_entries {
        out.push(Fault::DropAfterEntries(n));
    }
    if let Some(n) = spec.drop_on_page {
        out.push(Fault::DropOnPage(n));
    }
    if spec.busy {
        out.push(Fault::Busy);
    }
    if spec.unavailable {
        out.push(Fault::Unavailable);
    }
    if spec.tls_failure {
        out.push(Fault::TlsHandshakeFailure);
    }
    let protocol = [
        spec.garbage_after_entries
            .map(ProtocolFault::GarbageAfterEntries),
        spec.truncate_after_entries
            .map(ProtocolFault::TruncateAfterEntries),
        spec.wrong_message_id
            .then_some(ProtocolFault::WrongMessageId),
        spec.huge_value.then_some(ProtocolFault::HugeValue),
        spec.endless_paging.then_some(ProtocolFault::EndlessPaging),
        spec.endless_range.then_some(ProtocolFault::EndlessRange),
        spec.self_referral.then_some(ProtocolFault::SelfReferral),
        spec.slow_drip.then_some(ProtocolFault::SlowDrip),
        spec.missing_entries
            .then_some(ProtocolFault::MissingEntries),
    ];
    out.extend(protocol.into_iter().flatten().map(Fault::Protocol));
    out
}

/// A step in one line for the transcript.
fn describe(step: &Step) -> String {
    match step {
        Step::Sync => "sync".into(),
        Step::DeltaSync => "delta sync".into(),
        Step::AddUser(u) => format!("add user CN={} under {}", u.cn, u.parent),
        Step::Modify(m) => format!("modify {}", m.dn),
        Step::Delete(dn) => format!("delete {dn}"),
        Step::Move { dn, to } => format!("move {dn} to {to}"),
        Step::Rename { dn, cn } => format!("rename {dn} to CN={cn}"),
        Step::AddMember { group, member } => format!("add {member} to {group}"),
        Step::RemoveMember { group, member } => format!("remove {member} from {group}"),
        Step::Disable(dn) => format!("disable {dn}"),
        Step::Enable(dn) => format!("enable {dn}"),
        Step::Lock(dn) => format!("lock {dn}"),
        Step::Unlock(dn) => format!("unlock {dn}"),
        Step::Fault(f) => {
            let names: Vec<String> = faults(f).iter().map(|x| format!("{x:?}")).collect();
            format!("fault {}: {}", f.host, names.join(", "))
        }
        Step::ClearFaults(h) => format!("clear faults of {h}"),
        Step::AdvanceClock(d) => format!("advance clock {d}"),
        Step::SignIn(s) => format!("sign in as {} (expect {})", s.address, s.expect),
        Step::Expect(_) => "expect".into(),
    }
}

fn dn(text: &str) -> Result<Dn, String> {
    Dn::parse(text).map_err(|e| e.to_string())
}

fn resolve(d: &Directory, text: &str) -> Result<fake_dc::directory::EntryId, String> {
    d.resolve(&dn(text)?).map_err(|e| e.to_string())
}

fn uac_flag(d: &mut Directory, target: &str, flag: u32, on: bool) -> Result<(), String> {
    let id = resolve(d, target)?;
    let uac = d.entry(id).get_int("userAccountControl").unwrap_or(512) as u32;
    let new = if on { uac | flag } else { uac & !flag };
    d.set(id, "userAccountControl", &[&new.to_string()])
        .map_err(|e| e.to_string())
}

/// Applies a directory-change step through fake-dc's library API (each change bumps
/// uSNChanged, as an LDAP write would).
fn apply_change(d: &mut Directory, step: &Step) -> Result<(), String> {
    match step {
        Step::AddUser(u) => {
            let parent = resolve(d, &u.parent)?;
            let sam = u.sam_account_name.clone().unwrap_or_else(|| {
                u.cn.chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .take(20)
                    .collect()
            });
            let dns = d
                .domain_of(parent)
                .map(|x| x.dns_name.clone())
                .unwrap_or_default();
            let flags = if u.disabled { 514 } else { 512 };
            let mut new = NewEntry::new(parent, Rdn::new("CN", &u.cn), ObjectKind::User)
                .with("sAMAccountName", &[&sam])
                .with("userPrincipalName", &[&format!("{sam}@{dns}")])
                .with("userAccountControl", &[&flags.to_string()]);
            if let Some(m) = &u.mail {
                new = new.with("mail", &[m]);
            }
            if !u.proxy_addresses.is_empty() {
                new = new.with(
                    "proxyAddresses",
                    &u.proxy_addresses
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                );
            }
            for (k, v) in &u.attributes {
                new = new.with(k, &v.iter().map(String::as_str).collect::<Vec<_>>());
            }
            if let Some(g) = &u.object_guid {
                new.guid = Some(
                    fake_dc::directory::Guid::parse(g)
                        .ok_or_else(|| format!("'{g}' is not a GUID"))?,
                );
            }
            new.password = Some("Passw0rd!".into());
            d.create(new).map(|_| ()).map_err(|e| e.to_string())
        }
        Step::Modify(m) => {
            let id = resolve(d, &m.dn)?;
            let mut mods = Vec::new();
            let mut push = |op: ModOp, map: &BTreeMap<String, Vec<String>>| {
                for (attr, values) in map {
                    mods.push(Modification {
                        op,
                        attr: attr.clone(),
                        values: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
                    });
                }
            };
            push(ModOp::Replace, &m.replace);
            push(ModOp::Add, &m.add);
            push(ModOp::Delete, &m.delete);
            d.modify(id, &mods, true).map_err(|e| e.to_string())
        }
        Step::Delete(target) => {
            let id = resolve(d, target)?;
            d.delete(id).map_err(|e| e.to_string())
        }
        Step::Move { dn: target, to } => {
            let id = resolve(d, target)?;
            let parent = resolve(d, to)?;
            let rdn = d.entry(id).rdn.clone();
            d.rename(id, rdn, Some(parent)).map_err(|e| e.to_string())
        }
        Step::Rename { dn: target, cn } => {
            let id = resolve(d, target)?;
            let attr = d.entry(id).rdn.attr().to_string();
            d.rename(id, Rdn::new(attr, cn), None)
                .map_err(|e| e.to_string())
        }
        Step::AddMember { group, member } => {
            let (g, m) = (resolve(d, group)?, resolve(d, member)?);
            d.add_member(g, m).map_err(|e| e.to_string())
        }
        Step::RemoveMember { group, member } => {
            let (g, m) = (resolve(d, group)?, resolve(d, member)?);
            d.remove_member(g, m).map_err(|e| e.to_string())
        }
        Step::Disable(t) => uac_flag(d, t, fake_dc::schema::uac::ACCOUNTDISABLE, true),
        Step::Enable(t) => uac_flag(d, t, fake_dc::schema::uac::ACCOUNTDISABLE, false),
        Step::Lock(t) => {
            let id = resolve(d, t)?;
            let at = fake_dc::directory::filetime_from_unix(d.now());
            d.set(id, "lockoutTime", &[&at.to_string()])
                .map_err(|e| e.to_string())
        }
        Step::Unlock(t) => {
            let id = resolve(d, t)?;
            d.set(id, "lockoutTime", &["0"]).map_err(|e| e.to_string())
        }
        other => Err(format!("{} is not a directory change", step_kind(other))),
    }
}
