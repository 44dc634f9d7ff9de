//! The functional core: events and a `now` in, what happened ([`Applied`]) and the current
//! [`Scorecard`] out. No I/O, clock reads, logging or metrics library in here, so unit tests,
//! property tests, benches, the demo and the daemon all drive it the same way.

pub mod alerts;
pub mod coverage;
pub mod dedupe;
pub mod incident;
pub mod labels;
pub mod lifecycle;
pub mod scorecard;
pub mod sla;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::event::{Alert, CaseEvent, EventTime, InventoryRecord, Severity, Telemetry};
use alerts::AlertBook;
use dedupe::SeenKeys;
use labels::LabelValues;
use lifecycle::{IncidentCard, Lifecycle, LifecycleSettings};
use sla::SlaPolicy;
use state::{StateKey, StateRecord};

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
    pub scorecard: scorecard::ScorecardSettings,
    /// `coverage.max_silence`.
    pub max_silence_millis: i64,
    /// Weights of detection ratio, acknowledge and resolve compliance, 1 − coverage gap and
    /// 1 − false-positive ratio in `soc_posture_score`.
    pub posture_weights: [f64; 5],
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

/// The stable 64-bit hash of an id (alert ids): the same in every process, so dedupe sets and
/// changelog keys survive restarts.
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// The alert state of one input partition.
#[derive(Debug)]
struct AlertPartition {
    book: AlertBook,
    seen: SeenKeys,
}

/// What changed since the changelog was last written.
#[derive(Debug, Default)]
struct Pending {
    /// Alerts kept for the windows: (partition, id hash, source id, severity, detected_at).
    alerts: Vec<(i32, u64, u32, Severity, i64)>,
    /// Alerts that left the longest window: (partition, id hash).
    alerts_gone: Vec<(i32, u64)>,
    /// Partitions whose event clock moved.
    clocks: BTreeMap<i32, i64>,
    /// Alert series first seen in a partition: (partition, source id, severity).
    series: Vec<(i32, u32, Severity)>,
}

