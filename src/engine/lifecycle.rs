//! All incidents in memory, their event-driven counters, and the windowed KPIs of §3–§4
//! recomputed from them on demand. Windowed values are a recomputation from scratch over the
//! incidents in memory each time they are asked for, so a late or corrected event (an earlier
//! alert, a severity change) changes them exactly as it should; the cost is one pass over the
//! incidents per recomputation, which the pipeline paces.

use foldhash::{HashMap, HashMapExt};

use hdrhistogram::Histogram;

use super::Window;
use super::card::{Counters, IncidentCard, disposition_slot, severity_slot};
use super::durable::Change;
pub use super::incident::Incident;
use super::incident::{NEVER, Span, Stage, flag};
use super::key::{IncidentKey, KeyBuf, KeyRef};
use super::labels::LabelValues;
use super::sla::SlaPolicy;
use super::state::{self, StateError, StateRecord};
use crate::event::{Alert, CaseEvent, Status};

/// What applying an event did to its incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// The incident changed: the changelog must record it.
    pub changed: bool,
    /// Durations newly found negative (clamped to 0; `clock_skew`).
    pub skewed: u64,
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
    pub scorecard: super::quality::ScorecardSettings,
}

/// The incidents in memory.
#[derive(Debug)]
pub struct Lifecycle {
    settings: LifecycleSettings,
    /// By (tenant, incident id): a pair no value of either can forge ([`IncidentKey`]).
    incidents: HashMap<IncidentKey, Incident>,
    /// Where the key of each event's incident is built for the lookup.
    keys: KeyBuf,
    analysts: LabelValues,
    /// Not capped: a capped root cause would make unrelated incidents repeats of each other.
    root_causes: LabelValues,
    counters: Counters,
    /// Scratch histograms, `[window][span][slot]`, reused by every recomputation.
    scratch: Vec<Histogram<u64>>,
    /// Largest event time seen per input partition: how far each stream has been read.
    watermarks: std::collections::BTreeMap<i32, i64>,
}

impl Lifecycle {
    pub fn new(settings: LifecycleSettings) -> Self {
        let scratch = super::card::scratch(settings.kpi_windows.len());
        Self {
            analysts: LabelValues::new(
                "analyst",
                settings.max_label_values,
                settings.max_label_length,
            ),
            root_causes: LabelValues::new("root_cause", usize::MAX, settings.max_label_length),
            incidents: HashMap::new(),
            keys: KeyBuf::default(),
            counters: Counters::default(),
            scratch,
            watermarks: std::collections::BTreeMap::new(),
            settings,
        }
    }

    /// The stream of `partition` has been read up to event time `at`.
    pub fn observe(&mut self, partition: i32, at: i64) {
        match self.watermarks.get_mut(&partition) {
            Some(watermark) => *watermark = (*watermark).max(at),
            None => {
                self.watermarks.insert(partition, at);
            }
        }
    }

    /// Changelog records of the incidents `changed` (sorted, deduplicated (partition, key)):
    /// each as it is now, or a tombstone when it left memory or moved partition.
    pub fn state_records(
        &self,
        changed: &[(i32, &IncidentKey)],
        sources: &LabelValues,
    ) -> Vec<StateRecord> {
        let names = state::Names {
            analyst: |id| &**self.analysts.value(id),
            root_cause: |id| &**self.root_causes.value(id),
            source: |id| &**sources.value(id),
        };
        changed
            .iter()
            .map(|&(partition, key)| {
                let value = self
                    .incidents
                    .get(key)
                    .filter(|i| i.partition == partition)
                    .map(|incident| state::encode_incident(incident, &names));
                StateRecord {
                    partition,
                    key: state::incident_key(key),
                    value,
                }
            })
            .collect()
    }

