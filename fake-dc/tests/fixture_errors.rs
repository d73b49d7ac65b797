//! One test per class of fixture error: each names the file, line and column and the
//! offending name, and a file's problems are all reported together.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly on broken fixtures
use fake_dc::fixture::{load_str, LoadOptions, Problem};

fn problems(yaml: &str) -> Vec<Problem> {
    match load_str(yaml, "bad.yaml", LoadOptions::default()) {
        Ok(_) => panic!("fixture unexpectedly loaded:\n{yaml}"),
        Err(e) => e.problems(),
    }
}

/// Asserts exactly one problem at `line:column` whose message contains every needle.
fn check(yaml: &str, line: usize, column: usize, needles: &[&str]) {
    let ps = problems(yaml);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    let p = &ps[0];
    let text = p.to_string();
    let pos = p
        .position
        .unwrap_or_else(|| panic!("no position in {text}"));
    assert_eq!((pos.line, pos.column), (line, column), "{text}");
    assert!(
        text.starts_with(&format!("bad.yaml:{line}:{column}: ")),
        "{text}"
    );
    for n in needles {
        assert!(text.contains(n), "{text:?} does not mention {n:?}");
    }
}

const HEAD: &str = "domains:\n  - dns: corp.example.test\n";

#[test]
fn bad_yaml() {
    check(
        &format!("{HEAD}    users: [ {{ cn: a }}\n    x: : y\n"),
        4,
        5,
        &["did not find expected"],
    );
}

#[test]
fn unknown_field() {
    check(
        &format!("{HEAD}    users:\n      - cn: a\n        sAMAcountName: a\n"),
        5,
        9,
        &["unknown field `sAMAcountName`", "expected one of"],
    );
}

#[test]
fn duplicate_sam_account_name() {
    let yaml = format!("{HEAD}    users:\n      - {{ cn: Ann One, sAMAccountName: ann }}\n      - {{ cn: Ann Two, sAMAccountName: ann }}\n");
    check(
        &yaml,
        5,
        24,
        &[
            "sAMAccountName 'ann' is already in use",
            "domains[0].users[1].sAMAccountName",
        ],
    );
}

#[test]
fn duplicate_user_principal_name() {
    let yaml = format!(
        "{HEAD}    users:\n      - {{ cn: A, userPrincipalName: x@corp.example.test }}\n      - {{ cn: B, userPrincipalName: x@corp.example.test }}\n"
    );
    check(
        &yaml,
        5,
        18,
        &["userPrincipalName 'x@corp.example.test' is already in use"],
    );
}

#[test]
fn duplicate_dn() {
    let yaml = format!("{HEAD}    users:\n      - {{ cn: Same, sAMAccountName: s1 }}\n      - {{ cn: same, sAMAccountName: s2 }}\n");
    check(
        &yaml,
        5,
        11,
        &["an object named CN=same,CN=Users,DC=corp,DC=example,DC=test already exists"],
    );
}

#[test]
fn member_that_points_nowhere() {
    let yaml = format!("{HEAD}    groups:\n      - cn: G\n        members: [nobody]\n");
    check(
        &yaml,
        5,
        19,
        &[
            "member 'nobody' points nowhere",
            "domains[0].groups[0].members[0]",
        ],
    );
}

#[test]
fn ambiguous_member() {
    let yaml = format!(
        "{HEAD}    ous:\n      - name: A\n        users: [{{ cn: Twin, sAMAccountName: t1 }}]\n      - name: B\n        users: [{{ cn: Twin, sAMAccountName: t2 }}]\n    groups:\n      - {{ cn: G, members: [Twin] }}\n"
    );
    check(&yaml, 9, 28, &["'Twin' is ambiguous: 2 objects"]);
}

#[test]
fn bad_dn() {
    let yaml = format!("{HEAD}    groups:\n      - cn: G\n        members: [\"CN=x,=broken\"]\n");
    check(
        &yaml,
        5,
        19,
        &[
            "'CN=x,=broken' is not a distinguished name",
            "expected an attribute type",
        ],
    );
}

#[test]
fn bad_read_scope() {
    let yaml = format!("{HEAD}    users:\n      - cn: svc\n        readScopes: [\"OU=Nowhere,DC=corp,DC=example,DC=test\"]\n");
    check(
        &yaml,
        5,
        22,
        &["read scope 'OU=Nowhere,DC=corp,DC=example,DC=test' does not exist"],
    );
}

#[test]
fn dynamic_list_base_that_does_not_exist() {
    let yaml = format!("{HEAD}    dynamicLists:\n      - cn: L\n        filter: \"(mail=*)\"\n        base: \"OU=Nowhere,DC=corp,DC=example,DC=test\"\n");
    check(
        &yaml,
        6,
        9,
        &["base 'OU=Nowhere,DC=corp,DC=example,DC=test' does not exist"],
    );
}

