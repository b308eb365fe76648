//! The process's allocator and what the runtime's workers ask of it, shared by both
//! `flowhost` binaries: `main.rs`, and the test package's `flowhost-e2e`, which the
//! end-to-end tests run so that they see the allocator the shipped binary has. Each includes
//! this file with `#[path]`: it is not a module of the library, which forbids unsafe code and
//! leaves the choice of allocator to whoever links it.

/// mimalloc rather than glibc's malloc: a third less CPU per small request (see its line in
/// `host/Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The hooks the runtime's workers call on this allocator.
pub fn runtime_hooks() -> flowhost::cli::RuntimeHooks {
    flowhost::cli::RuntimeHooks {
        return_freed_memory: Some(return_freed_pages),
    }
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
