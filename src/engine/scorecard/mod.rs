//! The scorecard: every KPI value at one instant, and a description of itself. What the engine
//! computed (alert counts, the incident card, coverage, posture) is kept as computed; the
//! exporter and a report read it only through [`Scorecard::series`], KPI values keyed by typed
//! identities ([`Kpi`], [`Label`]), never through the engine's slots and arrays.

mod kpi;
mod series;

use std::sync::Arc;

pub use super::quality::ScorecardSettings;
pub use kpi::{Kind, Kpi};
pub use series::{Label, Labels, Series, SeverityLabel, Value};

use super::Window;
use super::card::{ALL_SLOT, IncidentCard};
use super::coverage::CoverageCard;
use super::incident::Stage;
use crate::event::{EventTime, Severity};

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
    pub coverage: CoverageCard,
    /// `soc_posture_score` per KPI window (absent where no part is known).
    pub posture: Vec<Option<f64>>,
}

/// `soc_posture_score` per KPI window: 0–100, the weighted mean of detection ratio, both SLA
/// compliances, 1 − coverage gap and 1 − false-positive ratio, over the parts that exist
/// (weights renormalised over them).
impl Scorecard {
    /// Assembles the scorecard; posture is derived here from the other parts.
    pub fn new(
        now: EventTime,
        alert_windows: Vec<Window>,
        alerts: Vec<AlertCounts>,
        label_overflow: Vec<(&'static str, u64)>,
        incidents: Arc<IncidentCard>,
        coverage: CoverageCard,
        posture_weights: &[f64; 5],
    ) -> Self {
        Self {
            now,
            alert_windows,
            alerts,
            label_overflow,
            posture: posture(&incidents, coverage, posture_weights),
            incidents,
            coverage,
        }
    }
}

fn posture(card: &IncidentCard, coverage: CoverageCard, weights: &[f64; 5]) -> Vec<Option<f64>> {
    card.per_window
        .iter()
        .zip(&card.quality.per_window)
        .map(|(kpis, quality)| {
            let sla = |stage: Stage| {
                let stats = kpis.sla[stage.index()][ALL_SLOT];
                (stats.due > 0).then(|| stats.met as f64 / stats.due as f64)
            };
            let parts = [
                quality.detection.value(),
                sla(Stage::Acknowledge),
                sla(Stage::Resolve),
                coverage.gap_ratio().map(|gap| 1.0 - gap),
                quality.false_positive[ALL_SLOT].value().map(|fp| 1.0 - fp),
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
