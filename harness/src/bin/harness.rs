//! The `harness` command: run scenario suites against fake-dc and an engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use engine_contract::engine::SyncEngine;
use harness::subprocess::SubprocessEngine;
use harness::suite::{self, SnapshotMode, Verdict};

#[path = "harness/fuzz.rs"]
mod fuzz;

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Run directory-sync scenarios against a fake Active Directory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files or folders; exit 0 only when every scenario passes.
    Run {
        /// Scenario files or folders (default: scenarios/).
        paths: Vec<PathBuf>,
        /// Only scenarios whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Write JUnit XML here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Write each transcript as the reviewed snapshot.
        #[arg(long)]
        accept: bool,
        /// Scenarios run at once (at least 1).
        #[arg(long, default_value_t = 4, value_parser = at_least_one)]
        jobs: usize,
        #[command(flatten)]
        shard: ShardArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run one scenario and print its transcript (the reference engine's, or the
    /// transcript of another engine's answers with --engine).
    Show {
        /// The scenario file.
        scenario: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Preview a sync: what a sync of FIXTURE with the customer's settings would change
    /// (the change list, conflicts, what max unlink would do), as a dry run through the
    /// engine contract; nothing is applied. Exit 0 when the engine answered.
    Preview {
        /// The directory (an anonymized capture, an import, a generated fixture).
        #[arg(long)]
        fixture: PathBuf,
        /// YAML with the customer's `connector` and `settings` (and optionally
        /// `account`, `method`, `trust-ca`, `dcs`, `start`), spelled as in a scenario.
        #[arg(long)]
        settings: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Fuzz an engine: generated directories, accounts and steps, judged by the
    /// properties it claims; failures shrunk into scenario files. Exit 0 when no property
    /// fails, 1 when one does, 2 when the run could not start.
    Fuzz(fuzz::FuzzArgs),
}

/// Which scenarios of the suite this worker runs, when a CI pipeline splits it
/// (docs/ci.md).
#[derive(clap::Args)]
struct ShardArgs {
    /// Run only shard K of N, e.g. 2/3: the shards 1/N … N/N together run every scenario
    /// exactly once (dealt by name, or balanced with --balance-by).
    #[arg(long, value_name = "K/N")]
    partition: Option<harness::partition::Partition>,
    /// Balance the shards by the durations recorded in this file (JSON: scenario name to
    /// seconds, as --record-timings writes it); every worker must read the same file.
    #[arg(long, value_name = "FILE", requires = "partition")]
    balance_by: Option<PathBuf>,
    /// After the run, add each scenario's duration to this file (created when missing).
    #[arg(long, value_name = "FILE")]
    record_timings: Option<PathBuf>,
    /// Print the names of the scenarios this run would run, one per line, and exit.
    #[arg(long)]
    list: bool,
}

/// Which engine runs the scenarios: the reference stack, or a program speaking the
/// engine contract (docs/engine-contract.md).
#[derive(clap::Args)]
struct EngineArgs {
    /// Run the scenarios against this program instead of the reference engine, e.g.
    /// 'python3 engines/python/engine.py' (split like a shell command line). Transcripts
    /// are then not compared with the reference snapshots; expectations and the
    /// idempotence invariant are, for the scenarios the engine claims.
    #[arg(long, value_name = "COMMAND")]
    engine: Option<String>,
    /// The engine's name in tables and messages (default: the name it gives in `hello`).
    #[arg(long, value_name = "NAME", requires = "engine")]
    engine_name: Option<String>,
    /// The longest one request to the engine may take before it is killed and the step
    /// fails (e.g. 30s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = humantime::parse_duration)]
    step_timeout: std::time::Duration,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run {
                paths,
                filter,
                junit,
                accept,
                jobs,
                shard,
                engine,
            } => run(paths, filter, junit, accept, jobs, shard, engine).await,
            Command::Show { scenario, engine } => show(scenario, engine).await,
            Command::Preview {
                fixture,
                settings,
                engine,
            } => preview(fixture, settings, engine).await,
            Command::Fuzz(args) => fuzz::fuzz(args).await,
        }
    });
    // 1: scenarios ran and some failed; 2: the run could not happen at all.
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn engine() -> Arc<dyn SyncEngine> {
    Arc::new(harness::ReferenceEngine::default())
}

/// Starts talking to a foreign engine: splits its command, asks `hello` for its name and
/// claims, and warns about claims that name no scenario (a typo claims nothing).
async fn foreign_engine(
    command: &str,
    args: &EngineArgs,
    paths: &[PathBuf],
) -> anyhow::Result<Arc<dyn SyncEngine>> {
    let words = SubprocessEngine::split_command(command).with_context(|| {
        format!("--engine {command:?}: not a command line (empty, or a quote is not closed)")
    })?;
    let mut engine = SubprocessEngine::new(
        args.engine_name.clone().unwrap_or_default(),
        words,
        args.step_timeout,
    )?;
    if args.engine_name.is_none() {
        let fallback = engine.program_name();
        engine.set_name(fallback);
    }
    let hello = engine.hello().await.context(
        "the engine must answer `hello` with its name and claims before any scenario runs",
    )?;
    if args.engine_name.is_none() && !hello.name.trim().is_empty() {
        engine.set_name(hello.name.trim());
    }
    let known: std::collections::BTreeSet<String> = suite::discover(paths, None)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    // Claims naming properties are for `harness fuzz`; `fuzz` gives no paths.
    let named = |c: &String| known.contains(c) || c.starts_with(harness::fuzz::CLAIM_PREFIX);
    for claim in hello
        .claims
        .iter()
        .filter(|c| !paths.is_empty() && !named(c))
    {
        eprintln!(
            "warning: engine {} claims {claim:?}, which names no scenario here",
            engine.name()
        );
    }
    Ok(Arc::new(engine))
}

#[allow(clippy::too_many_arguments)] // one per flag of `harness run`
async fn run(
    paths: Vec<PathBuf>,
    filter: Option<String>,
    junit: Option<PathBuf>,
    accept: bool,
    jobs: usize,
    shard: ShardArgs,
    engine_args: EngineArgs,
) -> anyhow::Result<ExitCode> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths
    };
    let files = suite::discover(&paths, filter.as_deref()).context("finding scenarios")?;
    if files.is_empty() {
        anyhow::bail!(
            "no scenario files found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let files = match shard.partition {
        None => files,
        Some(partition) => {
            let timings = match &shard.balance_by {
                Some(path) => Some(harness::partition::Timings::read(path)?),
                None => None,
            };
            harness::partition::select(&files, partition, timings.as_ref())
        }
    };
    if shard.list {
        for file in &files {
            println!("{}", file.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    // A shard may be empty (more shards than scenarios); that is a pass, not an error.
    let (engine, mode) = match &engine_args.engine {
        // The snapshots are the reference engine's transcripts: another engine's words
        // legitimately differ, so only its expectations and invariants are judged.
        Some(_) if accept => anyhow::bail!(
            "--accept writes the reference engine's snapshots; it cannot be combined with --engine"
        ),
        Some(command) => (
            foreign_engine(command, &engine_args, &paths).await?,
            SnapshotMode::Ignore,
        ),
        None if accept => (engine(), SnapshotMode::Accept),
        None => (engine(), SnapshotMode::Compare),
    };
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut tasks = Vec::new();
    for file in files {
        let engine = engine.clone();
        let permits = permits.clone();
        let bar = bar.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = suite::run_one(&file, engine.as_ref(), mode).await;
            bar.inc(1);
            bar.set_message(result.name.clone());
            result
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.context("a scenario task panicked")?);
    }
    bar.finish_and_clear();
    results.sort_by(|a, b| a.name.cmp(&b.name));

    let width = results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!("{:<width$}  {:<11}  {:>8}", "scenario", "result", "time");
    for r in &results {
        println!(
            "{:<width$}  {:<11}  {:>7.2}s",
            r.name,
            r.verdict.word(),
            r.elapsed.as_secs_f64()
        );
    }
    let count = |f: fn(&Verdict) -> bool| results.iter().filter(|r| f(&r.verdict)).count();
    let passed = count(|v| matches!(v, Verdict::Passed));
    let failed = count(|v| matches!(v, Verdict::Failed(_) | Verdict::Error(_)));
    let changed = count(|v| matches!(v, Verdict::Changed(_) | Verdict::New));
    let skipped = count(|v| matches!(v, Verdict::Skipped));
    for r in results.iter().filter(|r| r.verdict.is_failure()) {
        println!(
            "\n--- {} ({}): {}",
            r.name,
            r.path.display(),
            r.verdict.word()
        );
        println!("{}", suite::detail(&r.verdict));
    }
    println!("\nengine: {}", engine.name());
    println!("{passed} passed, {failed} failed, {changed} changed snapshot, {skipped} not claimed");
    if let Some(path) = &shard.record_timings {
        harness::partition::Timings::record(
            path,
            results.iter().map(|r| (r.name.clone(), r.elapsed)),
        )?;
    }
    if let Some(path) = junit {
        let xml = suite::junit(&results, engine.name()).context("rendering JUnit XML")?;
        std::fs::write(&path, xml).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if results.iter().any(|r| r.verdict.is_failure()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn show(path: PathBuf, engine_args: EngineArgs) -> anyhow::Result<ExitCode> {
    let loaded = harness::scenario::LoadedScenario::load(&path)?;
    let engine = match &engine_args.engine {
        Some(command) => foreign_engine(command, &engine_args, std::slice::from_ref(&path)).await?,
        None => engine(),
    };
    let output = harness::scenario::run(&loaded, engine.as_ref()).await?;
    println!("{}", output.transcript);
    for f in &output.failures {
        eprintln!("FAILED: {f}");
    }
    Ok(if output.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn preview(
    fixture: PathBuf,
    settings: PathBuf,
    engine_args: EngineArgs,
) -> anyhow::Result<ExitCode> {
    let loaded = harness::preview::scenario(&fixture, &settings)?;
    let engine = match &engine_args.engine {
        Some(command) => foreign_engine(command, &engine_args, &[]).await?,
        None => engine(),
    };
    let output = harness::scenario::run(&loaded, engine.as_ref()).await?;
    println!("{}", output.transcript);
    if output.failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for f in &output.failures {
        eprintln!("error: {f}");
    }
    // The engine could not answer: the preview did not happen.
    Ok(ExitCode::from(2))
}

/// `--jobs 0` would run nothing; say so instead of quietly running one at a time.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
