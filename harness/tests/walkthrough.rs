//! `docs/reproduce-a-customer.md`, followed literally: every `sh` block of the walkthrough
//! runs, in order, in one bash session (`set -euo pipefail`) with the built `fake-dc` and
//! `harness` first on PATH, in a scratch folder laid out like a clone (`fixtures/` and
//! `fake-dc/tests/data/` beside `customer/`); every `text` block after a command block
//! must match lines of what that block printed, `…` standing for any text. A command
//! renamed, a flag dropped or an output changed fails here, not in a reader's terminal.
//!
//! The `sh build` block (cargo build, PATH, `mkdir customer && cd customer`) is the one
//! not run as written: the test's own binaries stand in for the build.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fenced block of the walkthrough: its info string and its lines.
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    text: String::new(),
                    line: n + 1,
                })
            }
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(b), _) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a code block is never closed");
    out
}

/// The `fake-dc` binary next to the test's `harness`, built when missing (a
/// `cargo test -p harness` builds only harness's own binaries).
fn fake_dc_binary() -> PathBuf {
    let harness = PathBuf::from(env!("CARGO_BIN_EXE_harness"));
    let dir = harness.parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let profile = if dir.ends_with("release") {
        vec!["--release"]
    } else {
        vec![]
    };
    // Cheap when it is up to date; keeps a stale fake-dc from passing for a new one.
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "fake-dc", "--bin", "fake-dc"])
        .args(profile)
        .current_dir(repo())
        .status()
        .expect("running cargo to build fake-dc");
    assert!(status.success(), "cargo build -p fake-dc failed");
    dir.join("fake-dc")
}

/// Whether `expected` (with `…` for any text) matches one line of `output`, its parts in
/// order.
fn line_matches(expected: &str, output: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').collect();
    output.lines().any(|line| {
        let mut rest = line;
        for (i, part) in parts.iter().enumerate() {
            if i == 0 {
                let Some(r) = rest.strip_prefix(part) else {
                    return false;
                };
                rest = r;
            } else {
                let Some(at) = rest.find(part) else {
                    return false;
                };
                rest = &rest[at + part.len()..];
            }
        }
        parts.len() > 1 || rest.is_empty()
    })
}

#[test]
fn the_reproduce_a_customer_walkthrough_works_as_written() {
    let doc_path = repo().join("docs/reproduce-a-customer.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let all = blocks(&doc);
    let build: Vec<&Block> = all.iter().filter(|b| b.info == "sh build").collect();
    assert_eq!(build.len(), 1, "the walkthrough has one `sh build` block");
    assert!(
        build[0].text.contains("cd customer"),
        "the build block makes and enters customer/"
    );
    for tool in ["openssl", "bash", "grep", "diff"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .unwrap()
            .status
            .success();
        assert!(
            found,
            "the walkthrough needs {tool}: run scripts/setup-test-env"
        );
    }

    // The script: each `sh` block after a marker naming it, so its output can be cut out.
    let mut script = String::from("set -euo pipefail\n");
    let mut runs: Vec<(usize, Vec<&Block>)> = Vec::new();
    for b in &all {
        match b.info.as_str() {
            "sh" => {
                script.push_str(&format!("echo '@@@ block {}'\n{}", runs.len(), b.text));
                runs.push((b.line, Vec::new()));
            }
            "text" => match runs.last_mut() {
                Some((_, outputs)) => outputs.push(b),
                None => panic!("line {}: output shown before any command", b.line),
            },
            "sh build" => {}
            other => panic!("line {}: a block of unknown kind '{other}'", b.line),
        }
    }
    assert!(runs.len() >= 10, "the walkthrough lost its commands");

    let fake_dc = fake_dc_binary();
    let scratch = std::env::temp_dir().join(format!("walkthrough-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("fake-dc/tests")).unwrap();
    std::fs::create_dir_all(scratch.join("customer")).unwrap();
    std::os::unix::fs::symlink(repo().join("fixtures"), scratch.join("fixtures")).unwrap();
    std::os::unix::fs::symlink(
        repo().join("fake-dc/tests/data"),
        scratch.join("fake-dc/tests/data"),
    )
    .unwrap();
    let bin = scratch.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&fake_dc, bin.join("fake-dc")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_harness"), bin.join("harness")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // Its own process group, so the served DC goes with it whatever happens.
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("exec 2>&1\n{script}"))
        .current_dir(scratch.join("customer"))
        .env("PATH", path)
        .env_remove("FAKE_DC_ANONYMIZE_KEY")
        .env_remove("FAKE_DC_CAPTURE_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > Duration::from_secs(180) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{pgid}"))
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let output = reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&scratch);
    let Some(status) = status else {
        panic!("the walkthrough ran past 180 s:\n{output}");
    };
    assert!(
        status.success(),
        "a walkthrough command failed ({status}):\n{output}"
    );

    let mut pieces = output.split("@@@ block ");
    let before = pieces.next().unwrap_or_default();
    assert!(before.trim().is_empty(), "{before}");
    let printed: Vec<&str> = pieces.collect();
    assert_eq!(printed.len(), runs.len(), "{output}");
    for (i, (line, outputs)) in runs.iter().enumerate() {
        let text = printed[i]
            .split_once('\n')
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        for shown in outputs {
            for expected in shown.text.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    line_matches(expected, text),
                    "the block at docs/reproduce-a-customer.md:{line} did not print the line shown at line {}:\n  {expected}\nit printed:\n{text}",
                    shown.line
                );
            }
        }
    }
}

#[test]
fn an_ellipsis_stands_for_any_text_and_nothing_else_is_loose() {
    assert!(line_matches(
        "imported 9 objects in …",
        "imported 9 objects in 2.0ms"
    ));
    assert!(!line_matches(
        "imported 9 objects in …",
        "imported 10 objects in 2ms"
    ));
    assert!(line_matches("a … b … c", "a 1 b 2 c"));
    assert!(!line_matches("a … c", "a 1 b"));
    assert!(line_matches("same shape", "same shape"));
    assert!(!line_matches("same shape", "same shape, almost"));
    assert!(!line_matches("0", "10"));
}
