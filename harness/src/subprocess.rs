//! A sync engine that is another program: [`SubprocessEngine`] speaks the contract of
//! [`engine_contract::message`] with a fresh process per request.
//!
//! A process per request (rather than one long-lived process) keeps engines trivial to
//! write in any language and makes every step independent: an engine that crashes, hangs
//! or prints garbage fails that step, with a message naming the engine, and the next step
//! starts clean. Starting a process costs a few tens of milliseconds, small beside an
//! LDAP extraction.
//!
//! How each way of breaking the contract is reported:
//!
//! | what happened | error |
//! |---|---|
//! | the program cannot be started, or exits non-zero | [`EngineError::Unavailable`] |
//! | no answer and exit within the step timeout (the process is killed) | [`EngineError::Timeout`] |
//! | empty or malformed JSON, another contract version, a missing or mistyped field | [`EngineError::Contract`] |
//!
//! Each message ends with the last lines the engine wrote on standard error, which is
//! where an engine explains itself.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use engine_contract::engine::{
    EngineError, SignInRequest, SignInResult, SyncEngine, SyncRequest, SyncResponse,
};
use engine_contract::message::{
    HelloAnswer, Request, RequestMessage, SignInAnswer, SyncAnswer, CONTRACT,
};

/// How many trailing lines of an engine's standard error go into an error message.
const STDERR_LINES: usize = 5;

/// A sync engine run as a program, one process per request.
#[derive(Debug, Clone)]
pub struct SubprocessEngine {
    /// The name used in tables and error messages (from `--engine-name`, else the
    /// engine's own answer to `hello`, else the program's file name).
    name: String,
    /// The program and its arguments, already split.
    command: Vec<String>,
    /// The longest one request may take, start to exit.
    timeout: Duration,
    /// The scenarios the engine claims; `None` until [`SubprocessEngine::hello`] asked,
    /// and then every scenario is treated as claimed (a test driving the adapter directly
    /// has no use for claims).
    claims: Option<BTreeSet<String>>,
}

impl SubprocessEngine {
    /// An engine run as `command` (program first). Fails when `command` is empty.
    pub fn new(
        name: impl Into<String>,
        command: Vec<String>,
        timeout: Duration,
    ) -> Result<Self, EngineError> {
        let name = name.into();
        if command.first().is_none_or(|p| p.is_empty()) {
            return Err(EngineError::Unavailable {
                engine: name,
                reason: "no command given".into(),
            });
        }
        Ok(Self {
            name,
            command,
            timeout,
            claims: None,
        })
    }

    /// Splits a command line the way a POSIX shell would (quotes and backslashes, no
    /// expansion), e.g. `python3 engines/python/engine.py --break ranged-retrieval`.
    pub fn split_command(line: &str) -> Option<Vec<String>> {
        shlex::split(line).filter(|words| !words.is_empty())
    }

    /// The program's file name, a fallback engine name.
    pub fn program_name(&self) -> String {
        self.command
            .first()
            .and_then(|p| std::path::Path::new(p).file_name())
            .map_or_else(|| self.name.clone(), |n| n.to_string_lossy().into_owned())
    }

    /// Asks the engine who it is and what it claims, and remembers the claims. The name
    /// it gives is returned, not adopted: the caller decides (a `--engine-name` wins).
    pub async fn hello(&mut self) -> Result<HelloAnswer, EngineError> {
        let answer: HelloAnswer = self.exchange(Request::Hello).await?;
        self.claims = Some(answer.claims.iter().cloned().collect());
        Ok(answer)
    }

    /// Renames the engine (e.g. after `hello`).
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// One request, one process, one answer.
    async fn exchange<T: DeserializeOwned>(&self, body: Request<'_>) -> Result<T, EngineError> {
        let kind = body.kind();
        let message = serde_json::to_vec(&RequestMessage::new(body))
            .map_err(|e| self.contract(format!("cannot encode the {kind} request: {e}"), ""))?;
        let run = self.run_process(message);
        let (status, stdout, stderr) = match tokio::time::timeout(self.timeout, run).await {
            Ok(result) => result?,
            // Dropping the future drops the child, and `kill_on_drop` kills it.
            Err(_) => {
                return Err(EngineError::Timeout {
                    engine: self.name.clone(),
                    seconds: self.timeout.as_secs().max(1),
                })
            }
        };
        let stderr = String::from_utf8_lossy(&stderr);
        if !status.success() {
            return Err(EngineError::Unavailable {
                engine: self.name.clone(),
                reason: format!("{kind}: exited with {status}{}", stderr_tail(&stderr)),
            });
        }
        parse_answer(&stdout, kind).map_err(|reason| self.contract(reason, &stderr))
    }

