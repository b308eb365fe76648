//! Where Jina's OTLP exporters send: `tracing` with `traces_exporter_host`/`_port`, and
//! `metrics` with `metrics_exporter_host`/`_port`, read the same way for both; and the small
//! OTLP values both write.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::Value;
use tonic::transport::Channel;

use flowhost_flow::Flow;

/// The OTLP port when the flow names a host but no port (the collector's gRPC default).
const OTLP_GRPC_PORT: u64 = 4317;

/// The collector's address when the flow turns `switch` on (`tracing`, `metrics`) with a
/// `{prefix}_exporter_host` beside it; `None` (with a warning naming what is lost when only
/// the host is missing, as Jina exports nothing then either) otherwise.
pub(super) fn exporter_endpoint(
    flow: &Flow,
    switch: &str,
    prefix: &str,
    lost: &str,
) -> Option<String> {
    let settings = flow.switched_on(switch)?;
    let host_key = format!("{prefix}_exporter_host");
    let Some(host) = settings.get(&host_key).and_then(Value::as_str) else {
        tracing::warn!("`{switch}: true` without `{host_key}`: {lost} (Jina exports none either)");
        return None;
    };
    let port = (settings.get(&format!("{prefix}_exporter_port")))
        .and_then(Value::as_u64)
        .unwrap_or(OTLP_GRPC_PORT);
    Some(if host.contains("://") {
        format!("{host}:{port}")
    } else {
        format!("http://{host}:{port}")
    })
}

/// A channel to the collector at `endpoint` (`what` names the exporter in the error),
/// connecting on first use within 5 s, each export bounded by `timeout`. Made inside a
/// runtime, which drives the connection.
pub(super) fn collector_channel(
    endpoint: &str,
    what: &str,
    timeout: Duration,
) -> anyhow::Result<Channel> {
    Ok(tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .with_context(|| format!("`{endpoint}` is not a {what} exporter address"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .connect_lazy())
}

/// The number in environment variable `name`, if it is set to one (a warning says so when
/// it is set to something else).
pub(super) fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    let parsed = value.trim().parse().ok();
    if parsed.is_none() {
        tracing::warn!(variable = name, %value, "not a number; the default is used");
    }
    parsed
}

/// `time` as OTLP's nanoseconds since the Unix epoch.
pub(super) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(nanos)
        .unwrap_or_default()
}

/// `duration` in OTLP's `fixed64` nanoseconds (saturating: a `u64` of them spans 584 years).
pub(super) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A string attribute.
pub(super) fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}
