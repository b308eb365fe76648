//! Counters and histograms that the workers record into without sharing a cache line, and
//! the histogram cells the request path's blocks are made of (`gateway`, `executor`).
//!
//! prometheus' own types keep one set of atomics per series, which every worker thread writes:
//! on a busy gateway each observation moves that line between cores, and a histogram's
//! observation is four such writes (its shard switch, bucket, sum and count). Here each series
//! is a `flowhost_shards::Shards` of cells, one per thread on lines of their own, so a worker
//! writes only lines no other thread writes, with a plain load and store rather than an
//! atomic addition; a scrape adds the shards up. Sums are integers (nanoseconds, bytes), not
//! prometheus' compare-and-swap loop on a float.
//!
//! The families are ordinary [`Collector`]s: the registry, the text encoder and the exporters
//! read them as they read prometheus' own.

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::core::{Collector, Desc};
use prometheus::proto;

pub(crate) use flowhost_shards::{Shard, Shards, my_shard};

/// Adds `n` to `cell`. A thread that alone writes its cell loads and stores (no other writer
/// can come between them, and readers see either value); the shared cell takes an atomic
/// addition. The difference is the lock prefix, about half an observation's cost.
pub(crate) fn add(cell: &AtomicU64, n: u64, alone: bool) {
    if alone {
        cell.store(
            cell.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    } else {
        cell.fetch_add(n, Ordering::Relaxed);
    }
}

/// A monotonic count.
#[derive(Clone)]
pub(crate) struct Counter(Shards<AtomicU64>);

impl Counter {
    pub(crate) fn inc(&self) {
        self.inc_by(1);
    }

    pub(crate) fn inc_by(&self, n: u64) {
        let (cell, alone) = self.0.mine();
        add(cell, n, alone);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.all().fold(0u64, |sum, cell| {
            sum.wrapping_add(cell.load(Ordering::Relaxed))
        })
    }
}

/// The most buckets a histogram has (the `+Inf` one not counted).
const MAX_BUCKETS: usize = 17;

/// What a histogram counts, and the integer it adds up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unit {
    /// Durations, added up in nanoseconds and shown in seconds.
    Seconds,
    /// Sizes, in bytes.
    Bytes,
}

impl Unit {
    /// How many of the shown unit one counted unit is.
    fn scale(self) -> f64 {
        match self {
            Unit::Seconds => 1e-9,
            Unit::Bytes => 1.0,
        }
    }
}

/// A histogram's upper bounds (inclusive, as Prometheus' `le`), in counted units, ascending,
/// at most [`MAX_BUCKETS`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buckets {
    pub(crate) unit: Unit,
    pub(crate) bounds: &'static [u64],
}

impl Buckets {
    fn shown(self, bound: u64) -> f64 {
        // Exact for every bound used: both operands are exact doubles and the quotient is
        // correctly rounded, so 50,000 ns shows as 0.00005.
        bound as f64 * self.unit.scale()
    }
}

/// One thread's cells of a histogram: a series' shard, or a part of a block a hook records
/// into (see the `gateway` and `executor` modules).
#[derive(Default)]
#[repr(C)]
pub(crate) struct HistogramCells {
    /// First, so that a small value's bucket shares its cache line.
    sum: AtomicU64,
    /// Per bucket, then `+Inf`: not cumulative (a scrape adds them up).
    counts: [AtomicU64; MAX_BUCKETS + 1],
}

impl HistogramCells {
    /// Counts `value` (counted units) in the first of `buckets` it fits; `alone` as [`add`].
    pub(crate) fn observe(&self, buckets: &Buckets, value: u64, alone: bool) {
        let bucket = buckets.bounds.partition_point(|&bound| bound < value);
        add(&self.counts[bucket], 1, alone);
        add(&self.sum, value, alone);
    }
}

/// One thread's cells of `N` histograms a hook observes together, laid out bucket by bucket
/// (the sums, then each bucket's `N` counts) so that small values, which most are, fall on
/// the same line whichever histogram they are in: a request's sizes and time touch one or
/// two lines rather than one per histogram.
#[repr(C)]
pub(crate) struct HistogramGroup<const N: usize> {
    sums: [AtomicU64; N],
    counts: [[AtomicU64; N]; MAX_BUCKETS + 1],
}

