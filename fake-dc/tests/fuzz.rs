//! Mutation fuzzing inside `cargo test`: each target replays its committed corpus
//! (`fake-dc/fuzz-corpus/<target>/`: seeds and every input that once failed), then mutates
//! it for `FUZZ_SECS` seconds (default 10), keeping inputs that reach a new outcome as
//! further parents. A failing input is written under `target/fuzz-failures/<target>/` so it
//! can be committed to the corpus as a regression. See docs/fuzzing.md.

// Test code: a failed expect is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fuzz_support;

use fuzz_support::driver::fuzz;
use fuzz_support::{checks, mutate, session::Session};

#[test]
fn fuzz_filter_parser() {
    fuzz("filter", 4_096, mutate::filter, &checks::filter);
}

#[test]
fn fuzz_dn_parser() {
    fuzz("dn", 4_096, mutate::dn, &checks::dn);
}

#[test]
fn fuzz_fixture_loader() {
    fuzz("fixture", 32_768, mutate::fixture, &checks::fixture);
}

#[test]
fn fuzz_ldap_session() {
    let session = Session::start();
    fuzz("session", 1 << 20, mutate::session, &|input| {
        session.check(input)
    });
}
