//! All incidents in memory, their event-driven counters, and the windowed KPIs of §3–§4
//! recomputed from them on demand. Windowed values are a recomputation from scratch over the
//! incidents in memory each time they are asked for, so a late or corrected event (an earlier
//! alert, a severity change) changes them exactly as it should; the cost is one pass over the
//! incidents per recomputation, which the pipeline paces.

use foldhash::{HashMap, HashMapExt};

use hdrhistogram::Histogram;

use super::Window;
pub use super::incident::Incident;
use super::incident::{NEVER, Span, Stage, flag};
use super::labels::LabelValues;
use super::sla::SlaPolicy;
use super::state::{self, StateError, StateRecord};
use crate::event::{Alert, CaseEvent, Disposition, Severity, Status};

/// Severity slots: the five levels, then `unknown` (no case event or alert gave one).
pub const SLOTS: usize = 6;
pub const UNKNOWN_SLOT: usize = 5;
/// Windowed values add a `severity="all"` slot.
pub const ALL_SLOT: usize = 6;
/// Disposition slots: the four values, then none given.
pub const DISPOSITION_SLOTS: usize = 5;
/// Buckets of the cumulative duration histograms, in seconds (PRODUCT.md §4).
pub const BUCKETS: [u64; 12] = [
    60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800, 1209600,
];
/// Quantiles exported per window.
pub const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

pub fn severity_slot(severity: Option<Severity>) -> usize {
    severity.map_or(UNKNOWN_SLOT, Severity::index)
}

pub fn slot_label(slot: usize) -> &'static str {
    match slot {
        ALL_SLOT => "all",
        UNKNOWN_SLOT => "unknown",
        level => Severity::ALL[level].as_str(),
    }
}

fn disposition_slot(disposition: Option<Disposition>) -> usize {
    disposition.map_or(4, Disposition::index)
}

/// What the lifecycle needs from the configuration.
#[derive(Clone, Debug)]
pub struct LifecycleSettings {
    pub kpi_windows: Vec<Window>,
    pub sla: SlaPolicy,
    pub retention_millis: i64,
    pub max_incidents: usize,
    pub max_label_values: usize,
    pub max_label_length: usize,
    pub scorecard: super::scorecard::ScorecardSettings,
}

/// A Prometheus histogram of one duration: cumulative over the process's life.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cumulative {
    /// Observations ≤ each of [`BUCKETS`] (not yet cumulative).
    pub buckets: [u64; BUCKETS.len()],
    pub count: u64,
    pub sum_millis: u64,
}

impl Cumulative {
    fn observe(&mut self, millis: u64) {
        if let Some(bucket) = BUCKETS.iter().position(|&le| millis <= le * 1000) {
            self.buckets[bucket] += 1;
        }
        self.count += 1;
        self.sum_millis = self.sum_millis.saturating_add(millis);
    }
}

/// Counters that move when events arrive (or deadlines pass), never recomputed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counters {
    pub opened: [u64; SLOTS],
    pub resolved: [[u64; DISPOSITION_SLOTS]; SLOTS],
    pub reopened: [u64; SLOTS],
    pub breaches: [[u64; 2]; SLOTS],
    /// By [`Span`], then severity slot.
    pub durations: [[Cumulative; SLOTS]; 5],
    /// Incidents let go: `[retention, cap]`.
    pub evicted: [u64; 2],
}

/// One duration over one window and severity.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpanStats {
    pub count: u64,
    pub sum_millis: i128,
    /// Milliseconds at each of [`QUANTILES`] (HdrHistogram, 3 significant digits).
    pub quantiles: [u64; 3],
}

/// An SLA stage over one window and severity: deadlines in the window, and how many were met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlaStats {
    pub due: u64,
    pub met: u64,
}

/// The windowed KPIs of one window, by severity slot (with `all`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowKpis {
    pub incidents: [u64; SLOTS + 1],
    pub spans: [[SpanStats; SLOTS + 1]; 5],
    pub sla: [[SlaStats; SLOTS + 1]; 2],
}