impl<const N: usize> Default for HistogramGroup<N> {
    fn default() -> Self {
        Self {
            sums: std::array::from_fn(|_| AtomicU64::new(0)),
            counts: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }
}

impl<const N: usize> HistogramGroup<N> {
    /// Counts `value` in histogram `which`, as [`HistogramCells::observe`].
    pub(crate) fn observe(&self, which: usize, buckets: &Buckets, value: u64, alone: bool) {
        let bucket = buckets.bounds.partition_point(|&bound| bound < value);
        add(&self.counts[bucket][which], 1, alone);
        add(&self.sums[which], value, alone);
    }

    /// Adds histogram `which` of these cells to `totals`.
    pub(crate) fn add_to(&self, which: usize, totals: &mut HistogramTotals) {
        for (total, counts) in totals.counts.iter_mut().zip(&self.counts) {
            *total = total.wrapping_add(counts[which].load(Ordering::Relaxed));
        }
        totals.sum = totals
            .sum
            .wrapping_add(self.sums[which].load(Ordering::Relaxed));
    }
}

/// A histogram's cells added up, across threads or across series.
#[derive(Clone, Copy, Default)]
pub(crate) struct HistogramTotals {
    sum: u64,
    counts: [u64; MAX_BUCKETS + 1],
}

impl HistogramTotals {
    /// Adds one thread's cells.
    pub(crate) fn add(&mut self, cells: &HistogramCells) {
        for (total, count) in self.counts.iter_mut().zip(&cells.counts) {
            *total = total.wrapping_add(count.load(Ordering::Relaxed));
        }
        self.sum = self.sum.wrapping_add(cells.sum.load(Ordering::Relaxed));
    }

    /// Adds another histogram of the same buckets.
    pub(crate) fn merge(&mut self, other: &HistogramTotals) {
        for (total, count) in self.counts.iter_mut().zip(&other.counts) {
            *total = total.wrapping_add(*count);
        }
        self.sum = self.sum.wrapping_add(other.sum);
    }

    /// Counts `n` values of zero, which the first bucket holds.
    pub(crate) fn add_zeros(&mut self, n: u64) {
        self.counts[0] = self.counts[0].wrapping_add(n);
    }

    /// How many values were counted.
    pub(crate) fn count(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |total, &count| total.wrapping_add(count))
    }

    /// The values' sum, in counted units.
    pub(crate) fn sum(&self) -> u64 {
        self.sum
    }

    /// Prometheus' form: cumulative buckets, the sum in shown units.
    pub(crate) fn histogram(&self, buckets: &Buckets) -> proto::Histogram {
        let mut cumulative = 0u64;
        let shown = (buckets.bounds.iter().zip(self.counts))
            .map(|(&bound, count)| {
                cumulative = cumulative.wrapping_add(count);
                let mut bucket = proto::Bucket::default();
                bucket.set_upper_bound(buckets.shown(bound));
                bucket.set_cumulative_count(cumulative);
                bucket
            })
            .collect();
        let mut histogram = proto::Histogram::default();
        histogram.set_bucket(shown);
        histogram.set_sample_count(self.count());
        histogram.set_sample_sum(buckets.shown(self.sum));
        histogram
    }
}

/// A histogram of durations or sizes.
#[derive(Clone)]
pub(crate) struct Histogram {
    buckets: Buckets,
    shards: Shards<HistogramCells>,
}

impl Histogram {
    /// Counts `value` in counted units (bytes, or nanoseconds).
    pub(crate) fn observe(&self, value: u64) {
        let (cells, alone) = self.shards.mine();
        cells.observe(&self.buckets, value, alone);
    }

    /// Counts a duration.
    pub(crate) fn observe_duration(&self, took: Duration) {
        self.observe(nanos(took));
    }

    fn snapshot(&self) -> proto::Histogram {
        let mut totals = HistogramTotals::default();
        for cells in self.shards.all() {
            totals.add(cells);
        }
        totals.histogram(&self.buckets)
    }
}

