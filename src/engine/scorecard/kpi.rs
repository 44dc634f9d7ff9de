//! The identities of the scorecard's KPIs (PRODUCT.md §4) and their names in the public
//! contract: the one table that names them. The exporter prefixes `soc_` and adds help texts;
//! `[[compliance.objectives]]` name a gauge by the same name without `soc_`.

use crate::engine::incident::Span;

/// How a KPI's series behave: what Prometheus type it is exported as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up over the process's life.
    Counter,
    /// A value at now.
    Gauge,
    /// Cumulative bucket counts, a count and a sum.
    Histogram,
}

/// One KPI of the scorecard: a metric family of `/metrics`, a row of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kpi {
    AlertsTotal,
    AlertVolume,
    IncidentsOpenedTotal,
    IncidentsResolvedTotal,
    IncidentsReopenedTotal,
    SlaBreachesTotal,
    /// `soc_time_to_S_seconds` and `soc_dwell_time_seconds`, the lifetime histograms.
    Duration(Span),
    IncidentsOpen,
    SlaBreachedOpenIncidents,
    Incidents,
    MeanDuration(Span),
    DurationQuantile(Span),
    SlaComplianceRatio,
    FalsePositiveRatio,
    AlertFalsePositiveRatio,
    DetectionRatio,
    EscalationRatio,
    RepeatIncidents,
    RepeatIncidentRatio,
    ThreatIntelIncidents,
    ThreatIntelRatio,
    IncidentCost,
    AnalystOpenIncidents,
    AnalystResolvedIncidents,
    AnalystAlerts,
    AnalystBusyRatio,
    IncidentsInMemory,
    IncidentsEvictedTotal,
    AssetsMonitored,
    AssetsUnmonitored,
    CoverageGapRatio,
    PostureScore,
    LabelOverflowTotal,
    ComplianceObjectiveMet,
    ComplianceScore,
}

impl Kpi {
    /// Every KPI, in the order the exporter renders them.
    pub const ALL: [Kpi; 47] = [
        Kpi::AlertsTotal,
        Kpi::AlertVolume,
        Kpi::IncidentsOpenedTotal,
        Kpi::IncidentsResolvedTotal,
        Kpi::IncidentsReopenedTotal,
        Kpi::SlaBreachesTotal,
        Kpi::Duration(Span::Detect),
        Kpi::Duration(Span::Acknowledge),
        Kpi::Duration(Span::Contain),
        Kpi::Duration(Span::Resolve),
        Kpi::Duration(Span::Dwell),
        Kpi::IncidentsOpen,
        Kpi::SlaBreachedOpenIncidents,
        Kpi::Incidents,
        Kpi::MeanDuration(Span::Detect),
        Kpi::DurationQuantile(Span::Detect),
        Kpi::MeanDuration(Span::Acknowledge),
        Kpi::DurationQuantile(Span::Acknowledge),
        Kpi::MeanDuration(Span::Contain),
        Kpi::DurationQuantile(Span::Contain),
        Kpi::MeanDuration(Span::Resolve),
        Kpi::DurationQuantile(Span::Resolve),
        Kpi::MeanDuration(Span::Dwell),
        Kpi::DurationQuantile(Span::Dwell),
        Kpi::SlaComplianceRatio,
        Kpi::FalsePositiveRatio,
        Kpi::AlertFalsePositiveRatio,
        Kpi::DetectionRatio,
        Kpi::EscalationRatio,
        Kpi::RepeatIncidents,
        Kpi::RepeatIncidentRatio,
        Kpi::ThreatIntelIncidents,
        Kpi::ThreatIntelRatio,
        Kpi::IncidentCost,
        Kpi::AnalystOpenIncidents,
        Kpi::AnalystResolvedIncidents,
        Kpi::AnalystAlerts,
        Kpi::AnalystBusyRatio,
        Kpi::IncidentsInMemory,
        Kpi::IncidentsEvictedTotal,
        Kpi::AssetsMonitored,
        Kpi::AssetsUnmonitored,
        Kpi::CoverageGapRatio,
        Kpi::PostureScore,
        Kpi::LabelOverflowTotal,
        Kpi::ComplianceObjectiveMet,
        Kpi::ComplianceScore,
    ];

