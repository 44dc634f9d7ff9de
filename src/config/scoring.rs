//! The sections that say how incidents are scored: `[sla]`, `[kpis]`, `[cost]`, `[coverage]`
//! and `[posture]`, with the per-severity tables they share. Each section's `Default` is the one
//! place its documented defaults are written; the engine has none of its own. Invariant: the
//! arrays handed to the engine are indexed by `Severity::index`, `Stage::index` and
//! `Detection::index`, built through those (never by writing the order out again).

use serde::{Deserialize, Serialize};

use super::Span;
use crate::engine::incident::Stage;
use crate::event::{Detection, Severity};

/// SLA targets (PRODUCT.md §2): per stage, a duration per severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// Detection to acknowledgement.
    pub acknowledge: SeverityTargets,
    /// Detection to resolution.
    pub resolve: SeverityTargets,
}

impl Default for SlaConfig {
    fn default() -> Self {
        let targets = |texts: [&str; 5]| SeverityTargets {
            critical: Span::must(texts[0]),
            high: Span::must(texts[1]),
            medium: Span::must(texts[2]),
            low: Span::must(texts[3]),
            informational: Span::must(texts[4]),
        };
        Self {
            acknowledge: targets(["15m", "1h", "4h", "24h", "72h"]),
            resolve: targets(["4h", "24h", "72h", "7d", "14d"]),
        }
    }
}

impl SlaConfig {
    /// Milliseconds, indexed by [`Stage::index`] then [`Severity::index`].
    pub(super) fn millis(&self) -> [[i64; 5]; 2] {
        Stage::ALL.map(|stage| match stage {
            Stage::Acknowledge => self.acknowledge.millis(),
            Stage::Resolve => self.resolve.millis(),
        })
    }
}

/// One duration per severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityTargets {
    pub critical: Span,
    pub high: Span,
    pub medium: Span,
    pub low: Span,
    pub informational: Span,
}

impl SeverityTargets {
    fn get(&self, severity: Severity) -> &Span {
        match severity {
            Severity::Critical => &self.critical,
            Severity::High => &self.high,
            Severity::Medium => &self.medium,
            Severity::Low => &self.low,
            Severity::Informational => &self.informational,
        }
    }

    /// Milliseconds, indexed by [`Severity::index`].
    pub(super) fn millis(&self) -> [i64; 5] {
        Severity::ALL.map(|severity| self.get(severity).millis)
    }
}

/// One amount per severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityAmounts {
    pub critical: f64,
    pub high: f64,
    pub medium: f64,
    pub low: f64,
    pub informational: f64,
}

impl SeverityAmounts {
    fn get(&self, severity: Severity) -> f64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Informational => self.informational,
        }
    }

    /// The amounts, indexed by [`Severity::index`].
    pub(super) fn by_index(&self) -> [f64; 5] {
        Severity::ALL.map(|severity| self.get(severity))
    }
}

/// Scorecard choices (PRODUCT.md §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpisConfig {
    /// `detection` values that count as found by the SOC in `soc_detection_ratio`.
    pub detected_by: Vec<Detection>,
}

impl Default for KpisConfig {
    fn default() -> Self {
        Self {
            detected_by: vec![Detection::Alert, Detection::Hunt],
        }
    }
}

impl KpisConfig {
    /// Whether each detection kind counts as found by the SOC, indexed by [`Detection::index`].
    pub(super) fn detected_by_index(&self) -> [bool; 4] {
        std::array::from_fn(|i| self.detected_by.iter().any(|d| d.index() == i))
    }
}

/// The cost model for incidents resolved without a reported `cost`:
/// `hourly_rate × handling hours + base[severity]`, handling hours running from
/// acknowledgement (else detection) to resolution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostConfig {
    /// Analyst cost per hour, in the currency of reported costs.
    pub hourly_rate: f64,
    /// Fixed cost per incident by severity.
    pub base: SeverityAmounts,
}

impl Default for CostConfig {
    fn default() -> Self {
        Self {
            hourly_rate: 60.0,
            base: SeverityAmounts {
                critical: 1000.0,
                high: 400.0,
                medium: 150.0,
                low: 50.0,
                informational: 10.0,
            },
        }
    }
}

/// Which inventory assets count as monitored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoverageConfig {
    /// An asset whose logs were not seen for this long is unmonitored.
    pub max_silence: Span,
}

impl Default for CoverageConfig {
    fn default() -> Self {
        Self {
            max_silence: Span::must("24h"),
        }
    }
}

/// Weights of `soc_posture_score`'s parts (renormalised over the parts that exist).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostureConfig {
    pub detection: f64,
    pub sla_acknowledge: f64,
    pub sla_resolve: f64,
    pub coverage: f64,
    pub false_positive: f64,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            detection: 1.0,
            sla_acknowledge: 1.0,
            sla_resolve: 1.0,
            coverage: 1.0,
            false_positive: 1.0,
        }
    }
}

impl PostureConfig {
    /// The weights in the order of `EngineSettings::posture_weights`.
    pub(super) fn weights(&self) -> [f64; 5] {
        [
            self.detection,
            self.sla_acknowledge,
            self.sla_resolve,
            self.coverage,
            self.false_positive,
        ]
    }
}
