//! The Python package's own tests (python/fake-dc-pytest) under pytest, against this
//! build's binary, so `cargo test` and CI run them; they never skip. The interpreter is
//! target/venv's, which scripts/setup-test-env creates with pytest and ldap3.

use std::path::Path;
use std::process::Command;

#[test]
fn the_pytest_plugins_own_tests_pass_against_the_real_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env (it creates the virtual environment \
         with pytest and ldap3)",
        python.display()
    );
    let package = root.join("python/fake-dc-pytest");
    let output = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-p",
            "fake_dc.plugin",
            "-p",
            "no:cacheprovider",
            "-q",
        ])
        .arg(package.join("tests"))
        .env("FAKE_DC_BIN", env!("CARGO_BIN_EXE_fake-dc"))
        // The package from the checkout, not an installed copy that may be older.
        .env("PYTHONPATH", package.join("src"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pytest failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // Every test ran: none skipped or deselected.
    assert!(stdout.contains("5 passed"), "{stdout}");
    assert!(!stdout.contains("skipped"), "{stdout}");
}
