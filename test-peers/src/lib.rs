//! Tests that talk to a real peer (python-ldap3, OpenLDAP's command-line tools) find it
//! here, the same way every time. Nothing here skips: a missing peer panics with a message
//! that names `scripts/setup-test-env`, which installs every peer (and which
//! `scripts/test`, the README's test command, runs first).

use std::path::{Path, PathBuf};

pub mod samba;

/// What a test says when a peer is missing.
pub const SETUP_HINT: &str =
    "run scripts/setup-test-env once (scripts/test does it before running the tests)";

/// The repository's root: this crate sits one level below it.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The interpreter of the tests' virtual environment (`target/venv`), which has the
/// pinned packages of `scripts/requirements-test.txt`. Never the system interpreter, so a
/// test cannot pass or fail on what happens to be installed there.
pub fn python() -> PathBuf {
    let python = workspace_root().join("target/venv/bin/python3");
    assert!(
        python.is_file(),
        "the tests' Python environment {} is missing: {SETUP_HINT}",
        python.display()
    );
    python
}

/// `python()` as a word of a shell-like command line (the engine contract's `--engine`).
pub fn python_word() -> String {
    let path = python().display().to_string();
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        path
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    }
}

/// A system tool installed by the setup (e.g. `ldapsearch` from ldap-utils), by its path.
pub fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => path,
        None => panic!("{name} is not installed (not on PATH): {SETUP_HINT}"),
    }
}
