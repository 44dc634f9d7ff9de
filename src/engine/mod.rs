//! The functional core: events and a `now` in, what happened ([`Applied`]) and the current
//! [`Scorecard`] out. No I/O, clock reads, logging or metrics library in here, so unit tests,
//! property tests, benches, the demo and the daemon all drive it the same way.
//!
//! ```text
//! Event ──apply──▶ alerts (dedupe, volume windows) ─┐
//!                  lifecycle (incidents) ───────────┼──▶ card + quality ──▶ Scorecard ──▶ series
//!                  coverage (assets) ───────────────┘
//! ```
//!
//! Dependencies inside point one way: `incident`, `key` ← `lifecycle` ← `Engine`; `card` and
//! `quality` compute from incidents; `scorecard` describes their values; `durable` turns
//! [`Change`]s into changelog records and back.

pub mod alerts;
pub mod card;
pub mod coverage;
pub mod dedupe;
mod durable;
pub mod incident;
pub mod key;
pub mod labels;
pub mod lifecycle;
pub mod quality;
pub mod scorecard;
pub mod sla;
pub mod state;

use std::collections::BTreeMap;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::event::{Alert, CaseEvent, Event, EventTime, Severity, Telemetry};
use alerts::AlertBook;
use card::IncidentCard;
use dedupe::SeenKeys;
use labels::LabelValues;
use lifecycle::{Lifecycle, LifecycleSettings};
use sla::SlaPolicy;

pub use durable::Change;
pub use scorecard::{AlertCounts, Scorecard};

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
    pub scorecard: quality::ScorecardSettings,
    /// `coverage.max_silence`.
    pub max_silence_millis: i64,
    /// Weights of detection ratio, acknowledge and resolve compliance, 1 − coverage gap and
    /// 1 − false-positive ratio in `soc_posture_score`.
    pub posture_weights: [f64; 5],
}

/// What applying one event came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A new fact, now counted.
    Counted,
    /// Seen before within the dedupe horizon: changes nothing.
    Duplicate,
    /// Older than the retention horizon: dropped.
    Late,
}

/// What applying one event did: its effect, and everything else that came of it, so nothing
/// leaves the engine through a side channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub effect: Effect,
    /// Durations found negative (clamped to 0): counted as `clock_skew` rejections.
    pub skewed: u64,
    /// State the changelog must record; empty unless [`Engine::record_changes`] was called.
    pub changes: SmallVec<[Change; 2]>,
}

impl Applied {
    fn only(effect: Effect) -> Self {
        Self {
            effect,
            skewed: 0,
            changes: SmallVec::new(),
        }
    }
}

