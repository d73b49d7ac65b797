//! Properties of whole sync runs over real sockets: the stack (`run_sync`) against an
//! in-process fake-dc serving a generated directory (`reference_stack::testing::dc`), changed
//! between syncs by generated mutations. The diff properties (`diff_properties.rs`)
//! prove `plan`/`apply` on snapshots; these prove the same promises survive the
//! network half: extraction, paging, member lookups, the transform. They hold the stack
//! only to itself; `model_properties.rs` holds its extraction to the model, with groups
//! past one ranged piece of `member`.
//!
//! - a second sync straight after a sync changes nothing;
//! - a user created by hand is never deleted by a sync;
//! - the result does not depend on the page size.
//!
//! Cases: `PROPTEST_CASES` if set, else 16 per property (a case takes about 10 ms in a
//! debug build). Shrunk failures are kept in `socket_properties.proptest-regressions`
//! (commit it).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use proptest::test_runner::Config;
use reference_stack::account::Origin;
use reference_stack::report::SyncMethod;
use reference_stack::stack::{run_sync, SyncOutcome};
use reference_stack::testing::dc::LiveDc;
use reference_stack::testing::strategies::scenario;
use reference_stack::testing::Scenario;

/// 16 cases unless `PROPTEST_CASES` asks for another number.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(16);
    Config::with_cases(cases)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn applied(outcome: &SyncOutcome, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        outcome.report.errors.is_empty(),
        "{what} failed:\n{}",
        outcome.report
    );
    Ok(())
}

/// Serves `case`'s directory and syncs after each round of mutations (and once before
/// the first), with pages of `page_size`, handing each sync and the account before it
/// to `check`. With `again`, each sync is followed at once by a second one from its
/// result, handed to `check` too.
async fn history(
    case: &Scenario,
    page_size: i32,
    again: bool,
    mut check: impl FnMut(
        usize,
        &reference_stack::account::Account,
        &SyncOutcome,
        Option<&SyncOutcome>,
    ) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let live = LiveDc::start(&case.directory)
        .await
        .map_err(TestCaseError::fail)?;
    let result = async {
        let env = live.env(SyncMethod::DirectoryConnector, page_size);
        let connector = live.connector();
        let mut model = case.directory.clone();
        let mut account = case.seed.clone();
        let rounds = std::iter::once(&[][..]).chain(case.rounds.iter().map(Vec::as_slice));
        for (number, round) in rounds.enumerate() {
            for mutation in round {
                live.mutate(&mut model, mutation)
                    .map_err(TestCaseError::fail)?;
            }
            let outcome = run_sync(&env, &connector, &case.settings, &account).await;
            applied(&outcome, &format!("sync {number}"))?;
            let second = if again {
                let second = run_sync(&env, &connector, &case.settings, &outcome.account).await;
                applied(&second, &format!("sync {number} again"))?;
                Some(second)
            } else {
                None
            };
            check(number, &account, &outcome, second.as_ref())?;
            account = outcome.account;
        }
        Ok(())
    }
    .await;
    live.shutdown().await;
    result
}

/// A second sync straight after each sync reports no change and leaves the account.
async fn converges(case: &Scenario) -> Result<(), TestCaseError> {
    history(case, 1000, true, |number, _, first, again| {
        let Some(again) = again else {
            return Err(TestCaseError::fail("history ran no second sync"));
        };
        prop_assert!(
            again.report.changes.is_empty(),
            "sync {number}: the sync straight after changed things:\n{}",
            again.report
        );
        prop_assert_eq!(&again.account, &first.account);
        Ok(())
    })
    .await
}

/// Every manual user before a sync is still there after it (converted, perhaps).
async fn keeps_manual_users(case: &Scenario) -> Result<(), TestCaseError> {
    history(case, 1000, false, |number, before, outcome, _| {
        for (address, user) in &before.users {
            if user.origin == Origin::Manual {
                prop_assert!(
                    outcome.account.users.contains_key(address),
                    "sync {}: manual user {} deleted:\n{}",
                    number,
                    address,
                    outcome.report
                );
            }
        }
        Ok(())
    })
    .await
}

/// Pages of `page_size` entries give the account, changes and snapshot that pages of
/// 1,000 give.
async fn ignores_page_size(case: &Scenario, page_size: i32) -> Result<(), TestCaseError> {
    let mut paged = Vec::new();
    history(case, page_size, false, |_, _, outcome, _| {
        paged.push(outcome.clone());
        Ok(())
    })
    .await?;
    let mut whole = Vec::new();
    history(case, 1000, false, |_, _, outcome, _| {
        whole.push(outcome.clone());
        Ok(())
    })
    .await?;
    for (number, (small, large)) in paged.iter().zip(&whole).enumerate() {
        prop_assert!(
            small.stats.pages > large.stats.pages || large.stats.entries <= page_size as usize,
            "sync {number}: pages of {page_size} did not page: {:?}",
            small.stats
        );
        prop_assert_eq!(
            &small.report.changes,
            &large.report.changes,
            "sync {}: pages of {} changed the plan",
            number,
            page_size
        );
        prop_assert_eq!(&small.account, &large.account);
        prop_assert_eq!(&small.snapshot, &large.snapshot);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_second_sync_straight_after_a_sync_changes_nothing(case in scenario()) {
        runtime().block_on(converges(&case))?;
    }

    #[test]
    fn a_sync_never_deletes_a_user_created_by_hand(case in scenario()) {
        runtime().block_on(keeps_manual_users(&case))?;
    }

    #[test]
    fn the_result_does_not_depend_on_the_page_size(case in scenario(), page_size in 1i32..6) {
        runtime().block_on(ignores_page_size(&case, page_size))?;
    }
}
