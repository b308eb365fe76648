//! The `flowhost` command.

#[path = "allocator.rs"]
mod allocator;

fn main() -> std::process::ExitCode {
    flowhost::cli::main(allocator::runtime_hooks())
}
