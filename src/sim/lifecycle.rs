//! The case lifecycle of one incident, drawn in full when the incident opens: `new`,
//! `acknowledged`, sometimes `in_progress`, `escalated` and `contained`, `resolved` with a
//! verdict, usually `closed`, and now and then a `reopened` round resolved and closed again.
//!
//! Acknowledgement and resolution times are drawn around the SLA targets the simulator took
//! from the default configuration, so about one stage in ten is breached; the stages in
//! between fall inside the time the case was worked. Escalations move the case to a senior
//! analyst at tier 2 or 3, and an investigation sometimes raises the severity.
//!
//! Invariants: the changes come out in time order, each after the one before; a severity is
//! only ever raised; the draws happen in the order written here (a seed's output relies on it).

use rand::Rng;
use rand::rngs::SmallRng;

use super::incidents::Opening;
use super::{DAY, HOUR, MINUTE, Simulator, pick};
use crate::engine::incident::Stage;
use crate::event::{Detection, Disposition, Severity, Status};

/// Share of incidents that miss each stage's target.
const BREACH_SHARE: f64 = 0.1;
/// Chance of an escalation (tier 2 or 3), by severity.
const ESCALATES: [f64; 5] = [0.02, 0.05, 0.12, 0.25, 0.4];
/// Relative weights of true_positive, false_positive, benign_positive, undetermined.
const VERDICTS_OF_ALERTS: [u32; 4] = [30, 45, 15, 10];
const VERDICTS_OF_HUNTS: [u32; 4] = [55, 20, 15, 10];
/// True positives with an explicit `contained` event; the rest rely on contained = resolved.
const CONTAINED_EVENT: f64 = 0.75;
/// Resolved incidents reopened after they were closed.
const REOPENS: f64 = 0.03;
/// Typical cost of a true positive, by severity, in currency units.
const TRUE_POSITIVE_COST: [f64; 5] = [100.0, 400.0, 1_500.0, 6_000.0, 25_000.0];

/// The analysts on shift; the last three are tier 2/3 (escalations go to them).
const ANALYSTS: [&str; 8] = [
    "a.garcia", "b.chen", "c.okafor", "d.novak", "e.silva", "f.ahmed", "g.muller", "h.tanaka",
];
const SENIOR_ANALYSTS: usize = 3;
const ROOT_CAUSES: [&str; 7] = [
    "phishing",
    "credential_stuffing",
    "unpatched_vulnerability",
    "misconfiguration",
    "malware_download",
    "weak_password",
    "insider",
];

/// The case fields of one change of an incident, as they are on the case topic.
#[derive(Clone, Copy, Debug)]
pub(super) struct Change {
    pub(super) at: i64,
    pub(super) status: Status,
    pub(super) severity: Severity,
    pub(super) tier: Option<u8>,
    pub(super) assignee: Option<&'static str>,
    pub(super) disposition: Option<Disposition>,
    pub(super) detection: Option<Detection>,
    pub(super) occurred_at: Option<i64>,
    pub(super) root_cause: Option<&'static str>,
    pub(super) cost: Option<f64>,
    pub(super) threat_intel: Option<bool>,
}

impl Change {
    fn new(at: i64, status: Status, severity: Severity) -> Self {
        Self {
            at,
            status,
            severity,
            tier: None,
            assignee: None,
            disposition: None,
            detection: None,
            occurred_at: None,
            root_cause: None,
            cost: None,
            threat_intel: None,
        }
    }
}

/// When the case tool records the incident, and when it is acknowledged and resolved.
#[derive(Clone, Copy, Debug)]
struct Milestones {
    new_at: i64,
    acknowledged_at: i64,
    resolved_at: i64,
}

impl Milestones {
    /// A time between acknowledgement and resolution, `from`..`to` of the way through.
    fn within(&self, rng: &mut SmallRng, from: f64, to: f64) -> i64 {
        let worked = (self.resolved_at - self.acknowledged_at) as f64;
        self.acknowledged_at + (worked * rng.random_range(from..to)) as i64
    }
}

/// The case as it is being worked: who has it, at which tier and severity, and its changes
/// so far.
#[derive(Debug)]
struct Casework {
    severity: Severity,
    assignee: &'static str,
    tier: u8,
    changes: Vec<Change>,
}

