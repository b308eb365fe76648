//! Histogram buckets: wide enough for a 50 µs Wasm call and a 10 s model load, and for a
//! 100-byte request and a 64 MiB one.

/// Seconds, from 50 µs to 10 s.
pub(crate) const SECONDS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Bytes, from 64 B to 64 MiB by fours.
pub(crate) const BYTES: &[f64] = &[
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];
