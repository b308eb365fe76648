//! The `flowhost` command, built inside the test package so the end-to-end tests can run it
//! as `CARGO_BIN_EXE_flowhost-e2e` (cargo exposes only a package's own binaries to its tests).
//! It is the shipped binary's `main`, allocator and hooks included.

#[path = "../../host/src/allocator.rs"]
mod allocator;

fn main() -> std::process::ExitCode {
    flowhost::cli::main(allocator::runtime_hooks())
}
