//! Splitting a scenario suite across CI workers: `--partition K/N` picks shard K of N.
//!
//! Every worker must pick the same shards from the same inputs, without talking to the
//! others, so the split depends only on the scenario names (and, when balancing, on a
//! timings file every worker reads alike), never on the order files were found in or on
//! the clock. Without timings, scenarios sorted by name are dealt round-robin, like
//! cargo-nextest's `count:` partitions: shards differ by at most one scenario. With
//! timings, the longest scenario goes to the shard with the least work so far (ties by
//! name, then by shard number), which keeps the slowest shard close to the average even
//! when one scenario takes much longer than the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Which shard, from 1 to `count`.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

/// Why a `--partition` value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartitionError {
    /// Not of the form `K/N`.
    #[error("{0:?} is not K/N (for example 2/3)")]
    Form(String),
    /// K is 0 or larger than N.
    #[error("shard {index} of {count}: K must be between 1 and N")]
    Range {
        /// K.
        index: usize,
        /// N.
        count: usize,
    },
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let form = || PartitionError::Form(text.to_string());
        let (k, n) = text.trim().split_once('/').ok_or_else(form)?;
        let index: usize = k.trim().parse().map_err(|_| form())?;
        let count: usize = n.trim().parse().map_err(|_| form())?;
        if index == 0 || index > count {
            return Err(PartitionError::Range { index, count });
        }
        Ok(Partition { index, count })
    }
}

/// How long each scenario took when last recorded, by name.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timings(pub BTreeMap<String, f64>);

/// Why a timings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TimingsError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a JSON object of scenario names to seconds.
    #[error("{path}: not a JSON object of scenario names to seconds: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause, with its line and column.
        source: serde_json::Error,
    },
}

impl Timings {
    /// Reads a timings file; a missing file is no timings (the first run records them).
    pub fn read(path: &Path) -> Result<Self, TimingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|source| TimingsError::Json {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(TimingsError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Adds this run's durations (replacing older ones of the same scenarios) and writes
    /// the file, so a shard's run keeps what other shards recorded before.
    pub fn record(
        path: &Path,
        runs: impl IntoIterator<Item = (String, Duration)>,
    ) -> Result<(), TimingsError> {
        let mut timings = Self::read(path)?;
        for (name, elapsed) in runs {
            // Milliseconds are plenty for balancing and keep the file's diffs small.
            let seconds = (elapsed.as_secs_f64() * 1000.0).round() / 1000.0;
            timings.0.insert(name, seconds);
        }
        let text = serde_json::to_string_pretty(&timings).map_err(|source| TimingsError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, text + "\n").map_err(|source| TimingsError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A scenario's expected duration: its recorded one, else the median of those
    /// recorded (a new scenario is probably typical), else one second.
    fn expected(&self, name: &str, median: f64) -> f64 {
        self.0
            .get(name)
            .copied()
            .filter(|s| *s >= 0.0)
            .unwrap_or(median)
    }

    fn median(&self) -> f64 {
        let mut all: Vec<f64> = self.0.values().copied().filter(|s| *s >= 0.0).collect();
        if all.is_empty() {
            return 1.0;
        }
        all.sort_by(f64::total_cmp);
        all[all.len() / 2]
    }
}

/// The scenario's name as partitions see it: the file stem, as in tables and JUnit.
fn name_of(path: &Path) -> String {
    path.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// The files of shard `partition`, in name order. Every file lands in exactly one shard
/// of the same `count`, whatever the order of `files`.
pub fn select(files: &[PathBuf], partition: Partition, timings: Option<&Timings>) -> Vec<PathBuf> {
    let mut named: Vec<(String, &PathBuf)> = files.iter().map(|p| (name_of(p), p)).collect();
    // Same-named files in different folders are ordered by path, so the deal is still
    // the same on every worker.
    named.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let shard_of: Vec<usize> = match timings {
        None => (0..named.len()).map(|i| i % partition.count).collect(),
        Some(t) => balanced(&named, partition.count, t),
    };
    named
        .iter()
        .zip(shard_of)
        .filter(|(_, shard)| *shard + 1 == partition.index)
        .map(|((_, p), _)| (*p).clone())
        .collect()
}

/// Longest first into the least-loaded shard; returns each file's shard (0-based), in
/// the order of `named`.
fn balanced(named: &[(String, &PathBuf)], count: usize, timings: &Timings) -> Vec<usize> {
    let median = timings.median();
    let mut order: Vec<usize> = (0..named.len()).collect();
    order.sort_by(|&a, &b| {
        let (ta, tb) = (
            timings.expected(&named[a].0, median),
            timings.expected(&named[b].0, median),
        );
        tb.total_cmp(&ta).then_with(|| a.cmp(&b))
    });
    let mut load = vec![0.0_f64; count];
    let mut shard_of = vec![0; named.len()];
    for i in order {
        let lightest = (0..count)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then_with(|| a.cmp(&b)))
            .unwrap_or(0);
        load[lightest] += timings.expected(&named[i].0, median);
        shard_of[i] = lightest;
    }
    shard_of
}

#[cfg(test)]
mod tests;
