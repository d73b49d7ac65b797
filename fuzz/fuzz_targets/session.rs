//! libFuzzer target: the same check as `fuzz_ldap_session` in fake-dc/tests/fuzz.rs, against
//! one in-process DC started on the first input. A panic on the DC's threads aborts the
//! process (libFuzzer's panic hook), so it is reported as a crash with the input.
#![no_main]

use std::sync::OnceLock;

#[path = "../../fake-dc/tests/fuzz_support/mod.rs"]
mod fuzz_support;

static SESSION: OnceLock<fuzz_support::session::Session> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    SESSION
        .get_or_init(fuzz_support::session::Session::start)
        .check(data);
});
