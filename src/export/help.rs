//! The HELP text of every KPI family: what a stranger reading `/metrics` needs to know.

use std::borrow::Cow;

use crate::engine::incident::Span;
use crate::engine::scorecard::Kpi;

/// What a duration measures.
fn what(span: Span) -> &'static str {
    match span {
        Span::Detect => "time to detect (detected - occurred)",
        Span::Acknowledge => "time to acknowledge (acknowledged - detected)",
        Span::Contain => "time to contain (contained - detected)",
        Span::Resolve => "time to resolve (resolved - detected)",
        Span::Dwell => "dwell time (contained - occurred)",
    }
}

/// The HELP text of a KPI's family.
pub fn help(kpi: Kpi) -> Cow<'static, str> {
    Cow::Borrowed(match kpi {
        Kpi::Duration(span) => {
            return Cow::Owned(format!(
                "Each incident's {}, observed once when first known; negative clamped to 0.",
                what(span)
            ));
        }
        Kpi::MeanDuration(span) => {
            return Cow::Owned(format!(
                "Mean {} of incidents whose end of it is in the window.",
                what(span)
            ));
        }
        Kpi::DurationQuantile(span) => {
            return Cow::Owned(format!(
                "Quantiles of {} of incidents whose end of it is in the window (HdrHistogram, 3 significant digits).",
                what(span)
            ));
        }
        Kpi::AlertsTotal => {
            "Distinct alerts consumed (deduplicated by alert_id), by detection source and severity."
        }
        Kpi::AlertVolume => {
            "Alerts whose detected_at lies in the rolling window ending now, by source and severity."
        }
        Kpi::IncidentsOpenedTotal => "Incidents first seen, by severity when first seen.",
        Kpi::IncidentsResolvedTotal => {
            "First resolutions of incidents, by severity and disposition at resolution."
        }
        Kpi::IncidentsReopenedTotal => "Reopen events, by incident severity.",
        Kpi::SlaBreachesTotal => {
            "SLA breaches, counted once per incident and stage when they happen."
        }
        Kpi::IncidentsOpen => "Open incidents now, by severity and latest status.",
        Kpi::SlaBreachedOpenIncidents => {
            "Incidents that have not reached the stage and whose deadline has passed."
        }
        Kpi::Incidents => "Incidents whose detection time is in the window, by severity.",
        Kpi::SlaComplianceRatio => {
            "Of incidents whose stage deadline fell in the window, the share not breached."
        }
        Kpi::FalsePositiveRatio => {
            "Of incidents resolved in the window with a disposition, the share false_positive."
        }
        Kpi::AlertFalsePositiveRatio => {
            "Of alerts whose incident was resolved in the window with a disposition, the share false_positive, by source."
        }
        Kpi::DetectionRatio => {
            "Of true-positive incidents detected in the window, the share found by the SOC (kpis.detected_by)."
        }
        Kpi::EscalationRatio => "Of incidents detected in the window, the share escalated.",
        Kpi::RepeatIncidents => {
            "Incidents detected in the window whose (tenant, root_cause) matched an earlier incident within the lookback."
        }
        Kpi::RepeatIncidentRatio => {
            "Of incidents detected in the window with a root cause, the share that repeat an earlier one."
        }
        Kpi::ThreatIntelIncidents => "Incidents detected in the window enriched by threat intel.",
        Kpi::ThreatIntelRatio => {
            "Of incidents detected in the window, the share enriched by threat intel."
        }
        Kpi::IncidentCost => {
            "Sum of the cost of incidents resolved in the window (reported cost, else the cost model)."
        }
        Kpi::AnalystOpenIncidents => "Open incidents by current assignee.",
        Kpi::AnalystResolvedIncidents => "Resolutions in the window, by current assignee.",
        Kpi::AnalystAlerts => "Alerts detected in the window on incidents assigned to the analyst.",
        Kpi::AnalystBusyRatio => {
            "Share of the window covered by the union of [acknowledged, resolved or now) of the analyst's incidents."
        }
        Kpi::IncidentsInMemory => "Incidents held in memory (open, or closed within retention).",
        Kpi::IncidentsEvictedTotal => {
            "Incidents let go: past retention after closing, or to stay under limits.max_incidents."
        }
        Kpi::AssetsMonitored => {
            "Inventory assets (not retired) with telemetry within coverage.max_silence."
        }
        Kpi::AssetsUnmonitored => {
            "Inventory assets (not retired) without telemetry within coverage.max_silence."
        }
        Kpi::CoverageGapRatio => "Unmonitored inventory assets / inventory assets.",
        Kpi::PostureScore => {
            "0-100: weighted mean of detection ratio, SLA compliances, 1 - coverage gap, 1 - false-positive ratio."
        }
        Kpi::LabelOverflowTotal => {
            "Label values replaced by `other` because the label reached limits.max_label_values."
        }
        Kpi::ComplianceObjectiveMet => {
            "1 when the objective's KPI meets its target, 0 when not; absent while the KPI series does not exist."
        }
        Kpi::ComplianceScore => {
            "0-100: share of the framework's objectives met, of those whose KPI series exists."
        }
    })
}
