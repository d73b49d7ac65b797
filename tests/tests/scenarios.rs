//! One test per scenario file in `scenarios/`: run it through the reference engine
//! against a private fake-dc, fail on a broken expectation or invariant, and compare the
//! transcript with its reviewed insta snapshot (`cargo insta review` to accept changes).
//! A new scenario needs no Rust code.

use std::path::{Path, PathBuf};

use harness::scenario::{snapfile, LoadedScenario};
use harness::ReferenceEngine;
use libtest_mimic::{Arguments, Failed, Trial};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn run(path: &Path) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let loaded = LoadedScenario::load(path).map_err(|e| e.to_string())?;
    let output = runtime
        .block_on(harness::scenario::run(&loaded, &ReferenceEngine::default()))
        .map_err(|e| e.to_string())?;
    if !output.failures.is_empty() {
        return Err(format!(
            "{}:\n{}\n\ntranscript:\n{}",
            path.display(),
            output.failures.join("\n"),
            output.transcript
        )
        .into());
    }
    let transcript = snapfile::normalize(&output.transcript);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(scenarios_dir().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(path);
    settings.set_omit_expression(true);
    let name = loaded.name.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, transcript));
    }));
    outcome.map_err(|_| {
        Failed::from(format!(
            "{}: transcript differs from its snapshot (diff above; `cargo insta review` to accept)",
            path.display()
        ))
    })
}

/// Scenarios run this many at a time unless `--test-threads` says otherwise. Several
/// spend most of their time waiting, not computing: three protocol faults end only when
/// the client's 20 s per-operation timeout passes, throttling scenarios sleep through
/// Retry-After. At one scenario per core those waits ran one after another.
const DEFAULT_THREADS: usize = 8;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads.get_or_insert(DEFAULT_THREADS);
    let files = harness::suite::discover(&[scenarios_dir()], None).unwrap_or_default();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            Trial::test(name, move || run(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
