//! Per-executor resource limits and the store-side enforcement of memory caps.

use std::time::Duration;

/// What one executor instance may use. Every field has a safe default, so a
/// flow that says nothing still gets a bounded executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceLimits {
    /// Wall-clock deadline of one call.
    pub timeout: Duration,
    /// Wall-clock deadline of starting an instance (instantiation, `init`, `describe`),
    /// Jina's `timeout_ready`; `None` waits for ever (Jina's `-1`). Separate from
    /// [`InstanceLimits::timeout`] because loading a model may take far longer than a call.
    pub start_timeout: Option<Duration>,
    /// Upper bound on the instance's linear memories, in bytes.
    pub memory: u64,
    /// Wasm instructions (roughly) one call may execute, if metered.
    /// Needs [`RuntimeConfig::consume_fuel`](super::RuntimeConfig::consume_fuel).
    pub fuel: Option<u64>,
}

impl InstanceLimits {
    /// Default per-call deadline: 30 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default memory cap: 512 MiB (in bytes).
    pub const DEFAULT_MEMORY: u64 = 512 << 20;
    /// Default start deadline: 600 seconds, Jina's default `timeout_ready`.
    pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(600);
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            start_timeout: Some(Self::DEFAULT_START_TIMEOUT),
            memory: Self::DEFAULT_MEMORY,
            fuel: None,
        }
    }
}

/// A byte count the way people read limits: `64.0 MiB`, `1.5 GiB`.
pub(crate) fn human_bytes(bytes: u64) -> impl std::fmt::Display {
    bytesize::ByteSize::b(bytes).display().iec()
}

/// The store's [`wasmtime::ResourceLimiter`]: refuses memory growth past the
/// cap and remembers that it did, so the resulting trap can be reported as
/// "memory limit exceeded" instead of a bare `unreachable`.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    cap: u64,
    /// The size a refused `memory.grow` asked for.
    pub(crate) refused: Option<u64>,
    /// What every memory of the instance has grown to, together.
    pub(crate) grown: u64,
}

impl MemoryLimiter {
    pub(crate) fn new(cap: u64) -> Self {
        Self {
            cap,
            refused: None,
            grown: 0,
        }
    }
}

/// Tables hold function references; no sane executor needs more than this.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.cap {
            self.refused = Some(desired as u64);
            // Trap right away: guests' allocators abort on a failed grow anyway,
            // and trapping here keeps the cause attached to the error.
            return Err(wasmtime::format_err!(
                "memory limit of {} exceeded (asked for {})",
                human_bytes(self.cap),
                human_bytes(desired as u64)
            ));
        }
        self.grown = self
            .grown
            .saturating_add(desired.saturating_sub(current) as u64);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn human_bytes_reads_naturally() {
        assert_eq!(human_bytes(512).to_string(), "512 B");
        assert_eq!(human_bytes(64 << 20).to_string(), "64.0 MiB");
        assert_eq!(human_bytes(3 << 29).to_string(), "1.5 GiB");
    }

    #[test]
    fn limiter_refuses_growth_past_the_cap_and_remembers_it() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert_eq!(limiter.refused, None);
        let err = limiter.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert!(err.to_string().contains("memory limit of 1.0 MiB exceeded"));
        assert_eq!(limiter.refused, Some(2 << 20));
    }
}
