//! What one peer may make the gateway hold, and for how long: the settings, their documented
//! defaults, and the memory budget that requests in flight draw from.
//!
//! Every limit has a flow setting under `with:`. The gRPC ones keep the names Jina users
//! already write in `grpc_server_options` (`grpc.max_receive_message_length`,
//! `grpc.max_concurrent_streams`, `grpc.keepalive_time_ms`, `grpc.keepalive_timeout_ms`);
//! the rest are flowhost's own keys (`max_request_size`, `max_connections`,
//! `request_memory_budget`, `read_timeout_ms`, `idle_timeout_ms`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The largest request taken (after decompression) unless the flow says otherwise.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 64 << 20;
/// Connections open at once, all ports together.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// HTTP/2 streams one connection may have open at once (gRPC calls, in practice).
pub const DEFAULT_MAX_STREAMS: u32 = 1024;
/// Bytes of requests received and not yet answered, across the gateway.
pub const DEFAULT_REQUEST_MEMORY_BUDGET: usize = 1 << 30;
/// How long headers, and a body or gRPC message once it has started, may take to arrive.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection with nothing in flight and no traffic for this long is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How often an HTTP/2 connection is pinged, and how long the answer may take.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How many bytes of memory one byte of a JSON request takes while it is served: the parsed
/// values, the documents and tensors made from them, the answer's values and text. Measured:
/// a 52 MiB `POST /post` of embeddings (5,500 documents × 1,000 numbers) peaked at 580 MiB
/// of RSS above the resting process, about 11×. JSON requests are charged to the budget at
/// this rate, so the budget bounds memory and not only bytes received.
pub const JSON_EXPANSION: usize = 12;

/// The limits in force for one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// HTTP bodies and WebSocket messages (`max_request_size`).
    pub max_request_size: usize,
    /// gRPC messages, decompressed (`grpc.max_receive_message_length`, else
    /// `max_request_size`).
    pub max_grpc_message_size: usize,
    /// Connections open at once, all ports together; one more is closed as soon as it is
    /// accepted (`max_connections`, default [`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// HTTP/2 streams one connection may have open at once (`grpc.max_concurrent_streams`,
    /// default [`DEFAULT_MAX_STREAMS`]).
    pub max_streams_per_connection: u32,
    /// Bytes that requests in flight may hold across the gateway, JSON bodies charged at
    /// [`JSON_EXPANSION`]× (`request_memory_budget`, default [`DEFAULT_REQUEST_MEMORY_BUDGET`]).
    pub request_memory_budget: usize,
    /// How long headers, and a body or gRPC message once started, may take to arrive
    /// (`read_timeout_ms`, default [`DEFAULT_READ_TIMEOUT`]).
    pub read_timeout: Duration,
    /// `None`: idle connections are never closed (`idle_timeout_ms: 0`).
    pub idle_timeout: Option<Duration>,
    /// `None`: no pings (`grpc.keepalive_time_ms: -1`).
    pub keepalive_interval: Option<Duration>,
    /// How long a keep-alive ping may go unanswered before the connection is closed
    /// (`grpc.keepalive_timeout_ms`, default 20 s).
    pub keepalive_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
            max_grpc_message_size: DEFAULT_MAX_REQUEST_SIZE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_streams_per_connection: DEFAULT_MAX_STREAMS,
            request_memory_budget: DEFAULT_REQUEST_MEMORY_BUDGET,
            read_timeout: DEFAULT_READ_TIMEOUT,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            keepalive_interval: Some(DEFAULT_KEEPALIVE_INTERVAL),
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
        }
    }
}

/// A byte count as people read it: `64.0 MiB`.
pub fn bytes_text(bytes: usize) -> impl std::fmt::Display {
    bytesize::ByteSize::b(bytes as u64).display().iec()
}

/// The memory requests in flight draw from: a request holds its share from its first byte
/// until its answer has been handed to the connection, so a flood of large requests gets a
/// clear refusal instead of growing the process.
///
/// A request that finds the budget spent is refused, never made to wait, so the budget is a
/// counter of what is held rather than a semaphore: giving a semaphore's permits back takes
/// its waiters' lock, once per request, on a line every worker shares.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Units held by requests in flight.
    held: Arc<AtomicUsize>,
    total: usize,
}

/// The budget is kept in KiB.
const UNIT: usize = 1024;

/// The budget is spent: the request that asked is refused, nothing else is affected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the gateway's request memory budget ({}) is spent by requests in flight; retry later or raise `request_memory_budget`",
    bytes_text(*.total)
)]
pub struct BudgetSpent {
    pub total: usize,
}

/// A share of the budget, given back when dropped. Grows as a request's bytes arrive.
#[derive(Debug, Default)]
pub struct Charge {
    /// The budget's count the units are held in; `None` while none are.
    held: Option<Arc<AtomicUsize>>,
    /// Units held: `bytes` rounded up to KiB.
    units: usize,
    /// Bytes covered so far.
    bytes: usize,
}

impl Budget {
    /// A budget of `total` bytes, kept in whole KiB (at least one).
    pub fn new(total: usize) -> Self {
        Self {
            held: Arc::new(AtomicUsize::new(0)),
            total,
        }
    }

    /// The whole budget, in bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes of the budget held by requests in flight.
    pub fn in_use(&self) -> usize {
        self.held.load(Ordering::Relaxed) * UNIT
    }

    /// Extends `charge` to cover `bytes` in all, or refuses without waiting.
    pub fn grow(&self, charge: &mut Charge, bytes: usize) -> Result<(), BudgetSpent> {
        let need = bytes.div_ceil(UNIT);
        if need > charge.units {
            debug_assert!(
                (charge.held.as_ref()).is_none_or(|held| Arc::ptr_eq(held, &self.held)),
                "a charge grows on the budget it began on"
            );
            let more = need - charge.units;
            let units = self.total.div_ceil(UNIT).max(1);
            (self.held)
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                    held.checked_add(more).filter(|&after| after <= units)
                })
                .map_err(|_| self.spent())?;
            charge.units = need;
            charge.held.get_or_insert_with(|| self.held.clone());
        }
        charge.bytes = charge.bytes.max(bytes);
        Ok(())
    }

    /// A charge covering `bytes`, or a refusal.
    pub fn charge(&self, bytes: usize) -> Result<Charge, BudgetSpent> {
        let mut charge = Charge::default();
        self.grow(&mut charge, bytes)?;
        Ok(charge)
    }

    fn spent(&self) -> BudgetSpent {
        BudgetSpent { total: self.total }
    }
}

impl Charge {
    /// Bytes this charge covers.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if let Some(held) = &self.held {
            held.fetch_sub(self.units, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_once_spent_and_refills_when_charges_drop() {
        let budget = Budget::new(10 * UNIT);
        let mut first = budget.charge(4 * UNIT).unwrap();
        budget.grow(&mut first, 6 * UNIT).unwrap();
        assert_eq!(first.bytes(), 6 * UNIT);
        assert_eq!(budget.in_use(), 6 * UNIT);
        let second = budget.charge(4 * UNIT).unwrap();
        let refused = budget.charge(1).unwrap_err();
        assert!(
            refused.to_string().contains("request_memory_budget"),
            "{refused}"
        );
        drop(first);
        drop(second);
        assert_eq!(budget.in_use(), 0);
        assert!(budget.charge(10 * UNIT).is_ok());
    }
}
