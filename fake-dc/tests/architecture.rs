//! The shape of the code, held by tests rather than by review: the LDAP server's files
//! import one another without a cycle, so each can be read knowing only the files it
//! names; and no source file grows past [`MAX_LINES`], so each keeps one job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a source file may be, test modules in their own files excepted.
const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Each `server/*.rs` file but `mod.rs`, by module name, with its text.
fn server_files() -> BTreeMap<String, String> {
    let dir = src().join("server");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("fake-dc/src/server is readable") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            if name != "mod" {
                let text = std::fs::read_to_string(&path).expect("a source file is UTF-8");
                files.insert(name.into_owned(), text);
            }
        }
    }
    files
}

/// The lines of a file that are code: comments dropped (a doc link is no import), and
/// the `#[cfg(test)] mod tests` at the end cut off, since its `super::` means the file
/// itself, not a sibling.
fn code(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let next = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty());
        if trimmed == "#[cfg(test)]" && next.is_some_and(|l| l.starts_with("mod ")) {
            break;
        }
        if !trimmed.starts_with("//") {
            out.push(*line);
        }
    }
    out
}

/// The first identifier of `s`.
fn ident(s: &str) -> &str {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The names a path continuing after `super::` starts with: one, or each item of a
/// `{a, b::c, d::{e, f}}` group.
fn heads(rest: &str) -> Vec<&str> {
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident(&group[item_start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident(&group[item_start..i]));
                item_start = i + 1;
            }
            _ => {}
        }
    }
    heads
}

/// Which sibling modules each file refers to, as `super::x` or `crate::server::x`.
/// Names that are not sibling files (`super::Shared`, `super::lock_read`) are items of
/// `mod.rs`, the parent, which is left out: it declares the modules and re-exports them.
fn graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (name, text) in files {
        // A `use` group may span lines: read the file's code as one string.
        let joined = code(text).join("\n");
        let mut edges = BTreeSet::new();
        for prefix in ["super::", "crate::server::"] {
            for (at, _) in joined.match_indices(prefix) {
                for head in heads(&joined[at + prefix.len()..]) {
                    if head != name && files.contains_key(head) {
                        edges.insert(head.to_string());
                    }
                }
            }
        }
        graph.insert(name.clone(), edges);
    }
    graph
}

/// A cycle of the graph as the files along it, the first repeated at the end.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

fn show(graph: &BTreeMap<String, BTreeSet<String>>) -> String {
    graph
        .iter()
        .map(|(from, to)| {
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            format!("  {from}.rs → {}", to.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn server_files_import_one_another_without_a_cycle() {
    let graph = graph(&server_files());
    assert!(
        graph.len() > 10,
        "server files not found:\n{}",
        show(&graph)
    );
    println!("server imports:\n{}", show(&graph));
    if let Some(cycle) = find_cycle(&graph) {
        let cycle: Vec<String> = cycle.iter().map(|n| format!("{n}.rs")).collect();
        panic!(
            "server files import one another in a cycle: {}\nevery import:\n{}",
            cycle.join(" → "),
            show(&graph)
        );
    }
}

#[test]
fn the_cycle_check_finds_grouped_and_crate_paths() {
    let files: BTreeMap<String, String> = [
        ("a", "use super::{b::Thing, lock_read};\n"),
        (
            "b",
            "// use super::a; (a comment imports nothing)\nfn f() { crate::server::c::g(); }\n",
        ),
        (
            "c",
            "use super::{\n    x,\n    a::{self, Y},\n};\n#[cfg(test)]\nmod tests {\n    use super::b;\n}\n",
        ),
        ("x", "use super::x::Z;\n"),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t.to_string()))
    .collect();
    let graph = graph(&files);
    let names = |n: &str| -> Vec<&str> { graph[n].iter().map(String::as_str).collect() };
    assert_eq!(names("a"), ["b"]);
    assert_eq!(names("b"), ["c"]);
    assert_eq!(names("c"), ["a", "x"]);
    assert!(names("x").is_empty());
    assert_eq!(
        find_cycle(&graph),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
}

/// Every `.rs` file under `dir`, test files and `tests/` directories left out.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if path.is_dir() {
            if name != "tests" {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    assert!(
        files.len() > 20,
        "sources not found under {}",
        src().display()
    );
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).expect("a source file is UTF-8");
            let lines = text.lines().count();
            (lines > MAX_LINES).then(|| {
                let shown = path.strip_prefix(src()).unwrap_or(path);
                format!("  {} ({lines} lines)", shown.display())
            })
        })
        .collect();
    long.sort();
    assert!(
        long.is_empty(),
        "split these files into files of one job each (at most {MAX_LINES} lines; unit tests \
         may move to a `tests.rs` beside them):\n{}",
        long.join("\n")
    );
}
