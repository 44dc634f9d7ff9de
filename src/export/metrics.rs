//! Metric names, help texts and label sets of PRODUCT.md §4, built at scrape time from a
//! [`Snapshot`] (the "custom collector" pattern: derived values are computed when asked, not
//! kept in a registry in step with the engine).

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, TextEncoder};

use crate::config::Objective;
use crate::engine::incident::{Span, Stage};
use crate::engine::lifecycle::{
    ALL_SLOT, BUCKETS, Cumulative, IncidentCard, QUANTILES, SLOTS, UNKNOWN_SLOT, slot_label,
};
use crate::event::{Disposition, Status};
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
        let mut metric = labelled(labels);
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

    fn histogram(name: &str, help: &str) -> Self {
        Self::new(name, help, MetricType::HISTOGRAM)
    }

    fn add_histogram(&mut self, labels: &[(&str, &str)], observed: &Cumulative) {
        let mut metric = labelled(labels);
        let mut histogram = Histogram::default();
        let mut cumulative = 0;
        let buckets = BUCKETS
            .iter()
            .zip(observed.buckets)
            .map(|(le, count)| {
                cumulative += count;
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(*le as f64);
                bucket.set_cumulative_count(cumulative);
                bucket
            })
            .collect();
        histogram.set_bucket(buckets);
        histogram.set_sample_count(observed.count);
        histogram.set_sample_sum(observed.sum_millis as f64 / 1000.0);
        metric.set_histogram(histogram);
        self.0.mut_metric().push(metric);
    }

    fn finish(self, families: &mut Vec<MetricFamily>) {
        if !self.0.get_metric().is_empty() {
            families.push(self.0);
        }
    }
}

fn labelled(labels: &[(&str, &str)]) -> Metric {
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
    metric
}