#[test]
fn bad_filter() {
    let yaml = format!("{HEAD}    dynamicLists:\n      - cn: L\n        filter: \"(&(mail=*)\"\n");
    check(
        &yaml,
        5,
        9,
        &["bad filter '(&(mail=*)'", "unbalanced parentheses"],
    );
}

#[test]
fn bad_guid_and_domain_name() {
    check(
        &format!("{HEAD}    users:\n      - {{ cn: a, objectGUID: nope }}\n"),
        4,
        18,
        &["'nope' is not a GUID"],
    );
    check(
        "domains:\n  - dns: \"bad domain\"\n",
        2,
        5,
        &["'bad domain' is not a DNS domain name"],
    );
}

#[test]
fn all_problems_of_a_file_at_once() {
    let yaml = format!(
        "{HEAD}    users:\n      - {{ cn: A, sAMAccountName: dup }}\n      - {{ cn: B, sAMAccountName: dup }}\n    groups:\n      - {{ cn: G, members: [ghost, A, phantom] }}\n    dynamicLists:\n      - {{ cn: L, filter: \"(((\" }}\n"
    );
    let ps = problems(&yaml);
    let lines: Vec<String> = ps.iter().map(ToString::to_string).collect();
    assert_eq!(ps.len(), 4, "{lines:#?}");
    assert!(
        lines.iter().all(|l| l.starts_with("bad.yaml:")),
        "{lines:#?}"
    );
    for needle in [
        "'dup' is already in use",
        "'ghost' points nowhere",
        "'phantom' points nowhere",
        "bad filter '((('",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "missing {needle}: {lines:#?}"
        );
    }
}

#[test]
fn check_command_exits_non_zero_and_prints_places() {
    let dir = std::env::temp_dir().join(format!("fake-dc-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        format!("{HEAD}    groups:\n      - {{ cn: G, members: [ghost] }}\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fake-dc"))
        .arg("check")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    // The verdict and its problems in one stream, the problem right under its file.
    let problem = format!("{}:4:28: member 'ghost' points nowhere", bad.display());
    let verdict = stdout
        .lines()
        .position(|l| l.starts_with("FAIL") && l.contains("bad.yaml"));
    let at = stdout.lines().position(|l| l.contains(&problem));
    assert!(
        verdict.is_some() && at == verdict.map(|v| v + 1),
        "{stdout}"
    );
    assert!(stdout.contains("1 fixtures checked, 1 failed"), "{stdout}");
    let good = std::process::Command::new(env!("CARGO_BIN_EXE_fake-dc"))
        .args([
            "check",
            "../fixtures/small-org.yaml",
            "../fixtures/two-domain-forest.yaml",
        ])
        .output()
        .unwrap();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn query_policy_values_are_checked_by_name() {
    check(
        &format!("queryPolicy:\n  MaxPageSize: 0\n{HEAD}"),
        2,
        3,
        &["MaxPageSize must be at least 1"],
    );
    check(
        &format!("queryPolicy:\n  MaxPagesize: 10\n{HEAD}"),
        2,
        3,
        &["unknown field `MaxPagesize`", "MaxPageSize"],
    );
}

#[test]
fn query_policy_is_read_from_the_fixture() {
    let dir = load_str(
        &format!("queryPolicy: {{ MaxPageSize: 250, MaxQueryDuration: 5 }}\n{HEAD}"),
        "policy.yaml",
        LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(dir.query_policy.max_page_size, 250);
    assert_eq!(dir.query_policy.max_query_duration.as_secs(), 5);
    assert_eq!(dir.query_policy.max_val_range, 1_500);
}

/// Found by fuzzing: a refused domain before a valid one used to panic the loader.
#[test]
fn a_refused_domain_before_a_valid_one() {
    check(
        "domains:\n  - dns: co\"rp.example.test\n  - dns: emea.corp.example.test\n",
        2,
        5,
        &[
            "'co\"rp.example.test' is not a DNS domain name",
            "domains[0].dns",
        ],
    );
}

/// Found by fuzzing: serde_yaml refuses a second document without a location, so the
/// loader points at the `---` that starts it.
#[test]
fn a_second_document() {
    check(
        "domains:\n  - dns: corp.example.test\n---\ndomains: []\n",
        3,
        1,
        &["more than one document"],
    );
}

/// Found by fuzzing: a key indented less than the mapping before it starts a second
/// document for serde_yaml, again without a location.
#[test]
fn a_dedented_key_starting_a_second_document() {
    check("  domains:\nseed: 1\n", 2, 5, &["more than one document"]);
}

/// `serve` and `export-ldif` on a fixture that does not load could not run at all: exit
/// 2 (1 is `check`'s verdict), with the file, line and column on standard error.
#[test]
fn serve_and_export_of_a_broken_fixture_exit_2_naming_the_place() {
    let dir = std::env::temp_dir().join(format!("fake-dc-exit2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.yaml");
    std::fs::write(&bad, "domains:\n  - name: [\n").unwrap();
    for args in [vec!["serve", "--ports", "auto"], vec!["export-ldif"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fake-dc"))
            .args(&args)
            .arg(&bad)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("broken.yaml:"), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