    /// Puts back (or, for a tombstone, removes) one incident of a partition being restored.
    pub fn restore(
        &mut self,
        partition: i32,
        key: KeyRef<'_>,
        value: Option<&[u8]>,
        sources: &mut LabelValues,
    ) -> Result<(), StateError> {
        let Some(bytes) = value else {
            self.incidents.remove(key.encoded());
            return Ok(());
        };
        let (analysts, root_causes) = (&mut self.analysts, &mut self.root_causes);
        let mut names = state::Names {
            analyst: |name: &str| analysts.intern(name),
            root_cause: |name: &str| root_causes.intern(name),
            source: |name: &str| sources.intern(name),
        };
        let mut incident = state::decode_incident(key.encoded(), bytes, &mut names)?;
        incident.partition = partition;
        self.incidents.insert(key.to_key(), incident);
        Ok(())
    }

    /// Forgets the incidents of a partition no longer assigned here.
    pub fn drop_partition(&mut self, partition: i32) {
        self.watermarks.remove(&partition);
        self.incidents
            .retain(|_, incident| incident.partition != partition);
    }

    /// (label, values folded into `other`) of the analyst label.
    pub fn analyst_overflow(&self) -> (&'static str, u64) {
        (self.analysts.name(), self.analysts.overflowed())
    }

    /// The analyst name of an interned id.
    pub fn analyst(&self, id: u32) -> &str {
        self.analysts.value(id)
    }

    /// Whether the alert was already applied to the incident it names (the incident-life
    /// dedupe); false for an alert naming none.
    pub fn has_alert(&mut self, alert: &Alert<'_>, alert_hash: u64) -> bool {
        let Some(incident_id) = alert.incident_id.as_deref() else {
            return false;
        };
        let key = self.keys.key(alert.tenant.as_deref(), incident_id);
        self.incidents
            .get(key.encoded())
            .is_some_and(|incident| incident.has_alert(alert_hash))
    }

    /// The key of the incident a case event belongs to.
    pub fn case_key(case: &CaseEvent<'_>) -> IncidentKey {
        IncidentKey::new(case.tenant.as_deref().unwrap_or(""), &case.incident_id)
    }

    /// The key of the incident an alert names, if it names one.
    pub fn alert_key(alert: &Alert<'_>) -> Option<IncidentKey> {
        let incident_id = alert.incident_id.as_deref()?;
        Some(IncidentKey::new(
            alert.tenant.as_deref().unwrap_or(""),
            incident_id,
        ))
    }

    /// Joins an alert to the incident it names (one naming none changes nothing).
    pub fn apply_alert(
        &mut self,
        partition: i32,
        alert: &Alert<'_>,
        alert_hash: u64,
        source: u32,
        now: i64,
    ) -> Touched {
        let Some(incident_id) = alert.incident_id.as_deref() else {
            return Touched::default();
        };
        let key = self.keys.key(alert.tenant.as_deref(), incident_id);
        let (incident, created) = upsert(&mut self.incidents, key);
        incident.partition = partition;
        if !incident.apply_alert(alert, alert_hash, source) {
            return Touched::default();
        }
        let deadlines = Deadlines {
            sla: &self.settings.sla,
            watermarks: &self.watermarks,
            now,
        };
        Touched {
            changed: true,
            skewed: after_change(incident, created, false, &deadlines, &mut self.counters),
        }
    }

    /// Applies a case event to its incident ([`Lifecycle::case_key`]); `None` for a
    /// duplicate.
    pub fn apply_case(
        &mut self,
        partition: i32,
        case: &CaseEvent<'_>,
        now: i64,
    ) -> Option<Touched> {
        let assignee = case.assignee.as_deref().map(|a| self.analysts.intern(a));
        let root_cause = case
            .root_cause
            .as_deref()
            .map(|r| self.root_causes.intern(r));
        let key = self.keys.key(case.tenant.as_deref(), &case.incident_id);
        let (incident, created) = upsert(&mut self.incidents, key);
        incident.partition = partition;
        if !incident.apply_case(case, &case.incident_id, assignee, root_cause) {
            return None;
        }
        let reopened = case.status == Status::Reopened;
        let deadlines = Deadlines {
            sla: &self.settings.sla,
            watermarks: &self.watermarks,
            now,
        };
        Some(Touched {
            changed: true,
            skewed: after_change(incident, created, reopened, &deadlines, &mut self.counters),
        })
    }

