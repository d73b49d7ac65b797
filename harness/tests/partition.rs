//! `harness run --partition K/N` across CI workers: the shards of the real suite together
//! list every scenario exactly once, and shards that really run (a quick slice of the
//! suite, with JUnit per shard as CI keeps it) run each scenario exactly once between
//! them.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn harness(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_harness"))
        .current_dir(repo())
        .args(args)
        .output()
        .unwrap()
}

fn stdout_lines(out: &std::process::Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// How many times each name occurs across the shards.
fn tally(shards: &[Vec<String>]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for name in shards.iter().flatten() {
        *seen.entry(name.clone()).or_insert(0) += 1;
    }
    seen
}

#[test]
fn the_shards_of_the_suite_list_every_scenario_exactly_once() {
    let all = stdout_lines(&harness(&["run", "--list", "scenarios"]));
    assert!(all.len() > 50, "{all:?}");
    for count in [1, 2, 3, 7] {
        let shards: Vec<Vec<String>> = (1..=count)
            .map(|k| {
                let part = format!("{k}/{count}");
                stdout_lines(&harness(&[
                    "run",
                    "--list",
                    "--partition",
                    &part,
                    "scenarios",
                ]))
            })
            .collect();
        let seen = tally(&shards);
        assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), {
            let mut a = all.clone();
            a.sort();
            a
        });
        assert!(seen.values().all(|n| *n == 1), "{count} shards: {seen:?}");
        // Round-robin: shards differ by at most one scenario.
        let sizes: Vec<usize> = shards.iter().map(Vec::len).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max - min <= 1, "{count} shards: sizes {sizes:?}");
    }
}

#[test]
fn three_shards_run_each_scenario_exactly_once_and_record_their_timings() {
    let dir = std::env::temp_dir().join(format!("harness-partition-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let timings = dir.join("timings.json");
    let expected = stdout_lines(&harness(&[
        "run",
        "--list",
        "--filter",
        "bind-",
        "scenarios",
    ]));
    assert!(expected.len() >= 4, "{expected:?}");
    let mut ran = Vec::new();
    for k in 1..=3 {
        let junit = dir.join(format!("shard-{k}.xml"));
        let out = harness(&[
            "run",
            "--filter",
            "bind-",
            "--partition",
            &format!("{k}/3"),
            "--junit",
            junit.to_str().unwrap(),
            "--record-timings",
            timings.to_str().unwrap(),
            "scenarios",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let xml = std::fs::read_to_string(&junit).unwrap();
        let names: Vec<String> = xml
            .split("<testcase name=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_owned))
            .collect();
        assert!(!names.is_empty(), "shard {k} ran nothing: {xml}");
        ran.push(names);
    }
    let seen = tally(&ran);
    let stems: Vec<String> = expected
        .iter()
        .map(|p| {
            Path::new(p)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), stems);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");

    // Every shard's durations were merged into one file, which then balances the shards.
    let recorded: BTreeMap<String, f64> =
        serde_json::from_str(&std::fs::read_to_string(&timings).unwrap()).unwrap();
    assert_eq!(recorded.keys().cloned().collect::<Vec<_>>(), stems);
    let balanced: Vec<Vec<String>> = (1..=3)
        .map(|k| {
            stdout_lines(&harness(&[
                "run",
                "--list",
                "--filter",
                "bind-",
                "--partition",
                &format!("{k}/3"),
                "--balance-by",
                timings.to_str().unwrap(),
                "scenarios",
            ]))
        })
        .collect();
    let seen = tally(&balanced);
    assert_eq!(seen.len(), expected.len());
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_partition_is_refused_naming_the_flag() {
    for bad in ["0/3", "4/3", "two/3"] {
        let out = harness(&["run", "--list", "--partition", bad, "scenarios"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--partition"), "{bad}: {err}");
    }
    let out = harness(&["run", "--balance-by", "t.json", "scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--partition"));
}
