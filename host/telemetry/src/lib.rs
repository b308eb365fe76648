//! What a running flow tells about itself: the Prometheus metrics every layer records into.
//!
//! Owns every metric's name, help, labels and buckets (one place, so a dashboard can be read
//! against this crate alone), and the handles the layers record through: [`GatewayMetrics`]
//! for the front door, [`ExecutorMetrics`] for one instance (queue wait and compute apart),
//! [`RemoteMetrics`] for an executor served elsewhere, and start-up phases and the compile
//! cache on [`Metrics`] itself. Where Jina 3.34 has the same measurement, its name and labels
//! are used (`jina_*`; Jina's summaries are histograms here, which keep the `_sum` and
//! `_count` series Jina's dashboards read); the rest is `flowhost_*`.
//!
//! Handles are resolved when an instance, endpoint or protocol is set up, so recording is a
//! few additions into the recording thread's own shard of each series (module `sharded`): no
//! lock, no allocation, no label lookup in a map that can change, no cache line shared
//! between workers.
//! Label values that come from outside (endpoints) are bounded: past [`MAX_ENDPOINTS`] they
//! are counted as `other`.
//!
//! Traces ([`trace`]) are recorded here too, as flowhost's own span records on a bounded
//! queue, which the binary encodes as OTLP and exports.
//!
//! Must not know flows, wire shapes, wasmtime or the network: the layers call it, the
//! gateway serves [`Metrics::render`], the binary exports the spans.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod buckets;
mod endpoints;
mod executor;
mod gateway;
mod jina;
mod remote;
pub mod request;
mod sharded;
pub mod trace;

use std::sync::Arc;
use std::time::Duration;

use prometheus::{Encoder, GaugeVec, Registry, TextEncoder};

pub use executor::{CallMeter, CallOutcome, ExecutorMetrics, InstanceLabels};
pub use gateway::{Front, GatewayMetrics, Refused, RequestMeter, error_kind};
pub use remote::{RemoteMetrics, RemoteOutcome};

/// A gauge handle, as [`RemoteMetrics::address`] gives one.
pub use prometheus::IntGauge;
/// The registry's values at one moment, as [`Metrics::gather`] gives them (for exporters).
pub use prometheus::proto;

/// How many distinct endpoints a metric keeps apart; later ones are counted as `other`, so a
/// client inventing endpoints cannot grow the registry.
pub const MAX_ENDPOINTS: usize = 64;

/// The label value of whatever went past a bound.
pub const OTHER: &str = "other";

/// A metric could not be registered: a bug in this crate (a name or label set used twice).
#[derive(Debug, thiserror::Error)]
#[error("metric `{name}` could not be registered")]
pub struct RegisterError {
    name: &'static str,
    #[source]
    source: prometheus::Error,
}

/// One process's metrics: the registry every handle records into.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Families>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Every family, registered once.
struct Families {
    registry: Registry,
    jina: jina::Families,
    gateway: gateway::Families,
    executor: executor::Families,
    remote: remote::Families,
    startup_seconds: GaugeVec,
    compile_cache: sharded::Family<sharded::Counter>,
}

impl Metrics {
    /// A fresh registry with every family in it.
    pub fn new() -> Result<Self, RegisterError> {
        let registry = Registry::new();
        let mut register = Registrar {
            registry: &registry,
        };
        let jina = jina::Families::register(&mut register)?;
        let gateway = gateway::Families::register(&mut register)?;
        let executor = executor::Families::register(&mut register)?;
        let remote = remote::Families::register(&mut register)?;
        let startup_seconds = register.gauge(
            "flowhost_startup_seconds",
            "How long each phase of an executor's start took: resolve (pulling its component), compile, instantiate (every instance's init)",
            &["executor", "phase"],
        )?;
        let compile_cache = register.counter(
            "flowhost_compile_cache_total",
            "Components loaded, by whether their compiled code came from the cache (hit) or was compiled (miss)",
            &["result"],
        )?;
        Ok(Self {
            inner: Arc::new(Families {
                registry,
                jina,
                gateway,
                executor,
                remote,
                startup_seconds,
                compile_cache,
            }),
        })
    }

    /// The handles of the gateway's front door.
    pub fn gateway(&self) -> GatewayMetrics {
        GatewayMetrics::new(&self.inner.gateway, &self.inner.jina)
    }

    /// The handles of one executor instance (one replica of one shard).
    pub fn executor(&self, labels: InstanceLabels<'_>) -> Arc<ExecutorMetrics> {
        Arc::new(ExecutorMetrics::new(
            &self.inner.executor,
            &self.inner.jina,
            labels,
        ))
    }

    /// The handles of an executor served elsewhere.
    pub fn remote(&self, executor: &str) -> Arc<RemoteMetrics> {
        Arc::new(RemoteMetrics::new(&self.inner.remote, executor))
    }

    /// Records how long one start-up phase of `executor` took (`resolve`, `compile`,
    /// `instantiate`).
    pub fn startup_phase(&self, executor: &str, phase: &str, took: Duration) {
        self.inner
            .startup_seconds
            .with_label_values(&[executor, phase])
            .set(took.as_secs_f64());
    }

