//! The runner's invariant can fail: stub engines whose first sync applies and whose second
//! fails, changes something, changes the account silently, or falls back to a full read
//! after a delta sync are each caught with a message saying which; a well-behaved one
//! passes, and its second run is handed the state its first returned.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use engine_contract::account::{CloudUser, Origin};
use engine_contract::address::Address;
use engine_contract::change::Change;
use engine_contract::engine::{
    EngineError, SignInRequest, SignInResult, SyncEngine, SyncMode, SyncRequest, SyncResponse,
};
use engine_contract::extraction::{ExtractionMode, FullReason};
use engine_contract::guid::Guid;
use engine_contract::report::{Report, SyncMethod, TlsOutcome};
use futures::future::BoxFuture;
use harness::scenario::{LoadedScenario, RunOutput};

/// What the stub does on every sync after its first.
#[derive(Debug, Clone, Copy)]
enum Later {
    /// Hands the account back unchanged and reports no change, as it should.
    Idle,
    /// Fails before apply: no changes, the account it was given.
    Fail,
    /// Gives no answer at all.
    NoAnswer,
    /// Adds a user and says so.
    Change,
    /// Adds a user without reporting it.
    SilentChange,
    /// Stopped by max unlink.
    Stopped,
    /// Reads everything, saying why, though asked for a delta from valid state.
    FullRead,
    /// Says nothing of how it read, though its first run did.
    Unsaid,
}

struct Stub {
    later: Later,
    requests: Mutex<Vec<SyncRequest>>,
}

impl Stub {
    fn new(later: Later) -> Self {
        Self {
            later,
            requests: Mutex::new(Vec::new()),
        }
    }
}

fn address(text: &str) -> Address {
    Address::parse(text).unwrap()
}

fn user(text: &str, guid: u128) -> CloudUser {
    CloudUser {
        address: address(text),
        origin: Origin::DirectoryGenerated {
            guid: Guid(guid.to_be_bytes()),
        },
        disabled: false,
        aliases: Default::default(),
        attributes: Default::default(),
    }
}

fn report(changes: Vec<Change>) -> Report {
    Report {
        changes,
        ..Report::new(
            SyncMethod::DirectoryConnector,
            Some("dc1.corp.example.test".into()),
            TlsOutcome::Plain,
        )
    }
}

impl SyncEngine for Stub {
    fn name(&self) -> &str {
        "stub"
    }

    fn sync<'a>(
        &'a self,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncResponse, EngineError>> {
        Box::pin(async move {
            let run = {
                let mut requests = self.requests.lock().unwrap();
                requests.push(request.clone());
                requests.len()
            };
            let delta = request.mode == SyncMode::Delta;
            let mut account = request.account.clone();
            let mut report = report(Vec::new());
            let state = serde_json::json!({ "run": run });
            if run == 1 {
                let alice = user("alice@corp.example.test", 1);
                account.users.insert(alice.address.clone(), alice.clone());
                report.changes.push(Change::AddUser { user: alice });
                report.extraction = delta.then_some(ExtractionMode::Full {
                    reason: FullReason::NoPreviousState,
                });
                return Ok(SyncResponse {
                    report,
                    account,
                    extraction: None,
                    engine_state: Some(state),
                });
            }
            report.extraction = delta.then_some(ExtractionMode::Delta {
                since_usn: 10,
                up_to_usn: 10,
            });
            match self.later {
                Later::Idle => {}
                Later::Fail => {
                    report.errors.push("bind failed: data 52e".into());
                    report.extraction = None;
                }
                Later::NoAnswer => {
                    return Err(EngineError::Unavailable {
                        engine: "stub".into(),
                        reason: "crashed".into(),
                    })
                }
                Later::Change | Later::SilentChange => {
                    let bob = user("bob@corp.example.test", 2);
                    account.users.insert(bob.address.clone(), bob.clone());
                    if matches!(self.later, Later::Change) {
                        report.changes.push(Change::AddUser { user: bob });
                    }
                }
                Later::Stopped => {
                    report.stopped = Some(engine_contract::change::MaxUnlinkStop {
                        would_unlink: 60,
                        max_unlink: 50,
                    });
                }
                Later::FullRead => {
                    report.extraction = Some(ExtractionMode::Full {
                        reason: FullReason::SettingsChanged,
                    });
                }
                Later::Unsaid => report.extraction = None,
            }
            Ok(SyncResponse {
                report,
                account,
                extraction: None,
                engine_state: Some(state),
            })
        })
    }

    fn sign_in<'a>(
        &'a self,
        _request: &'a SignInRequest,
    ) -> BoxFuture<'a, Result<(SignInResult, String), EngineError>> {
        Box::pin(async { Ok((SignInResult::Failed, String::new())) })
    }
}

