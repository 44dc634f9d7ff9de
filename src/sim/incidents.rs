//! Incidents: what opens one (an alert, a threat hunt, a user's report, an outside party's
//! notice), which open incidents later alerts may join, and the case records an incident's
//! lifecycle becomes.
//!
//! An incident's whole lifecycle is drawn when it opens (see [`super::lifecycle`]) and its
//! case events are scheduled at once, each for its own time; a few are redelivered later
//! and a few come with a malformed sibling, as a misconfigured SOAR webhook would send.
//!
//! Invariants: incident numbers count up from 1 (`INC-1`, `INC-2`, …) in the order incidents
//! open; a case record's `event_id` is `INC-n/k` for the k-th change, so a redelivery is
//! the same record byte for byte.

use rand::Rng;
use serde_json::{Map, Value};

use super::estate::HOSTS;
use super::lifecycle::Change;
use super::{DAY, HOUR, MINUTE, Simulator, pick};
use crate::event::{Detection, EventTime, Severity};
use crate::source::TopicRole;

/// Chance that an alert which opens nothing joins an incident still being worked.
const JOINS_INCIDENT: f64 = 0.002;
/// Incidents under investigation that later alerts may join.
const MAX_JOINABLE: usize = 256;
/// Incidents a second opened by threat hunts, user reports and external parties (~220 a day).
pub(super) const WITHOUT_ALERT_RATE: f64 = 0.0025;
/// Share of case events followed by a malformed case record, and delivered twice.
const MALFORMED_CASE_SHARE: f64 = 0.002;
const DUPLICATE_CASE_SHARE: f64 = 0.01;

/// An incident later alerts may join: detected, not yet resolved.
#[derive(Clone, Copy, Debug)]
pub(super) struct Joinable {
    pub(super) number: u64,
    /// The host its alerts name; a joining alert names it too.
    pub(super) asset: u32,
    resolved_at: i64,
}

/// What opened an incident.
#[derive(Clone, Copy, Debug)]
pub(super) struct Opening {
    pub(super) detected_at: i64,
    pub(super) occurred_at: i64,
    pub(super) severity: Severity,
    pub(super) detection: Detection,
    /// The host involved, `1..=HOSTS` (`host-NNN`).
    pub(super) asset: u32,
}

impl Simulator {
    /// An incident still being worked at `at`, for an alert to join.
    pub(super) fn join(&mut self, at: i64) -> Option<Joinable> {
        if !self.rng.random_bool(JOINS_INCIDENT) {
            return None;
        }
        self.joinable.retain(|incident| incident.resolved_at > at);
        if self.joinable.is_empty() {
            return None;
        }
        Some(self.joinable[self.rng.random_range(0..self.joinable.len())])
    }

    /// A threat hunt, a user's report or an outside party's notice: an incident no alert names.
    pub(super) fn incident_without_alert(&mut self, detected_at: i64) {
        let detection = pick(
            &mut self.rng,
            &[Detection::Hunt, Detection::UserReport, Detection::External],
            &[50, 35, 15],
        );
        // Hunts and outside parties find activity that has gone on for a while.
        let lead = match detection {
            Detection::UserReport => self.rng.random_range(10 * MINUTE..3 * DAY),
            _ => self.rng.random_range(6 * HOUR..14 * DAY),
        };
        let severity = pick(&mut self.rng, &Severity::ALL, &[2, 10, 40, 35, 13]);
        let asset = self.rng.random_range(1..HOSTS + 1);
        self.open_incident(Opening {
            detected_at,
            occurred_at: detected_at - lead,
            severity,
            detection,
            asset,
        });
    }

    /// Opens an incident and schedules its whole case lifecycle; returns its number.
    pub(super) fn open_incident(&mut self, opening: Opening) -> u64 {
        self.next_incident += 1;
        let number = self.next_incident;
        let changes = self.lifecycle(&opening);
        // Only alerts' incidents are joined: hunts and reports name no alert to follow.
        if opening.detection == Detection::Alert
            && let Some(resolved) = changes.iter().find(|c| c.status.resolves())
        {
            if self.joinable.len() >= MAX_JOINABLE {
                self.joinable.remove(0);
            }
            self.joinable.push(Joinable {
                number,
                asset: opening.asset,
                resolved_at: resolved.at,
            });
        }
        self.schedule_case_records(&incident_id(number), &changes);
        number
    }

    /// The case records of an incident's changes, each due at its change's time, with the
    /// occasional malformed sibling and redelivery.
    fn schedule_case_records(&mut self, id: &str, changes: &[Change]) {
        for (sequence, change) in changes.iter().enumerate() {
            let payload = render_change(id, sequence + 1, change);
            if self.rng.random_bool(MALFORMED_CASE_SHARE) {
                let broken = self.malformed_case(id, change.at, &payload);
                self.schedule(TopicRole::Cases, change.at, Some(id.to_owned()), broken);
            }
            if self.rng.random_bool(DUPLICATE_CASE_SHARE) {
                let again = change.at + self.rng.random_range(1_000..120_000);
                let key = Some(id.to_owned());
                self.schedule(TopicRole::Cases, again, key, payload.clone());
            }
            self.schedule(TopicRole::Cases, change.at, Some(id.to_owned()), payload);
        }
    }

