//! How the subprocess adapter reports an engine that breaks the contract: each failure
//! names the engine and fails the step, never the run. The engines are one-line Python
//! scripts, so these tests need no fake-dc unless they play a scenario.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use engine_contract::engine::{EngineError, SyncEngine};
use harness::subprocess::SubprocessEngine;
use harness::suite::{self, SnapshotMode, Verdict};

fn engine(script: &str, timeout: Duration) -> SubprocessEngine {
    let command = vec![
        test_peers::python().display().to_string(),
        "-c".into(),
        script.into(),
    ];
    SubprocessEngine::new("tiny", command, timeout).unwrap()
}

async fn hello_error(script: &str) -> EngineError {
    engine(script, Duration::from_secs(20))
        .hello()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_good_hello_gives_name_and_claims() {
    let mut e = engine(
        r#"import sys, json
req = json.load(sys.stdin)
assert req == {"contract": "fake-dc-engine/1", "kind": "hello"}, req
print(json.dumps({"contract": "fake-dc-engine/1", "name": "tiny-engine", "claims": ["a", "b"], "extra": 1}))"#,
        Duration::from_secs(20),
    );
    let hello = e.hello().await.unwrap();
    assert_eq!(hello.name, "tiny-engine");
    assert!(e.claims("a") && e.claims("b") && !e.claims("c"));
}

#[tokio::test]
async fn a_malformed_answer_breaks_the_contract() {
    let e = hello_error("print('Traceback (most recent call last): oops')").await;
    let text = e.to_string();
    assert!(matches!(e, EngineError::Contract { .. }), "{text}");
    assert!(
        text.starts_with("engine tiny broke the contract: hello: the answer is not JSON"),
        "{text}"
    );
}

#[tokio::test]
async fn another_contract_version_is_refused_by_name() {
    let e = hello_error(r#"print('{"contract": "fake-dc-engine/2", "name": "x", "claims": []}')"#)
        .await;
    let text = e.to_string();
    assert!(matches!(e, EngineError::Contract { .. }), "{text}");
    assert!(
        text.contains("\"fake-dc-engine/2\"")
            && text.contains("this harness speaks \"fake-dc-engine/1\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_field_is_named() {
    let e = hello_error(r#"print('{"contract": "fake-dc-engine/1", "name": "x"}')"#).await;
    let text = e.to_string();
    assert!(matches!(e, EngineError::Contract { .. }), "{text}");
    assert!(text.contains("missing field `claims`"), "{text}");
}

#[tokio::test]
async fn a_non_zero_exit_is_unavailable_with_its_stderr() {
    let e = hello_error(
        "import sys; print('{}'); sys.stderr.write('ldap3 is not installed\\n'); sys.exit(3)",
    )
    .await;
    let text = e.to_string();
    assert!(matches!(e, EngineError::Unavailable { .. }), "{text}");
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("stderr: ldap3 is not installed"), "{text}");
}

#[tokio::test]
async fn a_missing_program_is_unavailable() {
    let mut e = SubprocessEngine::new(
        "ghost",
        vec!["/nonexistent/engine".into()],
        Duration::from_secs(5),
    )
    .unwrap();
    let text = e.hello().await.unwrap_err().to_string();
    assert!(
        text.starts_with("engine ghost could not be run: cannot start /nonexistent/engine"),
        "{text}"
    );
    assert!(SubprocessEngine::new("empty", vec![], Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn a_hanging_engine_times_out_and_is_killed() {
    let pid_file = std::env::temp_dir().join(format!("harness-hang-{}.pid", std::process::id()));
    let script = format!(
        "import os, time; open({:?}, 'w').write(str(os.getpid())); time.sleep(60)",
        pid_file.display().to_string()
    );
    let started = Instant::now();
    let e = engine(&script, Duration::from_secs(1))
        .hello()
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::Timeout { seconds: 1, .. }), "{e}");
    assert_eq!(e.to_string(), "engine tiny did not answer within 1 s");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The child must not outlive the step: kill_on_drop sends SIGKILL; give the kernel
    // a moment to reap it.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_dir.exists() && !is_zombie(&proc_dir) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !proc_dir.exists() || is_zombie(&proc_dir),
        "engine {pid} still runs"
    );
    std::fs::remove_file(&pid_file).ok();
}

fn is_zombie(proc_dir: &Path) -> bool {
    std::fs::read_to_string(proc_dir.join("stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// A broken engine fails the scenario with a message naming the engine, and the next
/// scenario still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_engine_fails_its_scenarios_not_the_run() {
    let e = engine(
        "import sys; sys.stdin.read(); print('{\"contract\": \"fake-dc-engine/1\"}')",
        Duration::from_secs(20),
    );
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    for name in ["tls-strict-ca-signed", "sign-in-pass-through-outcomes"] {
        let file = scenarios.join(format!("{name}.yaml"));
        let result = suite::run_one(&file, &e, SnapshotMode::Ignore).await;
        let Verdict::Failed(failures) = &result.verdict else {
            panic!("{name}: {:?}", result.verdict);
        };
        assert!(
            failures[0].contains("engine tiny broke the contract: ")
                && failures[0].contains("missing field"),
            "{name}: {failures:?}"
        );
    }
    assert_eq!(e.name(), "tiny");
}
