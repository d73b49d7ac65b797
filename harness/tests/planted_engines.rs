//! Scenarios catch engines that are wrong in ways the reference engine is not: the
//! reference engine wrapped so that one behaviour breaks, run through the scenario files
//! that pin that behaviour, fails each of them for the right reason.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use engine_contract::account::Account;
use engine_contract::engine::{
    EngineError, SignInRequest, SignInResult, SyncEngine, SyncRequest, SyncResponse,
};
use futures::future::BoxFuture;
use harness::scenario::LoadedScenario;
use harness::ReferenceEngine;

/// The reference engine, except that a failed sync hands back an empty account, as an
/// engine would that applied the empty extraction of a run that never read anything.
struct WipesOnFailure(ReferenceEngine);

impl SyncEngine for WipesOnFailure {
    fn name(&self) -> &str {
        "wipes-on-failure"
    }

    fn sync<'a>(
        &'a self,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncResponse, EngineError>> {
        Box::pin(async move {
            let mut response = self.0.sync(request).await?;
            if !response.report.errors.is_empty() {
                response.account = Account::default();
            }
            Ok(response)
        })
    }

    fn sign_in<'a>(
        &'a self,
        request: &'a SignInRequest,
    ) -> BoxFuture<'a, Result<(SignInResult, String), EngineError>> {
        self.0.sign_in(request)
    }
}

/// Every failure class on a populated account: the wiping engine fails each scenario at
/// the expectation straight after the failed sync.
#[test]
fn an_engine_that_wipes_the_account_on_failure_fails_every_populated_failure_scenario() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let files = harness::suite::discover(&[dir], Some("populated-account-kept-when")).unwrap();
    assert_eq!(files.len(), 7, "{files:?}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let engine = WipesOnFailure(ReferenceEngine::default());
    for file in files {
        let loaded = LoadedScenario::load(&file).unwrap();
        let output = runtime
            .block_on(harness::scenario::run(&loaded, &engine))
            .unwrap();
        let step = loaded
            .scenario
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, harness::scenario::model::Step::Expect(_)))
            .nth(1)
            .map(|(i, _)| i + 1)
            .unwrap();
        let prefix = format!("step {step}: expected ");
        assert!(
            output
                .failures
                .iter()
                .any(|f| f.starts_with(&prefix) && f.contains(" users, found 0")),
            "{}: {:?}",
            loaded.name,
            output.failures
        );
    }
}