/// Renders every family. `kafka_up` is `None` where there is no Kafka (the demo).
pub fn render(snapshot: &Snapshot, kafka_up: Option<bool>, objectives: &[Objective]) -> String {
    let mut families = families(snapshot, kafka_up);
    compliance(objectives, &mut families);
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

    incident_families(&card.incidents, &mut families);
    coverage_families(card, &mut families);

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
        "Records in the partition not yet applied (high watermark minus the offset stored after the last applied batch; librdkafka statistics, every second).",
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

/// Names of a duration's families: (histogram, mean, quantile, what it measures).
fn span_names(span: Span) -> (&'static str, &'static str, &'static str, &'static str) {
    match span {
        Span::Detect => (
            "soc_time_to_detect_seconds",
            "soc_mean_time_to_detect_seconds",
            "soc_time_to_detect_quantile_seconds",
            "time to detect (detected - occurred)",
        ),
        Span::Acknowledge => (
            "soc_time_to_acknowledge_seconds",
            "soc_mean_time_to_acknowledge_seconds",
            "soc_time_to_acknowledge_quantile_seconds",
            "time to acknowledge (acknowledged - detected)",
        ),
        Span::Contain => (
            "soc_time_to_contain_seconds",
            "soc_mean_time_to_contain_seconds",
            "soc_time_to_contain_quantile_seconds",
            "time to contain (contained - detected)",
        ),
        Span::Resolve => (
            "soc_time_to_resolve_seconds",
            "soc_mean_time_to_resolve_seconds",
            "soc_time_to_resolve_quantile_seconds",
            "time to resolve (resolved - detected)",
        ),
        Span::Dwell => (
            "soc_dwell_time_seconds",
            "soc_mean_dwell_time_seconds",
            "soc_dwell_time_quantile_seconds",
            "dwell time (contained - occurred)",
        ),
    }
}

/// Severity slots a series is exported for: the five levels always, `unknown` only when it
/// holds something, and `all` where the family has it.
fn slots(with_all: bool, nonzero: impl Fn(usize) -> bool) -> impl Iterator<Item = usize> {
    (0..SLOTS)
        .filter(move |&slot| slot != UNKNOWN_SLOT || nonzero(slot))
        .chain(with_all.then_some(ALL_SLOT))
}

fn incident_families(card: &IncidentCard, families: &mut Vec<MetricFamily>) {
    let counters = &card.counters;

    let mut opened = Family::counter(
        "soc_incidents_opened_total",
        "Incidents first seen, by severity when first seen.",
    );
    let mut reopened = Family::counter(
        "soc_incidents_reopened_total",
        "Reopen events, by incident severity.",
    );
    let mut resolved = Family::counter(
        "soc_incidents_resolved_total",
        "First resolutions of incidents, by severity and disposition at resolution.",
    );
    let mut breaches = Family::counter(
        "soc_sla_breaches_total",
        "SLA breaches, counted once per incident and stage when they happen.",
    );
    for slot in slots(false, |s| {
        counters.opened[s]
            + counters.reopened[s]
            + counters.resolved[s].iter().sum::<u64>()
            + counters.breaches[s].iter().sum::<u64>()
            > 0
    }) {
        let severity = slot_label(slot);
        opened.add(&[("severity", severity)], counters.opened[slot] as f64);
        reopened.add(&[("severity", severity)], counters.reopened[slot] as f64);
        for (d, count) in counters.resolved[slot].iter().enumerate() {
            let disposition = Disposition::ALL.get(d).map_or("unknown", |d| d.as_str());
            if d < Disposition::ALL.len() || *count > 0 {
                resolved.add(
                    &[("severity", severity), ("disposition", disposition)],
                    *count as f64,
                );
            }
        }
        for stage in Stage::ALL {
            breaches.add(
                &[("severity", severity), ("stage", stage.as_str())],
                counters.breaches[slot][stage.index()] as f64,
            );
        }
    }
    opened.finish(families);
    resolved.finish(families);
    reopened.finish(families);
    breaches.finish(families);

    for span in Span::ALL {
        let (histogram_name, _, _, what) = span_names(span);
        let observed = &counters.durations[span.index()];
        let mut histogram = Family::histogram(
            histogram_name,
            &format!(
                "Each incident's {what}, observed once when first known; negative clamped to 0."
            ),
        );
        for slot in slots(false, |s| observed[s].count > 0) {
            histogram.add_histogram(&[("severity", slot_label(slot))], &observed[slot]);
        }
        histogram.finish(families);
    }

    let mut open = Family::gauge(
        "soc_incidents_open",
        "Open incidents now, by severity and latest status.",
    );
    for slot in slots(true, |s| card.open[s].iter().sum::<u64>() > 0) {
        for status in Status::ALL.iter().filter(|s| !s.resolves()) {
            let count = match slot {
                ALL_SLOT => card
                    .open
                    .iter()
                    .map(|by_status| by_status[status.index()])
                    .sum(),
                _ => card.open[slot][status.index()],
            };
            open.add(
                &[("severity", slot_label(slot)), ("status", status.as_str())],
                count as f64,
            );
        }
    }
    open.finish(families);

    let mut breached = Family::gauge(
        "soc_sla_breached_open_incidents",
        "Incidents that have not reached the stage and whose deadline has passed.",
    );
    for slot in slots(true, |s| card.breached_open[s].iter().sum::<u64>() > 0) {
        for stage in Stage::ALL {
            let count = match slot {
                ALL_SLOT => card
                    .breached_open
                    .iter()
                    .map(|by_stage| by_stage[stage.index()])
                    .sum(),
                _ => card.breached_open[slot][stage.index()],
            };
            breached.add(
                &[("severity", slot_label(slot)), ("stage", stage.as_str())],
                count as f64,
            );
        }
    }
    breached.finish(families);

    let mut incidents = Family::gauge(
        "soc_incidents",
        "Incidents whose detection time is in the window, by severity.",
    );
    let mut compliance = Family::gauge(
        "soc_sla_compliance_ratio",
        "Of incidents whose stage deadline fell in the window, the share not breached.",
    );
    for (window, kpis) in card.windows.iter().zip(&card.per_window) {
        for slot in slots(true, |s| kpis.incidents[s] > 0) {
            incidents.add(
                &[("window", &window.label), ("severity", slot_label(slot))],
                kpis.incidents[slot] as f64,
            );
        }
        for stage in Stage::ALL {
            for slot in 0..=SLOTS {
                let stats = kpis.sla[stage.index()][slot];
                if stats.due > 0 {
                    compliance.add(
                        &[
                            ("window", &window.label),
                            ("severity", slot_label(slot)),
                            ("stage", stage.as_str()),
                        ],
                        stats.met as f64 / stats.due as f64,
                    );
                }
            }
        }
    }
    incidents.finish(families);

    for span in Span::ALL {
        let (_, mean_name, quantile_name, what) = span_names(span);
        let mut mean = Family::gauge(
            mean_name,
            &format!("Mean {what} of incidents whose end of it is in the window."),
        );
        let mut quantile = Family::gauge(
            quantile_name,
            &format!(
                "Quantiles of {what} of incidents whose end of it is in the window (HdrHistogram, 3 significant digits)."
            ),
        );
        for (window, kpis) in card.windows.iter().zip(&card.per_window) {
            for slot in 0..=SLOTS {
                let stats = &kpis.spans[span.index()][slot];
                if stats.count == 0 {
                    continue;
                }
                let labels = [
                    ("window", window.label.as_str()),
                    ("severity", slot_label(slot)),
                ];
                mean.add(
                    &labels,
                    stats.sum_millis as f64 / stats.count as f64 / 1000.0,
                );
                for (q, millis) in QUANTILES.iter().zip(stats.quantiles) {
                    let q = q.to_string();
                    quantile.add(
                        &[labels[0], labels[1], ("quantile", q.as_str())],
                        millis as f64 / 1000.0,
                    );
                }
            }
        }
        mean.finish(families);
        quantile.finish(families);
    }
    compliance.finish(families);

    scorecard_families(card, families);

    let mut in_memory = Family::gauge(
        "soc_incidents_in_memory",
        "Incidents held in memory (open, or closed within retention).",
    );
    in_memory.add(&[], card.in_memory as f64);
    in_memory.finish(families);
    let mut evicted = Family::counter(
        "soc_incidents_evicted_total",
        "Incidents let go: past retention after closing, or to stay under limits.max_incidents.",
    );
    evicted.add(&[("reason", "retention")], counters.evicted[0] as f64);
    evicted.add(&[("reason", "cap")], counters.evicted[1] as f64);
    evicted.finish(families);
}

fn scorecard_families(card: &IncidentCard, families: &mut Vec<MetricFamily>) {
    let scorecard = &card.scorecard;
    let mut fp = Family::gauge(
        "soc_false_positive_ratio",
        "Of incidents resolved in the window with a disposition, the share false_positive.",
    );
    let mut alert_fp = Family::gauge(
        "soc_alert_false_positive_ratio",
        "Of alerts whose incident was resolved in the window with a disposition, the share false_positive, by source.",
    );
    let mut detection = Family::gauge(
        "soc_detection_ratio",
        "Of true-positive incidents detected in the window, the share found by the SOC (kpis.detected_by).",
    );
    let mut escalation = Family::gauge(
        "soc_escalation_ratio",
        "Of incidents detected in the window, the share escalated.",
    );
    let mut repeats = Family::gauge(
        "soc_repeat_incidents",
        "Incidents detected in the window whose (tenant, root_cause) matched an earlier incident within the lookback.",
    );
    let mut repeat_ratio = Family::gauge(
        "soc_repeat_incident_ratio",
        "Of incidents detected in the window with a root cause, the share that repeat an earlier one.",
    );
    let mut threat = Family::gauge(
        "soc_threat_intel_incidents",
        "Incidents detected in the window enriched by threat intel.",
    );
    let mut threat_ratio = Family::gauge(
        "soc_threat_intel_ratio",
        "Of incidents detected in the window, the share enriched by threat intel.",
    );
    let mut cost = Family::gauge(
        "soc_incident_cost",
        "Sum of the cost of incidents resolved in the window (reported cost, else the cost model).",
    );
    let mut resolved = Family::gauge(
        "soc_analyst_resolved_incidents",
        "Resolutions in the window, by current assignee.",
    );
    let mut alerts = Family::gauge(
        "soc_analyst_alerts",
        "Alerts detected in the window on incidents assigned to the analyst.",
    );
    let mut busy = Family::gauge(
        "soc_analyst_busy_ratio",
        "Share of the window covered by the union of [acknowledged, resolved or now) of the analyst's incidents.",
    );
    for (window, kpis) in card.windows.iter().zip(&scorecard.per_window) {
        let w = window.label.as_str();
        for slot in 0..=SLOTS {
            let labels = [("window", w), ("severity", slot_label(slot))];
            if let Some(value) = kpis.false_positive[slot].value() {
                fp.add(&labels, value);
            }
            if let Some(value) = kpis.escalation[slot].value() {
                escalation.add(&labels, value);
            }
        }
        for slot in slots(true, |s| kpis.cost[s] > 0.0) {
            cost.add(
                &[("window", w), ("severity", slot_label(slot))],
                kpis.cost[slot],
            );
        }
        for (source, ratio) in &kpis.alert_false_positive {
            if let Some(value) = ratio.value() {
                alert_fp.add(&[("window", w), ("source", source)], value);
            }
        }
        if let Some(value) = kpis.detection.value() {
            detection.add(&[("window", w)], value);
        }
        repeats.add(&[("window", w)], kpis.repeat.num as f64);
        if let Some(value) = kpis.repeat.value() {
            repeat_ratio.add(&[("window", w)], value);
        }
        threat.add(&[("window", w)], kpis.threat_intel.num as f64);
        if let Some(value) = kpis.threat_intel.value() {
            threat_ratio.add(&[("window", w)], value);
        }
        for (analyst, count) in &kpis.analyst_resolved {
            resolved.add(&[("window", w), ("analyst", analyst)], *count as f64);
        }
        for (analyst, count) in &kpis.analyst_alerts {
            alerts.add(&[("window", w), ("analyst", analyst)], *count as f64);
        }
        for (analyst, share) in &kpis.analyst_busy {
            busy.add(&[("window", w), ("analyst", analyst)], *share);
        }
    }
    let mut open = Family::gauge(
        "soc_analyst_open_incidents",
        "Open incidents by current assignee.",
    );
    for (analyst, count) in &scorecard.analyst_open {
        open.add(&[("analyst", analyst)], *count as f64);
    }
    for family in [
        fp,
        alert_fp,
        detection,
        escalation,
        repeats,
        repeat_ratio,
        threat,
        threat_ratio,
        cost,
        open,
        resolved,
        alerts,
        busy,
    ] {
        family.finish(families);
    }
}

fn coverage_families(card: &crate::engine::Scorecard, families: &mut Vec<MetricFamily>) {
    let coverage = card.coverage;
    let mut monitored = Family::gauge(
        "soc_assets_monitored",
        "Inventory assets (not retired) with telemetry within coverage.max_silence.",
    );
    monitored.add(&[], coverage.monitored as f64);
    monitored.finish(families);
    let mut unmonitored = Family::gauge(
        "soc_assets_unmonitored",
        "Inventory assets (not retired) without telemetry within coverage.max_silence.",
    );
    unmonitored.add(&[], coverage.unmonitored() as f64);
    unmonitored.finish(families);
    if let Some(gap) = coverage.gap_ratio() {
        let mut ratio = Family::gauge(
            "soc_coverage_gap_ratio",
            "Unmonitored inventory assets / inventory assets.",
        );
        ratio.add(&[], gap);
        ratio.finish(families);
    }
    let mut posture = Family::gauge(
        "soc_posture_score",
        "0-100: weighted mean of detection ratio, SLA compliances, 1 - coverage gap, 1 - false-positive ratio.",
    );
    for (window, score) in card.incidents.windows.iter().zip(&card.posture) {
        if let Some(score) = score {
            posture.add(&[("window", &window.label)], *score);
        }
    }
    posture.finish(families);
}

/// The value of the one gauge series of `soc_<kpi>` whose labels include `labels`, if exactly
/// one does.
fn pick(families: &[MetricFamily], objective: &Objective) -> Option<f64> {
    let name = format!("soc_{}", objective.kpi);
    let family = families
        .iter()
        .find(|f| f.name() == name && f.get_field_type() == MetricType::GAUGE)?;
    let mut matching = family.get_metric().iter().filter(|metric| {
        objective.labels.iter().all(|(key, value)| {
            metric
                .get_label()
                .iter()
                .any(|pair| pair.name() == key && pair.value() == value)
        })
    });
    let first = matching.next()?;
    matching
        .next()
        .is_none()
        .then(|| first.get_gauge().get_value())
}

/// `soc_compliance_objective_met` and `soc_compliance_score` from the gauges just built.
fn compliance(objectives: &[Objective], families: &mut Vec<MetricFamily>) {
    let mut met = Family::gauge(
        "soc_compliance_objective_met",
        "1 when the objective's KPI meets its target, 0 when not; absent while the KPI series does not exist.",
    );
    let mut tally: std::collections::BTreeMap<&str, (u64, u64)> = std::collections::BTreeMap::new();
    for objective in objectives {
        let Some(value) = pick(families, objective) else {
            continue;
        };
        let ok = objective.op.holds(value, objective.target);
        met.add(
            &[
                ("framework", &objective.framework),
                ("control", &objective.control),
            ],
            if ok { 1.0 } else { 0.0 },
        );
        let entry = tally.entry(&objective.framework).or_default();
        entry.0 += u64::from(ok);
        entry.1 += 1;
    }
    let mut score = Family::gauge(
        "soc_compliance_score",
        "0-100: share of the framework's objectives met, of those whose KPI series exists.",
    );
    for (framework, (ok, total)) in &tally {
        score.add(
            &[("framework", framework)],
            100.0 * *ok as f64 / *total as f64,
        );
    }
    met.finish(families);
    score.finish(families);
}
