//! The incident KPIs at one instant (PRODUCT.md §3–§4), as computed values: the lifetime
//! counters that move when events arrive, and the windowed values recomputed from scratch over
//! the incidents in memory, so a late or corrected event changes them exactly as it should.
//! Values are kept by severity slot (the five levels, `unknown`, and `all` where a family has
//! it); [`super::scorecard`] turns them into typed series.

use hdrhistogram::Histogram;

use super::Window;
use super::incident::{Incident, NEVER, Span, Stage};
use super::quality::QualityCard;
use super::sla::SlaPolicy;
use crate::event::{Disposition, Severity};

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

pub fn disposition_slot(disposition: Option<Disposition>) -> usize {
    disposition.map_or(4, Disposition::index)
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
    /// `(upper bound in seconds, observations ≤ it)`, cumulative, one per bucket of [`BUCKETS`].
    pub fn cumulative_buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        BUCKETS
            .iter()
            .zip(self.buckets)
            .scan(0, |total, (le, count)| {
                *total += count;
                Some((*le, *total))
            })
    }

    pub(super) fn observe(&mut self, millis: u64) {
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
    pub quality: QualityCard,
}

/// Scratch histograms per window: one per (span, severity slot with `all`).
const PER_WINDOW: usize = Span::ALL.len() * (SLOTS + 1);

/// Scratch histograms for [`compute`], `[window][span][slot]`, reused by every recomputation.
pub fn scratch(windows: usize) -> Vec<Histogram<u64>> {
    (0..windows * PER_WINDOW)
        .map(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_histogram()))
        .collect()
}

/// The windowed incident KPIs at `now` over `incidents` (counters, `in_memory` and `quality`
/// are left for the caller to fill in).
pub fn compute<'a>(
    incidents: impl Iterator<Item = &'a Incident>,
    windows: &[Window],
    sla: &SlaPolicy,
    scratch: &mut [Histogram<u64>],
    now: i64,
) -> IncidentCard {
    for histogram in scratch.iter_mut() {
        histogram.reset();
    }
    let mut per_window = vec![WindowKpis::default(); windows.len()];
    let mut card = IncidentCard {
        windows: windows.to_vec(),
        ..IncidentCard::default()
    };
    for incident in incidents {
        let slot = severity_slot(incident.severity());
        let deadlines = Stage::ALL.map(|stage| sla.deadline(incident, stage));
        count_open(&mut card, incident, slot, &deadlines, now);
        let durations = Span::ALL.map(|span| {
            let (_, end) = incident.ends(span);
            incident.duration(span).map(|d| (end, d.max(0)))
        });
        for (w, (kpis, window)) in per_window.iter_mut().zip(windows).enumerate() {
            let at = Place {
                start: now.saturating_sub(window.millis),
                now,
                slot,
                scratch: &mut scratch[w * PER_WINDOW..],
            };
            count_in_window(kpis, at, incident, &durations, &deadlines, sla);
        }
    }
    for (w, kpis) in per_window.iter_mut().enumerate() {
        fill_quantiles(kpis, &scratch[w * PER_WINDOW..]);
    }
    card.per_window = per_window;
    card
}

/// Where one incident is counted in one window: the window's start, now, the incident's
/// severity slot, and the window's scratch histograms (`[span][slot]`).
struct Place<'s> {
    start: i64,
    now: i64,
    slot: usize,
    scratch: &'s mut [Histogram<u64>],
}

/// Open incidents by status, and open stages past their deadline.
fn count_open(
    card: &mut IncidentCard,
    incident: &Incident,
    slot: usize,
    deadlines: &[Option<i64>; 2],
    now: i64,
) {
    if incident.is_open() {
        card.open[slot][incident.status().index()] += 1;
    }
    for stage in Stage::ALL {
        if let Some(deadline) = deadlines[stage.index()]
            && incident.reached(stage) == NEVER
            && now > deadline
        {
            card.breached_open[slot][stage.index()] += 1;
        }
    }
}

/// One incident's share of one window: its detection, its durations whose end is in the
/// window, its stage deadlines that fell in the window.
fn count_in_window(
    kpis: &mut WindowKpis,
    at: Place<'_>,
    incident: &Incident,
    durations: &[Option<(i64, i64)>; 5],
    deadlines: &[Option<i64>; 2],
    sla: &SlaPolicy,
) {
    let Place {
        start,
        now,
        slot,
        scratch,
    } = at;
    if incident.detected != NEVER && incident.detected > start {
        kpis.incidents[slot] += 1;
        kpis.incidents[ALL_SLOT] += 1;
    }
    for span in Span::ALL {
        let Some((end, millis)) = durations[span.index()] else {
            continue;
        };
        if end <= start {
            continue;
        }
        for s in [slot, ALL_SLOT] {
            let stats = &mut kpis.spans[span.index()][s];
            stats.count += 1;
            stats.sum_millis += i128::from(millis);
            let _ = scratch[span.index() * (SLOTS + 1) + s].record(millis as u64);
        }
    }
    for stage in Stage::ALL {
        let Some(deadline) = deadlines[stage.index()] else {
            continue;
        };
        if deadline <= start || deadline > now {
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

/// The quantiles of every duration that has observations, from the window's histograms.
fn fill_quantiles(kpis: &mut WindowKpis, scratch: &[Histogram<u64>]) {
    for span in Span::ALL {
        for s in 0..=SLOTS {
            let stats = &mut kpis.spans[span.index()][s];
            if stats.count > 0 {
                let histogram = &scratch[span.index() * (SLOTS + 1) + s];
                stats.quantiles = QUANTILES.map(|q| histogram.value_at_quantile(q));
            }
        }
    }
}

/// `Histogram::new(3)` cannot fail (3 significant digits is in range); this keeps the
/// constructor total without an unwrap.
fn unreachable_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 2, 1).unwrap_or_else(|_| std::process::abort())
}
