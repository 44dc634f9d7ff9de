//! Engine tests on hand-computed alert streams.

use std::borrow::Cow;

use super::*;
use crate::event::Event;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The documented defaults (`Config::default()`), the one place they are written.
fn defaults() -> EngineSettings {
    crate::config::Config::default().engine_settings()
}

fn settings() -> EngineSettings {
    EngineSettings {
        alert_windows: vec![
            Window {
                label: "5m".into(),
                millis: 5 * MINUTE,
            },
            Window {
                label: "1h".into(),
                millis: HOUR,
            },
            Window {
                label: "24h".into(),
                millis: DAY,
            },
        ],
        retention_millis: 120 * DAY,
        max_label_values: 1000,
        max_label_length: 64,
        kpi_windows: vec![Window {
            label: "24h".into(),
            millis: DAY,
        }],
        sla: defaults().sla,
        max_incidents: 1000,
        scorecard: defaults().scorecard,
        max_silence_millis: DAY,
        posture_weights: [1.0; 5],
    }
}

fn alert<'a>(id: &'a str, source: &'a str, severity: Severity, detected_at: i64) -> Alert<'a> {
    Alert {
        alert_id: Cow::Borrowed(id),
        detected_at: EventTime(detected_at),
        occurred_at: None,
        source: Cow::Borrowed(source),
        rule: None,
        severity,
        incident_id: None,
        asset: None,
        tenant: None,
        threat_intel: false,
    }
}

/// Applies an alert of partition 0: what it came to.
fn apply_alert(engine: &mut Engine, alert: &Alert<'_>, now: EventTime) -> Effect {
    apply_alert_in(engine, 0, alert, now).effect
}

fn apply_alert_in(
    engine: &mut Engine,
    partition: i32,
    alert: &Alert<'_>,
    now: EventTime,
) -> Applied {
    engine.apply(partition, &Event::Alert(alert.clone()), now)
}

fn counts<'a>(card: &'a Scorecard, source: &str, severity: Severity) -> &'a AlertCounts {
    card.alerts
        .iter()
        .find(|c| &*c.source == source && c.severity == severity)
        .expect("series exported")
}

#[test]
fn volume_counts_each_alert_in_every_window_that_holds_its_detection() {
    let now = 1_000 * DAY;
    let mut engine = Engine::new(settings());
    let stream = [
        ("a1", now),                  // in 5m, 1h, 24h
        ("a2", now - 5 * MINUTE + 1), // in 5m (just inside), 1h, 24h
        ("a3", now - 5 * MINUTE),     // on the 5m edge: out of 5m, in 1h, 24h
        ("a4", now - 59 * MINUTE),    // 1h, 24h
        ("a5", now - 23 * HOUR),      // 24h
        ("a6", now - DAY),            // on the 24h edge: total only
        ("a7", now - 30 * DAY),       // total only
    ];
    for (id, t) in stream {
        assert_eq!(
            apply_alert(
                &mut engine,
                &alert(id, "splunk", Severity::High, t),
                EventTime(now)
            ),
            Effect::Counted
        );
    }
    let card = engine.scorecard(EventTime(now), Default::default());
    let high = counts(&card, "splunk", Severity::High);
    assert_eq!(high.total, 7);
    assert_eq!(high.volume, vec![2, 4, 5]);
}

#[test]
fn duplicates_count_once_and_late_records_are_dropped() {
    let now = 1_000 * DAY;
    let mut engine = Engine::new(settings());
    assert_eq!(
        apply_alert(
            &mut engine,
            &alert("a", "edr", Severity::Low, now - MINUTE),
            EventTime(now)
        ),
        Effect::Counted
    );
    assert_eq!(
        apply_alert(
            &mut engine,
            &alert("a", "edr", Severity::Low, now - MINUTE),
            EventTime(now)
        ),
        Effect::Duplicate
    );
    // Same id with other contents is still the same alert: the first arrival wins.
    assert_eq!(
        apply_alert(
            &mut engine,
            &alert("a", "ndr", Severity::High, now),
            EventTime(now)
        ),
        Effect::Duplicate
    );
    assert_eq!(
        apply_alert(
            &mut engine,
            &alert("old", "edr", Severity::Low, now - 121 * DAY),
            EventTime(now)
        ),
        Effect::Late
    );
    let card = engine.scorecard(EventTime(now), Default::default());
    assert_eq!(card.alerts.len(), 1);
    assert_eq!(counts(&card, "edr", Severity::Low).total, 1);
}

