//! Detection quality, cost and workload computed from the incidents in memory (PRODUCT.md §4):
//! detection quality (false-positive, detection, escalation, repeat, threat-intel ratios),
//! cost, and analyst workload. Like the lifecycle KPIs, a recomputation from scratch each time.

use std::collections::HashMap;
use std::sync::Arc;

use super::Window;
use super::card::{ALL_SLOT, SLOTS, severity_slot};
use super::incident::{Incident, NEVER};
use super::labels::LabelValues;
use crate::event::Disposition;

/// What the scorecard needs from the configuration (defaults: `Config::default()`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScorecardSettings {
    /// Which `detection` values count as detected by the SOC (indexed by `Detection::index`).
    pub detected_by: [bool; 4],
    /// How far back a repeat incident is looked for.
    pub repeat_lookback_millis: i64,
    /// Cost model for incidents without a reported cost: hourly rate × handling hours + base.
    pub hourly_rate: f64,
    /// Base cost per severity (indexed by `Severity::index`).
    pub base_cost: [f64; 5],
}

/// A share: `num` of `den`; not exported when `den` is 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    fn count(&mut self, yes: bool) {
        self.den += 1;
        self.num += u64::from(yes);
    }

    /// The share, or `None` for an empty population.
    pub fn value(&self) -> Option<f64> {
        (self.den > 0).then(|| self.num as f64 / self.den as f64)
    }
}

/// The scorecard of one window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowQuality {
    /// Of incidents resolved in the window with a disposition, the false positives; by slot.
    pub false_positive: [Ratio; SLOTS + 1],
    /// Of alerts whose incident was resolved in the window with a disposition, the false
    /// positives; by source.
    pub alert_false_positive: Vec<(Arc<str>, Ratio)>,
    /// Of true-positive incidents detected in the window, those found by the SOC.
    pub detection: Ratio,
    /// Of incidents detected in the window, those escalated; by slot.
    pub escalation: [Ratio; SLOTS + 1],
    /// Of incidents detected in the window with a root cause, the repeats.
    pub repeat: Ratio,
    /// Of incidents detected in the window, those enriched by threat intel.
    pub threat_intel: Ratio,
    /// Cost of incidents resolved in the window; by slot.
    pub cost: [f64; SLOTS + 1],
    /// Per analyst (current assignee): resolutions in the window.
    pub analyst_resolved: Vec<(Arc<str>, u64)>,
    /// Per analyst: alerts detected in the window on their incidents.
    pub analyst_alerts: Vec<(Arc<str>, u64)>,
    /// Per analyst: share of the window covered by their incidents' [acknowledged, resolved).
    pub analyst_busy: Vec<(Arc<str>, f64)>,
}

/// The scorecard at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QualityCard {
    /// One per KPI window.
    pub per_window: Vec<WindowQuality>,
    /// Open incidents per current assignee.
    pub analyst_open: Vec<(Arc<str>, u64)>,
}

/// An incident's cost: reported, else the model's.
pub fn cost(incident: &Incident, settings: &ScorecardSettings) -> f64 {
    if let Some(reported) = incident.cost.get() {
        return reported;
    }
    let base = incident
        .severity()
        .map_or(0.0, |s| settings.base_cost[s.index()]);
    let start = if incident.acknowledged != NEVER {
        incident.acknowledged
    } else {
        incident.detected
    };
    let hours = if incident.resolved != NEVER && start != NEVER {
        incident.resolved.saturating_sub(start).max(0) as f64 / 3_600_000.0
    } else {
        0.0
    };
    base + settings.hourly_rate * hours
}

/// Which incidents repeat an earlier one of the same (tenant, root cause) within the lookback:
/// `repeats[i]` for `incidents[i]`.
fn repeats(incidents: &[(&str, &Incident)], lookback: i64) -> Vec<bool> {
    let mut keyed: Vec<(&str, u32, i64, usize)> = incidents
        .iter()
        .enumerate()
        .filter_map(|(i, (tenant, incident))| {
            let root = incident.root_cause.get()?;
            (incident.detected != NEVER).then_some((*tenant, root, incident.detected, i))
        })
        .collect();
    keyed.sort_unstable();
    let mut repeat = vec![false; incidents.len()];
    let mut earlier: Option<i64> = None;
    for (n, (tenant, root, detected, i)) in keyed.iter().enumerate() {
        let same_group = n > 0 && keyed[n - 1].0 == *tenant && keyed[n - 1].1 == *root;
        if !same_group {
            earlier = None;
        } else if keyed[n - 1].2 < *detected {
            // The latest strictly earlier detection of the group.
            earlier = Some(keyed[n - 1].2);
        }
        repeat[*i] = earlier.is_some_and(|at| at >= detected.saturating_sub(lookback));
    }
    repeat
}

/// Total length of the union of `intervals` within `[start, end)`.
fn covered(intervals: &mut [(i64, i64)], start: i64, end: i64) -> i64 {
    intervals.sort_unstable();
    let mut total = 0;
    let mut reach = start;
    for &(from, to) in intervals.iter() {
        let (from, to) = (from.max(reach), to.min(end));
        if to > from {
            total += to - from;
            reach = to;
        }
    }
    total
}