/// Incident KPIs at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentCard {
    pub windows: Vec<Window>,
    /// One per window, in [`IncidentCard::windows`] order.
    pub per_window: Vec<WindowKpis>,
    /// Open incidents by severity slot and status.
    pub open: [[u64; 8]; SLOTS],
    /// Open-stage breaches now, by severity slot and stage.
    pub breached_open: [[u64; 2]; SLOTS],
    pub counters: Counters,
    pub in_memory: u64,
    /// Detection quality, cost and workload.
    pub scorecard: super::scorecard::Scorecard,
}

/// The incidents in memory.
#[derive(Debug)]
pub struct Lifecycle {
    settings: LifecycleSettings,
    incidents: HashMap<Box<str>, Incident>,
    analysts: LabelValues,
    /// Not capped: a capped root cause would make unrelated incidents repeats of each other.
    root_causes: LabelValues,
    counters: Counters,
    /// Negative durations found since [`Lifecycle::take_skewed`] was last called.
    skewed: u64,
    /// Scratch histograms, `[window][span][slot]`, reused by every recomputation.
    scratch: Vec<Histogram<u64>>,
    /// Whether changed incidents are recorded for the changelog.
    durable: bool,
    /// Incidents changed since the last [`Lifecycle::take_changes`]: (partition, key).
    changed: Vec<(i32, Box<str>)>,
    /// Largest event time seen per input partition: how far each stream has been read.
    watermarks: std::collections::BTreeMap<i32, i64>,
}

