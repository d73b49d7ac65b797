//! An engine wrapper that keeps every sync request and answer, so the properties can
//! judge what the engine said while the scenario runner drives it unchanged.

use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::FutureExt as _;

use engine_contract::engine::{
    EngineError, SignInRequest, SignInResult, SyncEngine, SyncRequest, SyncResponse,
};

/// One sync exchange: the request and the answer (or why there was none).
#[derive(Debug, Clone)]
pub struct Call {
    /// What the engine was asked.
    pub request: SyncRequest,
    /// What it answered; the error's text when it gave no answer.
    pub answer: Result<SyncResponse, String>,
}

/// Records every sync of `inner`.
pub struct Recorder<'a> {
    inner: &'a dyn SyncEngine,
    calls: Mutex<Vec<Call>>,
}

impl<'a> Recorder<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a dyn SyncEngine) -> Self {
        Recorder {
            inner,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The syncs so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl SyncEngine for Recorder<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn claims(&self, scenario: &str) -> bool {
        self.inner.claims(scenario)
    }

    fn sync<'b>(
        &'b self,
        request: &'b SyncRequest,
    ) -> BoxFuture<'b, Result<SyncResponse, EngineError>> {
        async move {
            let answer = self.inner.sync(request).await;
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(Call {
                    request: request.clone(),
                    answer: answer
                        .as_ref()
                        .map(Clone::clone)
                        .map_err(ToString::to_string),
                });
            }
            answer
        }
        .boxed()
    }

    fn sign_in<'b>(
        &'b self,
        request: &'b SignInRequest,
    ) -> BoxFuture<'b, Result<(SignInResult, String), EngineError>> {
        self.inner.sign_in(request)
    }
}
