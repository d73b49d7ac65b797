//! The delta property, over real sockets: **a delta run after any mutation sequence
//! reaches the same account as a full run.**
//!
//! Each case serves a generated directory (`reference_stack::testing::strategies`) from an
//! in-process fake-dc, the model written as a fixture (`reference_stack::testing::dc`), and
//! syncs it once (a delta-capable run with no state: full). Then, after each round of
//! generated mutations applied to the running DC, a delta run from the stored state and
//! a full run, both from the same account, must agree: same account, same change list,
//! same conflicts and out-of-domain reports, same snapshot. The delta run must really be
//! one (no fallback), and the next round continues from its state and account.
//!
//! A case draws how the delta runs find changes: `uSNChanged` searches and tombstones,
//! or DirSync rounds from the cookie the last run kept (`change-tracking: dirsync`).
//!
//! Beyond the model's mutations, a case draws its root DN (the domain, or `OU=Staff` so
//! that moves to `OU=R+D` and `OU=Contacts` leave it), the page size, and for each round
//! whether `OU=Sales` is renamed or moved out of `OU=Staff` for that round's syncs: AD
//! changes no `uSNChanged` below a renamed OU, which only the container reads catch.
//!
//! The property takes the delta sync as a parameter, so `a_delta_that_ignores_tombstones_
//! is_caught` and `a_delta_that_skips_renamed_ou_subtrees_is_caught` run deliberately
//! broken ones through the same check and show it fails.
//!
//! Cases: `PROPTEST_CASES` if set, else 32. A case serves a dozen objects and syncs a few
//! times over loopback, about 10 ms in a debug build, so `PROPTEST_CASES=2000` is a
//! twenty-second hunt worth running after changing the delta. Shrunk failures are kept
//! in `delta_properties.proptest-regressions` (commit it).

#![allow(clippy::unwrap_used)]

use fake_dc::dn::{Dn, Rdn};
use futures::future::BoxFuture;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use reference_stack::account::Account;
use reference_stack::delta::{DeltaState, ExtractionMode};
use reference_stack::report::SyncMethod;
use reference_stack::settings::{AccountSettings, ChangeTracking, ConnectorSettings};
use reference_stack::stack::{run_delta_sync, run_sync, DeltaSyncOutcome, SyncEnvironment};
use reference_stack::testing::dc::LiveDc;
use reference_stack::testing::model::{ou_dn, ROOT_DN};
use reference_stack::testing::planted::{
    delta_sync_ignoring_tombstones, delta_sync_skipping_container_reads,
};
use reference_stack::testing::strategies::scenario;
use reference_stack::testing::Scenario;

/// 32 cases unless `PROPTEST_CASES` asks for another number.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(32);
    Config::with_cases(cases)
}

/// The shape of [`run_delta_sync`], so a broken one can run through the same property.
type DeltaSync = for<'a> fn(
    &'a SyncEnvironment,
    &'a ConnectorSettings,
    &'a AccountSettings,
    &'a Account,
    Option<&'a DeltaState>,
) -> BoxFuture<'a, DeltaSyncOutcome>;

fn real<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
    state: Option<&'a DeltaState>,
) -> BoxFuture<'a, DeltaSyncOutcome> {
    Box::pin(run_delta_sync(env, connector, settings, account, state))
}

fn ignoring_tombstones<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
    state: Option<&'a DeltaState>,
) -> BoxFuture<'a, DeltaSyncOutcome> {
    Box::pin(delta_sync_ignoring_tombstones(
        env, connector, settings, account, state,
    ))
}

fn skipping_container_reads<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
    state: Option<&'a DeltaState>,
) -> BoxFuture<'a, DeltaSyncOutcome> {
    Box::pin(delta_sync_skipping_container_reads(
        env, connector, settings, account, state,
    ))
}

/// What happens to `OU=Sales` (inside `OU=Staff`) during one round's syncs; it is put
/// back before the next round's mutations, which the model describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SalesOu {
    /// Left alone.
    Kept,
    /// Renamed `OU=Sales 2`: every DN below it changes.
    Renamed,
    /// Moved under the domain head: out of `OU=Staff`.
    MovedUp,
}

/// One case of the property.
#[derive(Debug, Clone)]
struct Case {
    /// The directory, the account, the rounds of mutations, the settings.
    scenario: Scenario,
    /// Root the connector at `OU=Staff` rather than the domain.
    staff_only: bool,
    /// Entries per page.
    page_size: i32,
    /// What happens to `OU=Sales` in each round (cycled).
    sales: Vec<SalesOu>,
    /// How the delta runs find changes: `uSNChanged` searches or DirSync rounds.
    tracking: ChangeTracking,
}

/// Scenarios with at least one round of mutations (one without is a single full run).
fn cases() -> impl Strategy<Value = Case> {
    let sales = prop_oneof![
        2 => Just(SalesOu::Kept),
        1 => Just(SalesOu::Renamed),
        1 => Just(SalesOu::MovedUp),
    ];
    (
        scenario().prop_filter("a round of mutations to sync after", |s| {
            !s.rounds.is_empty()
        }),
        any::<bool>(),
        prop_oneof![Just(1000), 1i32..6],
        proptest::collection::vec(sales, 1..4),
        prop_oneof![
            Just(ChangeTracking::UsnChanged),
            Just(ChangeTracking::DirSync)
        ],
    )
        .prop_map(|(scenario, staff_only, page_size, sales, tracking)| Case {
            scenario,
            staff_only,
            page_size,
            sales,
            tracking,
        })
}