impl Casework {
    /// A change by the case's analyst, at their tier.
    fn at_tier(&self, at: i64, status: Status) -> Change {
        Change {
            assignee: Some(self.assignee),
            tier: Some(self.tier),
            ..Change::new(at, status, self.severity)
        }
    }

    /// A change by the case's analyst, the tier left as it was.
    fn by_assignee(&self, at: i64, status: Status) -> Change {
        Change {
            assignee: Some(self.assignee),
            ..Change::new(at, status, self.severity)
        }
    }
}

impl Simulator {
    /// The case events of one incident, in time order.
    pub(super) fn lifecycle(&mut self, opening: &Opening) -> Vec<Change> {
        let verdicts = if opening.detection == Detection::Alert {
            &VERDICTS_OF_ALERTS
        } else {
            &VERDICTS_OF_HUNTS
        };
        let disposition = pick(&mut self.rng, Disposition::ALL, verdicts);
        let true_positive = disposition == Disposition::TruePositive;
        let times = self.milestones(opening, true_positive);

        let assignee = ANALYSTS[self.rng.random_range(0..ANALYSTS.len())];
        let threat_intel = self.rng.random_bool(0.08).then_some(true);
        let mut case = Casework {
            severity: opening.severity,
            assignee,
            tier: 1,
            changes: Vec::with_capacity(8),
        };
        let mut new = Change::new(times.new_at, Status::New, case.severity);
        new.detection = Some(opening.detection);
        new.occurred_at = Some(opening.occurred_at);
        case.changes.push(new);
        let mut acknowledged = case.at_tier(times.acknowledged_at, Status::Acknowledged);
        acknowledged.threat_intel = threat_intel;
        case.changes.push(acknowledged);

        self.investigate(&mut case, &times, opening.severity.index(), true_positive);
        let mut resolved = self.resolution(times.resolved_at, case.severity, disposition, opening);
        resolved.assignee = Some(case.assignee);
        resolved.tier = Some(case.tier);
        case.changes.push(resolved);
        self.close(&mut case, times.resolved_at, disposition, opening);
        case.changes
    }

    /// The new, acknowledged and resolved times, around the opening severity's targets.
    fn milestones(&mut self, opening: &Opening, true_positive: bool) -> Milestones {
        let detected = opening.detected_at;
        let level = opening.severity.index();
        let targets = self.sla_targets;
        // The case tool records an alert's incident a few seconds after the alert.
        let new_at = match opening.detection {
            Detection::Alert => detected + self.rng.random_range(2_000..30_000),
            _ => detected,
        };
        let acknowledge = targets[Stage::Acknowledge.index()][level];
        let acknowledged_at = (detected + self.stage_delay(acknowledge, 1.5, 1.0))
            .max(new_at + self.rng.random_range(5_000..60_000));
        // Noise is closed faster than real incidents.
        let quick = if true_positive { 1.0 } else { 0.6 };
        let resolve = targets[Stage::Resolve.index()][level];
        let resolved_at = (detected + self.stage_delay(resolve, 2.0, quick))
            .max(acknowledged_at + self.rng.random_range(5 * MINUTE..30 * MINUTE));
        Milestones {
            new_at,
            acknowledged_at,
            resolved_at,
        }
    }

    /// A stage's delay after detection: mostly within `target` (skewed early by `skew`), one
    /// in ten past it.
    fn stage_delay(&mut self, target: i64, skew: f64, quick: f64) -> i64 {
        let share = if self.rng.random_bool(BREACH_SHARE) {
            self.rng.random_range(1.05..3.0)
        } else {
            (0.02 + 0.93 * self.rng.random::<f64>().powf(skew)) * quick
        };
        (target as f64 * share) as i64
    }

