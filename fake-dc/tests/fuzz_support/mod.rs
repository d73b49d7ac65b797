//! Fuzz targets shared by `tests/fuzz.rs` (seeded mutation fuzzing inside `cargo test`)
//! and the coverage-guided libFuzzer targets in `fuzz/` (see docs/fuzzing.md). A check
//! takes one input and panics when a property fails.
#![allow(dead_code)]

pub mod ber;
pub mod checks;
pub mod driver;
pub mod mutate;
pub mod session;
