//! Histogram buckets: wide enough for a 50 µs Wasm call and a 10 s model load, and for a
//! 100-byte request and a 64 MiB one. Bounds are counted in integers (nanoseconds, bytes),
//! as the histograms add them up.

use crate::sharded::{Buckets, Unit};

/// Seconds, from 50 µs to 10 s.
pub(crate) const SECONDS: Buckets = Buckets {
    unit: Unit::Seconds,
    bounds: &[
        50_000,
        100_000,
        250_000,
        500_000,
        1_000_000,
        2_500_000,
        5_000_000,
        10_000_000,
        25_000_000,
        50_000_000,
        100_000_000,
        250_000_000,
        500_000_000,
        1_000_000_000,
        2_500_000_000,
        5_000_000_000,
        10_000_000_000,
    ],
};

/// Bytes, from 64 B to 64 MiB by fours.
pub(crate) const BYTES: Buckets = Buckets {
    unit: Unit::Bytes,
    bounds: &[
        64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
    ],
};