/// The in-memory state of everything consumed, by input partition.
#[derive(Debug)]
pub struct Engine {
    settings: EngineSettings,
    sources: LabelValues,
    alerts: BTreeMap<i32, AlertPartition>,
    /// `soc_alerts_total` by (source, severity): kept apart from the partitions, so a counter
    /// never goes down when a partition moves to another instance.
    alert_totals: BTreeMap<(u32, Severity), u64>,
    /// Largest event time seen per partition: the event clock's share of the changelog.
    clocks: BTreeMap<i32, i64>,
    longest_alert_window: i64,
    lifecycle: Lifecycle,
    coverage: coverage::Coverage,
    /// Whether changes are recorded for the changelog (off for the demo and replays).
    durable: bool,
    pending: Pending,
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
            alerts: BTreeMap::new(),
            alert_totals: BTreeMap::new(),
            clocks: BTreeMap::new(),
            longest_alert_window,
            lifecycle: Lifecycle::new(LifecycleSettings {
                kpi_windows: settings.kpi_windows.clone(),
                sla: settings.sla.clone(),
                retention_millis: settings.retention_millis,
                max_incidents: settings.max_incidents,
                max_label_values: settings.max_label_values,
                max_label_length: settings.max_label_length,
                scorecard: settings.scorecard.clone(),
            }),
            coverage: coverage::Coverage::new(settings.max_silence_millis),
            durable: false,
            pending: Pending::default(),
            settings,
        }
    }

    /// Records every change for the changelog ([`Engine::take_changes`]).
    pub fn record_changes(&mut self) {
        self.durable = true;
        self.lifecycle.record_changes();
    }

    fn alert_partition(&mut self, partition: i32) -> &mut AlertPartition {
        let horizon = self.longest_alert_window;
        self.alerts
            .entry(partition)
            .or_insert_with(|| AlertPartition {
                book: AlertBook::default(),
                // The dedupe horizon of an alert is the longest alert window (PRODUCT.md §4).
                seen: SeenKeys::new(horizon),
            })
    }

    fn observe(&mut self, partition: i32, at: i64) {
        self.lifecycle.observe(partition, at);
        let clock = self.clocks.entry(partition).or_insert(i64::MIN);
        if at > *clock {
            *clock = at;
            if self.durable {
                self.pending.clocks.insert(partition, at);
            }
        }
    }

    /// Applies one alert of input partition 0 at clock time `now` (single-partition use: the
    /// demo, replays, tests).
    pub fn apply_alert(&mut self, alert: &Alert<'_>, now: EventTime) -> Applied {
        self.apply_alert_in(0, alert, now)
    }

    /// Applies one alert of an input partition at clock time `now`.
    pub fn apply_alert_in(&mut self, partition: i32, alert: &Alert<'_>, now: EventTime) -> Applied {
        let detected_at = alert.detected_at.millis();
        if detected_at < now.millis().saturating_sub(self.settings.retention_millis) {
            return Applied::Late;
        }
        // A repeat is a duplicate within the longest alert window or the life of its incident.
        let alert_hash = id_hash(&alert.alert_id);
        let incident = Lifecycle::alert_key(alert);
        if incident
            .as_deref()
            .is_some_and(|key| self.lifecycle.has_alert(key, alert_hash))
            || !self
                .alert_partition(partition)
                .seen
                .insert(alert_hash, now.millis())
        {
            return Applied::Duplicate;
        }
        self.observe(partition, detected_at);
        let source = self.sources.intern(&alert.source);
        let oldest_kept = now.millis().saturating_sub(self.longest_alert_window);
        *self
            .alert_totals
            .entry((source, alert.severity))
            .or_default() += 1;
        let series = self
            .alert_partition(partition)
            .book
            .series_mut(source, alert.severity);
        let first = !series.seen;
        let kept = series.record(detected_at, alert_hash, oldest_kept);
        if first && self.durable {
            self.pending
                .series
                .push((partition, source, alert.severity));
        }
        if kept && self.durable {
            self.pending
                .alerts
                .push((partition, alert_hash, source, alert.severity, detected_at));
        }
        if let Some(key) = incident {
            self.lifecycle
                .apply_alert(partition, &key, alert, alert_hash, source, now.millis());
        }
        Applied::Counted
    }

    /// Applies one case event of input partition 0 at clock time `now`.
    pub fn apply_case(&mut self, case: &CaseEvent<'_>, now: EventTime) -> Applied {
        self.apply_case_in(0, case, now)
    }

    /// Applies one case event of an input partition at clock time `now`.
    pub fn apply_case_in(
        &mut self,
        partition: i32,
        case: &CaseEvent<'_>,
        now: EventTime,
    ) -> Applied {
        if case.at.millis() < now.millis().saturating_sub(self.settings.retention_millis) {
            return Applied::Late;
        }
        self.observe(partition, case.at.millis());
        if self.lifecycle.apply_case(partition, case, now.millis()) {
            Applied::Counted
        } else {
            Applied::Duplicate
        }
    }

    /// An inventory record: the asset should be monitored (unless retired).
    pub fn apply_inventory(&mut self, record: &InventoryRecord<'_>) -> Applied {
        self.coverage.apply_inventory(record);
        Applied::Counted
    }

    /// An inventory tombstone: the asset is gone.
    pub fn remove_asset(&mut self, asset_id: &str) -> Applied {
        self.coverage.remove_asset(asset_id);
        Applied::Counted
    }

    /// A heartbeat of an asset's logs.
    pub fn apply_telemetry(&mut self, beat: &Telemetry<'_>, now: EventTime) -> Applied {
        if beat.at.millis() < now.millis().saturating_sub(self.settings.retention_millis) {
            return Applied::Late;
        }
        self.coverage.apply_telemetry(beat);
        Applied::Counted
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
        let oldest_kept = now.millis().saturating_sub(self.longest_alert_window);
        let (durable, pending) = (self.durable, &mut self.pending);
        for (partition, alerts) in &mut self.alerts {
            alerts.book.expire(oldest_kept, &mut |id| {
                if durable {
                    pending.alerts_gone.push((*partition, id));
                }
            });
            alerts.seen.rotate(now.millis());
        }
        self.coverage.expire(now.millis());
        self.lifecycle.advance(now.millis())
    }

    /// The changelog records of everything changed since the last call.
    pub fn take_changes(&mut self) -> Vec<StateRecord> {
        let pending = std::mem::take(&mut self.pending);
        let mut records = self.lifecycle.take_changes(&self.sources);
        for (partition, hash, source, severity, detected_at) in pending.alerts {
            records.push(StateRecord {
                partition,
                key: state::alert_key(hash),
                value: Some(state::encode_alert(
                    self.sources.value(source),
                    severity,
                    detected_at,
                )),
            });
        }
        for (partition, hash) in pending.alerts_gone {
            records.push(StateRecord {
                partition,
                key: state::alert_key(hash),
                value: None,
            });
        }
        for (partition, source, severity) in pending.series {
            records.push(StateRecord {
                partition,
                key: state::series_key(severity, self.sources.value(source)),
                value: Some(Vec::new()),
            });
        }
        for (partition, at) in pending.clocks {
            records.push(StateRecord {
                partition,
                key: state::CLOCK_KEY.to_owned(),
                value: Some(at.to_be_bytes().to_vec()),
            });
        }
        records
    }

    /// Rebuilds one partition's state from its changelog records, in changelog order; returns
    /// the partition's event clock, if it had one. Records that cannot be read are skipped and
    /// returned as errors (the rest of the partition is still restored).
    pub fn restore<'a>(
        &mut self,
        partition: i32,
        records: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        now: EventTime,
    ) -> (Option<i64>, Vec<state::StateError>) {
        let mut alerts: HashMap<u64, Option<state::RestoredAlert>> = HashMap::new();
        let mut clock = None;
        let mut errors = Vec::new();
        for (key, value) in records {
            match state::parse_key(key) {
                Some(StateKey::Incident(incident)) => {
                    if let Err(error) =
                        self.lifecycle
                            .restore(partition, incident, value, &mut self.sources)
                    {
                        errors.push(error);
                    }
                }
                Some(StateKey::Alert(hash)) => {
                    match value.map(|v| state::decode_alert(key, v)).transpose() {
                        Ok(alert) => {
                            alerts.insert(hash, alert);
                        }
                        Err(error) => errors.push(error),
                    }
                }
                Some(StateKey::Series(severity, source)) => {
                    if value.is_some() {
                        let source = self.sources.intern(source);
                        self.alert_partition(partition)
                            .book
                            .series_mut(source, severity)
                            .seen = true;
                    }
                }
                Some(StateKey::Clock) => {
                    if let Some(bytes) = value.and_then(|v| <[u8; 8]>::try_from(v).ok()) {
                        clock = Some(i64::from_be_bytes(bytes));
                    }
                }
                None => errors.push(state::StateError::Corrupt {
                    key: key.to_owned(),
                    reason: "unknown key".into(),
                }),
            }
        }
        // The partition's own clock counts even before the caller's clock has moved (a fresh
        // process in event-clock mode is still at the epoch).
        let now = clock.map_or(now, |at| now.max(EventTime(at)));
        let oldest_kept = now.millis().saturating_sub(self.longest_alert_window);
        for (hash, alert) in alerts {
            let Some(alert) = alert else { continue };
            let source = self.sources.intern(&alert.source);
            let target = self.alert_partition(partition);
            target.book.series_mut(source, alert.severity).keep(
                alert.detected_at,
                hash,
                oldest_kept,
            );
            target.seen.insert(hash, now.millis());
        }
        if let Some(at) = clock {
            self.clocks.insert(partition, at);
            self.lifecycle.observe(partition, at);
        }
        (clock, errors)
    }

    /// Forgets everything of a partition no longer assigned to this instance.
    pub fn drop_partition(&mut self, partition: i32) {
        self.alerts.remove(&partition);
        self.clocks.remove(&partition);
        self.lifecycle.drop_partition(partition);
        self.pending.alerts.retain(|a| a.0 != partition);
        self.pending.alerts_gone.retain(|a| a.0 != partition);
        self.pending.series.retain(|a| a.0 != partition);
        self.pending.clocks.remove(&partition);
    }

    /// The incident KPIs at `now`, recomputed from the incidents in memory.
    pub fn incident_card(&mut self, now: EventTime) -> IncidentCard {
        self.lifecycle.card(now.millis(), &self.sources)
    }

    /// The alert values at `now`; the incident KPIs are [`Engine::incident_card`], which the
    /// caller paces (it costs a pass over the incidents).
    pub fn scorecard(&self, now: EventTime, incidents: Arc<IncidentCard>) -> Scorecard {
        let coverage = self.coverage.card(now.millis());
        let mut merged: BTreeMap<(u32, Severity), AlertCounts> = BTreeMap::new();
        let empty = |source: u32, severity: Severity| AlertCounts {
            source: Arc::clone(self.sources.value(source)),
            severity,
            total: 0,
            volume: vec![0; self.settings.alert_windows.len()],
        };
        for (&(source, severity), total) in &self.alert_totals {
            merged
                .entry((source, severity))
                .or_insert_with(|| empty(source, severity))
                .total = *total;
        }
        for partition in self.alerts.values() {
            for (source, severity, series) in partition.book.iter_all() {
                let counts = merged
                    .entry((source, severity))
                    .or_insert_with(|| empty(source, severity));
                for (volume, window) in counts.volume.iter_mut().zip(&self.settings.alert_windows) {
                    *volume += series.count_after(now.millis().saturating_sub(window.millis));
                }
            }
        }
        Scorecard {
            now,
            alert_windows: self.settings.alert_windows.clone(),
            alerts: {
                let mut alerts: Vec<_> = merged.into_values().collect();
                alerts.sort_by(|a, b| (&a.source, a.severity).cmp(&(&b.source, b.severity)));
                alerts
            },
            label_overflow: vec![
                (self.sources.name(), self.sources.overflowed()),
                self.lifecycle.analyst_overflow(),
            ],
            posture: posture(&incidents, coverage, &self.settings.posture_weights),
            coverage,
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
    pub coverage: coverage::CoverageCard,
    /// `soc_posture_score` per KPI window (absent where no part is known).
    pub posture: Vec<Option<f64>>,
}

/// `soc_posture_score` per KPI window: 0–100, the weighted mean of detection ratio, both SLA
/// compliances, 1 − coverage gap and 1 − false-positive ratio, over the parts that exist
/// (weights renormalised over them).
fn posture(
    card: &IncidentCard,
    coverage: coverage::CoverageCard,
    weights: &[f64; 5],
) -> Vec<Option<f64>> {
    use incident::Stage;
    use lifecycle::ALL_SLOT;
    card.per_window
        .iter()
        .zip(&card.scorecard.per_window)
        .map(|(kpis, scorecard)| {
            let sla = |stage: Stage| {
                let stats = kpis.sla[stage.index()][ALL_SLOT];
                (stats.due > 0).then(|| stats.met as f64 / stats.due as f64)
            };
            let parts = [
                scorecard.detection.value(),
                sla(Stage::Acknowledge),
                sla(Stage::Resolve),
                coverage.gap_ratio().map(|gap| 1.0 - gap),
                scorecard.false_positive[ALL_SLOT]
                    .value()
                    .map(|fp| 1.0 - fp),
            ];
            let (sum, total) = parts
                .iter()
                .zip(weights)
                .filter_map(|(part, weight)| part.map(|p| (p * weight, *weight)))
                .fold((0.0, 0.0), |(s, t), (p, w)| (s + p, t + w));
            (total > 0.0).then(|| 100.0 * sum / total)
        })
        .collect()
}

#[cfg(test)]
mod tests;
