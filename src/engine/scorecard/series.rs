//! The scorecard as series: every value with its KPI and typed labels, in the shape of
//! `/metrics` (PRODUCT.md §4), so the exporter and a report render it without knowing how the
//! engine keeps its values. Which series exist is decided here: a ratio with an empty
//! population is absent; the five severity levels are always present where a family has them,
//! `unknown` only when it holds something, `all` where the family has it.

use std::borrow::Cow;

use smallvec::SmallVec;

use super::{Kpi, Scorecard};
use crate::engine::card::{
    ALL_SLOT, Cumulative, IncidentCard, QUANTILES, SLOTS, UNKNOWN_SLOT, WindowKpis,
};
use crate::engine::incident::{Span, Stage};
use crate::engine::quality::WindowQuality;
use crate::event::{Disposition, Severity, Status};

/// The `severity` label: a level, `unknown` (no event gave one), or `all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeverityLabel {
    Level(Severity),
    Unknown,
    All,
}

impl SeverityLabel {
    fn of_slot(slot: usize) -> Self {
        match slot {
            ALL_SLOT => SeverityLabel::All,
            UNKNOWN_SLOT => SeverityLabel::Unknown,
            level => Severity::ALL
                .get(level)
                .map_or(SeverityLabel::Unknown, |s| SeverityLabel::Level(*s)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLabel::Level(severity) => severity.as_str(),
            SeverityLabel::Unknown => "unknown",
            SeverityLabel::All => "all",
        }
    }
}

/// One label of a series, typed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Label<'a> {
    Window(&'a str),
    Severity(SeverityLabel),
    Stage(Stage),
    Status(Status),
    /// `None`: resolved without a disposition (`unknown`).
    Disposition(Option<Disposition>),
    Source(&'a str),
    Analyst(&'a str),
    Quantile(f64),
    /// Why incidents were let go (`retention`, `cap`).
    Reason(&'static str),
    /// The label name a `soc_label_overflow_total` series counts.
    Label(&'static str),
    Framework(&'a str),
    Control(&'a str),
}

impl<'a> Label<'a> {
    /// The label's name in `/metrics`.
    pub fn name(&self) -> &'static str {
        match self {
            Label::Window(_) => "window",
            Label::Severity(_) => "severity",
            Label::Stage(_) => "stage",
            Label::Status(_) => "status",
            Label::Disposition(_) => "disposition",
            Label::Source(_) => "source",
            Label::Analyst(_) => "analyst",
            Label::Quantile(_) => "quantile",
            Label::Reason(_) => "reason",
            Label::Label(_) => "label",
            Label::Framework(_) => "framework",
            Label::Control(_) => "control",
        }
    }

    /// The label's value as text.
    pub fn value(&self) -> Cow<'a, str> {
        match *self {
            Label::Window(text)
            | Label::Source(text)
            | Label::Analyst(text)
            | Label::Framework(text)
            | Label::Control(text) => Cow::Borrowed(text),
            Label::Severity(severity) => Cow::Borrowed(severity.as_str()),
            Label::Stage(stage) => Cow::Borrowed(stage.as_str()),
            Label::Status(status) => Cow::Borrowed(status.as_str()),
            Label::Disposition(disposition) => {
                Cow::Borrowed(disposition.map_or("unknown", Disposition::as_str))
            }
            Label::Quantile(q) => Cow::Owned(q.to_string()),
            Label::Reason(text) | Label::Label(text) => Cow::Borrowed(text),
        }
    }
}

/// A series' labels: up to four inline.
pub type Labels<'a> = SmallVec<[Label<'a>; 4]>;

/// A series' value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// A counter's count.
    Count(u64),
    /// A gauge's value, in base units (seconds, ratios in [0, 1], scores 0–100).
    Gauge(f64),
    /// A lifetime duration histogram, bucket counts not yet cumulative.
    Histogram(&'a Cumulative),
}

impl Value<'_> {
    /// The value as a number (a histogram's count).
    pub fn number(&self) -> f64 {
        match self {
            Value::Count(count) => *count as f64,
            Value::Gauge(value) => *value,
            Value::Histogram(histogram) => histogram.count as f64,
        }
    }
}

/// One series: a KPI, its labels and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Series<'a> {
    pub kpi: Kpi,
    pub labels: Labels<'a>,
    pub value: Value<'a>,
}

impl<'a> Series<'a> {
    pub fn new(kpi: Kpi, labels: &[Label<'a>], value: Value<'a>) -> Self {
        Self {
            kpi,
            labels: labels.iter().copied().collect(),
            value,
        }
    }

    /// The value of the label named `name`, if the series has it.
    pub fn label(&self, name: &str) -> Option<Cow<'a, str>> {
        self.labels
            .iter()
            .find(|label| label.name() == name)
            .map(Label::value)
    }
}

/// Collects series.
struct Out<'a>(Vec<Series<'a>>);

impl<'a> Out<'a> {
    fn count(&mut self, kpi: Kpi, labels: &[Label<'a>], count: u64) {
        self.0.push(Series::new(kpi, labels, Value::Count(count)));
    }

    fn gauge(&mut self, kpi: Kpi, labels: &[Label<'a>], value: f64) {
        self.0.push(Series::new(kpi, labels, Value::Gauge(value)));
    }

    fn ratio(&mut self, kpi: Kpi, labels: &[Label<'a>], value: Option<f64>) {
        if let Some(value) = value {
            self.gauge(kpi, labels, value);
        }
    }
}

/// Severity slots a series is exported for: the five levels always, `unknown` only when it
/// holds something, and `all` where the family has it.
fn slots(with_all: bool, nonzero: impl Fn(usize) -> bool) -> impl Iterator<Item = usize> {
    (0..SLOTS)
        .filter(move |&slot| slot != UNKNOWN_SLOT || nonzero(slot))
        .chain(with_all.then_some(ALL_SLOT))
}

fn severity(slot: usize) -> Label<'static> {
    Label::Severity(SeverityLabel::of_slot(slot))
}

impl Scorecard {
    /// Every series of the scorecard, grouped by KPI in [`Kpi::ALL`] order.
    pub fn series(&self) -> Vec<Series<'_>> {
        let mut out = Out(Vec::with_capacity(1024));
        self.alert_series(&mut out);
        let card = &*self.incidents;
        counter_series(card, &mut out);
        open_series(card, &mut out);
        window_series(card, &mut out);
        quality_series(card, &mut out);
        self.state_series(&mut out);
        let mut series = out.0;
        // Families were emitted in blocks; a stable sort groups each KPI's series in order
        // (the key, a scan of `Kpi::ALL`, computed once per series).
        series.sort_by_cached_key(|s| Kpi::ALL.iter().position(|kpi| *kpi == s.kpi));
        series
    }

    fn alert_series<'a>(&'a self, out: &mut Out<'a>) {
        for series in &self.alerts {
            let severity = Label::Severity(SeverityLabel::Level(series.severity));
            out.count(
                Kpi::AlertsTotal,
                &[Label::Source(&series.source), severity],
                series.total,
            );
            for (window, count) in self.alert_windows.iter().zip(&series.volume) {
                out.gauge(
                    Kpi::AlertVolume,
                    &[
                        Label::Window(&window.label),
                        Label::Source(&series.source),
                        severity,
                    ],
                    *count as f64,
                );
            }
        }
    }

