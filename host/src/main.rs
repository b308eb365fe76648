//! The `flowhost` command.

#[path = "allocator.rs"]
mod allocator;

fn main() -> std::process::ExitCode {
    flowhost::cli::main_with(allocator::runtime_hooks())
}