impl Lifecycle {
    pub fn new(settings: LifecycleSettings) -> Self {
        let scratch = (0..settings.kpi_windows.len() * Span::ALL.len() * (SLOTS + 1))
            .map(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_histogram()))
            .collect();
        Self {
            analysts: LabelValues::new(
                "analyst",
                settings.max_label_values,
                settings.max_label_length,
            ),
            root_causes: LabelValues::new("root_cause", usize::MAX, settings.max_label_length),
            incidents: HashMap::new(),
            counters: Counters::default(),
            skewed: 0,
            scratch,
            durable: false,
            changed: Vec::new(),
            watermarks: std::collections::BTreeMap::new(),
            settings,
        }
    }

    /// The map key of an incident: its id, per tenant.
    fn key<'a>(tenant: Option<&str>, incident_id: &'a str) -> std::borrow::Cow<'a, str> {
        match tenant {
            Some(tenant) => std::borrow::Cow::Owned(format!("{tenant}\u{1f}{incident_id}")),
            None => std::borrow::Cow::Borrowed(incident_id),
        }
    }

    /// The id part of a map key.
    fn incident_id(key: &str) -> &str {
        key.rsplit_once('\u{1f}').map_or(key, |(_, id)| id)
    }

    /// The stream of `partition` has been read up to event time `at`.
    pub fn observe(&mut self, partition: i32, at: i64) {
        let watermark = self.watermarks.entry(partition).or_insert(i64::MIN);
        *watermark = (*watermark).max(at);
    }

    /// Records changed incidents for the changelog from now on.
    pub fn record_changes(&mut self) {
        self.durable = true;
    }

    fn changed(&mut self, partition: i32, key: &str) {
        if self.durable {
            self.changed.push((partition, Box::from(key)));
        }
    }

    /// Changelog records of the incidents changed (or let go) since the last call.
    pub fn take_changes(&mut self, sources: &LabelValues) -> Vec<StateRecord> {
        let names = state::Names {
            analyst: |id| self.analysts.value(id).to_string(),
            root_cause: |id| self.root_causes.value(id).to_string(),
            source: |id| sources.value(id).to_string(),
        };
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable();
        changed.dedup();
        changed
            .into_iter()
            .map(|(partition, key)| {
                let value = self
                    .incidents
                    .get(&key)
                    .filter(|i| i.partition == partition)
                    .map(|incident| state::encode_incident(incident, &names));
                StateRecord {
                    partition,
                    key: state::incident_key(&key),
                    value,
                }
            })
            .collect()
    }

    /// Puts back (or, for a tombstone, removes) one incident of a partition being restored.
    pub fn restore(
        &mut self,
        partition: i32,
        key: &str,
        value: Option<&[u8]>,
        sources: &mut LabelValues,
    ) -> Result<(), StateError> {
        let Some(bytes) = value else {
            self.incidents.remove(key);
            return Ok(());
        };
        let (analysts, root_causes) = (&mut self.analysts, &mut self.root_causes);
        let mut names = state::Names {
            analyst: |name: &str| analysts.intern(name),
            root_cause: |name: &str| root_causes.intern(name),
            source: |name: &str| sources.intern(name),
        };
        let mut incident = state::decode_incident(key, bytes, &mut names)?;
        incident.partition = partition;
        self.incidents.insert(Box::from(key), incident);
        Ok(())
    }

    /// Forgets the incidents of a partition no longer assigned here.
    pub fn drop_partition(&mut self, partition: i32) {
        self.watermarks.remove(&partition);
        self.incidents
            .retain(|_, incident| incident.partition != partition);
        self.changed.retain(|(p, _)| *p != partition);
    }

    /// (label, values folded into `other`) of the analyst label.
    pub fn analyst_overflow(&self) -> (&'static str, u64) {
        (self.analysts.name(), self.analysts.overflowed())
    }

    /// The analyst name of an interned id.
    pub fn analyst(&self, id: u32) -> &str {
        self.analysts.value(id)
    }

    /// Whether the alert was already applied to its incident (the incident-life dedupe).
    pub fn has_alert(&self, key: &str, alert_hash: u64) -> bool {
        self.incidents
            .get(key)
            .is_some_and(|incident| incident.has_alert(alert_hash))
    }

    /// The key of the incident an alert names, if it names one.
    pub fn alert_key<'a>(alert: &'a Alert<'_>) -> Option<std::borrow::Cow<'a, str>> {
        let incident_id = alert.incident_id.as_deref()?;
        Some(Self::key(alert.tenant.as_deref(), incident_id))
    }

    /// Joins an alert naming an incident to it.
    pub fn apply_alert(
        &mut self,
        partition: i32,
        key: &str,
        alert: &Alert<'_>,
        alert_hash: u64,
        source: u32,
        now: i64,
    ) {
        let (incident, created) = upsert(&mut self.incidents, key);
        incident.partition = partition;
        if incident.apply_alert(alert, alert_hash, source) {
            let (counters, skewed) = (&mut self.counters, &mut self.skewed);
            after_change(
                incident,
                created,
                false,
                &Deadlines {
                    sla: &self.settings.sla,
                    watermarks: &self.watermarks,
                    now,
                },
                counters,
                skewed,
            );
            self.changed(partition, key);
        }
    }

    /// Applies a case event; false for a duplicate.
    pub fn apply_case(&mut self, partition: i32, case: &CaseEvent<'_>, now: i64) -> bool {
        let key = Self::key(case.tenant.as_deref(), &case.incident_id);
        let assignee = case.assignee.as_deref().map(|a| self.analysts.intern(a));
        let root_cause = case
            .root_cause
            .as_deref()
            .map(|r| self.root_causes.intern(r));
        let (incident, created) = upsert(&mut self.incidents, &key);
        incident.partition = partition;
        if !incident.apply_case(case, &case.incident_id, assignee, root_cause) {
            return false;
        }
        let reopened = case.status == Status::Reopened;
        after_change(
            incident,
            created,
            reopened,
            &Deadlines {
                sla: &self.settings.sla,
                watermarks: &self.watermarks,
                now,
            },
            &mut self.counters,
            &mut self.skewed,
        );
        self.changed(partition, &key);
        true
    }

    /// Clock-driven changes at `now`: SLA breaches as deadlines pass, retention, the cap.
    /// Returns how many incidents were let go, `[retention, cap]`.
    pub fn advance(&mut self, now: i64) -> [u64; 2] {
        let evicted_before = self.counters.evicted;
        let sla = &self.settings.sla;
        let horizon = now.saturating_sub(self.settings.retention_millis);
        let before = self.incidents.len();
        let counters = &mut self.counters;
        let watermarks = &self.watermarks;
        let (durable, changed) = (self.durable, &mut self.changed);
        self.incidents.retain(|key, incident| {
            let flags = incident.flags;
            count_breaches(
                incident,
                &Deadlines {
                    sla,
                    watermarks,
                    now,
                },
                counters,
            );
            let keep = incident.is_open() || incident.last_change() >= horizon;
            // A new breach flag or a departure is state the changelog must have.
            if durable && (!keep || flags != incident.flags) {
                changed.push((incident.partition, key.clone()));
            }
            keep
        });
        self.counters.evicted[0] += (before - self.incidents.len()) as u64;
        self.enforce_cap();
        [
            self.counters.evicted[0] - evicted_before[0],
            self.counters.evicted[1] - evicted_before[1],
        ]
    }

    /// Past `limits.max_incidents`, the oldest closed incidents go first, then the oldest open.
    fn enforce_cap(&mut self) {
        let excess = self
            .incidents
            .len()
            .saturating_sub(self.settings.max_incidents);
        if excess == 0 {
            return;
        }
        let mut candidates: Vec<(bool, i64, Box<str>)> = self
            .incidents
            .iter()
            .map(|(key, incident)| (incident.is_open(), incident.last_change(), key.clone()))
            .collect();
        candidates.sort_unstable();
        for (_, _, key) in candidates.into_iter().take(excess) {
            if let Some(incident) = self.incidents.remove(&key) {
                self.changed(incident.partition, &key);
            }
        }
        self.counters.evicted[1] += excess as u64;
    }

    /// Negative durations found since the last call (for `reason="clock_skew"`).
    pub fn take_skewed(&mut self) -> u64 {
        std::mem::take(&mut self.skewed)
    }

    pub fn len(&self) -> usize {
        self.incidents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
    }

    pub fn incidents(&self) -> impl Iterator<Item = (&str, &Incident)> {
        self.incidents
            .iter()
            .map(|(key, incident)| (Self::incident_id(key), incident))
    }

    /// Recomputes every incident KPI at `now` from the incidents in memory.
    pub fn card(&mut self, now: i64, sources: &LabelValues) -> IncidentCard {
        let with_tenants: Vec<(&str, &Incident)> = self
            .incidents
            .iter()
            .map(|(key, incident)| {
                (
                    key.rsplit_once('\u{1f}').map_or("", |(tenant, _)| tenant),
                    incident,
                )
            })
            .collect();
        let scorecard = super::scorecard::compute(
            &with_tenants,
            &self.settings.kpi_windows,
            &self.settings.scorecard,
            &self.analysts,
            sources,
            now,
        );
        drop(with_tenants);
        for histogram in &mut self.scratch {
            histogram.reset();
        }
        let windows = &self.settings.kpi_windows;
        let starts: Vec<i64> = windows
            .iter()
            .map(|w| now.saturating_sub(w.millis))
            .collect();
        let mut per_window = vec![WindowKpis::default(); windows.len()];
        let mut open = [[0u64; 8]; SLOTS];
        let mut breached_open = [[0u64; 2]; SLOTS];
        let sla = &self.settings.sla;
        let spans = Span::ALL.len();
        for incident in self.incidents.values() {
            let slot = severity_slot(incident.severity());
            if incident.is_open() {
                open[slot][incident.status().index()] += 1;
            }
            let deadlines = Stage::ALL.map(|stage| sla.deadline(incident, stage));
            for stage in Stage::ALL {
                if let Some(deadline) = deadlines[stage.index()]
                    && incident.reached(stage) == NEVER
                    && now > deadline
                {
                    breached_open[slot][stage.index()] += 1;
                }
            }
            let durations = Span::ALL.map(|span| {
                let (_, end) = incident.ends(span);
                incident.duration(span).map(|d| (end, d.max(0)))
            });
            for (w, start) in starts.iter().enumerate() {
                let kpis = &mut per_window[w];
                if incident.detected != NEVER && incident.detected > *start {
                    kpis.incidents[slot] += 1;
                    kpis.incidents[ALL_SLOT] += 1;
                }
                for span in Span::ALL {
                    let Some((end, millis)) = durations[span.index()] else {
                        continue;
                    };
                    if end <= *start {
                        continue;
                    }
                    for s in [slot, ALL_SLOT] {
                        let stats = &mut kpis.spans[span.index()][s];
                        stats.count += 1;
                        stats.sum_millis += i128::from(millis);
                        let _ = self.scratch[(w * spans + span.index()) * (SLOTS + 1) + s]
                            .record(millis as u64);
                    }
                }
                for stage in Stage::ALL {
                    let Some(deadline) = deadlines[stage.index()] else {
                        continue;
                    };
                    if deadline <= *start || deadline > now {
                        continue;
                    }
                    let met = !sla.breached(incident, stage, now);
                    for s in [slot, ALL_SLOT] {
                        let stats = &mut kpis.sla[stage.index()][s];
                        stats.due += 1;
                        stats.met += u64::from(met);
                    }
                }
            }
        }
        for (w, kpis) in per_window.iter_mut().enumerate() {
            for span in Span::ALL {
                for s in 0..=SLOTS {
                    let stats = &mut kpis.spans[span.index()][s];
                    if stats.count > 0 {
                        let histogram = &self.scratch[(w * spans + span.index()) * (SLOTS + 1) + s];
                        stats.quantiles = QUANTILES.map(|q| histogram.value_at_quantile(q));
                    }
                }
            }
        }
        IncidentCard {
            windows: windows.clone(),
            per_window,
            open,
            breached_open,
            counters: self.counters.clone(),
            in_memory: self.incidents.len() as u64,
            scorecard,
        }
    }
}