    fn state_series<'a>(&'a self, out: &mut Out<'a>) {
        let card = &*self.incidents;
        out.gauge(Kpi::IncidentsInMemory, &[], card.in_memory as f64);
        for (reason, count) in ["retention", "cap"].into_iter().zip(card.counters.evicted) {
            out.count(Kpi::IncidentsEvictedTotal, &[Label::Reason(reason)], count);
        }
        let coverage = self.coverage;
        out.gauge(Kpi::AssetsMonitored, &[], coverage.monitored as f64);
        out.gauge(Kpi::AssetsUnmonitored, &[], coverage.unmonitored() as f64);
        out.ratio(Kpi::CoverageGapRatio, &[], coverage.gap_ratio());
        for (window, score) in card.windows.iter().zip(&self.posture) {
            out.ratio(Kpi::PostureScore, &[Label::Window(&window.label)], *score);
        }
        for (label, count) in &self.label_overflow {
            out.count(Kpi::LabelOverflowTotal, &[Label::Label(label)], *count);
        }
    }
}

/// The lifetime counters and histograms.
fn counter_series<'a>(card: &'a IncidentCard, out: &mut Out<'a>) {
    let counters = &card.counters;
    for slot in slots(false, |s| {
        counters.opened[s]
            + counters.reopened[s]
            + counters.resolved[s].iter().sum::<u64>()
            + counters.breaches[s].iter().sum::<u64>()
            > 0
    }) {
        let severity = severity(slot);
        out.count(
            Kpi::IncidentsOpenedTotal,
            &[severity],
            counters.opened[slot],
        );
        out.count(
            Kpi::IncidentsReopenedTotal,
            &[severity],
            counters.reopened[slot],
        );
        for (d, count) in counters.resolved[slot].iter().enumerate() {
            let disposition = Disposition::ALL.get(d).copied();
            if disposition.is_some() || *count > 0 {
                out.count(
                    Kpi::IncidentsResolvedTotal,
                    &[severity, Label::Disposition(disposition)],
                    *count,
                );
            }
        }
        for stage in Stage::ALL {
            out.count(
                Kpi::SlaBreachesTotal,
                &[severity, Label::Stage(stage)],
                counters.breaches[slot][stage.index()],
            );
        }
    }
    for span in Span::ALL {
        let observed = &counters.durations[span.index()];
        for slot in slots(false, |s| observed[s].count > 0) {
            out.0.push(Series::new(
                Kpi::Duration(span),
                &[severity(slot)],
                Value::Histogram(&observed[slot]),
            ));
        }
    }
}