/// A duration in nanoseconds, the largest count for one past the u64 range.
pub(crate) fn nanos(took: Duration) -> u64 {
    u64::try_from(took.as_nanos()).unwrap_or(u64::MAX)
}

/// What a family holds, one per label set.
pub(crate) trait Series: Clone + Send + Sync + 'static {
    /// What every series of a family is made from.
    type Shape: Send + Sync;

    const TYPE: proto::MetricType;

    fn new(shape: &Self::Shape) -> Self;

    fn write(&self, metric: &mut proto::Metric);
}

impl Series for Counter {
    type Shape = ();
    const TYPE: proto::MetricType = proto::MetricType::COUNTER;

    fn new(_: &()) -> Self {
        Counter(Shards::new())
    }

    fn write(&self, metric: &mut proto::Metric) {
        let mut counter = proto::Counter::default();
        counter.set_value(self.get() as f64);
        metric.set_counter(counter);
    }
}

impl Series for Histogram {
    type Shape = Buckets;
    const TYPE: proto::MetricType = proto::MetricType::HISTOGRAM;

    fn new(buckets: &Buckets) -> Self {
        assert!(
            buckets.bounds.len() <= MAX_BUCKETS && buckets.bounds.is_sorted(),
            "bucket bounds are ascending and at most {MAX_BUCKETS}: a bug in this crate"
        );
        Histogram {
            buckets: *buckets,
            shards: Shards::new(),
        }
    }

    fn write(&self, metric: &mut proto::Metric) {
        metric.set_histogram(self.snapshot());
    }
}

/// A metric's series, one per label set, made when a handle asks for it.
#[derive(Clone)]
pub(crate) struct Family<S: Series>(Arc<FamilyInner<S>>);

struct FamilyInner<S: Series> {
    desc: Desc,
    shape: S::Shape,
    series: Mutex<Index<S>>,
}

/// A family's series by their label values, found without allocating (the error path looks
/// one up per failed request).
struct Index<S> {
    series: Vec<(Box<[Box<str>]>, S)>,
    /// Positions in `series` by the hash of their label values.
    by_hash: HashMap<u64, Vec<usize>>,
}

impl<S> Index<S> {
    fn hash(values: &[&str]) -> u64 {
        foldhash::fast::FixedState::default().hash_one(values)
    }

    fn find(&self, hash: u64, values: &[&str]) -> Option<&S> {
        let same = |labels: &[Box<str>]| labels.iter().map(|l| &**l).eq(values.iter().copied());
        (self.by_hash.get(&hash)?.iter())
            .map(|&at| &self.series[at])
            .find(|(labels, _)| same(labels))
            .map(|(_, series)| series)
    }
}

impl<S: Series> Family<S> {
    pub(crate) fn new(
        name: &str,
        help: &str,
        labels: &[&str],
        shape: S::Shape,
    ) -> Result<Self, prometheus::Error> {
        let labels = labels.iter().map(|label| (*label).to_owned()).collect();
        let desc = Desc::new(name.to_owned(), help.to_owned(), labels, Default::default())?;
        Ok(Self(Arc::new(FamilyInner {
            desc,
            shape,
            series: Mutex::new(Index {
                series: Vec::new(),
                by_hash: HashMap::new(),
            }),
        })))
    }

    /// The series of `values` (one per label, in the family's order), made if new. Takes a
    /// lock: handles are resolved once, when what they measure is set up (and a failed
    /// request's status is looked up on its way out).
    pub(crate) fn with_label_values(&self, values: &[&str]) -> S {
        let inner = &*self.0;
        debug_assert_eq!(values.len(), inner.desc.variable_labels.len());
        let hash = Index::<S>::hash(values);
        let mut index = inner.series.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(series) = index.find(hash, values) {
            return series.clone();
        }
        let series = S::new(&inner.shape);
        let labels = values.iter().map(|&value| value.into()).collect();
        let at = index.series.len();
        index.series.push((labels, series.clone()));
        index.by_hash.entry(hash).or_default().push(at);
        series
    }
}

