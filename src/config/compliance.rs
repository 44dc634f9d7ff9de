//! `[[compliance.objectives]]` (PRODUCT.md §4): a KPI series compared with a target, per
//! framework control, and the default NIST CSF 2.0 and ISO/IEC 27001:2022 sets. Invariant: the
//! defaults keep the order of `config/socmetrics.toml`, and a check two frameworks share (e.g.
//! DE.CM-01 and A.8.16, explained together in docs/kpis.md) is written once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A comparison of a compliance objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
}

impl Comparison {
    pub fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Comparison::Below => value < target,
            Comparison::AtMost => value <= target,
            Comparison::Above => value > target,
            Comparison::AtLeast => value >= target,
        }
    }
}

/// One compliance objective: a KPI series compared with a target (PRODUCT.md §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub framework: String,
    pub control: String,
    /// A gauge name without `soc_` (`sla_compliance_ratio`).
    pub kpi: String,
    /// Labels that pick one series of the gauge.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub op: Comparison,
    pub target: f64,
}

/// `[[compliance.objectives]]`; the defaults are NIST CSF 2.0 and ISO/IEC 27001:2022 sets,
/// documented control by control in docs/kpis.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    pub objectives: Vec<Objective>,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        let objectives = DEFAULT_OBJECTIVES
            .iter()
            .flat_map(|(framework, controls)| {
                controls
                    .iter()
                    .map(|(control, check)| check.objective(framework, control))
            })
            .collect();
        Self { objectives }
    }
}

/// What a default objective checks, whichever framework's control it stands for.
struct Check {
    kpi: &'static str,
    labels: &'static [(&'static str, &'static str)],
    op: Comparison,
    target: f64,
}

impl Check {
    fn objective(&self, framework: &str, control: &str) -> Objective {
        Objective {
            framework: framework.into(),
            control: control.into(),
            kpi: self.kpi.into(),
            labels: self
                .labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            op: self.op,
            target: self.target,
        }
    }
}

// The default objectives look at the 30-day KPI window.
const MONTH: (&str, &str) = ("window", "30d");
const ALL: (&str, &str) = ("severity", "all");
const CRITICAL: (&str, &str) = ("severity", "critical");

const COVERAGE_GAP: Check = Check {
    kpi: "coverage_gap_ratio",
    labels: &[],
    op: Comparison::AtMost,
    target: 0.05,
};
/// Detected within a day of occurring.
const DETECTED: Check = Check {
    kpi: "mean_time_to_detect_seconds",
    labels: &[MONTH, ALL],
    op: Comparison::AtMost,
    target: 86_400.0,
};
const ACKNOWLEDGED_IN_SLA: Check = Check {
    kpi: "sla_compliance_ratio",
    labels: &[MONTH, ALL, ("stage", "acknowledge")],
    op: Comparison::AtLeast,
    target: 0.9,
};
/// Critical incidents contained within 4 hours.
const CONTAINED: Check = Check {
    kpi: "mean_time_to_contain_seconds",
    labels: &[MONTH, CRITICAL],
    op: Comparison::AtMost,
    target: 14_400.0,
};
const RESOLVED_IN_SLA: Check = Check {
    kpi: "sla_compliance_ratio",
    labels: &[MONTH, ALL, ("stage", "resolve")],
    op: Comparison::AtLeast,
    target: 0.9,
};
/// Critical incidents resolved within 4 hours.
const RESOLVED: Check = Check {
    kpi: "mean_time_to_resolve_seconds",
    labels: &[MONTH, CRITICAL],
    op: Comparison::AtMost,
    target: 14_400.0,
};
const REPEATS: Check = Check {
    kpi: "repeat_incident_ratio",
    labels: &[MONTH],
    op: Comparison::AtMost,
    target: 0.1,
};

/// The default objectives: per framework, its controls and what each checks.
const DEFAULT_OBJECTIVES: [(&str, &[(&str, Check)]); 2] = [
    (
        "nist_csf_2.0",
        &[
            ("DE.CM-01", COVERAGE_GAP),
            ("DE.AE-02", DETECTED),
            ("RS.MA-02", ACKNOWLEDGED_IN_SLA),
            ("RS.MI-01", CONTAINED),
            ("RS.MI-02", RESOLVED_IN_SLA),
            ("ID.IM-03", REPEATS),
        ],
    ),
    (
        "iso_27001_2022",
        &[
            ("A.8.16", COVERAGE_GAP),
            ("A.5.25", ACKNOWLEDGED_IN_SLA),
            ("A.5.26", RESOLVED_IN_SLA),
            ("A.5.24", RESOLVED),
            ("A.5.27", REPEATS),
        ],
    ),
];