/// The gauges of open incidents now.
fn open_series<'a>(card: &'a IncidentCard, out: &mut Out<'a>) {
    for slot in slots(true, |s| card.open[s].iter().sum::<u64>() > 0) {
        for status in Status::ALL.iter().filter(|s| !s.resolves()) {
            let count: u64 = match slot {
                ALL_SLOT => card.open.iter().map(|by| by[status.index()]).sum(),
                _ => card.open[slot][status.index()],
            };
            out.gauge(
                Kpi::IncidentsOpen,
                &[severity(slot), Label::Status(*status)],
                count as f64,
            );
        }
    }
    for slot in slots(true, |s| card.breached_open[s].iter().sum::<u64>() > 0) {
        for stage in Stage::ALL {
            let count: u64 = match slot {
                ALL_SLOT => card.breached_open.iter().map(|by| by[stage.index()]).sum(),
                _ => card.breached_open[slot][stage.index()],
            };
            out.gauge(
                Kpi::SlaBreachedOpenIncidents,
                &[severity(slot), Label::Stage(stage)],
                count as f64,
            );
        }
    }
}

/// The windowed incident KPIs: counts, durations, SLA compliance.
fn window_series<'a>(card: &'a IncidentCard, out: &mut Out<'a>) {
    for (window, kpis) in card.windows.iter().zip(&card.per_window) {
        let window = Label::Window(&window.label);
        for slot in slots(true, |s| kpis.incidents[s] > 0) {
            out.gauge(
                Kpi::Incidents,
                &[window, severity(slot)],
                kpis.incidents[slot] as f64,
            );
        }
        duration_series(window, kpis, out);
        for stage in Stage::ALL {
            for slot in 0..=SLOTS {
                let stats = kpis.sla[stage.index()][slot];
                out.ratio(
                    Kpi::SlaComplianceRatio,
                    &[window, severity(slot), Label::Stage(stage)],
                    (stats.due > 0).then(|| stats.met as f64 / stats.due as f64),
                );
            }
        }
    }
}

fn duration_series<'a>(window: Label<'a>, kpis: &WindowKpis, out: &mut Out<'a>) {
    for span in Span::ALL {
        for slot in 0..=SLOTS {
            let stats = &kpis.spans[span.index()][slot];
            if stats.count == 0 {
                continue;
            }
            let labels = [window, severity(slot)];
            out.gauge(
                Kpi::MeanDuration(span),
                &labels,
                stats.sum_millis as f64 / stats.count as f64 / 1000.0,
            );
            for (q, millis) in QUANTILES.iter().zip(stats.quantiles) {
                out.gauge(
                    Kpi::DurationQuantile(span),
                    &[labels[0], labels[1], Label::Quantile(*q)],
                    millis as f64 / 1000.0,
                );
            }
        }
    }
}

/// Detection quality, cost and workload.
fn quality_series<'a>(card: &'a IncidentCard, out: &mut Out<'a>) {
    for (window, kpis) in card.windows.iter().zip(&card.quality.per_window) {
        window_quality(Label::Window(&window.label), kpis, out);
    }
    for (analyst, count) in &card.quality.analyst_open {
        out.gauge(
            Kpi::AnalystOpenIncidents,
            &[Label::Analyst(analyst)],
            *count as f64,
        );
    }
}

fn window_quality<'a>(window: Label<'a>, kpis: &'a WindowQuality, out: &mut Out<'a>) {
    for slot in 0..=SLOTS {
        let labels = [window, severity(slot)];
        out.ratio(
            Kpi::FalsePositiveRatio,
            &labels,
            kpis.false_positive[slot].value(),
        );
        out.ratio(Kpi::EscalationRatio, &labels, kpis.escalation[slot].value());
    }
    for slot in slots(true, |s| kpis.cost[s] > 0.0) {
        out.gauge(
            Kpi::IncidentCost,
            &[window, severity(slot)],
            kpis.cost[slot],
        );
    }
    for (source, ratio) in &kpis.alert_false_positive {
        out.ratio(
            Kpi::AlertFalsePositiveRatio,
            &[window, Label::Source(source)],
            ratio.value(),
        );
    }
    out.ratio(Kpi::DetectionRatio, &[window], kpis.detection.value());
    out.gauge(Kpi::RepeatIncidents, &[window], kpis.repeat.num as f64);
    out.ratio(Kpi::RepeatIncidentRatio, &[window], kpis.repeat.value());
    out.gauge(
        Kpi::ThreatIntelIncidents,
        &[window],
        kpis.threat_intel.num as f64,
    );
    out.ratio(Kpi::ThreatIntelRatio, &[window], kpis.threat_intel.value());
    for (analyst, count) in &kpis.analyst_resolved {
        out.gauge(
            Kpi::AnalystResolvedIncidents,
            &[window, Label::Analyst(analyst)],
            *count as f64,
        );
    }
    for (analyst, count) in &kpis.analyst_alerts {
        out.gauge(
            Kpi::AnalystAlerts,
            &[window, Label::Analyst(analyst)],
            *count as f64,
        );
    }
    for (analyst, share) in &kpis.analyst_busy {
        out.gauge(
            Kpi::AnalystBusyRatio,
            &[window, Label::Analyst(analyst)],
            *share,
        );
    }
}
