//! The `flowhost` command.

/// mimalloc rather than glibc's malloc: a third less CPU per small request (see its line in
/// `host/Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    flowhost::cli::main_with(flowhost::cli::RuntimeHooks {
        return_freed_memory: Some(return_freed_pages),
    })
}

/// Returns the pages the calling thread's heap has freed to the OS, now. Left alone,
/// mimalloc returns them only after a delay, and only when that thread allocates again.
fn return_freed_pages() {
    // SAFETY: `mi_collect` takes no pointers; it walks and trims the calling thread's heap.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true)
    }
}
