//! The mutation loop of the in-`cargo test` targets: replay a corpus, then mutate it for
//! `FUZZ_SECS` seconds, keeping inputs that reach a new outcome as further parents.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::mutate;

/// Parents kept per run, so memory stays bounded however long it runs.
const MAX_POOL: usize = 2_000;

pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-corpus")
        .join(target)
}

fn load_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no seeds", dir.display());
    files
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs one input; on failure saves it and fails the test with where to find it.
fn run_one(target: &str, what: &str, input: &[u8], check: &dyn Fn(&[u8]) -> String) -> String {
    match catch_unwind(AssertUnwindSafe(|| check(input))) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/fuzz-failures")
                .join(target);
            std::fs::create_dir_all(&dir).expect("failure dir");
            let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
            });
            let path = dir.join(format!("crash-{hash:016x}"));
            std::fs::write(&path, input).expect("save failing input");
            panic!(
                "fuzz target {target} failed on {what}: {message}\ninput saved to {}\ninput: {:?}",
                path.display(),
                String::from_utf8_lossy(&input[..input.len().min(512)])
            );
        }
    }
}

pub type Mutator = fn(&mut mutate::Rng, &[u8], &[Vec<u8>]) -> Vec<u8>;

/// Runs one target; its corpus is `<crate>/fuzz-corpus/<target>/`.
pub fn fuzz(target: &str, max_len: usize, mutator: Mutator, check: &dyn Fn(&[u8]) -> String) {
    let corpus = load_corpus(target);
    let mut seen = HashSet::new();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    for (name, input) in &corpus {
        seen.insert(run_one(target, name, input, check));
        pool.push(input.clone());
    }
    let secs = env_u64("FUZZ_SECS").unwrap_or(10);
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = mutate::Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let parent = &pool[rng.below(pool.len())];
        let mut input = mutator(&mut rng, parent, &pool);
        input.truncate(max_len);
        let what = format!("a mutated input (FUZZ_SEED={seed}, run {runs})");
        let outcome = run_one(target, &what, &input, check);
        if seen.insert(outcome) && pool.len() < MAX_POOL {
            pool.push(input);
        }
        runs += 1;
    }
    eprintln!(
        "fuzz {target}: {} corpus inputs, {runs} mutated in {secs} s, {} outcomes, seed {seed}",
        corpus.len(),
        seen.len()
    );
    assert!(secs == 0 || runs > 0, "no mutated input ran");
}