    /// Clock-driven changes at `now`: SLA breaches as deadlines pass, retention, the cap.
    /// Returns how many incidents were let go, `[retention, cap]`; with `changes`, reports the
    /// incidents the changelog must record (a new breach flag, a departure).
    pub fn advance(&mut self, now: i64, mut changes: Option<&mut Vec<Change>>) -> [u64; 2] {
        let evicted_before = self.counters.evicted;
        let sla = &self.settings.sla;
        let horizon = now.saturating_sub(self.settings.retention_millis);
        let before = self.incidents.len();
        let counters = &mut self.counters;
        let watermarks = &self.watermarks;
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
            if let Some(changes) = changes.as_deref_mut()
                && (!keep || flags != incident.flags)
            {
                changes.push(Change::Incident {
                    partition: incident.partition,
                    key: key.clone(),
                });
            }
            keep
        });
        self.counters.evicted[0] += (before - self.incidents.len()) as u64;
        self.enforce_cap(changes);
        [
            self.counters.evicted[0] - evicted_before[0],
            self.counters.evicted[1] - evicted_before[1],
        ]
    }

    /// Past `limits.max_incidents`, the oldest closed incidents go first, then the oldest open.
    fn enforce_cap(&mut self, changes: Option<&mut Vec<Change>>) {
        let excess = self
            .incidents
            .len()
            .saturating_sub(self.settings.max_incidents);
        if excess == 0 {
            return;
        }
        let mut candidates: Vec<(bool, i64, IncidentKey)> = self
            .incidents
            .iter()
            .map(|(key, incident)| (incident.is_open(), incident.last_change(), key.clone()))
            .collect();
        candidates.sort_unstable();
        let mut changes = changes;
        for (_, _, key) in candidates.into_iter().take(excess) {
            if let Some(incident) = self.incidents.remove(&key)
                && let Some(changes) = changes.as_deref_mut()
            {
                changes.push(Change::Incident {
                    partition: incident.partition,
                    key,
                });
            }
        }
        self.counters.evicted[1] += excess as u64;
    }

    pub fn len(&self) -> usize {
        self.incidents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
    }

    /// Every incident in memory with its (tenant, id).
    pub fn incidents(&self) -> impl Iterator<Item = (&IncidentKey, &Incident)> {
        self.incidents.iter()
    }

    /// Recomputes every incident KPI at `now` from the incidents in memory.
    pub fn card(&mut self, now: i64, sources: &LabelValues) -> IncidentCard {
        let with_tenants: Vec<(&str, &Incident)> = self
            .incidents
            .iter()
            .map(|(key, incident)| (key.tenant(), incident))
            .collect();
        let quality = super::quality::compute(
            &with_tenants,
            &self.settings.kpi_windows,
            &self.settings.scorecard,
            &self.analysts,
            sources,
            now,
        );
        drop(with_tenants);
        let mut card = super::card::compute(
            self.incidents.values(),
            &self.settings.kpi_windows,
            &self.settings.sla,
            &mut self.scratch,
            now,
        );
        card.counters = self.counters.clone();
        card.in_memory = self.incidents.len() as u64;
        card.quality = quality;
        card
    }
}

/// The incident under `key`, created when missing (the key is allocated only then); true
/// when it was created.
fn upsert<'m>(
    incidents: &'m mut HashMap<IncidentKey, Incident>,
    key: KeyRef<'_>,
) -> (&'m mut Incident, bool) {
    let created = !incidents.contains_key(key.encoded());
    if created {
        incidents.insert(key.to_key(), Incident::default());
    }
    match incidents.get_mut(key.encoded()) {
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
/// duration's first observation, SLA breaches. Returns the durations newly found negative.
fn after_change(
    incident: &mut Incident,
    created: bool,
    reopened: bool,
    deadlines: &Deadlines<'_>,
    counters: &mut Counters,
) -> u64 {
    let mut skewed = 0;
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
            skewed += 1;
        }
    }
    count_breaches(incident, deadlines, counters);
    skewed
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
#[path = "lifecycle_tests/mod.rs"]
mod tests;