/// Renames or moves `OU=Sales` as `what` says (`undo`: back where the model has it).
fn reshape_sales(live: &LiveDc, what: SalesOu, undo: bool) -> Result<(), TestCaseError> {
    let (name, parent) = match what {
        SalesOu::Kept => return Ok(()),
        SalesOu::Renamed => ("Sales 2", ou_dn(0)),
        SalesOu::MovedUp => ("Sales", ROOT_DN.to_owned()),
    };
    let (from, to, new_name) = if undo {
        (format!("OU={name},{parent}"), ou_dn(0), "Sales")
    } else {
        (ou_dn(1), parent, name)
    };
    live.dc
        .with_directory(|d| {
            let ou = d.resolve(&Dn::parse(&from).unwrap())?;
            let to = d.resolve(&Dn::parse(&to).unwrap())?;
            d.rename(ou, Rdn::new("OU", new_name), Some(to))
        })
        .map_err(|e| TestCaseError::fail(format!("reshaping OU=Sales: {e}")))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The property: see the module docs.
async fn delta_reaches_the_full_result(delta: DeltaSync, case: &Case) -> Result<(), TestCaseError> {
    let live = LiveDc::start(&case.scenario.directory)
        .await
        .map_err(TestCaseError::fail)?;
    let result = check(delta, case, &live).await;
    live.shutdown().await;
    result
}

async fn check(delta: DeltaSync, case: &Case, live: &LiveDc) -> Result<(), TestCaseError> {
    let env = live.env(SyncMethod::DirectoryConnector, case.page_size);
    let mut connector = live.connector();
    if case.staff_only {
        connector.root_dn = ou_dn(0);
    }
    connector.change_tracking = case.tracking;
    let (scenario, settings) = (&case.scenario, &case.scenario.settings);
    let first = delta(&env, &connector, settings, &scenario.seed, None).await;
    prop_assert!(
        first.sync.report.errors.is_empty(),
        "first run failed:\n{}",
        first.sync.report
    );
    let mut state = first.state;
    let mut account = first.sync.account;
    let mut model = scenario.directory.clone();
    let sales = case.sales.iter().cycle();
    for ((number, round), &sales) in scenario.rounds.iter().enumerate().zip(sales) {
        for mutation in round {
            live.mutate(&mut model, mutation)
                .map_err(TestCaseError::fail)?;
        }
        reshape_sales(live, sales, false)?;
        let incremental = delta(&env, &connector, settings, &account, state.as_ref()).await;
        let full = run_sync(&env, &connector, settings, &account).await;
        let report = &incremental.sync.report;
        prop_assert!(
            report.errors.is_empty() && full.report.errors.is_empty(),
            "round {number}: a run failed\ndelta:\n{report}\nfull:\n{}",
            full.report
        );
        prop_assert!(
            matches!(report.extraction, Some(ExtractionMode::Delta { .. })),
            "round {number}: not a delta run:\n{report}"
        );
        prop_assert_eq!(
            &report.changes,
            &full.report.changes,
            "round {}: the delta run's change list differs from the full run's\ndelta:\n{}\nfull:\n{}",
            number,
            report,
            full.report
        );
        prop_assert_eq!(&report.conflicts, &full.report.conflicts);
        prop_assert_eq!(&report.out_of_domain, &full.report.out_of_domain);
        prop_assert_eq!(
            &incremental.sync.account,
            &full.account,
            "round {}: the delta run's account differs from the full run's",
            number
        );
        prop_assert_eq!(
            &incremental.sync.snapshot,
            &full.snapshot,
            "round {}: the delta run's snapshot differs from the full run's",
            number
        );
        state = incremental.state;
        account = incremental.sync.account;
        reshape_sales(live, sales, true)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_delta_run_reaches_the_same_account_as_a_full_run(case in cases()) {
        runtime().block_on(delta_reaches_the_full_result(real, &case))?;
    }
}

/// Runs the property with `delta` on generated cases (a fixed seed, so the proof does
/// not depend on luck) and returns the shrunk counterexample's message.
fn counterexample(delta: DeltaSync) -> Option<String> {
    let config = Config {
        cases: 64,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let runtime = runtime();
    match runner.run(&self::cases(), |case| {
        runtime.block_on(delta_reaches_the_full_result(delta, &case))
    }) {
        Ok(()) => None,
        Err(TestError::Fail(reason, _)) => Some(reason.to_string()),
        Err(TestError::Abort(reason)) => Some(format!("aborted: {reason}")),
    }
}

#[test]
fn a_delta_that_ignores_tombstones_is_caught() {
    // The real delta passes these cases: what fails below is the planted bug.
    assert_eq!(counterexample(real), None);
    let found = counterexample(ignoring_tombstones)
        .expect("a delta run that ignores tombstones must fail the delta property");
    println!("ignored tombstones caught:\n{found}");
    assert!(found.contains("differs from the full run"), "{found}");
}

#[test]
fn a_delta_that_skips_renamed_ou_subtrees_is_caught() {
    let found = counterexample(skipping_container_reads)
        .expect("a delta run that reads no container subtree must fail the delta property");
    println!("skipped container reads caught:\n{found}");
    // Objects below the renamed or moved OU keep their old DNs in the delta's snapshot
    // (or its change list, when a member left the root DN with the OU).
    assert!(found.contains("differs from the full run"), "{found}");
}
