//! The `flowhost` command, built inside the test package so the end-to-end tests can run it
//! as `CARGO_BIN_EXE_flowhost-e2e` (cargo exposes only a package's own binaries to its tests).

fn main() -> std::process::ExitCode {
    flowhost::cli::main()
}
