//! `/metrics`: the scorecard's series and the pipeline's health as Prometheus families, built
//! at scrape time from the latest [`Snapshot`] (the "custom collector" pattern: derived values
//! are computed when asked, not kept in a registry in step with the engine). The scorecard is
//! read only through its typed series; health metrics are named here.

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, TextEncoder};

use super::{compliance, help};
use crate::config::Objective;
use crate::engine::scorecard::{Kind, Series, Value};
use crate::formats::{RejectReason, SkipReason};
use crate::pipeline::Snapshot;

/// One metric family being assembled.
struct Family(MetricFamily);

impl Family {
    fn new(name: &str, help: &str, kind: MetricType) -> Self {
        let mut family = MetricFamily::default();
        family.set_name(name.to_owned());
        family.set_help(help.to_owned());
        family.set_field_type(kind);
        Self(family)
    }

    fn counter(name: &str, help: &str) -> Self {
        Self::new(name, help, MetricType::COUNTER)
    }

    fn gauge(name: &str, help: &str) -> Self {
        Self::new(name, help, MetricType::GAUGE)
    }

    fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        let mut metric = labelled(labels.iter().copied());
        set_number(&mut metric, self.0.get_field_type(), value);
        self.0.mut_metric().push(metric);
    }

    /// Adds one scorecard series.
    fn add_series(&mut self, series: &Series<'_>) {
        let mut metric = labelled(series.labels.iter().map(|l| (l.name(), l.value())));
        match series.value {
            Value::Histogram(observed) => {
                let mut histogram = Histogram::default();
                let buckets = observed
                    .cumulative_buckets()
                    .map(|(le, count)| {
                        let mut bucket = Bucket::default();
                        bucket.set_upper_bound(le as f64);
                        bucket.set_cumulative_count(count);
                        bucket
                    })
                    .collect();
                histogram.set_bucket(buckets);
                histogram.set_sample_count(observed.count);
                histogram.set_sample_sum(observed.sum_millis as f64 / 1000.0);
                metric.set_histogram(histogram);
            }
            value => set_number(&mut metric, self.0.get_field_type(), value.number()),
        }
        self.0.mut_metric().push(metric);
    }

    fn finish(self, families: &mut Vec<MetricFamily>) {
        if !self.0.get_metric().is_empty() {
            families.push(self.0);
        }
    }
}

fn set_number(metric: &mut Metric, kind: MetricType, value: f64) {
    if kind == MetricType::COUNTER {
        let mut counter = Counter::default();
        counter.set_value(value);
        metric.set_counter(counter);
    } else {
        let mut gauge = Gauge::default();
        gauge.set_value(value);
        metric.set_gauge(gauge);
    }
}

fn labelled<'a>(labels: impl Iterator<Item = (&'a str, impl Into<String>)>) -> Metric {
    let mut metric = Metric::default();
    metric.set_label(
        labels
            .map(|(name, value)| {
                let mut pair = LabelPair::default();
                pair.set_name(name.to_owned());
                pair.set_value(value.into());
                pair
            })
            .collect(),
    );
    metric
}

/// Renders every family. `kafka_up` is `None` where there is no Kafka (the demo).
pub fn render(snapshot: &Snapshot, kafka_up: Option<bool>, objectives: &[Objective]) -> String {
    let series = snapshot.scorecard.series();
    let compliance = compliance::evaluate(&series, objectives);
    let mut families = Vec::new();
    series_families(&series, &mut families);
    health_families(snapshot, kafka_up, &mut families);
    series_families(&compliance, &mut families);
    let mut text = Vec::with_capacity(16 * 1024);
    if let Err(error) = TextEncoder::new().encode(&families, &mut text) {
        tracing::error!(%error, "cannot encode metrics");
    }
    String::from_utf8(text).unwrap_or_default()
}

/// One family per KPI of `series` (grouped by KPI, as [`crate::engine::Scorecard::series`]
/// returns them).
fn series_families(series: &[Series<'_>], families: &mut Vec<MetricFamily>) {
    for group in series.chunk_by(|a, b| a.kpi == b.kpi) {
        let kpi = group[0].kpi;
        let kind = match kpi.kind() {
            Kind::Counter => MetricType::COUNTER,
            Kind::Gauge => MetricType::GAUGE,
            Kind::Histogram => MetricType::HISTOGRAM,
        };
        let mut family = Family::new(&format!("soc_{}", kpi.name()), &help::help(kpi), kind);
        for one in group {
            family.add_series(one);
        }
        family.finish(families);
    }
}

/// Pipeline health: per topic, lag, Kafka reachability, build.
fn health_families(snapshot: &Snapshot, kafka_up: Option<bool>, families: &mut Vec<MetricFamily>) {
    let mut consumed = Family::counter(
        "soc_events_consumed_total",
        "Records read from each input topic, whatever came of them.",
    );
    let mut rejected = Family::counter(
        "soc_events_rejected_total",
        "Records rejected (not JSON, missing or bad field, too large…), by topic and reason.",
    );
    let mut skipped = Family::counter(
        "soc_events_skipped_total",
        "Records of a class or type their format does not map (not bad input), by topic and reason.",
    );
    let mut duplicate = Family::counter(
        "soc_events_duplicate_total",
        "Records that repeated an event already counted, by topic.",
    );
    let mut late = Family::counter(
        "soc_events_late_total",
        "Records older than the retention horizon (longest KPI window plus repeat lookback), dropped.",
    );
    let mut last_event = Family::gauge(
        "soc_last_event_timestamp_seconds",
        "Largest event time seen on each topic, in Unix seconds.",
    );
    for topic in snapshot.topics.iter().filter(|t| t.consumed > 0) {
        let name = topic.topic.as_str();
        consumed.add(&[("topic", name)], topic.consumed as f64);
        for reason in RejectReason::ALL {
            let count = topic.rejected[reason.index()];
            if count > 0 {
                rejected.add(
                    &[("topic", name), ("reason", reason.as_str())],
                    count as f64,
                );
            }
        }
        for reason in SkipReason::ALL {
            let count = topic.skipped[reason.index()];
            if count > 0 {
                skipped.add(
                    &[("topic", name), ("reason", reason.as_str())],
                    count as f64,
                );
            }
        }
        duplicate.add(&[("topic", name)], topic.duplicate as f64);
        late.add(&[("topic", name)], topic.late as f64);
        if let Some(at) = topic.last_event {
            last_event.add(&[("topic", name)], at.as_seconds_f64());
        }
    }
    for family in [consumed, rejected, skipped, duplicate, late, last_event] {
        family.finish(families);
    }

    let mut lag = Family::gauge(
        "soc_kafka_consumer_lag",
        "Records in the partition not yet applied (high watermark minus the offset stored after the last applied batch; librdkafka statistics, every second).",
    );
    for (topic, partition, behind) in &snapshot.lag {
        lag.add(
            &[("topic", topic), ("partition", &partition.to_string())],
            *behind as f64,
        );
    }
    lag.finish(families);

    if let Some(up) = kafka_up {
        let mut family = Family::gauge(
            "soc_kafka_up",
            "1 while the Kafka brokers answer, 0 otherwise.",
        );
        family.add(&[], if up { 1.0 } else { 0.0 });
        family.finish(families);
    }

    let mut build = Family::gauge(
        "soc_build_info",
        "Always 1; the version label says which socmetrics runs.",
    );
    build.add(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    build.finish(families);
}
