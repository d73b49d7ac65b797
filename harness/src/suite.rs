//! Running many scenarios: discovery, comparison with reviewed snapshots, verdicts, and
//! JUnit XML for CI systems. `harness run` and the workspace tests both stand on this.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::scenario::{runner, snapfile, LoadedScenario};
use engine_contract::engine::SyncEngine;

/// How one scenario ended.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Expectations held and the transcript equals the snapshot.
    Passed,
    /// Expectations or the idempotence invariant failed.
    Failed(Vec<String>),
    /// The transcript differs from the reviewed snapshot (the diff).
    Changed(String),
    /// There is no snapshot yet (the transcript is written as `.snap.new` or, with
    /// `accept`, as the snapshot).
    New,
    /// The scenario could not run.
    Error(String),
    /// The engine does not claim this scenario (see [`SyncEngine::claims`]): neither
    /// passed nor failed.
    Skipped,
}

impl Verdict {
    /// A short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed(_) => "FAILED",
            Verdict::Changed(_) => "CHANGED",
            Verdict::New => "NEW",
            Verdict::Error(_) => "ERROR",
            Verdict::Skipped => "not claimed",
        }
    }

    /// Does this verdict fail the run?
    pub fn is_failure(&self) -> bool {
        !matches!(self, Verdict::Passed | Verdict::Skipped)
    }
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario's name (file stem).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The verdict.
    pub verdict: Verdict,
    /// How long it took.
    pub elapsed: Duration,
}

/// What to do about snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Compare; write `.snap.new` next to a missing or changed snapshot for review.
    #[default]
    Compare,
    /// Write the transcript as the snapshot (after review, or for a new scenario).
    Accept,
    /// Compare only the expectations, not the transcript: for engines other than the
    /// reference one, whose transcripts legitimately differ.
    Ignore,
}

/// The scenario files under `paths` (folders are searched for `*.yaml`, not recursing
/// into `snapshots/`), sorted, optionally filtered by a substring of the name.
pub fn discover(paths: &[PathBuf], filter: Option<&str>) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            for entry in std::fs::read_dir(p)? {
                let path = entry?.path();
                if path.is_dir() {
                    if path.file_name().is_some_and(|n| n != "snapshots") {
                        out.extend(discover(&[path], None)?);
                    }
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    out.push(path);
                }
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or folder", p.display()),
            ));
        }
    }
    out.sort();
    out.dedup();
    if let Some(f) = filter {
        out.retain(|p| {
            p.file_stem()
                .is_some_and(|s| s.to_string_lossy().contains(f))
        });
    }
    Ok(out)
}

/// Runs one scenario file and judges it.
pub async fn run_one(path: &Path, engine: &dyn SyncEngine, mode: SnapshotMode) -> ScenarioResult {
    let started = Instant::now();
    let name = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let verdict = judge(path, engine, mode).await;
    ScenarioResult {
        name,
        path: path.to_path_buf(),
        verdict,
        elapsed: started.elapsed(),
    }
}

async fn judge(path: &Path, engine: &dyn SyncEngine, mode: SnapshotMode) -> Verdict {
    let loaded = match LoadedScenario::load(path) {
        Ok(l) => l,
        Err(e) => return Verdict::Error(e.to_string()),
    };
    if !loaded.scenario.claimed_by(&loaded.name, engine) {
        return Verdict::Skipped;
    }
    let output = match runner::run(&loaded, engine).await {
        Ok(o) => o,
        Err(e) => return Verdict::Error(e.to_string()),
    };
    if !output.failures.is_empty() {
        return Verdict::Failed(output.failures);
    }
    let snap = snapfile::path_for(path);
    let transcript = snapfile::normalize(&output.transcript);
    match mode {
        SnapshotMode::Ignore => Verdict::Passed,
        SnapshotMode::Accept => match snapfile::write(&snap, path, &transcript) {
            Ok(()) => Verdict::Passed,
            Err(e) => Verdict::Error(format!("cannot write {}: {e}", snap.display())),
        },
        SnapshotMode::Compare => match snapfile::read(&snap) {
            Ok(Some(old)) if old == transcript => Verdict::Passed,
            Ok(found) => {
                let new_path = snap.with_extension("snap.new");
                let _ = snapfile::write(&new_path, path, &transcript);
                match found {
                    Some(old) => Verdict::Changed(snapfile::diff(&old, &transcript)),
                    None => Verdict::New,
                }
            }
            Err(e) => Verdict::Error(format!("cannot read {}: {e}", snap.display())),
        },
    }
}

/// The results as JUnit XML (one test case per scenario).
pub fn junit(
    results: &[ScenarioResult],
    engine: &str,
) -> Result<String, quick_junit::SerializeError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("scenarios ({engine})"));
    for r in results {
        let status = match &r.verdict {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::Skipped => TestCaseStatus::skipped(),
            other => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(other.word());
                s.set_description(detail(other));
                s
            }
        };
        let mut case = TestCase::new(r.name.clone(), status);
        case.set_time(r.elapsed);
        case.set_classname(r.path.display().to_string());
        suite.add_test_case(case);
    }
    let mut report = Report::new("harness run");
    report.add_test_suite(suite);
    report.to_string()
}

/// What a person needs to see about a verdict.
pub fn detail(v: &Verdict) -> String {
    match v {
        Verdict::Failed(fs) => fs.join("\n"),
        Verdict::Changed(diff) => diff.clone(),
        Verdict::New => "no reviewed snapshot yet; the transcript was written as .snap.new (review it, then run with --accept)".into(),
        Verdict::Error(e) => e.clone(),
        Verdict::Passed | Verdict::Skipped => String::new(),
    }
}
