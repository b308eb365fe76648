//! The `flowhost` command.

/// mimalloc rather than glibc's malloc: a third less CPU per small request (see its line in
/// `host/Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    flowhost::cli::main()
}
