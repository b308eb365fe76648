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
//! few additions into the recording thread's own cells (module `sharded`): no lock, no
//! allocation, no label lookup in a map that can change, no cache line shared between
//! workers. The request path records each measurement once, into one block of cells per
//! thread, and the series that follow from it (counts from a histogram's count, Jina's
//! families from flowhost's, what is pending from what began and ended) are derived when
//! `/metrics` is scraped (module `scrape`).
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
mod scrape;
mod sharded;
pub mod trace;

use std::sync::Arc;
use std::time::Duration;

use prometheus::{Encoder, GaugeVec, Registry, TextEncoder};

pub use executor::{CallMeter, CallOutcome, ExecutorMetrics, InstanceLabels, RunningCall};
pub use gateway::{Failure, Front, GatewayMetrics, Refused, RequestMeter};
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
    blocks: Arc<scrape::Blocks>,
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
        let blocks = Arc::new(scrape::Blocks::default());
        let defs: Vec<_> = (jina::DEFS.iter())
            .chain(&gateway::DEFS)
            .chain(&executor::DEFS)
            .copied()
            .collect();
        register.add(
            "the request path's families",
            scrape::BlockCollector::new(blocks.clone(), &defs),
        )?;
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
                blocks,
                remote,
                startup_seconds,
                compile_cache,
            }),
        })
    }

    /// The gateway's front door.
    pub fn gateway(&self) -> GatewayMetrics {
        self.inner.blocks.gateway().clone()
    }

    /// One executor instance (one replica of one shard): the same one each time its labels
    /// are asked for again.
    pub fn executor(&self, labels: InstanceLabels<'_>) -> Arc<ExecutorMetrics> {
        let key = (labels.executor.to_owned(), labels.replica, labels.shard);
        self.inner
            .blocks
            .executor(key, || ExecutorMetrics::new(labels))
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
    use std::time::Instant;

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
        let running = instance.queued().started_at(Instant::now());
        instance.finished(running, "/index", 1, CallOutcome::Ok);
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

    /// The value of the series of `name` whose labels include every pair of `labels`.
    fn value(families: &[proto::MetricFamily], name: &str, labels: &[(&str, &str)]) -> f64 {
        let family = (families.iter().find(|f| f.name() == name))
            .unwrap_or_else(|| panic!("no family {name}"));
        let metric = (family.get_metric().iter())
            .find(|m| {
                labels.iter().all(|(key, value)| {
                    (m.get_label().iter()).any(|l| l.name() == *key && l.value() == *value)
                })
            })
            .unwrap_or_else(|| panic!("no series {name}{labels:?}"));
        match family.get_field_type() {
            proto::MetricType::COUNTER => metric.get_counter().get_value(),
            proto::MetricType::GAUGE => metric.get_gauge().get_value(),
            _ => metric.get_histogram().get_sample_count() as f64,
        }
    }

    #[test]
    fn series_derived_at_scrape_follow_from_what_was_recorded() {
        let metrics = Metrics::new().expect("families register");
        let gateway = metrics.gateway();
        gateway.bind_endpoints(&["/index".to_owned()]);
        gateway
            .request(Front::Grpc, "/index", 100)
            .finish(None, 300);
        gateway.request(Front::Http, "/index", 50).finish(None, 60);
        (gateway.request(Front::Http, "/index", 10)).finish(Some(Failure::Trap), 20);
        drop(gateway.request(Front::Http, "/index", 10));
        let pending = gateway.request(Front::WebSocket, "/made-up", 1);

        let instance = metrics.executor(InstanceLabels {
            executor: "e",
            replica: 1,
            shard: 0,
            shards: 1,
        });
        instance.bind_endpoints(["/index"]);
        let running = instance.queued().started_at(Instant::now());
        instance.finished(running, "/index", 3, CallOutcome::Ok);
        let running = instance.queued().started_at(Instant::now());
        instance.finished(running, "/index", 3, CallOutcome::Raised);
        let running = instance.queued().started_at(Instant::now());
        instance.finished(running, "/unbound", 5, CallOutcome::Ok);
        let mut busy = instance.queued();
        busy.waits();
        let running = busy.started_at(Instant::now());
        instance.finished(running, "/index", 3, CallOutcome::Ok);
        drop(instance.queued());
        let waiting = instance.queued();

        let families = metrics.gather();
        let gateway_runtime = [("runtime_name", "gateway")];
        let http_index = [("protocol", "http"), ("endpoint", "/index")];
        let status = |status| [http_index[0], http_index[1], ("status", status)];
        assert_eq!(
            value(&families, "flowhost_requests_total", &status("ok")),
            1.0
        );
        assert_eq!(
            value(&families, "flowhost_requests_total", &status("trap")),
            1.0
        );
        assert_eq!(
            value(&families, "flowhost_requests_total", &status("cancelled")),
            1.0
        );
        assert_eq!(
            value(&families, "flowhost_request_seconds", &http_index),
            2.0
        );
        let received = value(
            &families,
            "flowhost_received_bytes_total",
            &[("protocol", "http")],
        );
        assert_eq!(received, 70.0);
        let sent = value(
            &families,
            "flowhost_sent_bytes_total",
            &[("protocol", "http")],
        );
        assert_eq!(sent, 80.0);
        let jina = |name| value(&families, name, &gateway_runtime);
        assert_eq!(jina("jina_successful_requests_total"), 2.0);
        assert_eq!(jina("jina_failed_requests_total"), 1.0);
        assert_eq!(jina("jina_receiving_request_seconds"), 2.0);
        assert_eq!(jina("jina_received_request_bytes"), 5.0);
        assert_eq!(jina("jina_sent_response_bytes"), 3.0);
        assert_eq!(jina("jina_number_of_pending_requests"), 1.0);

        let instance_labels = [("executor", "e"), ("replica", "1"), ("shard", "0")];
        let executor = |name| value(&families, name, &instance_labels);
        assert_eq!(executor("flowhost_executor_calls_in_flight"), 1.0);
        assert_eq!(executor("flowhost_executor_compute_seconds"), 4.0);
        assert_eq!(executor("flowhost_executor_queue_seconds"), 4.0);
        let outcome = |outcome| [instance_labels[0], ("outcome", outcome)];
        let calls = |o| value(&families, "flowhost_executor_calls_total", &outcome(o));
        assert_eq!(
            (calls("ok"), calls("raised"), calls("trap")),
            (3.0, 1.0, 0.0)
        );
        let runtime = [("runtime_name", "e/rep-1")];
        let jina = |name| value(&families, name, &runtime);
        assert_eq!(jina("jina_successful_requests_total"), 3.0);
        assert_eq!(jina("jina_failed_requests_total"), 1.0);
        assert_eq!(jina("jina_receiving_request_seconds"), 4.0);
        let unbound = [("executor_endpoint", "/unbound"), runtime[0]];
        let documents = |labels| value(&families, "jina_document_processed_total", labels);
        assert_eq!(documents(&unbound), 5.0);
        let index = [("executor_endpoint", "/index"), runtime[0]];
        assert_eq!(
            value(&families, "jina_document_processed_total", &index),
            6.0
        );
        assert_eq!(
            value(&families, "jina_process_request_seconds", &index),
            3.0
        );
        let queue = (families.iter())
            .find(|f| f.name() == "flowhost_executor_queue_seconds")
            .map(|f| f.get_metric()[0].get_histogram().get_bucket()[0].cumulative_count());
        assert_eq!(
            queue,
            Some(4),
            "the calls that found the instance free waited zero, in the first bucket"
        );

        drop((pending, waiting));
        let families = metrics.gather();
        assert_eq!(
            value(
                &families,
                "jina_number_of_pending_requests",
                &gateway_runtime
            ),
            0.0
        );
        assert_eq!(
            value(
                &families,
                "flowhost_executor_calls_in_flight",
                &instance_labels
            ),
            0.0
        );
        assert!(
            Arc::ptr_eq(
                &instance,
                &metrics.executor(InstanceLabels {
                    executor: "e",
                    replica: 1,
                    shard: 0,
                    shards: 1,
                })
            ),
            "an instance's labels asked for again give the same block, not a second series"
        );
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