    /// A broken case record next to a good one: what a misconfigured SOAR webhook sends.
    fn malformed_case(&mut self, incident_id: &str, at: i64, good: &[u8]) -> Vec<u8> {
        match self.rng.random_range(0..5) {
            0 => format!(r#"{{"at":{at},"status":"new"}}"#).into_bytes(),
            1 => format!(r#"{{"incident_id":"{incident_id}","at":{at},"status":"done"}}"#)
                .into_bytes(),
            2 => format!(
                r#"{{"incident_id":"{incident_id}","at":{at},"status":"escalated","tier":4}}"#
            )
            .into_bytes(),
            3 => format!(
                r#"{{"incident_id":"{incident_id}","at":{at},"status":"resolved","cost":-120}}"#
            )
            .into_bytes(),
            _ => good[..good.len() / 2].to_vec(),
        }
    }
}

/// The case tool's id of incident `number`.
pub(super) fn incident_id(number: u64) -> String {
    format!("INC-{number}")
}

/// The native case record of one change; `sequence` numbers the incident's events.
fn render_change(incident_id: &str, sequence: usize, change: &Change) -> Vec<u8> {
    let mut fields = Map::new();
    fields.insert("incident_id".into(), incident_id.into());
    fields.insert(
        "event_id".into(),
        format!("{incident_id}/{sequence}").into(),
    );
    fields.insert("at".into(), EventTime(change.at).to_string().into());
    fields.insert("status".into(), change.status.as_str().into());
    fields.insert("severity".into(), change.severity.as_str().into());
    // Only the fields the change sets: the case tool sends what changed.
    if let Some(tier) = change.tier {
        fields.insert("tier".into(), tier.into());
    }
    if let Some(assignee) = change.assignee {
        fields.insert("assignee".into(), assignee.into());
    }
    if let Some(disposition) = change.disposition {
        fields.insert("disposition".into(), disposition.as_str().into());
    }
    if let Some(detection) = change.detection {
        fields.insert("detection".into(), detection.as_str().into());
    }
    if let Some(occurred_at) = change.occurred_at {
        fields.insert("occurred_at".into(), occurred_at.into());
    }
    if let Some(root_cause) = change.root_cause {
        fields.insert("root_cause".into(), root_cause.into());
    }
    if let Some(cost) = change.cost {
        fields.insert("cost".into(), cost.into());
    }
    if let Some(threat_intel) = change.threat_intel {
        fields.insert("threat_intel".into(), threat_intel.into());
    }
    Value::Object(fields).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::engine::incident::Stage;
    use crate::event::{CaseEvent, Disposition, Status};
    use crate::formats::native::{decode_alert, decode_case};
    use crate::sim::Record;
    use crate::sim::fixtures::{START, drain, text};

    /// A run's alerts and case events, by incident, as a consumer reads them.
    #[derive(Default)]
    struct ByIncident<'a> {
        /// Decodable alert and case records.
        valid: usize,
        case_records: usize,
        duplicates: usize,
        /// The earliest alert naming each incident, and the ids of the alerts naming it.
        first_alert: HashMap<String, EventTime>,
        alerts_of: HashMap<String, HashSet<String>>,
        /// Each incident's case events, redeliveries dropped.
        cases: HashMap<String, Vec<CaseEvent<'a>>>,
    }

    fn by_incident(records: &[Record]) -> ByIncident<'_> {
        let mut seen = ByIncident::default();
        let mut by_event_id: HashMap<String, &[u8]> = HashMap::new();
        for record in records {
            match record.role {
                TopicRole::Alerts => {
                    let Ok(alert) = decode_alert(text(record)) else {
                        continue;
                    };
                    seen.valid += 1;
                    if let Some(id) = &alert.incident_id {
                        let first = seen
                            .first_alert
                            .entry(id.to_string())
                            .or_insert(alert.detected_at);
                        *first = (*first).min(alert.detected_at);
                        seen.alerts_of
                            .entry(id.to_string())
                            .or_default()
                            .insert(alert.alert_id.to_string());
                    }
                }
                TopicRole::Cases => {
                    seen.case_records += 1;
                    let Ok(case) = decode_case(text(record)) else {
                        continue;
                    };
                    seen.valid += 1;
                    // A redelivery is the same record byte for byte.
                    let event_id = case.event_id.as_deref().unwrap().to_owned();
                    if let Some(earlier) = by_event_id.insert(event_id, &record.payload) {
                        assert_eq!(earlier, &record.payload[..]);
                        seen.duplicates += 1;
                        continue;
                    }
                    seen.cases
                        .entry(case.incident_id.to_string())
                        .or_default()
                        .push(case);
                }
                TopicRole::Inventory | TopicRole::Telemetry => {}
            }
        }
        seen
    }