#[test]
fn windows_slide_with_the_clock() {
    let start = 1_000 * DAY;
    let mut engine = Engine::new(settings());
    apply_alert(
        &mut engine,
        &alert("a", "edr", Severity::Critical, start),
        EventTime(start),
    );
    let later = start + 10 * MINUTE;
    engine.expire(EventTime(later));
    assert_eq!(
        counts(
            &engine.scorecard(EventTime(later), Default::default()),
            "edr",
            Severity::Critical
        )
        .volume,
        vec![0, 1, 1]
    );
    let next_day = start + DAY + 1;
    engine.expire(EventTime(next_day));
    let card = engine.scorecard(EventTime(next_day), Default::default());
    // The series stays exported (at 0) so a source going quiet is visible.
    assert_eq!(
        counts(&card, "edr", Severity::Critical).volume,
        vec![0, 0, 0]
    );
    assert_eq!(counts(&card, "edr", Severity::Critical).total, 1);
}

#[test]
fn arrival_order_does_not_change_the_scorecard() {
    let now = 1_000 * DAY;
    let stream: Vec<_> = (0..40)
        .map(|i| {
            (
                format!("id-{}", i % 30),
                ["a", "b"][i % 2],
                Severity::ALL[i % 5],
                now - (i as i64) * 7 * MINUTE,
            )
        })
        .collect();
    let run = |order: Vec<usize>| {
        let mut engine = Engine::new(settings());
        for i in order {
            let (id, source, severity, t) = &stream[i];
            apply_alert(
                &mut engine,
                &alert(id, source, *severity, *t),
                EventTime(now),
            );
        }
        let mut card = engine.scorecard(EventTime(now), Default::default()).alerts;
        card.sort_by(|x, y| (&x.source, x.severity).cmp(&(&y.source, y.severity)));
        card
    };
    let forward = run((0..stream.len()).collect());
    let backward = run((0..stream.len()).rev().collect());
    // Ids repeat from 30 on with other contents: which copy counts depends on arrival, so
    // compare only the distinct prefix's totals across orders.
    let total = |card: &[AlertCounts]| card.iter().map(|c| c.total).sum::<u64>();
    assert_eq!(total(&forward), 30);
    assert_eq!(total(&backward), 30);
    let distinct = run((0..30).rev().collect());
    assert_eq!(run((0..30).collect()), distinct);
}

#[test]
fn sources_past_the_cap_are_other() {
    let now = 1_000 * DAY;
    let mut engine = Engine::new(EngineSettings {
        max_label_values: 2,
        ..settings()
    });
    for (i, source) in ["a", "b", "c", "d", "a"].into_iter().enumerate() {
        apply_alert(
            &mut engine,
            &alert(&format!("{i}"), source, Severity::Low, now),
            EventTime(now),
        );
    }
    let card = engine.scorecard(EventTime(now), Default::default());
    assert_eq!(counts(&card, "a", Severity::Low).total, 2);
    assert_eq!(counts(&card, "other", Severity::Low).total, 2);
    assert_eq!(card.label_overflow, vec![("source", 2), ("analyst", 0)]);
}

