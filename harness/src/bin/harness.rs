//! The `harness` command: run scenario suites against fake-dc and an engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use harness::engine::SyncEngine;
use harness::suite::{self, SnapshotMode, Verdict};

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
        /// Scenarios run at once.
        #[arg(long, default_value_t = 4)]
        jobs: usize,
    },
    /// Run one scenario and print its transcript.
    Show {
        /// The scenario file.
        scenario: PathBuf,
    },
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
            return ExitCode::FAILURE;
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
            } => run(paths, filter, junit, accept, jobs).await,
            Command::Show { scenario } => show(scenario).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn engine() -> Arc<dyn SyncEngine> {
    Arc::new(harness::reference::ReferenceEngine::default())
}

async fn run(
    paths: Vec<PathBuf>,
    filter: Option<String>,
    junit: Option<PathBuf>,
    accept: bool,
    jobs: usize,
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
    let engine = engine();
    let mode = if accept {
        SnapshotMode::Accept
    } else {
        SnapshotMode::Compare
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
    println!("{:<width$}  {:<8}  {:>8}", "scenario", "result", "time");
    for r in &results {
        println!(
            "{:<width$}  {:<8}  {:>7.2}s",
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
    println!("{passed} passed, {failed} failed, {changed} changed snapshot, {skipped} skipped");
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

async fn show(path: PathBuf) -> anyhow::Result<ExitCode> {
    let loaded = harness::scenario::LoadedScenario::load(&path)?;
    let engine = engine();
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