/// `Histogram::new(3)` cannot fail (3 significant digits is in range); this keeps the
/// constructor total without an unwrap.
fn unreachable_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 2, 1).unwrap_or_else(|_| std::process::abort())
}

/// The incident under `key`, created when missing (the key is allocated only then); true
/// when it was created.
fn upsert<'m>(
    incidents: &'m mut HashMap<Box<str>, Incident>,
    key: &str,
) -> (&'m mut Incident, bool) {
    let created = !incidents.contains_key(key);
    if created {
        incidents.insert(Box::from(key), Incident::default());
    }
    match incidents.get_mut(key) {
        Some(incident) => (incident, created),
        None => unreachable!("the incident was inserted above"),
    }
}

/// What deciding a breach needs: the targets, the clock, and how far each partition was read.
#[derive(Clone, Copy)]
struct Deadlines<'a> {
    sla: &'a SlaPolicy,
    watermarks: &'a std::collections::BTreeMap<i32, i64>,
    now: i64,
}

/// Counters that move when an incident changes: opened, first resolution, reopen, each
/// duration's first observation, clock skew, SLA breaches.
fn after_change(
    incident: &mut Incident,
    created: bool,
    reopened: bool,
    deadlines: &Deadlines<'_>,
    counters: &mut Counters,
    skewed: &mut u64,
) {
    let slot = severity_slot(incident.severity());
    if created {
        counters.opened[slot] += 1;
    }
    if reopened {
        counters.reopened[slot] += 1;
    }
    if incident.resolved != NEVER && incident.flags & flag::RESOLUTION_COUNTED == 0 {
        incident.flags |= flag::RESOLUTION_COUNTED;
        counters.resolved[slot][disposition_slot(incident.disposition())] += 1;
    }
    for span in Span::ALL {
        let Some(millis) = incident.duration(span) else {
            continue;
        };
        let observed = flag::OBSERVED << span.index();
        if incident.flags & observed == 0 {
            incident.flags |= observed;
            counters.durations[span.index()][slot].observe(millis.max(0) as u64);
        }
        let skew = flag::SKEWED << span.index();
        if millis < 0 && incident.flags & skew == 0 {
            incident.flags |= skew;
            *skewed += 1;
        }
    }
    count_breaches(incident, deadlines, counters);
}

/// Counts each stage's breach once, when it happens.
/// A stage not reached counts as breached only once the incident's partition has been read
/// past the deadline too: a daemon catching up on a backlog must not count a breach whose
/// acknowledging event is still waiting in the backlog (the breached-open gauge and the
/// compliance ratio use now, and correct themselves; a counter cannot).
fn count_breaches(incident: &mut Incident, deadlines: &Deadlines<'_>, counters: &mut Counters) {
    let Deadlines {
        sla,
        watermarks,
        now,
    } = *deadlines;
    let read_until = watermarks
        .get(&incident.partition)
        .copied()
        .unwrap_or(i64::MIN);
    let now = now.min(read_until);
    for stage in Stage::ALL {
        let bit = flag::BREACHED << stage.index();
        if incident.flags & bit == 0 && sla.breached(incident, stage, now) {
            incident.flags |= bit;
            counters.breaches[severity_slot(incident.severity())][stage.index()] += 1;
        }
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
