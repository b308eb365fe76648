//! flowhost's per-executor sandbox limits: defaults, resolution and the byte-size syntax.
//!
//! `memory_limit` takes bytes or a size such as `64MiB`, `512MB`, `1.5GiB` (binary units are
//! powers of 1024, decimal ones of 1000, as everywhere else).

use crate::spec::Limits;

/// Call deadline used when neither the executor nor the flow sets `timeout_ms`.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Instance memory cap used when neither the executor nor the flow sets `memory_limit`.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

/// The limits actually applied to an executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedLimits {
    /// Deadline of one call, in milliseconds (default [`DEFAULT_TIMEOUT_MS`], 30 s).
    pub timeout_ms: u64,
    /// Memory cap of one instance, in bytes (default [`DEFAULT_MEMORY_LIMIT`], 256 MiB).
    pub memory_limit: u64,
    /// `None`: no fuel metering.
    pub fuel: Option<u64>,
}

impl Limits {
    /// Each limit from `self`, else from `fallback`; fields unset in both stay unset.
    pub fn or(self, fallback: Limits) -> Limits {
        Limits {
            timeout_ms: self.timeout_ms.or(fallback.timeout_ms),
            memory_limit: self.memory_limit.or(fallback.memory_limit),
            fuel: self.fuel.or(fallback.fuel),
        }
    }

    /// Fills what is still unset with the built-in defaults.
    pub fn resolve(self) -> ResolvedLimits {
        ResolvedLimits {
            timeout_ms: self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
            memory_limit: self.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT),
            fuel: self.fuel,
        }
    }
}

/// Parses `"64MiB"`, `"512 MB"`, `"1.5GiB"`, `"1_000_000"` or `"1048576"` into bytes (units
/// are case-insensitive, as Jina's are).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let text = s.trim().replace('_', "");
    // bytesize's own messages talk about floats and SI units; say what to write instead.
    let size: bytesize::ByteSize = text.parse().map_err(|_: String| {
        "expected a number with an optional unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB), e.g. 64MiB"
            .to_string()
    })?;
    // bytesize saturates on overflow.
    if size.as_u64() == u64::MAX {
        return Err("too large".to_string());
    }
    Ok(size.as_u64())
}

/// Writes bytes back in the shortest exact binary unit (`64MiB`), else as a plain number, so a
/// saved flow reads back to exactly the same value (bytesize's display rounds: `1.5 GiB`).
pub fn format_bytes(bytes: u64) -> Option<String> {
    [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ]
    .into_iter()
    .find(|(_, m)| bytes >= *m && bytes.is_multiple_of(*m))
    .map(|(u, m)| format!("{}{u}", bytes / m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("512MB"), Ok(512_000_000));
        assert_eq!(parse_bytes("512 mb"), Ok(512_000_000));
        assert_eq!(parse_bytes("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(
            parse_bytes("12 parsecs")
                .unwrap_err()
                .contains("optional unit")
        );
        assert!(parse_bytes("MiB").is_err());
        assert!(parse_bytes("99999999999TiB").is_err());
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_bytes(64 << 20).as_deref(), Some("64MiB"));
        assert_eq!(format_bytes(1 << 30).as_deref(), Some("1GiB"));
        assert_eq!(format_bytes(1000), None);
    }

    #[test]
    fn resolution_order() {
        let exec = Limits {
            timeout_ms: Some(5),
            ..Limits::default()
        };
        let flow = Limits {
            timeout_ms: Some(10),
            memory_limit: Some(1 << 20),
            fuel: None,
        };
        let r = exec.or(flow).resolve();
        assert_eq!(r.timeout_ms, 5);
        assert_eq!(r.memory_limit, 1 << 20);
        assert_eq!(r.fuel, None);
        assert_eq!(Limits::default().resolve().timeout_ms, DEFAULT_TIMEOUT_MS);
    }
}
