//! The fuzzer against the in-process reference engine: it holds to every property, a
//! seed replays the same cases, and the command line's exit codes.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use harness::fuzz::{self, Options, Property, Sizes};

fn options(seed: u64, cases: usize, out: &std::path::Path) -> Options {
    Options {
        seed,
        cases: Some(cases),
        time: None,
        jobs: 2,
        properties: Property::ALL.into_iter().collect::<BTreeSet<_>>(),
        sizes: Sizes::default(),
        out: out.to_path_buf(),
        shrink_steps: 50,
    }
}

#[test]
fn the_reference_engine_holds_to_every_property() {
    let out = std::env::temp_dir().join(format!("harness-fuzz-ref-{}", std::process::id()));
    let engine = Arc::new(harness::ReferenceEngine::default());
    let summary = fuzz::fuzz(engine, &options(3, 150, &out), &|_, _| {}).unwrap();
    assert_eq!(summary.cases, 150);
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    for p in Property::ALL {
        assert_eq!(summary.table.get(&p), Some(&(150, 0)), "{}", p.name());
    }
}

#[test]
fn bulk_cases_past_the_page_limit_and_the_member_range_hold_too() {
    let out = std::env::temp_dir().join(format!("harness-fuzz-bulk-{}", std::process::id()));
    let mut options = options(4, 3, &out);
    options.sizes.bulk = 1_600;
    let engine = Arc::new(harness::ReferenceEngine::default());
    let summary = fuzz::fuzz(engine, &options, &|_, _| {}).unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(summary.cases, 3);
}

#[test]
fn a_seed_gives_the_same_cases_and_another_seed_others() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let case = |seed: u8| {
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        let tree = fuzz::strategy::case(Sizes::default())
            .new_tree(&mut runner)
            .unwrap();
        let case = tree.current();
        let plan = case.plan();
        serde_yaml::to_string(&fuzz::write::scenario(&case, &plan, "c", None, &[], None)).unwrap()
    };
    assert_eq!(case(1), case(1));
    assert_ne!(case(1), case(2));
}

fn harness(args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn the_command_line_exits_0_when_nothing_fails_and_2_when_it_cannot_start() {
    let junit = std::env::temp_dir().join(format!("harness-fuzz-{}.xml", std::process::id()));
    let junit_arg = junit.display().to_string();
    let (code, text) = harness(&[
        "fuzz", "--cases", "20", "--seed", "9", "--junit", &junit_arg,
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("seed: 9"), "{text}");
    assert!(text.contains("membership-closure"), "{text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        xml.matches("<testcase").count(),
        Property::ALL.len(),
        "{xml}"
    );

    let (code, text) = harness(&["fuzz", "--property", "no-such-property"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("no such property"), "{text}");

    let (code, text) = harness(&["fuzz", "--engine", "/nonexistent/engine"]);
    assert_eq!(code, Some(2), "{text}");
}