    /// Starts the program, feeds it `message`, and collects its exit status and output.
    async fn run_process(
        &self,
        message: Vec<u8>,
    ) -> Result<(std::process::ExitStatus, Vec<u8>, Vec<u8>), EngineError> {
        let unavailable = |reason: String| EngineError::Unavailable {
            engine: self.name.clone(),
            reason,
        };
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| unavailable("no command given".into()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| unavailable(format!("cannot start {program}: {e}")))?;
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(unavailable(
                "its standard streams could not be opened".into(),
            ));
        };
        // Write and read at once: a large request fills the pipe, and an engine that
        // answers (or complains) before reading all of it must not deadlock us.
        let write = async move {
            // An engine may exit without reading its input (a broken pipe here); its exit
            // status and output then say what happened, so the write error adds nothing.
            let _ = stdin.write_all(&message).await;
            let _ = stdin.write_all(b"\n").await;
            drop(stdin);
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (_, out_read, err_read) = tokio::join!(
            write,
            stdout.read_to_end(&mut out),
            stderr.read_to_end(&mut err)
        );
        out_read.map_err(|e| unavailable(format!("cannot read its output: {e}")))?;
        err_read.map_err(|e| unavailable(format!("cannot read its error output: {e}")))?;
        let status = child
            .wait()
            .await
            .map_err(|e| unavailable(format!("cannot wait for it: {e}")))?;
        Ok((status, out, err))
    }

    fn contract(&self, reason: String, stderr: &str) -> EngineError {
        EngineError::Contract {
            engine: self.name.clone(),
            reason: format!("{reason}{}", stderr_tail(stderr)),
        }
    }
}

/// Checks the contract version, then reads the answer's fields.
fn parse_answer<T: DeserializeOwned>(stdout: &[u8], kind: &str) -> Result<T, String> {
    let text = String::from_utf8_lossy(stdout);
    if text.trim().is_empty() {
        return Err(format!(
            "{kind}: no answer on standard output (expected one JSON object)"
        ));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{kind}: the answer is not JSON ({e}); it began {:?}",
            text.chars().take(80).collect::<String>()
        )
    })?;
    // The version first: an answer for another version may differ anywhere, and its
    // field errors would only mislead.
    match value.get("contract") {
        Some(serde_json::Value::String(v)) if v == CONTRACT => {}
        Some(serde_json::Value::String(v)) => {
            return Err(format!(
                "{kind}: the answer is for contract {v:?}; this harness speaks {CONTRACT:?}"
            ))
        }
        Some(other) => {
            return Err(format!(
                "{kind}: \"contract\" must be the string {CONTRACT:?}, found {other}"
            ))
        }
        None => {
            return Err(format!(
                "{kind}: the answer has no \"contract\" field (expected {CONTRACT:?})"
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| format!("{kind}: {e}"))
}

/// `"; stderr: …"` with the last few non-empty lines, or nothing.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(STDERR_LINES)..];
    format!("; stderr: {}", tail.join(" | "))
}

impl SyncEngine for SubprocessEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn claims(&self, scenario: &str) -> bool {
        self.claims.as_ref().is_none_or(|c| c.contains(scenario))
    }

    fn sync<'a>(
        &'a self,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncResponse, EngineError>> {
        Box::pin(async move {
            let answer: SyncAnswer = self
                .exchange(Request::Sync {
                    request: Cow::Borrowed(request),
                })
                .await?;
            Ok(answer.response)
        })
    }

    fn sign_in<'a>(
        &'a self,
        request: &'a SignInRequest,
    ) -> BoxFuture<'a, Result<(SignInResult, String), EngineError>> {
        Box::pin(async move {
            let answer: SignInAnswer = self
                .exchange(Request::SignIn {
                    request: Cow::Borrowed(request),
                })
                .await?;
            Ok((answer.result, answer.detail))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_for_version_before_fields() {
        let wrong = br#"{"contract": "fake-dc-engine/2", "whatever": 1}"#;
        let e = parse_answer::<HelloAnswer>(wrong, "hello").unwrap_err();
        assert!(
            e.contains("\"fake-dc-engine/2\"") && e.contains(CONTRACT),
            "{e}"
        );
        let missing = br#"{"contract": "fake-dc-engine/1", "name": "x"}"#;
        let e = parse_answer::<HelloAnswer>(missing, "hello").unwrap_err();
        assert!(e.contains("missing field `claims`"), "{e}");
        let e = parse_answer::<HelloAnswer>(br#"{"name": "x"}"#, "hello").unwrap_err();
        assert!(e.contains("no \"contract\" field"), "{e}");
        let e = parse_answer::<HelloAnswer>(b"  \n", "hello").unwrap_err();
        assert!(e.contains("no answer"), "{e}");
        let e = parse_answer::<HelloAnswer>(b"Traceback (most", "hello").unwrap_err();
        assert!(e.contains("not JSON") && e.contains("Traceback"), "{e}");
    }

    #[test]
    fn commands_split_like_a_shell_and_keep_their_quotes() {
        assert_eq!(
            SubprocessEngine::split_command("python3 'my engine.py' --break \"ranged retrieval\""),
            Some(vec![
                "python3".to_string(),
                "my engine.py".into(),
                "--break".into(),
                "ranged retrieval".into()
            ])
        );
        assert_eq!(SubprocessEngine::split_command("  "), None);
        assert_eq!(SubprocessEngine::split_command("python3 'unclosed"), None);
    }

    #[test]
    fn stderr_tail_keeps_the_last_lines() {
        let text = (1..=8).map(|i| format!("line {i}\n")).collect::<String>();
        assert_eq!(
            stderr_tail(&text),
            "; stderr: line 4 | line 5 | line 6 | line 7 | line 8"
        );
        assert_eq!(stderr_tail("\n \n"), "");
    }
}
