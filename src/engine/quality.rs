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
        (incident.resolved - start).max(0) as f64 / 3_600_000.0
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
        repeat[*i] = earlier.is_some_and(|at| at >= detected - lookback);
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
    let starts: Vec<i64> = windows
        .iter()
        .map(|w| now.saturating_sub(w.millis))
        .collect();
    let mut per_window = vec![WindowQuality::default(); windows.len()];
    let mut alert_fp: Vec<HashMap<u32, Ratio>> = vec![HashMap::new(); windows.len()];
    let mut resolved_by: Vec<HashMap<u32, u64>> = vec![HashMap::new(); windows.len()];
    let mut alerts_of: Vec<HashMap<u32, u64>> = vec![HashMap::new(); windows.len()];
    let mut busy: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    let mut open: HashMap<u32, u64> = HashMap::new();
    let inside = |t: i64, start: i64| t != NEVER && t > start;

    for (i, (_, incident)) in incidents.iter().enumerate() {
        let slot = severity_slot(incident.severity());
        let disposition = incident.disposition();
        let assignee = incident.assignee.get();
        if let Some(analyst) = assignee {
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
        for (w, start) in starts.iter().enumerate() {
            let card = &mut per_window[w];
            if inside(incident.detected, *start) {
                card.escalation[slot].count(incident.is_escalated());
                card.escalation[ALL_SLOT].count(incident.is_escalated());
                card.threat_intel.count(incident.is_threat_intel());
                if incident.root_cause.get().is_some() {
                    card.repeat.count(repeat[i]);
                }
                if disposition == Some(Disposition::TruePositive) {
                    card.detection
                        .count(settings.detected_by[incident.detection().index()]);
                }
            }
            if inside(incident.resolved, *start) {
                card.cost[slot] += cost;
                card.cost[ALL_SLOT] += cost;
                if let Some(analyst) = assignee {
                    *resolved_by[w].entry(analyst).or_default() += 1;
                }
                if let Some(disposition) = disposition {
                    let false_positive = disposition == Disposition::FalsePositive;
                    card.false_positive[slot].count(false_positive);
                    card.false_positive[ALL_SLOT].count(false_positive);
                    for (_, source) in incident.alerts() {
                        alert_fp[w].entry(source).or_default().count(false_positive);
                    }
                }
            }
            if let Some(analyst) = assignee {
                let fresh = incident
                    .alerts()
                    .filter(|(at, _)| inside(*at, *start))
                    .count() as u64;
                if fresh > 0 {
                    *alerts_of[w].entry(analyst).or_default() += fresh;
                }
            }
        }
    }

    let named = |labels: &LabelValues, map: HashMap<u32, u64>| {
        let mut named: Vec<_> = map
            .into_iter()
            .map(|(id, n)| (Arc::clone(labels.value(id)), n))
            .collect();
        named.sort();
        named
    };
    for (w, card) in per_window.iter_mut().enumerate() {
        let mut fp: Vec<_> = std::mem::take(&mut alert_fp[w])
            .into_iter()
            .map(|(id, ratio)| (Arc::clone(sources.value(id)), ratio))
            .collect();
        fp.sort_by(|a, b| a.0.cmp(&b.0));
        card.alert_false_positive = fp;
        card.analyst_resolved = named(analysts, std::mem::take(&mut resolved_by[w]));
        card.analyst_alerts = named(analysts, std::mem::take(&mut alerts_of[w]));
        let length = windows[w].millis.max(1);
        let mut shares: Vec<_> = busy
            .iter_mut()
            .map(|(id, intervals)| {
                let share = covered(intervals, starts[w], now) as f64 / length as f64;
                (Arc::clone(analysts.value(*id)), share)
            })
            .collect();
        shares.sort_by(|a, b| a.0.cmp(&b.0));
        card.analyst_busy = shares;
    }
    QualityCard {
        per_window,
        analyst_open: named(analysts, open),
    }
}

#[cfg(test)]
#[path = "quality_tests.rs"]
mod tests;
