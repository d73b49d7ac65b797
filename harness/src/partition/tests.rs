#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;

use super::{select, Partition, PartitionError, Timings};

fn files(names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| PathBuf::from(format!("scenarios/{n}.yaml")))
        .collect()
}

fn shards(files: &[PathBuf], count: usize, timings: Option<&Timings>) -> Vec<Vec<PathBuf>> {
    (1..=count)
        .map(|index| select(files, Partition { index, count }, timings))
        .collect()
}

#[test]
fn k_of_n_is_parsed_and_nonsense_is_refused_with_the_text() {
    assert_eq!(
        "2/3".parse::<Partition>(),
        Ok(Partition { index: 2, count: 3 })
    );
    assert_eq!(
        "0/3".parse::<Partition>(),
        Err(PartitionError::Range { index: 0, count: 3 })
    );
    assert_eq!(
        "4/3".parse::<Partition>(),
        Err(PartitionError::Range { index: 4, count: 3 })
    );
    for bad in ["", "3", "a/b", "1/", "/2", "1/2/3", "-1/2"] {
        let err = bad.parse::<Partition>().unwrap_err();
        assert_eq!(err, PartitionError::Form(bad.into()), "{bad:?}");
    }
    assert_eq!(
        "1/0".parse::<Partition>(),
        Err(PartitionError::Range { index: 1, count: 0 })
    );
}

#[test]
fn without_timings_names_are_dealt_round_robin_in_name_order() {
    let all = files(&["e", "a", "d", "c", "b"]);
    let got = shards(&all, 2, None);
    assert_eq!(got[0], files(&["a", "c", "e"]));
    assert_eq!(got[1], files(&["b", "d"]));
}

#[test]
fn with_timings_one_long_scenario_gets_a_shard_to_itself() {
    let all = files(&["a", "b", "c", "d", "slow"]);
    let timings = Timings(BTreeMap::from([
        ("a".into(), 1.0),
        ("b".into(), 1.0),
        ("c".into(), 1.0),
        ("d".into(), 1.0),
        ("slow".into(), 10.0),
    ]));
    let got = shards(&all, 2, Some(&timings));
    assert_eq!(got[0], files(&["slow"]));
    assert_eq!(got[1], files(&["a", "b", "c", "d"]));
}

#[test]
fn a_scenario_without_a_recorded_time_counts_as_the_median() {
    let all = files(&["a", "b", "new"]);
    let timings = Timings(BTreeMap::from([("a".into(), 4.0), ("b".into(), 1.0)]));
    // The median of [1, 4] is 4 (upper middle): `new` weighs as much as `a`.
    let got = shards(&all, 2, Some(&timings));
    assert_eq!(got[0], files(&["a", "b"]));
    assert_eq!(got[1], files(&["new"]));
}

#[test]
fn timings_are_recorded_merged_with_what_other_shards_wrote() {
    let dir = std::env::temp_dir().join(format!("harness-timings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("timings.json");
    let _ = std::fs::remove_file(&path);
    assert_eq!(Timings::read(&path).unwrap(), Timings::default());
    let ms = std::time::Duration::from_millis;
    Timings::record(&path, [("a".into(), ms(1500)), ("b".into(), ms(20))]).unwrap();
    Timings::record(&path, [("b".into(), ms(250)), ("c".into(), ms(3))]).unwrap();
    let got = Timings::read(&path).unwrap();
    assert_eq!(
        got.0,
        BTreeMap::from([("a".into(), 1.5), ("b".into(), 0.25), ("c".into(), 0.003)])
    );
    std::fs::write(&path, "[1, 2]").unwrap();
    let err = Timings::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("timings.json") && err.contains("line 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    /// Whatever the names, their order and the timings, the shards of one count hold
    /// every file exactly once.
    #[test]
    fn every_file_lands_in_exactly_one_shard(
        names in proptest::collection::btree_set("[a-z]{1,6}", 0..40),
        count in 1usize..8,
        seconds in proptest::collection::vec(0.0f64..100.0, 40),
        balance in any::<bool>(),
        rotate in 0usize..40,
    ) {
        let mut all: Vec<PathBuf> = names.iter().map(|n| PathBuf::from(format!("{n}.yaml"))).collect();
        let timings = Timings(names.iter().cloned().zip(seconds).collect());
        let mut shuffled = all.clone();
        if !shuffled.is_empty() {
            let by = rotate % shuffled.len();
            shuffled.rotate_left(by);
        }
        let timings = balance.then_some(&timings);
        let mut got: Vec<PathBuf> = shards(&shuffled, count, timings).concat();
        got.sort();
        all.sort();
        prop_assert_eq!(got, all);
        // The input's order does not change the deal.
        let sorted_input: Vec<PathBuf> = names.iter().map(|n| PathBuf::from(format!("{n}.yaml"))).collect();
        prop_assert_eq!(shards(&shuffled, count, timings), shards(&sorted_input, count, timings));
    }
}
