//! The Python engine (engines/python/engine.py) through the subprocess adapter.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::engine::SyncEngine;
use harness::subprocess::SubprocessEngine;
use harness::suite::{self, SnapshotMode, Verdict};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn python_engine(extra: &[&str]) -> SubprocessEngine {
    let mut command = vec![
        "python3".to_string(),
        root().join("engines/python/engine.py").display().to_string(),
    ];
    command.extend(extra.iter().map(|s| s.to_string()));
    let mut engine = SubprocessEngine::new("python", command, Duration::from_secs(60)).unwrap();
    engine.hello().await.unwrap();
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_run_all() {
    let engine = python_engine(&[]).await;
    let filter = std::env::var("SCEN").ok();
    let files = suite::discover(&[root().join("scenarios")], filter.as_deref()).unwrap();
    for f in files {
        let r = suite::run_one(&f, &engine, SnapshotMode::Ignore).await;
        if !matches!(r.verdict, Verdict::Skipped) {
            eprintln!("{} {} {:?} {}", r.name, r.verdict.word(), r.elapsed, suite::detail(&r.verdict));
        }
    }
    let _ = engine.name();
}
