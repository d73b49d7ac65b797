//! Shape reports of the shipped fixtures: the numbers each fixture's comments promise,
//! as JSON (which reads back equal) and as text; and `fake-dc shape` end to end.

#![allow(clippy::unwrap_used)] // tests fail loudly on broken fixtures

use std::path::Path;
use std::process::Command;

use fake_dc::fixture::{load_file, LoadOptions};
use fake_dc::shape::Shape;

fn shape(name: &str) -> Shape {
    let dir = load_file(
        Path::new(&format!("../fixtures/{name}.yaml")),
        LoadOptions {
            fixed_time: Some(1_760_000_000),
        },
    )
    .unwrap();
    Shape::of(&dir)
}

#[test]
fn small_org_shape_has_what_the_fixture_promises() {
    let s = shape("small-org");
    assert_eq!(s.domains.len(), 1);
    // 54 hand-written users, 1,600 contractors, Administrator, Guest and krbtgt.
    assert_eq!(s.objects["user"], s.users());
    assert!(
        s.users() > 1600 + 50 && s.users() < 1600 + 65,
        "{}",
        s.users()
    );
    assert_eq!(s.objects["contact"], 2);
    // Every account state of the fixture, once each but disabled; Administrator must
    // change its password (pwdLastSet 0) as Hugo must.
    for state in ["locked-out", "password-expired", "account-expired"] {
        assert_eq!(s.account_states[state], 1, "{state}");
    }
    assert_eq!(s.account_states["must-change-password"], 2);
    // Pavel and Bea, Guest and krbtgt, and about 5% of 1,600 contractors.
    let disabled = s.account_states["disabled"];
    assert!((4 + 50..=4 + 110).contains(&disabled), "{disabled}");
    // OU=Staff > OU=Engineering …; OU=Contractors > 4 leaves.
    assert_eq!(s.ou_depth[&2], 5 + 4);
    // One group holds all 1,600 contractors: past AD's 1,500-value range.
    assert_eq!(s.groups.past_range, vec![1600]);
    assert_eq!(s.groups.sizes["1501-4999"], 1);
    // Infra Team and Platform Team hold each other; All Staff > Engineering Team > the
    // cycle > … is the longest chain.
    assert_eq!((s.groups.cycles, s.groups.groups_in_cycles), (1, 2));
    assert!(
        s.groups.max_nesting_depth >= 4,
        "{}",
        s.groups.max_nesting_depth
    );
    // ops@ is claimed by Ivo and Jana.
    assert_eq!(s.addresses.duplicates, 1);
    assert_eq!(s.addresses.objects_with_duplicates, 2);
    assert_eq!(s.addresses.users_without_mail, 3 + 3 + 2);
    for (class, n) in [
        ("semicolon", 1),
        ("equals", 1),
        ("plus", 1),
        ("backslash", 1),
        ("leading-hash", 1),
        ("edge-space", 1),
        ("quote", 1),
        ("angle-bracket", 1),
        ("cjk", 1),
    ] {
        assert_eq!(s.special_characters[class], n, "{class}");
    }
    // "Smith, John" and the OU "R&D, Europe".
    assert_eq!(s.special_characters["comma"], 2);
    assert!(s.special_characters["non-ascii"] > 6);
    assert_eq!(s.cross_domain.foreign_security_principals, 1);
    assert_eq!(s.cross_domain.foreign_memberships, 1);
    assert_eq!(s.cross_domain.members, 0);
    assert_eq!((s.dynamic_lists.count, s.dynamic_lists.scoped), (1, 1));
    // Maya has two smtp: aliases, Alice two (and an X500), Carol one.
    assert!(s.aliases_per_user[&2] >= 2);
    assert_eq!(s.addresses.proxy_prefixes["X500"], 1);
}

#[test]
fn two_domain_forest_shape_counts_members_across_domains() {
    let s = shape("two-domain-forest");
    assert_eq!(
        s.domains.iter().map(|d| d.level).collect::<Vec<_>>(),
        vec![0, 1]
    );
    // Global Staff holds Dieter, Eva and EMEA Sales; EMEA Sales holds Bob.
    assert_eq!(s.cross_domain.members, 4);
    assert_eq!(s.cross_domain.groups, 2);
    assert_eq!(s.groups.max_nesting_depth, 2);
    assert_eq!(s.groups.cycles, 0);
    insta::assert_snapshot!("two_domain_forest_text", s.to_text());
}

#[test]
fn a_shape_is_a_few_kilobytes_of_json_that_reads_back_equal() {
    let s = shape("small-org");
    let json = s.to_json();
    assert!(json.len() < 4096, "{} bytes", json.len());
    assert!(
        json.contains("\"pastRange\": [\n      1600\n    ]"),
        "{json}"
    );
    assert_eq!(Shape::from_json(&json, "s.json").unwrap(), s);
    let e = Shape::from_json("{\"format\": \"fake-dc-shape/1\"}", "s.json").unwrap_err();
    assert!(e.to_string().starts_with("s.json:1:"), "{e}");
}

#[test]
fn fake_dc_shape_prints_text_and_json() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fake-dc"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text, err) = run(&["shape", "../fixtures/two-domain-forest.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("Shape: 2 domain(s)"), "{text}");
    assert!(text.contains("cross-domain members"), "{text}");
    let (code, json, err) = run(&["shape", "--json", "../fixtures/two-domain-forest.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        Shape::from_json(&json, "stdout").unwrap(),
        shape("two-domain-forest")
    );
    let (code, _, err) = run(&["shape", "no-such-file.yaml"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no-such-file.yaml"), "{err}");
}

#[test]
fn every_count_of_a_table_stands_in_one_column_however_long_its_name() {
    let text = shape("small-org").to_text();
    let classes: Vec<&str> = text
        .split("Objects by class\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(
        classes
            .iter()
            .any(|l| l.contains("msExchDynamicDistributionList")),
        "{text}"
    );
    let ends: std::collections::BTreeSet<usize> =
        classes.iter().map(|l| l.chars().count()).collect();
    assert_eq!(ends.len(), 1, "counts out of their column:\n{text}");
}
