//! The functional core: events and a `now` in, what happened ([`Applied`]) and the current
//! [`Scorecard`] out. No I/O, clock reads, logging or metrics library in here, so unit tests,
//! property tests, benches, the demo and the daemon all drive it the same way.

pub mod alerts;
pub mod dedupe;
pub mod incident;
pub mod labels;
pub mod lifecycle;
pub mod sla;

use std::sync::Arc;

use crate::event::{Alert, CaseEvent, EventTime, Severity};
use alerts::AlertBook;
use dedupe::SeenKeys;
use labels::LabelValues;
use lifecycle::{IncidentCard, Lifecycle, LifecycleSettings};
use sla::SlaPolicy;

/// A rolling window ending at now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The `window` label value, as written in the config (`5m`, `24h`, `7d`).
    pub label: String,
    pub millis: i64,
}

/// What the engine needs from the configuration.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    pub alert_windows: Vec<Window>,
    /// Records older than `now − retention` are late: counted and dropped (PRODUCT.md §3: the
    /// longest KPI window plus the repeat lookback).
    pub retention_millis: i64,
    pub max_label_values: usize,
    pub max_label_length: usize,
    pub kpi_windows: Vec<Window>,
    pub sla: SlaPolicy,
    pub max_incidents: usize,
}

/// What applying one event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A new fact, now counted.
    Counted,
    /// Seen before within the dedupe horizon: changes nothing.
    Duplicate,
    /// Older than the retention horizon: dropped.
    Late,
}

/// The in-memory state of everything consumed.
#[derive(Debug)]
pub struct Engine {
    settings: EngineSettings,
    sources: LabelValues,
    alerts: AlertBook,
    seen_alerts: SeenKeys,
    longest_alert_window: i64,
    lifecycle: Lifecycle,
}

impl Engine {
    pub fn new(settings: EngineSettings) -> Self {
        let longest_alert_window = settings
            .alert_windows
            .iter()
            .map(|w| w.millis)
            .max()
            .unwrap_or(0);
        Self {
            sources: LabelValues::new(
                "source",
                settings.max_label_values,
                settings.max_label_length,
            ),
            alerts: AlertBook::default(),
            // The dedupe horizon of an alert is the longest alert window (PRODUCT.md §4).
            seen_alerts: SeenKeys::new(longest_alert_window),
            longest_alert_window,
            lifecycle: Lifecycle::new(LifecycleSettings {
                kpi_windows: settings.kpi_windows.clone(),
                sla: settings.sla.clone(),
                retention_millis: settings.retention_millis,
                max_incidents: settings.max_incidents,
                max_label_values: settings.max_label_values,
                max_label_length: settings.max_label_length,
            }),
            settings,
        }
    }

    /// Applies one alert at clock time `now`.
    pub fn apply_alert(&mut self, alert: &Alert<'_>, now: EventTime) -> Applied {
        let detected_at = alert.detected_at.millis();
        if detected_at < now.millis().saturating_sub(self.settings.retention_millis) {
            return Applied::Late;
        }
        // A repeat is a duplicate within the longest alert window or the life of its incident.
        let alert_hash = self.lifecycle.alert_hash(&alert.alert_id);
        if self.lifecycle.has_alert(alert, alert_hash)
            || !self.seen_alerts.insert(&alert.alert_id, now.millis())
        {
            return Applied::Duplicate;
        }
        let source = self.sources.intern(&alert.source);
        let oldest_kept = now.millis().saturating_sub(self.longest_alert_window);
        self.alerts
            .series_mut(source, alert.severity)
            .record(detected_at, oldest_kept);
        self.lifecycle.apply_alert(alert, alert_hash, now.millis());
        Applied::Counted
    }

    /// Applies one case event at clock time `now`.
    pub fn apply_case(&mut self, case: &CaseEvent<'_>, now: EventTime) -> Applied {
        if case.at.millis() < now.millis().saturating_sub(self.settings.retention_millis) {
            return Applied::Late;
        }
        if self.lifecycle.apply_case(case, now.millis()) {
            Applied::Counted
        } else {
            Applied::Duplicate
        }
    }

    /// Durations found negative since the last call: counted as `clock_skew` rejections.
    pub fn take_skewed(&mut self) -> u64 {
        self.lifecycle.take_skewed()
    }

    /// The incidents in memory (tests, reports).
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// Clock-driven work at `now`: SLA breaches as deadlines pass, and letting go of what no
    /// window can need any more. One pass over the incidents; call it every tick. Returns the
    /// incidents let go, `[past retention, over the cap]`.
    pub fn expire(&mut self, now: EventTime) -> [u64; 2] {
        self.alerts
            .expire(now.millis().saturating_sub(self.longest_alert_window));
        self.seen_alerts.rotate(now.millis());
        self.lifecycle.advance(now.millis())
    }

    /// The incident KPIs at `now`, recomputed from the incidents in memory.
    pub fn incident_card(&mut self, now: EventTime) -> IncidentCard {
        self.lifecycle.card(now.millis())
    }

    /// The alert values at `now`; the incident KPIs are [`Engine::incident_card`], which the
    /// caller paces (it costs a pass over the incidents).
    pub fn scorecard(&self, now: EventTime, incidents: std::sync::Arc<IncidentCard>) -> Scorecard {
        let alerts = self
            .alerts
            .iter()
            .map(|(source, severity, series)| AlertCounts {
                source: Arc::clone(self.sources.value(source)),
                severity,
                total: series.total,
                volume: self
                    .settings
                    .alert_windows
                    .iter()
                    .map(|w| series.count_after(now.millis().saturating_sub(w.millis)))
                    .collect(),
            })
            .collect();
        Scorecard {
            now,
            alert_windows: self.settings.alert_windows.clone(),
            alerts,
            label_overflow: vec![(self.sources.name(), self.sources.overflowed())],
            incidents,
        }
    }
}

/// Counts of one (source, severity) alert series.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertCounts {
    pub source: Arc<str>,
    pub severity: Severity,
    /// `soc_alerts_total`.
    pub total: u64,
    /// `soc_alert_volume`, one per alert window, in [`Scorecard::alert_windows`] order.
    pub volume: Vec<u64>,
}

/// Every KPI value at one instant: what the exporter publishes.
#[derive(Clone, Debug, Default)]
pub struct Scorecard {
    pub now: EventTime,
    pub alert_windows: Vec<Window>,
    pub alerts: Vec<AlertCounts>,
    /// `soc_label_overflow_total` per label name.
    pub label_overflow: Vec<(&'static str, u64)>,
    pub incidents: Arc<IncidentCard>,
}

#[cfg(test)]
mod tests;
