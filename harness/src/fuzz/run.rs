//! The fuzz run: cases handed out to `jobs` worker threads (each with its own runtime,
//! so engine processes run in parallel), every case seeded from the run's seed and its
//! number (so `--seed` replays whatever `--jobs`), and the first failure of each property
//! shrunk and written as a scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::case::Case;
use super::play::{judge, Found};
use super::property::Property;
use super::strategy::{case as case_strategy, Sizes};
use super::write;
use super::FuzzError;
use engine_contract::engine::SyncEngine;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The run's seed.
    pub seed: u64,
    /// Stop after this many cases.
    pub cases: Option<usize>,
    /// Stop starting cases after this long.
    pub time: Option<Duration>,
    /// Worker threads.
    pub jobs: usize,
    /// The properties to check (those the engine claims among them).
    pub properties: BTreeSet<Property>,
    /// Case sizes.
    pub sizes: Sizes,
    /// Where shrunk scenarios go.
    pub out: PathBuf,
    /// Shrinking steps per failure, at most.
    pub shrink_steps: usize,
}

/// One property's failure, shrunk.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The property.
    pub property: Property,
    /// The case number that first showed it.
    pub case: usize,
    /// What the shrunk case showed.
    pub message: String,
    /// The scenario written.
    pub file: Option<PathBuf>,
    /// Why it could not be written, if so.
    pub write_error: Option<String>,
}

/// The run's results.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Cases played.
    pub cases: usize,
    /// Per property: cases checked, cases that broke it.
    pub table: BTreeMap<Property, (usize, usize)>,
    /// One shrunk failure per broken property.
    pub failures: Vec<Failure>,
    /// Cases that could not be played.
    pub errors: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// The rng of case `n` of a run seeded `seed`.
fn rng(seed: u64, n: usize) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&(n as u64).to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Runs the fuzzer; `tick` is called after every case with the cases done and failures.
pub fn fuzz(
    engine: Arc<dyn SyncEngine>,
    options: &Options,
    tick: &(dyn Fn(usize, usize) + Sync),
) -> Result<Summary, FuzzError> {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let summary = Mutex::new(Summary::default());
    let shrinking = Mutex::new(BTreeSet::new());
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for _ in 0..options.jobs.max(1) {
            workers.push(scope.spawn(|| -> Result<(), FuzzError> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(FuzzError::Runtime)?;
                loop {
                    if options.time.is_some_and(|t| started.elapsed() >= t) {
                        return Ok(());
                    }
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if options.cases.is_some_and(|c| n >= c) {
                        return Ok(());
                    }
                    one(&runtime, engine.as_ref(), options, n, &summary, &shrinking)?;
                    let (done, failed) = summary
                        .lock()
                        .map(|s| (s.cases, s.failures.len()))
                        .unwrap_or_default();
                    tick(done, failed);
                }
            }));
        }
        for w in workers {
            match w.join() {
                Ok(result) => result?,
                Err(_) => return Err(FuzzError::Worker),
            }
        }
        Ok(())
    })?;
    let mut summary = summary.into_inner().map_err(|_| FuzzError::Worker)?;
    summary.elapsed = started.elapsed();
    summary.failures.sort_by_key(|f| f.property);
    Ok(summary)
}

/// Case `n`: generate, judge, and shrink each property it is the first to break.
fn one(
    runtime: &tokio::runtime::Runtime,
    engine: &dyn SyncEngine,
    options: &Options,
    n: usize,
    summary: &Mutex<Summary>,
    shrinking: &Mutex<BTreeSet<Property>>,
) -> Result<(), FuzzError> {
    let mut runner = TestRunner::new_with_rng(Config::default(), rng(options.seed, n));
    let strategy = case_strategy(options.sizes);
    let mut tree = strategy
        .new_tree(&mut runner)
        .map_err(|e| FuzzError::Generate(e.to_string()))?;
    let case = tree.current();
    let (judged, found) = runtime.block_on(judge(&case, engine, &options.properties));
    let broken: BTreeSet<Property> = judged.violations.iter().map(|v| v.property).collect();
    if let Ok(mut s) = summary.lock() {
        s.cases += 1;
        for p in &options.properties {
            let row = s.table.entry(*p).or_default();
            row.0 += 1;
            row.1 += usize::from(broken.contains(p));
        }
        if let Some(e) = judged.error {
            s.errors.push(format!("case {n}: {e}"));
        }
    }
    for f in found {
        let property = f.violation.property;
        // Only the first case to break a property is shrunk: the others would mostly
        // shrink to the same scenario, at the cost of many runs each.
        let first = shrinking.lock().is_ok_and(|mut s| s.insert(property));
        if !first {
            continue;
        }
        let shrunk = shrink(runtime, engine, options, &mut tree, f, property);
        let failure = written(options, n, property, &shrunk);
        if let Ok(mut s) = summary.lock() {
            s.failures.push(failure);
        }
    }
    Ok(())
}

/// proptest's shrinking loop over the case's value tree: simplify while the property
/// still breaks, step back (complicate) when it no longer does.
fn shrink(
    runtime: &tokio::runtime::Runtime,
    engine: &dyn SyncEngine,
    options: &Options,
    tree: &mut impl ValueTree<Value = Case>,
    mut last: Found,
    property: Property,
) -> Found {
    let only = BTreeSet::from([property]);
    let mut steps = 0;
    if !tree.simplify() {
        return last;
    }
    loop {
        steps += 1;
        if steps > options.shrink_steps {
            return last;
        }
        let candidate = tree.current();
        let (_, found) = runtime.block_on(judge(&candidate, engine, &only));
        let still = found.into_iter().find(|f| f.violation.property == property);
        let more = match still {
            Some(f) => {
                last = f;
                tree.simplify()
            }
            None => tree.complicate(),
        };
        if !more {
            return last;
        }
    }
}

fn written(options: &Options, n: usize, property: Property, found: &Found) -> Failure {
    let name = format!(
        "fuzz-{}-seed-{}-case-{n}.yaml",
        property.name(),
        options.seed
    );
    let path = options.out.join(name);
    let result = write_scenario(&path, options.seed, n, found);
    Failure {
        property,
        case: n,
        message: found.violation.message.clone(),
        file: result.is_ok().then(|| path.clone()),
        write_error: result.err(),
    }
}

/// Writes the shrunk case as a scenario ending with the `expect` that pins the failure.
fn write_scenario(path: &Path, seed: u64, n: usize, found: &Found) -> Result<(), String> {
    let plan = found.case.plan();
    let v = &found.violation;
    let description = format!(
        "Found by `harness fuzz --seed {seed}` (case {n}), shrunk: property {} failed at \
         step {}: {}",
        v.property.name(),
        v.step + 1,
        v.message
    );
    let expects: Vec<_> = v.expect.iter().map(|e| (v.step, e.clone())).collect();
    let doc = write::scenario(
        &found.case,
        &plan,
        &description,
        Some(v.property.name()),
        &expects,
        Some(v.step),
    );
    let text = serde_yaml::to_string(&doc).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