    /// The KPI's name: its metric name without `soc_`.
    pub fn name(self) -> &'static str {
        match self {
            Kpi::AlertsTotal => "alerts_total",
            Kpi::AlertVolume => "alert_volume",
            Kpi::IncidentsOpenedTotal => "incidents_opened_total",
            Kpi::IncidentsResolvedTotal => "incidents_resolved_total",
            Kpi::IncidentsReopenedTotal => "incidents_reopened_total",
            Kpi::SlaBreachesTotal => "sla_breaches_total",
            Kpi::Duration(span) => span_names(span).0,
            Kpi::IncidentsOpen => "incidents_open",
            Kpi::SlaBreachedOpenIncidents => "sla_breached_open_incidents",
            Kpi::Incidents => "incidents",
            Kpi::MeanDuration(span) => span_names(span).1,
            Kpi::DurationQuantile(span) => span_names(span).2,
            Kpi::SlaComplianceRatio => "sla_compliance_ratio",
            Kpi::FalsePositiveRatio => "false_positive_ratio",
            Kpi::AlertFalsePositiveRatio => "alert_false_positive_ratio",
            Kpi::DetectionRatio => "detection_ratio",
            Kpi::EscalationRatio => "escalation_ratio",
            Kpi::RepeatIncidents => "repeat_incidents",
            Kpi::RepeatIncidentRatio => "repeat_incident_ratio",
            Kpi::ThreatIntelIncidents => "threat_intel_incidents",
            Kpi::ThreatIntelRatio => "threat_intel_ratio",
            Kpi::IncidentCost => "incident_cost",
            Kpi::AnalystOpenIncidents => "analyst_open_incidents",
            Kpi::AnalystResolvedIncidents => "analyst_resolved_incidents",
            Kpi::AnalystAlerts => "analyst_alerts",
            Kpi::AnalystBusyRatio => "analyst_busy_ratio",
            Kpi::IncidentsInMemory => "incidents_in_memory",
            Kpi::IncidentsEvictedTotal => "incidents_evicted_total",
            Kpi::AssetsMonitored => "assets_monitored",
            Kpi::AssetsUnmonitored => "assets_unmonitored",
            Kpi::CoverageGapRatio => "coverage_gap_ratio",
            Kpi::PostureScore => "posture_score",
            Kpi::LabelOverflowTotal => "label_overflow_total",
            Kpi::ComplianceObjectiveMet => "compliance_objective_met",
            Kpi::ComplianceScore => "compliance_score",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Kpi::AlertsTotal
            | Kpi::IncidentsOpenedTotal
            | Kpi::IncidentsResolvedTotal
            | Kpi::IncidentsReopenedTotal
            | Kpi::SlaBreachesTotal
            | Kpi::IncidentsEvictedTotal
            | Kpi::LabelOverflowTotal => Kind::Counter,
            Kpi::Duration(_) => Kind::Histogram,
            _ => Kind::Gauge,
        }
    }

    /// The KPI of a name (without `soc_`).
    pub fn from_name(name: &str) -> Option<Kpi> {
        Self::ALL.into_iter().find(|kpi| kpi.name() == name)
    }

    /// The gauges a compliance objective may name: the SOC's KPIs, not the compliance
    /// results themselves nor the daemon's memory.
    pub fn objective_gauges() -> impl Iterator<Item = Kpi> {
        Self::ALL.into_iter().filter(|kpi| {
            kpi.kind() == Kind::Gauge
                && !matches!(
                    kpi,
                    Kpi::ComplianceObjectiveMet | Kpi::ComplianceScore | Kpi::IncidentsInMemory
                )
        })
    }
}

/// A duration's KPI names: (histogram, mean, quantile).
fn span_names(span: Span) -> (&'static str, &'static str, &'static str) {
    match span {
        Span::Detect => (
            "time_to_detect_seconds",
            "mean_time_to_detect_seconds",
            "time_to_detect_quantile_seconds",
        ),
        Span::Acknowledge => (
            "time_to_acknowledge_seconds",
            "mean_time_to_acknowledge_seconds",
            "time_to_acknowledge_quantile_seconds",
        ),
        Span::Contain => (
            "time_to_contain_seconds",
            "mean_time_to_contain_seconds",
            "time_to_contain_quantile_seconds",
        ),
        Span::Resolve => (
            "time_to_resolve_seconds",
            "mean_time_to_resolve_seconds",
            "time_to_resolve_quantile_seconds",
        ),
        Span::Dwell => (
            "dwell_time_seconds",
            "mean_dwell_time_seconds",
            "dwell_time_quantile_seconds",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kpi_has_one_distinct_name() {
        let mut names: Vec<_> = Kpi::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kpi::ALL.len());
        for kpi in Kpi::ALL {
            assert_eq!(Kpi::from_name(kpi.name()), Some(kpi));
        }
    }

    #[test]
    fn objectives_may_name_the_32_kpi_gauges() {
        let gauges: Vec<_> = Kpi::objective_gauges().map(Kpi::name).collect();
        assert_eq!(gauges.len(), 32);
        for name in ["sla_compliance_ratio", "posture_score", "alert_volume"] {
            assert!(gauges.contains(&name), "{name}");
        }
        for name in [
            "alerts_total",
            "time_to_resolve_seconds",
            "compliance_score",
        ] {
            assert!(!gauges.contains(&name), "{name}");
        }
    }
}
