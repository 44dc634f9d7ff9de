//! Metric names, help texts and label sets of PRODUCT.md §4, built at scrape time from a
//! [`Snapshot`] (the "custom collector" pattern: derived values are computed when asked, not
//! kept in a registry in step with the engine).

use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

use crate::formats::RejectReason;
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
        let mut metric = Metric::default();
        metric.set_label(
            labels
                .iter()
                .map(|(name, value)| {
                    let mut pair = LabelPair::default();
                    pair.set_name((*name).to_owned());
                    pair.set_value((*value).to_owned());
                    pair
                })
                .collect(),
        );
        match self.0.get_field_type() {
            MetricType::COUNTER => {
                let mut counter = Counter::default();
                counter.set_value(value);
                metric.set_counter(counter);
            }
            _ => {
                let mut gauge = Gauge::default();
                gauge.set_value(value);
                metric.set_gauge(gauge);
            }
        }
        self.0.mut_metric().push(metric);
    }

    fn finish(self, families: &mut Vec<MetricFamily>) {
        if !self.0.get_metric().is_empty() {
            families.push(self.0);
        }
    }
}

/// Renders every family. `kafka_up` is `None` where there is no Kafka (the demo).
pub fn render(snapshot: &Snapshot, kafka_up: Option<bool>) -> String {
    let families = families(snapshot, kafka_up);
    let mut text = Vec::with_capacity(16 * 1024);
    if let Err(error) = TextEncoder::new().encode(&families, &mut text) {
        tracing::error!(%error, "cannot encode metrics");
    }
    String::from_utf8(text).unwrap_or_default()
}

fn families(snapshot: &Snapshot, kafka_up: Option<bool>) -> Vec<MetricFamily> {
    let card = &snapshot.scorecard;
    let mut families = Vec::new();

    let mut alerts = Family::counter(
        "soc_alerts_total",
        "Distinct alerts consumed (deduplicated by alert_id), by detection source and severity.",
    );
    let mut volume = Family::gauge(
        "soc_alert_volume",
        "Alerts whose detected_at lies in the rolling window ending now, by source and severity.",
    );
    for series in &card.alerts {
        let severity = series.severity.as_str();
        alerts.add(
            &[("source", &series.source), ("severity", severity)],
            series.total as f64,
        );
        for (window, count) in card.alert_windows.iter().zip(&series.volume) {
            volume.add(
                &[
                    ("window", &window.label),
                    ("source", &series.source),
                    ("severity", severity),
                ],
                *count as f64,
            );
        }
    }
    alerts.finish(&mut families);
    volume.finish(&mut families);

    let mut consumed = Family::counter(
        "soc_events_consumed_total",
        "Records read from each input topic, whatever came of them.",
    );
    let mut rejected = Family::counter(
        "soc_events_rejected_total",
        "Records rejected (not JSON, missing or bad field, too large…), by topic and reason.",
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
    for topic in &snapshot.topics {
        let name = topic.topic.as_str();
        if topic.consumed == 0 {
            continue;
        }
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
        duplicate.add(&[("topic", name)], topic.duplicate as f64);
        late.add(&[("topic", name)], topic.late as f64);
        if let Some(at) = topic.last_event {
            last_event.add(&[("topic", name)], at.as_seconds_f64());
        }
    }
    consumed.finish(&mut families);
    rejected.finish(&mut families);
    duplicate.finish(&mut families);
    late.finish(&mut families);
    last_event.finish(&mut families);

    let mut lag = Family::gauge(
        "soc_kafka_consumer_lag",
        "Records in the partition not yet consumed (high watermark minus position).",
    );
    for (topic, partition, behind) in &snapshot.lag {
        lag.add(
            &[("topic", topic), ("partition", &partition.to_string())],
            *behind as f64,
        );
    }
    lag.finish(&mut families);

    if let Some(up) = kafka_up {
        let mut family = Family::gauge(
            "soc_kafka_up",
            "1 while the Kafka brokers answer, 0 otherwise.",
        );
        family.add(&[], if up { 1.0 } else { 0.0 });
        family.finish(&mut families);
    }

    let mut overflow = Family::counter(
        "soc_label_overflow_total",
        "Label values replaced by `other` because the label reached limits.max_label_values.",
    );
    for (label, count) in &card.label_overflow {
        overflow.add(&[("label", label)], *count as f64);
    }
    overflow.finish(&mut families);

    let mut build = Family::gauge(
        "soc_build_info",
        "Always 1; the version label says which socmetrics runs.",
    );
    build.add(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    build.finish(&mut families);

    families
}
