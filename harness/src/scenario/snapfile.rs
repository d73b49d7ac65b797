//! Snapshot files of scenario transcripts, in insta's `.snap` format so that the test
//! suite (insta) and `harness run` read and write the same files, and `cargo insta
//! review` works on both.

use std::path::{Path, PathBuf};

/// Where a scenario's snapshot lives: `<scenario dir>/snapshots/<name>.snap`.
pub fn path_for(scenario: &Path) -> PathBuf {
    let dir = scenario.parent().unwrap_or(Path::new("."));
    let name = scenario
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    dir.join("snapshots").join(format!("{name}.snap"))
}

/// Removes what changes from run to run (loopback ports) and trailing space, so a
/// transcript compares equal across machines.
pub fn normalize(transcript: &str) -> String {
    // Loopback ports, and the wall-clock times a TLS library prints when it refuses a
    // certificate (certificates are made at start-up, so those times move every run).
    let redactions = [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (
            r"verification time \d+ \(UNIX\)",
            "verification time [time] (UNIX)",
        ),
        (
            r"not valid (after|before) \d+ \(\d+ seconds (ago|from now)\)",
            "not valid $1 [time] ([n] seconds $2)",
        ),
    ];
    let mut text = transcript.to_string();
    for (pattern, replacement) in redactions {
        if let Ok(re) = regex::Regex::new(pattern) {
            text = re.replace_all(&text, replacement).into_owned();
        }
    }
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

/// The body of a snapshot file (after insta's `---` header), or `None` if it is absent.
pub fn read(path: &Path) -> std::io::Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(body(&text)))
}

fn body(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    if let Some(rest) = text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            return normalize(&rest[end + 5..]);
        }
    }
    normalize(&text)
}

/// Writes a snapshot file with an insta-compatible header.
pub fn write(path: &Path, scenario: &Path, transcript: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let input = scenario
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let text = format!(
        "---\nsource: tests/tests/scenarios.rs\ninput_file: scenarios/{input}\n---\n{}\n",
        normalize(transcript)
    );
    std::fs::write(path, text)
}

/// A line diff of two transcripts, `-` old, `+` new, with three lines of context.
pub fn diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("snapshot", "this run")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_skip_the_header_and_ports() {
        let file = "---\nsource: x\nexpression: y\n---\nhost 127.0.0.1:4242 up\nline  \n\n";
        assert_eq!(body(file), "host 127.0.0.1:[port] up\nline");
        // A DC's port is the configured one, so it stays: only loopback ports move.
        let unreachable = "dc1.corp.example.test:636: cannot be reached: 127.0.0.1:4242: refused";
        assert_eq!(
            normalize(unreachable),
            "dc1.corp.example.test:636: cannot be reached: 127.0.0.1:[port]: refused"
        );
        assert!(diff("a\nb\n", "a\nc\n").contains("-b\n+c"));
    }
}
