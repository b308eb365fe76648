//! The families read out of recording blocks when `/metrics` is scraped.
//!
//! The request path records what it measures once, into one block per thread of the cells it
//! needs (see `gateway` and `executor`): an answered request's time is one histogram
//! observation, from which its count, Jina's success count and Jina's latency histogram are
//! all derived here, and what is pending or in flight is what began minus what ended. So a
//! request touches a few cache lines rather than a line per series; the arithmetic moves to
//! the scrape, which runs a few times a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricType};

use crate::executor::ExecutorMetrics;
use crate::gateway::GatewayMetrics;
use crate::sharded::{Buckets, HistogramTotals, family, labelled};

/// A family served from the blocks: its name, help and label names.
pub(crate) struct Def {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) labels: &'static [&'static str],
    pub(crate) kind: MetricType,
}

/// The families of one scrape, each made when its first series is written.
#[derive(Default)]
pub(crate) struct Out {
    families: Vec<proto::MetricFamily>,
}

impl Out {
    fn series(&mut self, def: &Def, values: &[&str]) -> &mut proto::Metric {
        debug_assert_eq!(def.labels.len(), values.len(), "{}", def.name);
        let at = match self.families.iter().position(|f| f.name() == def.name) {
            Some(at) => at,
            None => {
                self.families.push(family(def.name, def.help, def.kind));
                self.families.len() - 1
            }
        };
        let metrics = self.families[at].mut_metric();
        metrics.push(labelled(def.labels.iter().copied(), values.iter().copied()));
        let last = metrics.len() - 1;
        &mut metrics[last]
    }

    pub(crate) fn counter(&mut self, def: &Def, values: &[&str], value: u64) {
        let mut counter = proto::Counter::default();
        counter.set_value(value as f64);
        self.series(def, values).set_counter(counter);
    }

    pub(crate) fn gauge(&mut self, def: &Def, values: &[&str], value: u64) {
        let mut gauge = proto::Gauge::default();
        gauge.set_value(value as f64);
        self.series(def, values).set_gauge(gauge);
    }

    pub(crate) fn histogram(
        &mut self,
        def: &Def,
        values: &[&str],
        totals: &HistogramTotals,
        buckets: &Buckets,
    ) {
        let histogram = totals.histogram(buckets);
        self.series(def, values).set_histogram(histogram);
    }
}

/// What began minus what ended, read in that order's reverse (ends first) so that a request
/// ending between the two reads cannot make it negative.
pub(crate) fn outstanding(ended: u64, began: u64) -> u64 {
    began.saturating_sub(ended)
}

/// Every block that records: the gateway's and each executor instance's, made once per label
/// set (a second flow in the process records into the same ones, as into a family's series).
#[derive(Default)]
pub(crate) struct Blocks {
    gateway: OnceLock<GatewayMetrics>,
    executors: Mutex<HashMap<(String, u32, u32), Arc<ExecutorMetrics>>>,
}

impl Blocks {
    pub(crate) fn gateway(&self) -> &GatewayMetrics {
        self.gateway.get_or_init(GatewayMetrics::new)
    }

    pub(crate) fn executor(
        &self,
        key: (String, u32, u32),
        make: impl FnOnce() -> ExecutorMetrics,
    ) -> Arc<ExecutorMetrics> {
        let mut executors = self.executors.lock().unwrap_or_else(|e| e.into_inner());
        executors
            .entry(key)
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }
}

/// The blocks as one [`Collector`] of every family they serve.
#[derive(Clone)]
pub(crate) struct BlockCollector {
    blocks: Arc<Blocks>,
    descs: Arc<[Desc]>,
}

impl BlockCollector {
    pub(crate) fn new(blocks: Arc<Blocks>, defs: &[&Def]) -> Result<Self, prometheus::Error> {
        let descs = (defs.iter())
            .map(|def| {
                let labels = def.labels.iter().map(|l| (*l).to_owned()).collect();
                Desc::new(
                    def.name.to_owned(),
                    def.help.to_owned(),
                    labels,
                    HashMap::new(),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { blocks, descs })
    }
}

impl Collector for BlockCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<proto::MetricFamily> {
        let mut out = Out::default();
        if let Some(gateway) = self.blocks.gateway.get() {
            gateway.render(&mut out);
        }
        let executors = self
            .blocks
            .executors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for executor in executors.values() {
            executor.render(&mut out);
        }
        out.families
    }
}