    /// Records a component load that found its compiled code in the cache (`hit`) or not.
    pub fn compile_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.inner.compile_cache.with_label_values(&[result]).inc();
    }

    /// Every family's values now (what an exporter pushing elsewhere reads).
    pub fn gather(&self) -> Vec<proto::MetricFamily> {
        self.inner.registry.gather()
    }

    /// The registry in Prometheus' text format (version 0.0.4), as `/metrics` serves it.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        // Encoding into a Vec fails only on a malformed family, which registration refuses.
        if let Err(error) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut text) {
            return format!("# error encoding metrics: {error}\n");
        }
        String::from_utf8(text).unwrap_or_default()
    }

    /// The content type of [`Metrics::render`].
    pub const CONTENT_TYPE: &'static str = "text/plain; version=0.0.4; charset=utf-8";
}

/// Registers families, naming the one that failed.
pub(crate) struct Registrar<'a> {
    registry: &'a Registry,
}

impl Registrar<'_> {
    fn add<C: prometheus::core::Collector + Clone + 'static>(
        &mut self,
        name: &'static str,
        collector: Result<C, prometheus::Error>,
    ) -> Result<C, RegisterError> {
        let failed = |source| RegisterError { name, source };
        let collector = collector.map_err(failed)?;
        self.registry
            .register(Box::new(collector.clone()))
            .map_err(failed)?;
        Ok(collector)
    }

    /// A counter family (sharded per worker: see [`sharded`]).
    pub(crate) fn counter(
        &mut self,
        name: &'static str,
        help: &str,
        labels: &[&str],
    ) -> Result<sharded::Family<sharded::Counter>, RegisterError> {
        self.add(name, sharded::Family::new(name, help, labels, ()))
    }

    /// A gauge family for what goes up and down on the hot path (pending, in flight).
    pub(crate) fn up_down(
        &mut self,
        name: &'static str,
        help: &str,
        labels: &[&str],
    ) -> Result<sharded::Family<sharded::UpDown>, RegisterError> {
        self.add(name, sharded::Family::new(name, help, labels, ()))
    }

    /// A gauge family whose values are set (start-up phases), off the hot path.
    pub(crate) fn gauge(
        &mut self,
        name: &'static str,
        help: &str,
        labels: &[&str],
    ) -> Result<GaugeVec, RegisterError> {
        self.add(
            name,
            GaugeVec::new(prometheus::Opts::new(name, help), labels),
        )
    }

    /// An integer gauge family whose values are set (memory, whether connected).
    pub(crate) fn int_gauge(
        &mut self,
        name: &'static str,
        help: &str,
        labels: &[&str],
    ) -> Result<prometheus::IntGaugeVec, RegisterError> {
        self.add(
            name,
            prometheus::IntGaugeVec::new(prometheus::Opts::new(name, help), labels),
        )
    }

    /// A histogram family (sharded per worker) with `buckets`.
    pub(crate) fn histogram(
        &mut self,
        name: &'static str,
        help: &str,
        labels: &[&str],
        buckets: sharded::Buckets,
    ) -> Result<sharded::Family<sharded::Histogram>, RegisterError> {
        self.add(name, sharded::Family::new(name, help, labels, buckets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric the Grafana dashboard in `examples/grafana` queries is one this crate
    /// serves, so the dashboard cannot drift from the names.
    #[test]
    fn the_dashboard_reads_only_metrics_that_exist() {
        let metrics = Metrics::new().expect("families register");
        let gateway = metrics.gateway();
        gateway.request(Front::Http, "/index", 10).finish(None, 10);
        let instance = metrics.executor(InstanceLabels {
            executor: "e",
            replica: 0,
            shard: 0,
            shards: 1,
        });
        let mut call = instance.queued();
        call.started();
        call.finished("/index", 1, CallOutcome::Ok);
        instance.replaced(CallOutcome::Trap);
        instance.memory(1);
        let remote = metrics.remote("far");
        remote.attempt(RemoteOutcome::Answered, Duration::from_millis(1), false);
        remote.address("127.0.0.1:1").set(1);
        metrics.startup_phase("e", "compile", Duration::from_millis(1));
        metrics.compile_cache(false);
        let served = metrics.render();

        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/grafana/flowhost-dashboard.json"
        );
        let dashboard = std::fs::read_to_string(path).expect("the dashboard");
        let mut names: Vec<&str> = Vec::new();
        for (start, _) in dashboard.match_indices(['f', 'j']) {
            let rest = &dashboard[start..];
            if !(rest.starts_with("flowhost_") || rest.starts_with("jina_")) {
                continue;
            }
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.push(&rest[..end]);
        }
        assert!(names.len() > 10, "{names:?}");
        for name in names {
            assert!(
                served
                    .lines()
                    .any(|line| line.starts_with(&format!("{name}{{"))
                        || line.starts_with(&format!("{name} "))),
                "the dashboard reads `{name}`, which is not served"
            );
        }
    }

    #[test]
    fn every_family_registers_once_and_renders() {
        let metrics = Metrics::new().expect("families register");
        metrics.compile_cache(true);
        metrics.startup_phase("encoder", "compile", Duration::from_millis(250));
        let text = metrics.render();
        assert!(
            text.contains("flowhost_compile_cache_total{result=\"hit\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("flowhost_startup_seconds{executor=\"encoder\",phase=\"compile\"} 0.25"),
            "{text}"
        );
    }
}
