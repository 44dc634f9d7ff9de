//! SLA targets per severity and stage, and the breach rule of PRODUCT.md §2: a stage's deadline
//! is detected + target; it is breached if reached after the deadline, or not reached while now
//! is past it.

use super::incident::{Incident, NEVER, Stage};
use crate::event::Severity;

/// Targets in milliseconds, by stage then severity. No `Default`: the documented defaults live
/// in one place, `config::SlaConfig::default()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaPolicy {
    pub targets: [[i64; 5]; 2],
}

impl SlaPolicy {
    /// The stage's deadline; unknown without a detection time or a severity.
    pub fn deadline(&self, incident: &Incident, stage: Stage) -> Option<i64> {
        let severity = incident.severity()?;
        (incident.detected != NEVER).then(|| {
            incident
                .detected
                .saturating_add(self.target(stage, severity))
        })
    }

    pub fn target(&self, stage: Stage, severity: Severity) -> i64 {
        self.targets[stage.index()][severity.index()]
    }

    /// Whether the stage is breached at `now`.
    pub fn breached(&self, incident: &Incident, stage: Stage, now: i64) -> bool {
        let Some(deadline) = self.deadline(incident, stage) else {
            return false;
        };
        match incident.reached(stage) {
            NEVER => now > deadline,
            reached => reached > deadline,
        }
    }
}
