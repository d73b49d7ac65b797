//! `generate --like`: the fixture generated from a shape has that shape, exactly for
//! what the generator fits exactly and within the tolerances stated here for the rest.

#![allow(clippy::unwrap_used)] // tests fail loudly on broken fixtures

use std::path::Path;
use std::process::Command;

use fake_dc::fixture::{build, load_file, LoadOptions};
use fake_dc::shape::{like, Shape};

const OPTIONS: LoadOptions = LoadOptions {
    fixed_time: Some(1_760_000_000),
};

fn shape_of_file(path: &str) -> Shape {
    Shape::of(&load_file(Path::new(path), OPTIONS).unwrap())
}

fn within(what: &str, want: u64, got: u64, tolerance: f64) {
    let slack = ((want as f64) * tolerance).ceil() as u64 + 1;
    assert!(
        got + slack >= want && got <= want + slack,
        "{what}: want {want}, got {got} (±{slack})"
    );
}

/// The exact part: what a sync engine's behaviour depends on.
fn assert_fits(want: &Shape, got: &Shape) {
    assert_eq!(want.domains, got.domains, "domains");
    assert_eq!(want.account_states, got.account_states, "account states");
    assert_eq!(want.ou_depth, got.ou_depth, "OU depth");
    assert_eq!(want.groups.sizes, got.groups.sizes, "group sizes");
    assert_eq!(
        want.groups.past_range, got.groups.past_range,
        "groups past 1,500"
    );
    assert_eq!(want.groups.kinds, got.groups.kinds, "group kinds");
    assert_eq!(
        want.groups.mail_enabled, got.groups.mail_enabled,
        "mail-enabled groups"
    );
    assert_eq!(
        want.groups.max_nesting_depth, got.groups.max_nesting_depth,
        "nesting depth"
    );
    assert_eq!(want.groups.cycles, got.groups.cycles, "cycles");
    assert_eq!(
        want.groups.groups_in_cycles, got.groups.groups_in_cycles,
        "groups in cycles"
    );
    assert_eq!(
        want.aliases_per_user, got.aliases_per_user,
        "aliases per user"
    );
    assert_eq!(
        want.addresses.users_with_mail, got.addresses.users_with_mail,
        "users with mail"
    );
    assert_eq!(
        want.addresses.duplicates, got.addresses.duplicates,
        "duplicate addresses"
    );
    assert_eq!(want.dynamic_lists, got.dynamic_lists, "dynamic lists");
    assert_eq!(
        want.cross_domain.foreign_security_principals, got.cross_domain.foreign_security_principals,
        "foreign principals"
    );
    assert_eq!(
        want.cross_domain.foreign_memberships, got.cross_domain.foreign_memberships,
        "foreign memberships"
    );
    assert_eq!(
        want.special_characters, got.special_characters,
        "special characters"
    );
    // Within tolerances: the groups holding groups (±25%), memberships across domains
    // (±25%), objects claiming a duplicate address (±50%).
    within(
        "groups holding groups",
        want.groups.nesting_groups,
        got.groups.nesting_groups,
        0.25,
    );
    within(
        "cross-domain members",
        want.cross_domain.members,
        got.cross_domain.members,
        0.25,
    );
    within(
        "objects with duplicates",
        want.addresses.objects_with_duplicates,
        got.addresses.objects_with_duplicates,
        0.5,
    );
}

#[test]
fn a_fixture_generated_like_small_org_has_its_shape() {
    let want = shape_of_file("../fixtures/small-org.yaml");
    let fixture = like(&want, 7).unwrap();
    let got = Shape::of(&build(&fixture, OPTIONS).unwrap_or_else(|p| panic!("{p:?}")));
    assert_fits(&want, &got);
}

#[test]
fn a_fixture_generated_like_the_two_domain_forest_has_its_shape() {
    let want = shape_of_file("../fixtures/two-domain-forest.yaml");
    let fixture = like(&want, 1).unwrap();
    let got = Shape::of(&build(&fixture, OPTIONS).unwrap_or_else(|p| panic!("{p:?}")));
    assert_fits(&want, &got);
}

#[test]
fn a_fixture_generated_like_the_customer_has_its_shape() {
    let want = shape_of_file("tests/fixtures/customer.yaml");
    let fixture = like(&want, 3).unwrap();
    let got = Shape::of(&build(&fixture, OPTIONS).unwrap_or_else(|p| panic!("{p:?}")));
    assert_fits(&want, &got);
}

#[test]
fn fake_dc_generate_like_writes_a_fixture_that_loads() {
    let dir = std::env::temp_dir().join(format!("fake-dc-like-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let want = shape_of_file("../fixtures/two-domain-forest.yaml");
    let shape_file = dir.join("shape.json");
    std::fs::write(&shape_file, want.to_json()).unwrap();
    let out_file = dir.join("like.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_fake-dc"))
        .args(["generate", "--like"])
        .arg(&shape_file)
        .arg("-o")
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = shape_of_file(out_file.to_str().unwrap());
    assert_fits(&want, &got);
    std::fs::write(&shape_file, "{\"format\": \"fake-dc-shape/9\"}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fake-dc"))
        .args(["generate", "--like"])
        .arg(&shape_file)
        .arg("-o")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