fn scenario(step: &str) -> LoadedScenario {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/minimal.yaml");
    let dir: PathBuf =
        std::env::temp_dir().join(format!("harness-invariant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Tests run in parallel: each scenario gets a file of its own.
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let n = FILES.fetch_add(1, Ordering::SeqCst);
    let file = dir.join(format!("{step}-{n}.yaml"));
    std::fs::write(
        &file,
        format!(
            "description: stub\n\
             directory: {{ fixture: {} }}\n\
             connector: {{ primary-host: dc1.corp.example.test, encryption: none, port: 389, \
             bind-dn: 'CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test', \
             password: Sync-Secret-1, root-dn: 'DC=corp,DC=example,DC=test' }}\n\
             settings: {{ region: europe, domains: [corp.example.test] }}\n\
             steps:\n  - {step}\n  - expect: {{ totals: {{ users: 1 }} }}\n",
            fixture.display()
        ),
    )
    .unwrap();
    LoadedScenario::load(&file).unwrap()
}

fn run(step: &str, later: Later) -> (RunOutput, Vec<SyncRequest>) {
    let stub = Stub::new(later);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let output = runtime
        .block_on(harness::scenario::run(&scenario(step), &stub))
        .unwrap();
    let requests = stub.requests.into_inner().unwrap();
    (output, requests)
}

/// The one failure of a run, which must name the invariant and contain `text`.
fn caught(step: &str, later: Later, text: &str) {
    let (output, requests) = run(step, later);
    assert_eq!(requests.len(), 2, "{later:?}: one sync and its check");
    assert_eq!(output.failures.len(), 1, "{later:?}: {:?}", output.failures);
    let failure = &output.failures[0];
    assert!(
        failure.contains("invariant (requested sync)") && failure.contains(text),
        "{later:?}: {failure}"
    );
    assert!(output.transcript.contains(text), "{}", output.transcript);
}

#[test]
fn a_well_behaved_engine_passes_and_its_second_run_continues_from_the_first() {
    for step in ["sync", "delta-sync"] {
        let (output, requests) = run(step, Later::Idle);
        assert!(output.failures.is_empty(), "{step}: {:?}", output.failures);
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].engine_state, None);
        assert_eq!(
            requests[1].engine_state,
            Some(serde_json::json!({ "run": 1 })),
            "{step}: the second run is handed the first's state"
        );
        assert_eq!(requests[1].mode, requests[0].mode, "{step}: same mode");
        assert_eq!(
            requests[1].account.users.len(),
            1,
            "{step}: the first's account"
        );
    }
}

#[test]
fn a_second_sync_that_fails_fails_the_scenario() {
    caught(
        "sync",
        Later::Fail,
        "the sync straight after a successful one failed: bind failed: data 52e",
    );
    caught("delta-sync", Later::Fail, "failed: bind failed: data 52e");
}

#[test]
fn a_second_sync_without_an_answer_fails_the_scenario() {
    caught(
        "sync",
        Later::NoAnswer,
        "gave no answer: engine stub could not be run",
    );
}

#[test]
fn a_second_sync_that_changes_something_fails_the_scenario() {
    caught(
        "sync",
        Later::Change,
        "changed 1 things: + user bob@corp.example.test",
    );
    caught(
        "sync",
        Later::SilentChange,
        "reported no change but changed the account: user bob@corp.example.test",
    );
    caught("sync", Later::Stopped, "was stopped");
}

#[test]
fn a_second_delta_sync_that_reads_everything_fails_the_scenario() {
    caught(
        "delta-sync",
        Later::FullRead,
        "the delta sync straight after a successful one read everything: full (",
    );
    caught("delta-sync", Later::Unsaid, "did not say how it read");
    // A full sync may read everything; only a delta is held to reading the changes.
    let (output, _) = run("sync", Later::FullRead);
    assert!(output.failures.is_empty(), "{:?}", output.failures);
}