/// Recomputes the scorecard at `now`. `incidents` pairs each incident with its tenant.
pub fn compute(
    incidents: &[(&str, &Incident)],
    windows: &[Window],
    settings: &ScorecardSettings,
    analysts: &LabelValues,
    sources: &LabelValues,
    now: i64,
) -> QualityCard {
    let repeat = repeats(incidents, settings.repeat_lookback_millis);
    let mut tallies: Vec<Tally> = windows
        .iter()
        .map(|w| Tally::new(now.saturating_sub(w.millis)))
        .collect();
    let mut busy: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    let mut open: HashMap<u32, u64> = HashMap::new();
    for (i, (_, incident)) in incidents.iter().enumerate() {
        if let Some(analyst) = incident.assignee.get() {
            if incident.is_open() {
                *open.entry(analyst).or_default() += 1;
            }
            if incident.acknowledged != NEVER {
                let end = if incident.is_open() {
                    now
                } else {
                    incident.resolved.max(incident.acknowledged)
                };
                busy.entry(analyst)
                    .or_default()
                    .push((incident.acknowledged, end));
            }
        }
        let cost = cost(incident, settings);
        for tally in &mut tallies {
            tally.count(incident, repeat[i], cost, settings);
        }
    }
    let per_window = tallies
        .into_iter()
        .zip(windows)
        .map(|(tally, window)| {
            let mut card = tally.finish(analysts, sources);
            card.analyst_busy = busy_shares(&mut busy, analysts, window, now);
            card
        })
        .collect();
    QualityCard {
        per_window,
        analyst_open: named(analysts, open),
    }
}

/// One window's counts while the incidents are walked.
struct Tally {
    /// Window start: a time is in the window when it is later.
    start: i64,
    card: WindowQuality,
    alert_false_positive: HashMap<u32, Ratio>,
    resolved_by: HashMap<u32, u64>,
    alerts_of: HashMap<u32, u64>,
}

impl Tally {
    fn new(start: i64) -> Self {
        Self {
            start,
            card: WindowQuality::default(),
            alert_false_positive: HashMap::new(),
            resolved_by: HashMap::new(),
            alerts_of: HashMap::new(),
        }
    }

    fn inside(&self, t: i64) -> bool {
        t != NEVER && t > self.start
    }

    /// Counts one incident (`repeat`: it repeats an earlier one; `cost`: its cost).
    fn count(
        &mut self,
        incident: &Incident,
        repeat: bool,
        cost: f64,
        settings: &ScorecardSettings,
    ) {
        let slot = severity_slot(incident.severity());
        let disposition = incident.disposition();
        if self.inside(incident.detected) {
            let card = &mut self.card;
            card.escalation[slot].count(incident.is_escalated());
            card.escalation[ALL_SLOT].count(incident.is_escalated());
            card.threat_intel.count(incident.is_threat_intel());
            if incident.root_cause.get().is_some() {
                card.repeat.count(repeat);
            }
            if disposition == Some(Disposition::TruePositive) {
                card.detection
                    .count(settings.detected_by[incident.detection().index()]);
            }
        }
        let assignee = incident.assignee.get();
        if self.inside(incident.resolved) {
            self.resolved(incident, slot, cost, assignee);
        }
        if let Some(analyst) = assignee {
            let fresh = incident.alerts().filter(|(at, _)| self.inside(*at)).count() as u64;
            if fresh > 0 {
                *self.alerts_of.entry(analyst).or_default() += fresh;
            }
        }
    }

    /// An incident resolved in the window: cost, resolutions, false positives.
    fn resolved(&mut self, incident: &Incident, slot: usize, cost: f64, assignee: Option<u32>) {
        let card = &mut self.card;
        card.cost[slot] += cost;
        card.cost[ALL_SLOT] += cost;
        if let Some(analyst) = assignee {
            *self.resolved_by.entry(analyst).or_default() += 1;
        }
        if let Some(disposition) = incident.disposition() {
            let false_positive = disposition == Disposition::FalsePositive;
            card.false_positive[slot].count(false_positive);
            card.false_positive[ALL_SLOT].count(false_positive);
            for (_, source) in incident.alerts() {
                self.alert_false_positive
                    .entry(source)
                    .or_default()
                    .count(false_positive);
            }
        }
    }

    /// The window's scorecard, with names in place of interned ids, sorted by name.
    fn finish(self, analysts: &LabelValues, sources: &LabelValues) -> WindowQuality {
        let mut card = self.card;
        let mut fp: Vec<_> = self
            .alert_false_positive
            .into_iter()
            .map(|(id, ratio)| (Arc::clone(sources.value(id)), ratio))
            .collect();
        fp.sort_by(|a, b| a.0.cmp(&b.0));
        card.alert_false_positive = fp;
        card.analyst_resolved = named(analysts, self.resolved_by);
        card.analyst_alerts = named(analysts, self.alerts_of);
        card
    }
}

/// Per analyst, the share of `window` covered by their incidents' busy intervals.
fn busy_shares(
    busy: &mut HashMap<u32, Vec<(i64, i64)>>,
    analysts: &LabelValues,
    window: &Window,
    now: i64,
) -> Vec<(Arc<str>, f64)> {
    let length = window.millis.max(1);
    let start = now.saturating_sub(window.millis);
    let mut shares: Vec<_> = busy
        .iter_mut()
        .map(|(id, intervals)| {
            let share = covered(intervals, start, now) as f64 / length as f64;
            (Arc::clone(analysts.value(*id)), share)
        })
        .collect();
    shares.sort_by(|a, b| a.0.cmp(&b.0));
    shares
}

/// Counts by analyst name, sorted.
fn named(labels: &LabelValues, map: HashMap<u32, u64>) -> Vec<(Arc<str>, u64)> {
    let mut named: Vec<_> = map
        .into_iter()
        .map(|(id, n)| (Arc::clone(labels.value(id)), n))
        .collect();
    named.sort();
    named
}

#[cfg(test)]
#[path = "quality_tests.rs"]
mod tests;