/// What a clock-driven pass ([`Engine::expire`]) did.
#[derive(Debug, Default)]
pub struct Expired {
    /// Incidents let go past retention.
    pub retention: u64,
    /// Incidents let go to stay under `limits.max_incidents`.
    pub cap: u64,
    /// State the changelog must record (breach flags, departures, alerts out of the windows).
    pub changes: Vec<Change>,
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
    /// Whether changes are reported for the changelog (off for the demo and replays).
    durable: bool,
    /// What restores found to rewrite (incidents stored under the key format before
    /// [`key::IncidentKey`]), written with the next [`Engine::expire`].
    migrations: Vec<Change>,
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
            migrations: Vec::new(),
            settings,
        }
    }

    /// Reports every state change in [`Applied::changes`] and [`Expired::changes`] from now on.
    pub fn record_changes(&mut self) {
        self.durable = true;
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

    fn observe(&mut self, partition: i32, at: i64, applied: &mut Applied) {
        self.lifecycle.observe(partition, at);
        // `get_mut` first: the partition is almost always known, and the entry API costs more.
        let moved = match self.clocks.get_mut(&partition) {
            Some(clock) if at > *clock => {
                *clock = at;
                true
            }
            Some(_) => false,
            None => {
                self.clocks.insert(partition, at);
                true
            }
        };
        if moved && self.durable {
            applied.changes.push(Change::Clock { partition, at });
        }
    }

    fn is_late(&self, at: EventTime, now: EventTime) -> bool {
        at.millis() < now.millis().saturating_sub(self.settings.retention_millis)
    }

    /// Applies one event of state partition `partition` at clock time `now`.
    pub fn apply(&mut self, partition: i32, event: &Event<'_>, now: EventTime) -> Applied {
        match event {
            Event::Alert(alert) => self.apply_alert(partition, alert, now),
            Event::Case(case) => self.apply_case(partition, case, now),
            Event::Inventory(record) => {
                self.coverage.apply_inventory(record);
                Applied::only(Effect::Counted)
            }
            Event::AssetRemoved(asset_id) => {
                self.coverage.remove_asset(asset_id);
                Applied::only(Effect::Counted)
            }
            Event::Telemetry(beat) => self.apply_telemetry(beat, now),
        }
    }

    fn apply_alert(&mut self, partition: i32, alert: &Alert<'_>, now: EventTime) -> Applied {
        if self.is_late(alert.detected_at, now) {
            return Applied::only(Effect::Late);
        }
        let detected_at = alert.detected_at.millis();
        // A repeat is a duplicate within the longest alert window or the life of its incident.
        let alert_hash = id_hash(&alert.alert_id);
        if self.lifecycle.has_alert(alert, alert_hash)
            || !self
                .alert_partition(partition)
                .seen
                .insert(alert_hash, now.millis())
        {
            return Applied::only(Effect::Duplicate);
        }
        let mut applied = Applied::only(Effect::Counted);
        self.observe(partition, detected_at, &mut applied);
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
        if self.durable {
            if first {
                applied.changes.push(Change::Series {
                    partition,
                    source,
                    severity: alert.severity,
                });
            }
            if kept {
                applied.changes.push(Change::Alert {
                    partition,
                    hash: alert_hash,
                    source,
                    severity: alert.severity,
                    detected_at,
                });
            }
        }
        let touched =
            self.lifecycle
                .apply_alert(partition, alert, alert_hash, source, now.millis());
        applied.skewed = touched.skewed;
        if touched.changed
            && self.durable
            && let Some(key) = Lifecycle::alert_key(alert)
        {
            applied.changes.push(Change::Incident { partition, key });
        }
        applied
    }

    fn apply_case(&mut self, partition: i32, case: &CaseEvent<'_>, now: EventTime) -> Applied {
        if self.is_late(case.at, now) {
            return Applied::only(Effect::Late);
        }
        let mut applied = Applied::only(Effect::Counted);
        self.observe(partition, case.at.millis(), &mut applied);
        let Some(touched) = self.lifecycle.apply_case(partition, case, now.millis()) else {
            applied.effect = Effect::Duplicate;
            return applied;
        };
        applied.skewed = touched.skewed;
        if self.durable {
            applied.changes.push(Change::Incident {
                partition,
                key: Lifecycle::case_key(case),
            });
        }
        applied
    }

    fn apply_telemetry(&mut self, beat: &Telemetry<'_>, now: EventTime) -> Applied {
        if self.is_late(beat.at, now) {
            return Applied::only(Effect::Late);
        }
        self.coverage.apply_telemetry(beat);
        Applied::only(Effect::Counted)
    }

    /// The incidents in memory (tests, reports).
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// Clock-driven work at `now`: SLA breaches as deadlines pass, and letting go of what no
    /// window can need any more. One pass over the incidents; call it every tick.
    pub fn expire(&mut self, now: EventTime) -> Expired {
        let oldest_kept = now.millis().saturating_sub(self.longest_alert_window);
        let mut expired = Expired {
            changes: std::mem::take(&mut self.migrations),
            ..Expired::default()
        };
        let (durable, changes) = (self.durable, &mut expired.changes);
        for (partition, alerts) in &mut self.alerts {
            alerts.book.expire(oldest_kept, &mut |hash| {
                if durable {
                    changes.push(Change::AlertGone {
                        partition: *partition,
                        hash,
                    });
                }
            });
            alerts.seen.rotate(now.millis());
        }
        self.coverage.expire(now.millis());
        let [retention, cap] = self
            .lifecycle
            .advance(now.millis(), durable.then_some(changes));
        expired.retention = retention;
        expired.cap = cap;
        expired
    }

    /// Forgets everything of a partition no longer assigned to this instance.
    pub fn drop_partition(&mut self, partition: i32) {
        // Its new owner migrates what it restores itself.
        self.migrations
            .retain(|change| change.partition() != partition);
        self.alerts.remove(&partition);
        self.clocks.remove(&partition);
        self.lifecycle.drop_partition(partition);
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
        let mut alerts: Vec<_> = merged.into_values().collect();
        alerts.sort_by(|a, b| (&a.source, a.severity).cmp(&(&b.source, b.severity)));
        Scorecard::new(
            now,
            self.settings.alert_windows.clone(),
            alerts,
            vec![
                (self.sources.name(), self.sources.overflowed()),
                self.lifecycle.analyst_overflow(),
            ],
            incidents,
            coverage,
            &self.settings.posture_weights,
        )
    }
}

#[cfg(test)]
mod tests;
