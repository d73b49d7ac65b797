//! `harness fuzz`: arguments, the progress bar and the exit code; the work is
//! `harness::fuzz`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use engine_contract::engine::SyncEngine;
use harness::fuzz::{self, Options, Property, Sizes};

use super::{at_least_one, EngineArgs};

/// The arguments of `harness fuzz`.
#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Cases to run (default 100, or unlimited with --time).
    #[arg(long)]
    cases: Option<usize>,
    /// Stop starting cases after this long (e.g. 5m).
    #[arg(long, value_parser = humantime::parse_duration)]
    time: Option<Duration>,
    /// The run's seed (printed at the start); the same seed replays the same cases.
    #[arg(long)]
    seed: Option<u64>,
    /// Cases (engine processes) run at once (at least 1).
    #[arg(long, default_value_t = 2, value_parser = at_least_one)]
    jobs: usize,
    /// Only these properties (repeatable; default: every property the engine claims).
    #[arg(long = "property", value_name = "NAME")]
    properties: Vec<String>,
    /// Directory users per case, at most.
    #[arg(long, default_value_t = Sizes::default().users)]
    max_users: usize,
    /// Groups per case, at most.
    #[arg(long, default_value_t = Sizes::default().groups)]
    max_groups: usize,
    /// Generated steps per case, at most.
    #[arg(long, default_value_t = Sizes::default().steps)]
    max_steps: usize,
    /// Generated users added to every case, all in one group: over 1,000 they cross the
    /// DC's page limit, over 1,500 its member range (slower: every sync reads them).
    #[arg(long, default_value_t = 0)]
    bulk: u32,
    /// Runs spent shrinking each failure, at most.
    #[arg(long, default_value_t = 200)]
    shrink_steps: usize,
    /// Write JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Where shrunk scenarios are written.
    #[arg(long, default_value = "fuzz-failures")]
    out: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Runs the fuzzer; exit 0 when no property failed, 1 when one did.
pub async fn fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    let mut wanted = BTreeSet::new();
    for name in &args.properties {
        let p = Property::from_name(name).with_context(|| {
            let all: Vec<_> = Property::ALL.iter().map(|p| p.name()).collect();
            format!(
                "--property {name:?}: no such property (one of {})",
                all.join(", ")
            )
        })?;
        wanted.insert(p);
    }
    if wanted.is_empty() {
        wanted.extend(Property::ALL);
    }
    let engine: Arc<dyn SyncEngine> = match &args.engine.engine {
        Some(command) => super::foreign_engine(command, &args.engine, &[]).await?,
        None => super::engine(),
    };
    let (claimed, skipped): (BTreeSet<Property>, BTreeSet<Property>) =
        wanted.iter().partition(|p| engine.claims(&p.claim()));
    if claimed.is_empty() {
        anyhow::bail!(
            "engine {} claims none of the properties asked for; its `hello` must list them \
             as property:<name> (docs/engine-contract.md, \"Fuzz your engine\")",
            engine.name()
        );
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    println!("seed: {seed} (replay with --seed {seed})");
    let options = Options {
        seed,
        cases: args
            .cases
            .or(if args.time.is_some() { None } else { Some(100) }),
        time: args.time,
        jobs: args.jobs,
        properties: claimed,
        sizes: Sizes {
            users: args.max_users,
            groups: args.max_groups,
            steps: args.max_steps,
            bulk: args.bulk,
        },
        out: args.out.clone(),
        shrink_steps: args.shrink_steps,
    };
    let bar = match options.cases {
        Some(n) => indicatif::ProgressBar::new(n as u64),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos} cases {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let tick_bar = bar.clone();
    let name = engine.name().to_string();
    let summary = tokio::task::spawn_blocking(move || {
        fuzz::fuzz(engine, &options, &|done, failed| {
            tick_bar.set_position(done as u64);
            tick_bar.set_message(format!("{failed} failing properties"));
        })
    })
    .await
    .context("the fuzz run stopped unexpectedly")??;
    bar.finish_and_clear();
    let skipped: Vec<String> = skipped.iter().map(|p| p.name().to_string()).collect();
    print!("{}", fuzz::report::table(&summary, &skipped));
    let rate = summary.cases as f64 / summary.elapsed.as_secs_f64().max(1e-9);
    println!(
        "\nengine: {name}; {} cases in {:.1}s ({rate:.2} cases/s); seed {seed}",
        summary.cases,
        summary.elapsed.as_secs_f64()
    );
    if let Some(path) = &args.junit {
        let xml = fuzz::report::junit(&summary, &name).context("rendering JUnit XML")?;
        std::fs::write(path, xml).with_context(|| format!("writing {}", path.display()))?;
    }
    if !summary.errors.is_empty() {
        anyhow::bail!("{} cases could not be played", summary.errors.len());
    }
    Ok(if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
