//! Inputs not keyed by incident: their events are forwarded, keyed by incident, and applied
//! when they come back; the KPIs are those of the same events on the native keyed topics.

use super::*;
use crate::config::{ClockMode, InputConfig};
use crate::export::metrics::render;
use crate::formats::Format;
use crate::source::TopicRole;

const WALL: EventTime = EventTime(1_796_157_252_561);

fn config(inputs: Vec<InputConfig>) -> Config {
    let mut config = Config::default();
    config.clock.mode = ClockMode::Event;
    config.inputs = inputs;
    config
}

const ALERT: &str = r#"{"alert_id":"a1","detected_at":"2026-10-01T10:00:00Z","source":"edr","severity":"high","incident_id":"INC-7"}"#;
const LONE: &str =
    r#"{"alert_id":"a2","detected_at":"2026-10-01T10:05:00Z","source":"edr","severity":"low"}"#;
const NEW: &str =
    r#"{"incident_id":"INC-7","at":"2026-10-01T10:01:00Z","status":"new","severity":"high"}"#;
const DONE: &str = r#"{"incident_id":"INC-7","at":"2026-10-01T12:00:00Z","status":"resolved","disposition":"true_positive"}"#;

/// The KPI families of `/metrics`: everything but the per-topic pipeline health.
fn kpis(pipeline: &mut Pipeline) -> Vec<String> {
    render(&pipeline.fresh_snapshot(WALL), None, &[])
        .lines()
        .filter(|l| !l.contains("soc_events_") && !l.contains("soc_last_event_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_unkeyed_input_forwards_each_event_keyed_by_its_incident() {
    let mut p = Pipeline::new(&config(vec![InputConfig {
        topic: "mixed".into(),
        format: Format::Native,
        keyed_by_incident: false,
    }]));
    let slot = p.inputs().slot("mixed").unwrap();
    assert_eq!(slot, 4);
    let records: Vec<Record<'_>> = [ALERT, LONE, NEW, "{", DONE]
        .iter()
        .enumerate()
        .map(|(n, text)| Record::of_input("mixed", slot, n as i64, Some(text.as_bytes())))
        .collect();
    let batch = p.apply_batch(&records, WALL);
    assert_eq!(
        batch
            .outcomes
            .iter()
            .filter(|o| **o == Outcome::Forwarded)
            .count(),
        4
    );
    assert!(
        matches!(&batch.outcomes[3], Outcome::Rejected(r) if r.reason == RejectReason::InvalidJson)
    );
    let keys: Vec<&str> = batch.forwards.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["INC-7", "a2", "INC-7", "INC-7"]);
    assert_eq!(
        batch.forwards[2].payload,
        r#"{"at":"2026-10-01T10:01:00.000Z","incident_id":"INC-7","severity":"high","status":"new"}"#
    );
    assert_eq!(batch.offsets, vec![("mixed".to_owned(), 0, 4)]);
    // Nothing reached the state yet: no incident, no alert counted.
    let health = &p.fresh_snapshot(WALL).topics[usize::from(slot)];
    assert_eq!(
        (
            health.consumed,
            health.rejected[RejectReason::InvalidJson.index()]
        ),
        (5, 1)
    );
    assert!(p.fresh_snapshot(WALL).scorecard.alerts.is_empty());
}

#[test]
fn forwarded_events_give_the_kpis_of_the_native_keyed_topics() {
    let mut native = Pipeline::new(&config(Vec::new()));
    let alerts =
        [ALERT, LONE].map(|t| Record::new("soc.alerts", TopicRole::Alerts, 0, Some(t.as_bytes())));
    let cases =
        [NEW, DONE].map(|t| Record::new("soc.cases", TopicRole::Cases, 0, Some(t.as_bytes())));
    let _ = native.apply_batch(&alerts, WALL);
    let _ = native.apply_batch(&cases, WALL);

    let mut forwarded = Pipeline::new(&config(vec![InputConfig {
        topic: "mixed".into(),
        format: Format::Native,
        keyed_by_incident: false,
    }]));
    let slot = forwarded.inputs().slot("mixed").unwrap();
    // In the native run's order (the opened counter takes the severity first seen), with a
    // repeat.
    let records: Vec<Record<'_>> = [ALERT, LONE, NEW, DONE, NEW]
        .iter()
        .map(|text| Record::of_input("mixed", slot, 0, Some(text.as_bytes())))
        .collect();
    let batch = forwarded.apply_local(&records, WALL);
    assert!(batch.forwards.is_empty());
    let expected = kpis(&mut native);
    assert!(
        expected
            .iter()
            .any(|l| l.starts_with("soc_incidents_resolved_total")),
        "{expected:?}"
    );
    let actual = kpis(&mut forwarded);
    let differing: Vec<_> = actual.iter().filter(|l| !expected.contains(l)).collect();
    assert!(differing.is_empty(), "{differing:?}");
    assert_eq!(actual.len(), expected.len());
    // The repartition topic's health counts the events that came back, the repeat among them.
    let snapshot = forwarded.fresh_snapshot(WALL);
    let back = &snapshot.topics[usize::from(forwarded.inputs().repartition().unwrap())];
    assert_eq!(
        (back.topic.as_str(), back.consumed, back.duplicate),
        ("socmetrics.repartition", 5, 1)
    );
}
