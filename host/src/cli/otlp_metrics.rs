//! Jina's `metrics: true`: the process's metrics pushed over OTLP/gRPC to
//! `metrics_exporter_host:metrics_exporter_port`, as Jina pushes its own. It is the same
//! registry `/metrics` serves (one source for both), read at each interval and sent as
//! cumulative OTLP sums, gauges and histograms.

use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use tokio::sync::watch;

use flowhost_flow::Flow;

use super::otlp::{text, unix_nanos};
use flowhost_telemetry::Metrics;
use flowhost_telemetry::proto::{MetricFamily, MetricType};

/// OpenTelemetry's default export interval; `OTEL_METRIC_EXPORT_INTERVAL` (ms) overrides it.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Where and how often the flow asks its metrics to be pushed.
pub struct Settings {
    endpoint: String,
    interval: Duration,
}

/// The flow's `metrics: true` settings (its `with:`, `gateway:` or an executor's), if any.
pub fn settings(flow: &Flow) -> Option<Settings> {
    let endpoint =
        super::otlp::exporter_endpoint(flow, "metrics", "metrics", "no metrics are pushed")?;
    let interval = super::otlp::env_number("OTEL_METRIC_EXPORT_INTERVAL")
        .map(Duration::from_millis)
        .filter(|interval| !interval.is_zero())
        .unwrap_or(DEFAULT_INTERVAL);
    Some(Settings { endpoint, interval })
}

/// Pushing in the background; [`MetricsExport::shutdown`] pushes once more and stops.
pub struct MetricsExport {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts pushing `metrics` as `settings` say, naming this process `service`.
pub fn start(settings: Settings, metrics: Metrics, service: &str) -> anyhow::Result<MetricsExport> {
    let channel =
        super::otlp::collector_channel(&settings.endpoint, "metrics", Duration::from_secs(10))?;
    let mut client = MetricsServiceClient::new(channel);
    let service = service.to_owned();
    let started = unix_nanos(SystemTime::now());
    let (stop, mut stopped) = watch::channel(false);
    tracing::info!(endpoint = %settings.endpoint, interval_ms = settings.interval.as_millis() as u64, "pushing metrics over OTLP/gRPC");
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(settings.interval);
        ticks.tick().await;
        loop {
            let last = tokio::select! {
                _ = ticks.tick() => false,
                _ = stopped.wait_for(|stop| *stop) => true,
            };
            let request = export_request(&metrics.gather(), &service, started);
            if let Err(status) = client.export(request).await {
                tracing::warn!(endpoint = %settings.endpoint, %status, "metrics not pushed");
            }
            if last {
                break;
            }
        }
    });
    Ok(MetricsExport { stop, task })
}

impl MetricsExport {
    /// Pushes the final values and stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The registry's families as one OTLP export: counters as monotonic cumulative sums,
/// gauges as gauges, histograms with their bounds (OTLP counts each bucket alone; Prometheus
/// counts up to each bound).
fn export_request(
    families: &[MetricFamily],
    service: &str,
    started: u64,
) -> ExportMetricsServiceRequest {
    let now = unix_nanos(SystemTime::now());
    let metrics = families
        .iter()
        .filter_map(|family| {
            let attributes = |m: &flowhost_telemetry::proto::Metric| -> Vec<KeyValue> {
                m.get_label()
                    .iter()
                    .map(|pair| text(pair.name(), pair.value()))
                    .collect()
            };
            let number = |m: &flowhost_telemetry::proto::Metric, value: f64| NumberDataPoint {
                attributes: attributes(m),
                start_time_unix_nano: started,
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            };
            let data = match family.get_field_type() {
                MetricType::COUNTER => metric::Data::Sum(Sum {
                    data_points: (family.get_metric().iter())
                        .map(|m| number(m, m.get_counter().get_value()))
                        .collect(),
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                }),
                MetricType::GAUGE => metric::Data::Gauge(Gauge {
                    data_points: (family.get_metric().iter())
                        .map(|m| number(m, m.get_gauge().get_value()))
                        .collect(),
                }),
                MetricType::HISTOGRAM => metric::Data::Histogram(Histogram {
                    data_points: (family.get_metric().iter())
                        .map(|m| {
                            let histogram = m.get_histogram();
                            let mut below = 0;
                            let mut bucket_counts: Vec<u64> = (histogram.get_bucket().iter())
                                .map(|bucket| {
                                    let count = bucket.cumulative_count().saturating_sub(below);
                                    below = bucket.cumulative_count();
                                    count
                                })
                                .collect();
                            bucket_counts.push(histogram.get_sample_count().saturating_sub(below));
                            HistogramDataPoint {
                                attributes: attributes(m),
                                start_time_unix_nano: started,
                                time_unix_nano: now,
                                count: histogram.get_sample_count(),
                                sum: Some(histogram.get_sample_sum()),
                                bucket_counts,
                                explicit_bounds: (histogram.get_bucket().iter())
                                    .map(|bucket| bucket.upper_bound())
                                    .collect(),
                                ..Default::default()
                            }
                        })
                        .collect(),
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                }),
                _ => return None,
            };
            Some(Metric {
                name: family.name().to_owned(),
                description: family.help().to_owned(),
                data: Some(data),
                ..Default::default()
            })
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![text("service.name", service)],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "flowhost".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_count_each_bucket_alone_and_counters_are_cumulative_sums() {
        let metrics = Metrics::new().expect("families register");
        let gateway = metrics.gateway();
        for _ in 0..3 {
            gateway
                .request(flowhost_telemetry::Front::Http, "/index", 100)
                .finish(None, 100);
        }
        let request = export_request(&metrics.gather(), "svc", 1);
        let scope = &request.resource_metrics[0].scope_metrics[0];
        let find = |name: &str| {
            scope
                .metrics
                .iter()
                .find(|m| m.name == name)
                .and_then(|m| m.data.clone())
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let metric::Data::Sum(sum) = find("jina_successful_requests_total") else {
            panic!("a counter is a sum");
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.data_points[0].value,
            Some(number_data_point::Value::AsDouble(3.0))
        );
        let metric::Data::Histogram(histogram) = find("jina_received_request_bytes") else {
            panic!("a histogram");
        };
        let point = &histogram.data_points[0];
        assert_eq!(point.count, 3);
        assert_eq!(point.bucket_counts.len(), point.explicit_bounds.len() + 1);
        assert_eq!(
            point.bucket_counts.iter().sum::<u64>(),
            3,
            "each bucket alone"
        );
        assert_eq!(point.sum, Some(300.0));
    }
}