    /// Counts over the incidents of a run.
    #[derive(Default)]
    struct Tally {
        reopened: usize,
        contained_by_resolution: usize,
        contained_events: usize,
        escalated: usize,
        raised: usize,
        breached: [usize; 2],
        without_alerts: [usize; 4],
    }

    /// Checks one incident's case events (sorted here) against its lifecycle, and counts it.
    fn check_incident(
        id: &str,
        events: &mut [CaseEvent<'_>],
        first_alert: Option<EventTime>,
        targets: &[[i64; 5]; 2],
        tally: &mut Tally,
    ) {
        events.sort_by_key(|e| e.at);
        let new = &events[0];
        assert_eq!(new.status, Status::New, "{id}");
        let detection = new.detection.unwrap();
        match first_alert {
            Some(_) => assert_eq!(detection, Detection::Alert, "{id}"),
            None => {
                assert_ne!(detection, Detection::Alert, "{id} is named by no alert");
                tally.without_alerts[detection.index()] += 1;
            }
        }
        let detected = first_alert.map_or(new.at, |a| a.min(new.at));
        assert!(new.occurred_at.unwrap() <= detected, "{id}");
        let stage = |reached: fn(Status) -> bool| {
            events
                .iter()
                .filter(|e| reached(e.status))
                .map(|e| e.at)
                .min()
                .unwrap()
        };
        let acknowledged = stage(Status::acknowledges);
        let resolved = stage(Status::resolves);
        assert!(acknowledged > detected && resolved > acknowledged, "{id}");
        let severity = events[0].severity.unwrap();
        let latest = events.last().unwrap().severity.unwrap();
        assert!(latest >= severity, "{id}");
        tally.raised += usize::from(latest > severity);
        for (stage, at) in [
            (Stage::Acknowledge, acknowledged),
            (Stage::Resolve, resolved),
        ] {
            let took = at.millis() - detected.millis();
            tally.breached[stage.index()] +=
                usize::from(took > targets[stage.index()][latest.index()]);
        }
        let disposition = events.iter().rev().find_map(|e| e.disposition).unwrap();
        let contained = events.iter().any(|e| e.status == Status::Contained);
        tally.contained_events += usize::from(contained);
        if disposition == Disposition::TruePositive && !contained {
            tally.contained_by_resolution += 1;
        }
        assert!(!contained || disposition == Disposition::TruePositive);
        tally.reopened += usize::from(events.iter().any(|e| e.status == Status::Reopened));
        tally.escalated += usize::from(events.iter().any(|e| e.status == Status::Escalated));
        // Resolved or closed last.
        assert!(events.last().unwrap().status.resolves(), "{id}");
    }

    #[test]
    fn six_hours_of_incidents_follow_the_case_lifecycle() {
        let mut sim = Simulator::new(11);
        let end = START + 6 * HOUR;
        let mut records = sim.records_between(EventTime(START), EventTime(end));
        let live = records.len();
        records.extend(drain(&mut sim));
        assert!(records[live..].iter().all(|r| r.role == TopicRole::Cases));

        let mut seen = by_incident(&records);
        let incident_records = records
            .iter()
            .filter(|r| matches!(r.role, TopicRole::Alerts | TopicRole::Cases))
            .count();
        assert!(seen.valid as f64 > incident_records as f64 * 0.99);
        assert!(seen.valid < incident_records);
        assert!(seen.duplicates > 0 && seen.duplicates * 50 < seen.case_records);
        // ~0.036 incidents a second.
        let incidents = seen.cases.len();
        assert!((500..1_300).contains(&incidents), "{incidents}");
        assert_eq!(incidents as u64, sim.next_incident);

        let mut tally = Tally::default();
        for (id, events) in &mut seen.cases {
            let first_alert = seen.first_alert.get(id).copied();
            check_incident(id, events, first_alert, &sim.sla_targets, &mut tally);
        }
        assert!(tally.reopened > 0, "{}", tally.reopened);
        assert!(tally.contained_by_resolution > 0 && tally.contained_events > 0);
        assert!(tally.escalated > 0 && tally.raised > 0);
        assert!(tally.without_alerts[Detection::Hunt.index()] > 0);
        assert!(tally.without_alerts[Detection::UserReport.index()] > 0);
        // Alerts that joined an incident another alert had opened.
        assert!(seen.alerts_of.values().any(|ids| ids.len() > 1));
        // About one in ten per stage, a few more from raised severities.
        for count in tally.breached {
            let share = count as f64 / incidents as f64;
            assert!((0.05..0.2).contains(&share), "{share}");
        }
    }
}
