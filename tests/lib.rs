//! The bodies of flowhost's fuzz targets (`fuzzing`), shared by the cargo-fuzz crate in
//! `tests/fuzz` and the corpus replay in `tests/all/fuzz_corpus.rs`. Shared test fixtures
//! are in `flowhost-test-support` (`tests/support`).

#![forbid(unsafe_code)]

pub mod fuzzing;