/// Applies a mixed stream to a durable engine and returns it with the changelog it wrote.
fn durable_run(now: i64) -> (Engine, Vec<state::StateRecord>) {
    let mut engine = Engine::new(settings());
    engine.record_changes();
    let mut changelog = Vec::new();
    let mut pending = Vec::new();
    for i in 0..40i64 {
        // Records are keyed by incident: an incident's events share a partition.
        let partition = if i % 4 == 0 {
            (i % 3) as i32
        } else {
            (i % 7 % 3) as i32
        };
        let id = format!("a{i}");
        let incident = format!("INC-{}", i % 7);
        let mut a = alert(
            &id,
            ["edr", "ndr"][(i % 2) as usize],
            Severity::ALL[(i % 5) as usize],
            now - i * 13 * MINUTE,
        );
        a.incident_id = (i % 4 != 0).then(|| std::borrow::Cow::Owned(incident.clone()));
        pending.extend(apply_alert_in(&mut engine, partition, &a, EventTime(now)).changes);
        if i % 5 == 0 {
            let text = format!(
                r#"{{"incident_id":"{incident}","at":{},"status":"acknowledged","assignee":"ana","severity":"high"}}"#,
                now - i * MINUTE
            );
            let case = crate::formats::native::decode_case(&text).unwrap();
            let applied = engine.apply((i % 7 % 3) as i32, &Event::Case(case), EventTime(now));
            pending.extend(applied.changes);
        }
        if i % 10 == 9 {
            changelog.extend(engine.state_records(&pending));
            pending.clear();
        }
    }
    pending.extend(engine.expire(EventTime(now + 20 * HOUR)).changes);
    changelog.extend(engine.state_records(&pending));
    (engine, changelog)
}

fn restored(changelog: &[state::StateRecord], partitions: &[i32], now: i64) -> Engine {
    let mut engine = Engine::new(settings());
    for &partition in partitions {
        let records = changelog
            .iter()
            .filter(|r| r.partition == partition)
            .map(|r| (r.key.as_str(), r.value.as_deref()));
        // The wall clock of these restores plus max_clock_ahead: after every event of the run.
        let not_after = EventTime(1_002 * DAY);
        let (_, errors) = engine.restore(partition, records, EventTime(now), not_after);
        assert!(errors.is_empty(), "{errors:?}");
    }
    engine
}

/// The gauges of a scorecard (not the counters, which restart with the process).
fn gauges(engine: &mut Engine, now: i64) -> String {
    let card = engine.incident_card(EventTime(now));
    let volume: Vec<_> = engine
        .scorecard(EventTime(now), Default::default())
        .alerts
        .into_iter()
        .map(|a| (a.source, a.severity, a.volume))
        .collect();
    format!(
        "{:?}\n{:?}\n{:?}\n{}\n{volume:?}",
        card.per_window, card.open, card.breached_open, card.in_memory
    )
}

#[test]
fn a_restore_from_the_changelog_gives_back_every_gauge() {
    let now = 1_000 * DAY;
    let later = now + 20 * HOUR;
    let (mut original, changelog) = durable_run(now);
    let mut copy = restored(&changelog, &[0, 1, 2], later);
    assert_eq!(gauges(&mut copy, later), gauges(&mut original, later));
    assert!(
        changelog.iter().any(|r| r.value.is_none()),
        "alerts leaving the 24h window are tombstoned"
    );
    // A redelivered alert after the restore is still a duplicate (INC-1 lives in partition 1).
    let mut again = alert("a1", "ndr", Severity::Low, now - 13 * MINUTE);
    again.incident_id = Some(std::borrow::Cow::Borrowed("INC-1"));
    assert_eq!(
        apply_alert_in(&mut copy, 1, &again, EventTime(later)).effect,
        Effect::Duplicate
    );
}

#[test]
fn dropping_a_partition_leaves_exactly_the_others() {
    let now = 1_000 * DAY;
    let later = now + 20 * HOUR;
    let (mut original, changelog) = durable_run(now);
    original.drop_partition(1);
    let mut others = restored(&changelog, &[0, 2], later);
    assert_eq!(gauges(&mut original, later), gauges(&mut others, later));
    assert!(
        original
            .lifecycle()
            .incidents()
            .all(|(_, i)| i.partition != 1)
    );
}

#[test]
fn a_restore_into_a_fresh_event_clock_still_dedupes() {
    let now = 1_000 * DAY;
    let (_, changelog) = durable_run(now);
    // A fresh process in event-clock mode: its own clock is still at the epoch.
    let mut copy = restored(&changelog, &[0, 1, 2], 0);
    // Alert a4 names no incident (every fourth does not): redelivered, it is a duplicate.
    let again = alert("a4", "edr", Severity::ALL[4], now - 4 * 13 * MINUTE);
    assert_eq!(
        apply_alert_in(&mut copy, 1, &again, EventTime(now)).effect,
        Effect::Duplicate
    );
}