    /// The work between acknowledgement and resolution: usually `in_progress`, sometimes an
    /// escalation (by the opening severity's `level`) and, for a true positive, `contained`.
    fn investigate(
        &mut self,
        case: &mut Casework,
        times: &Milestones,
        level: usize,
        true_positive: bool,
    ) {
        if self.rng.random_bool(0.85) {
            let at = times.within(&mut self.rng, 0.02, 0.15);
            // Now and then the investigation shows it is worse than it looked.
            if self.rng.random_bool(0.03) {
                case.severity = raise(case.severity);
            }
            case.changes.push(case.at_tier(at, Status::InProgress));
        }
        if self.rng.random_bool(ESCALATES[level]) {
            let at = times.within(&mut self.rng, 0.15, 0.35);
            case.tier = if self.rng.random_bool(0.3) { 3 } else { 2 };
            let senior = self.rng.random_range(0..SENIOR_ANALYSTS);
            case.assignee = ANALYSTS[ANALYSTS.len() - 1 - senior];
            if self.rng.random_bool(0.25) {
                case.severity = raise(case.severity);
            }
            case.changes.push(case.at_tier(at, Status::Escalated));
        }
        if true_positive && self.rng.random_bool(CONTAINED_EVENT) {
            let at = times.within(&mut self.rng, 0.35, 0.8);
            case.changes.push(case.at_tier(at, Status::Contained));
        }
    }

    /// After resolution: usually `closed`, and of those a few reopened.
    fn close(
        &mut self,
        case: &mut Casework,
        resolved_at: i64,
        disposition: Disposition,
        opening: &Opening,
    ) {
        if !self.rng.random_bool(0.95) {
            return;
        }
        let closed_at = resolved_at + self.rng.random_range(10 * MINUTE..DAY);
        case.changes
            .push(case.by_assignee(closed_at, Status::Closed));
        if self.rng.random_bool(REOPENS) {
            self.reopen(case, closed_at, disposition, opening);
        }
    }

    /// Reopened: a second look, sometimes a different verdict, resolved and closed again.
    fn reopen(
        &mut self,
        case: &mut Casework,
        closed_at: i64,
        disposition: Disposition,
        opening: &Opening,
    ) {
        let reopened_at = closed_at + self.rng.random_range(10 * MINUTE..12 * HOUR);
        case.changes
            .push(case.by_assignee(reopened_at, Status::Reopened));
        let working_at = reopened_at + self.rng.random_range(5 * MINUTE..2 * HOUR);
        case.changes
            .push(case.by_assignee(working_at, Status::InProgress));
        // A second look finds some of the noise was real after all.
        let verdict = if disposition != Disposition::TruePositive && self.rng.random_bool(0.4) {
            Disposition::TruePositive
        } else {
            disposition
        };
        let again_at = working_at + self.rng.random_range(30 * MINUTE..DAY);
        let mut resolved_again = self.resolution(again_at, case.severity, verdict, opening);
        resolved_again.assignee = Some(case.assignee);
        case.changes.push(resolved_again);
        let closed_again = again_at + self.rng.random_range(10 * MINUTE..12 * HOUR);
        case.changes
            .push(case.by_assignee(closed_again, Status::Closed));
    }

    /// A `resolved` event with its verdict, and what the investigation found.
    fn resolution(
        &mut self,
        at: i64,
        severity: Severity,
        disposition: Disposition,
        opening: &Opening,
    ) -> Change {
        let mut resolved = Change::new(at, Status::Resolved, severity);
        resolved.disposition = Some(disposition);
        resolved.detection = Some(opening.detection);
        let true_positive = disposition == Disposition::TruePositive;
        if true_positive
            || (disposition == Disposition::BenignPositive && self.rng.random_bool(0.5))
        {
            resolved.root_cause = Some(ROOT_CAUSES[self.rng.random_range(0..ROOT_CAUSES.len())]);
        }
        // The investigation often dates the first malicious activity earlier than the alert.
        if true_positive && self.rng.random_bool(0.4) {
            resolved.occurred_at = Some(opening.occurred_at - self.rng.random_range(HOUR..3 * DAY));
        }
        let cost = if true_positive && self.rng.random_bool(0.7) {
            Some(TRUE_POSITIVE_COST[severity.index()] * self.rng.random_range(0.5..3.0))
        } else if !true_positive && self.rng.random_bool(0.1) {
            // Analyst time on noise.
            Some(self.rng.random_range(25.0..150.0))
        } else {
            None
        };
        // Costs are reported to the cent.
        resolved.cost = cost.map(|amount| (amount * 100.0).round() / 100.0);
        resolved
    }
}

/// One level more severe, critical staying critical.
fn raise(severity: Severity) -> Severity {
    Severity::ALL[(severity.index() + 1).min(Severity::ALL.len() - 1)]
}
