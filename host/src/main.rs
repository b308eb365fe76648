//! The `flowhost` command.

fn main() -> std::process::ExitCode {
    flowhost::cli::main()
}