impl<S: Series> Collector for Family<S> {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.0.desc]
    }

    fn collect(&self) -> Vec<proto::MetricFamily> {
        let inner = &*self.0;
        // The registry sorts a family's series when it gathers them.
        let index = inner.series.lock().unwrap_or_else(|e| e.into_inner());
        let metrics = (index.series.iter())
            .map(|(values, series)| {
                let names = inner.desc.variable_labels.iter().map(String::as_str);
                let mut metric = labelled(names, values.iter().map(|value| &**value));
                series.write(&mut metric);
                metric
            })
            .collect();
        let mut family = family(&inner.desc.fq_name, &inner.desc.help, S::TYPE);
        family.set_metric(metrics);
        vec![family]
    }
}

/// An empty family of `name`, `help` and `kind`, as a collector returns it.
pub(crate) fn family(name: &str, help: &str, kind: proto::MetricType) -> proto::MetricFamily {
    let mut family = proto::MetricFamily::default();
    family.set_name(name.to_owned());
    family.set_help(help.to_owned());
    family.set_field_type(kind);
    family
}

/// A series with label `names` set to `values`, in order; its value is set by the caller.
pub(crate) fn labelled<'a>(
    names: impl Iterator<Item = &'a str>,
    values: impl Iterator<Item = &'a str>,
) -> proto::Metric {
    let labels = names
        .zip(values)
        .map(|(name, value)| {
            let mut pair = proto::LabelPair::default();
            pair.set_name(name.to_owned());
            pair.set_value(value.to_owned());
            pair
        })
        .collect();
    proto::Metric::from_label(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(collected: &[proto::MetricFamily]) -> &proto::MetricFamily {
        assert_eq!(collected.len(), 1);
        &collected[0]
    }

    #[test]
    fn a_histogram_counts_each_value_in_the_first_bucket_it_fits_whatever_thread_records_it() {
        let buckets = Buckets {
            unit: Unit::Seconds,
            bounds: &[1_000_000, 10_000_000],
        };
        let histograms: Family<Histogram> =
            Family::new("t_seconds", "test", &["endpoint"], buckets).expect("a valid family");
        let index = histograms.with_label_values(&["/index"]);
        let ms = Duration::from_millis;
        let threads: Vec<_> = [ms(1), ms(2), ms(10), ms(11)]
            .into_iter()
            .map(|took| {
                let index = index.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        index.observe_duration(took);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic");
        }
        let collected = histograms.collect();
        let family = only(&collected);
        assert_eq!(family.get_field_type(), proto::MetricType::HISTOGRAM);
        let metric = &family.get_metric()[0];
        assert_eq!(metric.get_label()[0].value(), "/index");
        let histogram = metric.get_histogram();
        let counts: Vec<(f64, u64)> = (histogram.get_bucket().iter())
            .map(|b| (b.upper_bound(), b.cumulative_count()))
            .collect();
        // 1 ms is in the 1 ms bucket (`le` is inclusive); 11 ms only in +Inf.
        assert_eq!(counts, [(0.001, 1000), (0.01, 3000)]);
        assert_eq!(histogram.get_sample_count(), 4000);
        assert!((histogram.get_sample_sum() - 24.0).abs() < 1e-9);
    }

    #[test]
    fn series_sharing_a_hash_are_told_apart_by_their_labels() {
        let index = Index {
            series: vec![
                (["a".into(), "b".into()].into(), 1),
                (["a".into(), "c".into()].into(), 2),
            ],
            by_hash: HashMap::from([(7, vec![0, 1])]),
        };
        assert_eq!(index.find(7, &["a", "c"]), Some(&2));
        assert_eq!(index.find(7, &["a", "b"]), Some(&1));
        assert_eq!(index.find(7, &["a", "d"]), None);
        assert_eq!(
            index.find(8, &["a", "b"]),
            None,
            "another hash finds nothing"
        );
    }

    #[test]
    fn counters_add_up_their_shards() {
        let counters: Family<Counter> =
            Family::new("t_total", "test", &["status"], ()).expect("a valid family");
        let ok = counters.with_label_values(&["ok"]);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let ok = ok.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        ok.inc_by(2);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic");
        }
        assert_eq!(counters.with_label_values(&["ok"]).get(), 8000);
        let collected = counters.collect();
        let counter = &only(&collected).get_metric()[0];
        assert_eq!(counter.get_counter().get_value(), 8000.0);
    }
}
