use super::*;
use crate::config::ClockMode;
use crate::source::TopicRole;

const HOUR: i64 = 3_600_000;
/// The wall clock of these tests: 2026-12-01T20:34:12.561Z, the moment finding 2's
/// record (in microseconds) meant. Event-clock tests read it only for the clock bound.
const WALL: EventTime = EventTime(1_796_157_252_561);

fn pipeline(mode: ClockMode) -> Pipeline {
    let mut config = Config::default();
    config.clock.mode = mode;
    Pipeline::new(&config)
}

/// Record `offset` of `role`'s topic.
fn record(role: TopicRole, offset: i64, payload: Option<&[u8]>) -> Record<'_> {
    Record::new("topic", role, offset, payload)
}

fn step(p: &mut Pipeline, role: TopicRole, payload: Option<&[u8]>, wall: EventTime) -> Outcome {
    p.step(&record(role, 0, payload), wall)
}

fn alert(id: &str, at: i64) -> Vec<u8> {
    format!(r#"{{"alert_id":"{id}","detected_at":{at},"source":"edr","severity":"high"}}"#)
        .into_bytes()
}

#[test]
fn event_clock_is_the_latest_event_time_seen() {
    let mut p = pipeline(ClockMode::Event);
    let wall = EventTime(5_000_000_000_000);
    step(
        &mut p,
        TopicRole::Alerts,
        Some(&alert("a", 1_000_000)),
        wall,
    );
    step(&mut p, TopicRole::Alerts, Some(&alert("b", 400_000)), wall);
    let snapshot = p.fresh_snapshot(wall);
    assert_eq!(snapshot.scorecard.now, EventTime(1_000_000));
    // Both inside 24h of the latest event, only "a" inside 5m.
    assert_eq!(snapshot.scorecard.alerts[0].volume, vec![1, 2, 2]);
    assert_eq!(snapshot.topics[0].last_event, Some(EventTime(1_000_000)));
}

#[test]
fn case_records_reach_the_incidents_and_move_the_event_clock() {
    let mut p = pipeline(ClockMode::Event);
    let wall = WALL;
    let case = |at: i64, status: &str| {
        format!(r#"{{"incident_id":"I","at":{at},"status":"{status}","severity":"high"}}"#)
            .into_bytes()
    };
    step(&mut p, TopicRole::Cases, Some(&case(1_000, "new")), wall);
    step(
        &mut p,
        TopicRole::Cases,
        Some(&case(61_000, "acknowledged")),
        wall,
    );
    assert_eq!(
        step(
            &mut p,
            TopicRole::Cases,
            Some(&case(61_000, "acknowledged")),
            wall
        ),
        Outcome::Applied(Effect::Duplicate)
    );
    let snapshot = p.fresh_snapshot(wall);
    assert_eq!(snapshot.scorecard.now, EventTime(61_000));
    let card = &snapshot.scorecard.incidents;
    assert_eq!(card.in_memory, 1);
    let high = crate::event::Severity::High.index();
    assert_eq!(
        card.open[high][crate::event::Status::Acknowledged.index()],
        1
    );
    let tta = card.per_window[0].spans[crate::engine::incident::Span::Acknowledge.index()][high];
    assert_eq!((tta.count, tta.sum_millis), (1, 60_000));
    assert_eq!(snapshot.topics[TopicRole::Cases.index()].duplicate, 1);
}

#[test]
fn inventory_tombstones_and_telemetry_move_coverage() {
    let mut p = pipeline(ClockMode::Event);
    let wall = WALL;
    for asset in ["a", "b", "c"] {
        let payload = format!(r#"{{"asset_id":"{asset}"}}"#).into_bytes();
        let keyed =
            record(TopicRole::Inventory, 0, Some(&payload)).with_key(Some(asset.as_bytes()));
        p.step(&keyed, wall);
    }
    let tombstone = record(TopicRole::Inventory, 3, None).with_key(Some(b"c"));
    p.step(&tombstone, wall);
    let outcome = p.step(&record(TopicRole::Inventory, 4, None), wall);
    assert!(matches!(outcome, Outcome::Rejected(r) if r.reason == RejectReason::MissingField));
    let beat = br#"{"asset_id":"a","at":90000000}"#;
    step(&mut p, TopicRole::Telemetry, Some(beat), wall);
    let coverage = p.fresh_snapshot(wall).scorecard.coverage;
    assert_eq!((coverage.inventory, coverage.monitored), (2, 1));
    assert_eq!(
        p.fresh_snapshot(wall).scorecard.now,
        EventTime(90_000_000),
        "telemetry moves the event clock"
    );
}

#[test]
fn a_record_stamped_past_the_clock_bound_is_rejected_and_moves_no_clock() {
    let mut p = pipeline(ClockMode::Event);
    let early = WALL.millis() - 10 * 60_000;
    let alerts = TopicRole::Alerts;
    assert_eq!(
        step(&mut p, alerts, Some(&alert("a", early)), WALL),
        Outcome::Applied(Effect::Counted)
    );
    // Finding 2: an epoch in microseconds, read as milliseconds the year 58887.
    let poison =
        br#"{"alert_id":"poison","detected_at":1796157252561000,"source":"x","severity":"high"}"#;
    let Outcome::Rejected(rejection) = step(&mut p, alerts, Some(poison), WALL) else {
        panic!("a record 56,000 years ahead is rejected");
    };
    assert_eq!(rejection.reason, RejectReason::ClockAhead);
    assert_eq!(rejection.reason.as_str(), "clock_ahead");
    // The clock stayed put: a later record is counted, not late.
    let later = WALL.millis() - 5 * 60_000;
    assert_eq!(
        step(&mut p, alerts, Some(&alert("b", later)), WALL),
        Outcome::Applied(Effect::Counted)
    );
    let snapshot = p.fresh_snapshot(WALL);
    assert_eq!(snapshot.scorecard.now, EventTime(later));
    // "a" is 5 minutes before now, on the 5m window's edge: out of it, in 1h and 24h.
    assert_eq!(snapshot.scorecard.alerts[0].total, 2);
    assert_eq!(snapshot.scorecard.alerts[0].volume, vec![1, 2, 2]);
    let health = &snapshot.topics[alerts.index()];
    assert_eq!(health.last_event, Some(EventTime(later)));
    assert_eq!(health.rejected[RejectReason::ClockAhead.index()], 1);
    assert_eq!(health.rejected.iter().sum::<u64>(), 1);
    assert_eq!((health.consumed, health.late), (3, 0));
}

#[test]
fn the_wall_clock_bounds_event_times_in_wall_mode_too() {
    let mut p = pipeline(ClockMode::Wall);
    let alerts = TopicRole::Alerts;
    for far in [r#""9999-12-31T23:59:59Z""#, "9223372036854775807"] {
        let text =
            format!(r#"{{"alert_id":"far","detected_at":{far},"source":"x","severity":"high"}}"#);
        let outcome = step(&mut p, alerts, Some(text.as_bytes()), WALL);
        assert!(
            matches!(&outcome, Outcome::Rejected(r) if r.reason == RejectReason::ClockAhead),
            "{far}: {outcome:?}"
        );
    }
    // Within max_clock_ahead (1h) a producer's clock may run ahead of ours.
    let ahead = alert("drift", WALL.millis() + HOUR);
    assert_eq!(
        step(&mut p, alerts, Some(&ahead), WALL),
        Outcome::Applied(Effect::Counted)
    );
    let snapshot = p.fresh_snapshot(WALL);
    assert_eq!(snapshot.scorecard.now, WALL);
    assert_eq!(snapshot.scorecard.alerts.len(), 1);
    assert_eq!(snapshot.scorecard.alerts[0].total, 1);
    let health = &snapshot.topics[alerts.index()];
    assert_eq!(health.rejected[RejectReason::ClockAhead.index()], 2);
    assert_eq!(health.consumed, 3);
}

#[test]
fn a_stored_event_clock_past_the_bound_is_ignored_on_restore() {
    let clock = |at: i64| at.to_be_bytes().to_vec();
    let (good, poisoned) = (clock(WALL.millis() - HOUR), clock(1_796_157_252_561_000));
    // The clock's history: the last value in bounds is kept, the poisoned one ignored.
    let mut p = pipeline(ClockMode::Event);
    let history = [("c", Some(&good[..])), ("c", Some(&poisoned[..]))];
    assert_eq!(p.restore(0, history, WALL), 1);
    assert_eq!(
        p.fresh_snapshot(WALL).scorecard.now,
        EventTime(WALL.millis() - HOUR)
    );
    let two_days_ago = alert("old", WALL.millis() - 48 * HOUR);
    assert_eq!(
        step(&mut p, TopicRole::Alerts, Some(&two_days_ago), WALL),
        Outcome::Applied(Effect::Counted),
        "not late: the restored clock is not in the year 58887"
    );

    // Only the poisoned value: the partition has no clock until its next event, which
    // writes the clock record afresh.
    let mut p = pipeline(ClockMode::Event);
    p.make_durable();
    assert_eq!(p.restore(0, [("c", Some(&poisoned[..]))], WALL), 1);
    assert_eq!(p.fresh_snapshot(WALL).scorecard.now, EventTime(0));
    let payload = alert("next", WALL.millis() - 48 * HOUR);
    let batch = p.apply_batch(
        &[Record::new(
            "soc.alerts",
            TopicRole::Alerts,
            0,
            Some(&payload),
        )],
        WALL,
    );
    assert_eq!(batch.outcomes, vec![Outcome::Applied(Effect::Counted)]);
    let records = p.state_records(&batch.changes);
    let clocks: Vec<_> = records.iter().filter(|r| r.key == "c").collect();
    assert_eq!(clocks.len(), 1);
    assert_eq!(
        clocks[0].value.as_deref(),
        Some(&clock(WALL.millis() - 48 * HOUR)[..])
    );
}

#[test]
fn wall_clock_never_goes_backwards() {
    let mut clock = Clock::new(ClockMode::Wall);
    assert_eq!(clock.now(EventTime(10)), EventTime(10));
    assert_eq!(clock.now(EventTime(5)), EventTime(10));
    clock.observe_event(EventTime(99));
    assert_eq!(clock.now(EventTime(11)), EventTime(11));
}

#[test]
fn outcomes_are_counted_per_topic_and_reason() {
    let mut p = pipeline(ClockMode::Event);
    let wall = WALL;
    assert_eq!(
        step(&mut p, TopicRole::Alerts, Some(&alert("a", 1_000)), wall),
        Outcome::Applied(Effect::Counted)
    );
    assert_eq!(
        step(&mut p, TopicRole::Alerts, Some(&alert("a", 1_000)), wall),
        Outcome::Applied(Effect::Duplicate)
    );
    let Outcome::Rejected(rejection) = step(&mut p, TopicRole::Alerts, Some(b"{"), wall) else {
        panic!("a truncated record is rejected");
    };
    assert_eq!(rejection.reason, RejectReason::InvalidJson);
    step(&mut p, TopicRole::Alerts, None, wall);
    step(&mut p, TopicRole::Alerts, Some(b"\xff"), wall);
    let health = &p.fresh_snapshot(wall).topics[TopicRole::Alerts.index()];
    assert_eq!(health.topic, "soc.alerts");
    assert_eq!(health.consumed, 5);
    assert_eq!(health.duplicate, 1);
    assert_eq!(health.rejected[RejectReason::InvalidJson.index()], 2);
    assert_eq!(health.rejected[RejectReason::InvalidUtf8.index()], 1);
    assert_eq!(health.rejected.iter().sum::<u64>(), 3);
}

#[test]
fn a_time_before_the_epoch_is_a_bad_value_in_either_clock_mode() {
    // Finding 8's record, end to end: rejected and counted as bad_value, no panic, and
    // nothing of it reaches the incidents or the clock.
    for mode in [ClockMode::Event, ClockMode::Wall] {
        let mut p = pipeline(mode);
        let poison = br#"{"alert_id":"a","incident_id":"I","detected_at":1767258000000,"occurred_at":-9223372036854775807,"source":"edr","severity":"high"}"#;
        let Outcome::Rejected(rejection) = step(&mut p, TopicRole::Alerts, Some(poison), WALL)
        else {
            panic!("{mode:?}: a time before the epoch is rejected");
        };
        assert_eq!(rejection.reason, RejectReason::BadValue);
        let snapshot = p.fresh_snapshot(WALL);
        let health = &snapshot.topics[TopicRole::Alerts.index()];
        assert_eq!(health.consumed, 1);
        assert_eq!(health.rejected[RejectReason::BadValue.index()], 1);
        assert_eq!(health.rejected.iter().sum::<u64>(), 1);
        assert_eq!(health.last_event, None);
        assert_eq!(snapshot.scorecard.incidents.in_memory, 0);
    }
}

#[test]
fn a_batch_says_what_each_record_came_to_which_offsets_it_covers_and_what_to_make_durable() {
    let mut p = pipeline(ClockMode::Event);
    p.make_durable();
    let wall = WALL;
    let incident = |id: &str, at: i64| {
        format!(
            r#"{{"alert_id":"{id}","incident_id":"INC-1","detected_at":{at},"source":"edr","severity":"high"}}"#
        )
        .into_bytes()
    };
    let (a, b) = (incident("a", 1_000), incident("b", 2_000));
    let records = [
        Record::new("soc.alerts", TopicRole::Alerts, 7, Some(&a)).in_partition(2),
        Record::new("soc.alerts", TopicRole::Alerts, 8, Some(b"{")).in_partition(2),
        Record::new("soc.alerts", TopicRole::Alerts, 3, Some(&b)).in_partition(0),
        Record::new("soc.alerts", TopicRole::Alerts, 9, Some(&a)).in_partition(2),
    ];
    let batch = p.apply_batch(&records, wall);
    assert_eq!(batch.outcomes[0], Outcome::Applied(Effect::Counted));
    assert!(
        matches!(&batch.outcomes[1], Outcome::Rejected(r) if r.reason == RejectReason::InvalidJson)
    );
    assert_eq!(batch.outcomes[2], Outcome::Applied(Effect::Counted));
    assert_eq!(batch.outcomes[3], Outcome::Applied(Effect::Duplicate));
    // The last offset per partition, rejected and duplicate records included.
    assert_eq!(
        batch.offsets,
        vec![
            ("soc.alerts".to_owned(), 0, 3),
            ("soc.alerts".to_owned(), 2, 9)
        ]
    );
    // Per partition: one incident record (INC-1 moved to partition 0 with alert b: the
    // partition-2 copy is a tombstone), one alert and one series record per alert, and the
    // clock, once per partition.
    let mut keys: Vec<(i32, String, bool)> = p
        .state_records(&batch.changes)
        .iter()
        .map(|r| {
            (
                r.partition,
                r.key.chars().next().unwrap_or('?').to_string(),
                r.value.is_some(),
            )
        })
        .collect();
    keys.sort();
    let expected: Vec<(i32, String, bool)> = [
        (0, "a", true),
        (0, "c", true),
        (0, "i", true),
        (0, "s", true),
        (2, "a", true),
        (2, "c", true),
        (2, "i", false),
        (2, "s", true),
    ]
    .into_iter()
    .map(|(p, k, v)| (p, k.to_owned(), v))
    .collect();
    assert_eq!(keys, expected);
    // Nothing left behind: the next batch reports only its own changes.
    assert!(p.apply_batch(&[], wall).changes.is_empty());
}

#[test]
fn extreme_event_times_saturate_durations() {
    use crate::engine::incident::{Incident, Span};
    use crate::engine::key::IncidentKey;
    use crate::engine::state::{self, Names};
    use crate::event::Severity;

    // The widest a decoded record can make a duration: detected at the epoch, resolved at the
    // last millisecond before `NEVER`, and an occurred_at as late (the reverse order), accepted
    // because the wall clock is as late too.
    let last = i64::MAX - 1;
    let mut p = pipeline(ClockMode::Event);
    let wall = EventTime(i64::MAX);
    let alert = format!(
        r#"{{"alert_id":"a","incident_id":"I","detected_at":0,"occurred_at":{last},"source":"edr","severity":"high"}}"#
    );
    let case = format!(
        r#"{{"incident_id":"I","at":{last},"status":"resolved","disposition":"true_positive"}}"#
    );
    for (role, text) in [(TopicRole::Alerts, &alert), (TopicRole::Cases, &case)] {
        assert_eq!(
            step(&mut p, role, Some(text.as_bytes()), wall),
            Outcome::Applied(Effect::Counted)
        );
    }
    let snapshot = p.fresh_snapshot(wall);
    let card = &snapshot.scorecard.incidents;
    let high = Severity::High.index();
    let durations = &card.counters.durations;
    // occurred → detected is −(i64::MAX − 1): clock skew, observed as 0.
    let detect = &durations[Span::Detect.index()][high];
    assert_eq!((detect.count, detect.sum_millis), (1, 0));
    for span in [Span::Acknowledge, Span::Contain, Span::Resolve] {
        let cumulative = &durations[span.index()][high];
        assert_eq!(
            (cumulative.count, cumulative.sum_millis),
            (1, last as u64),
            "{span:?}"
        );
    }
    let dwell = &durations[Span::Dwell.index()][high];
    assert_eq!((dwell.count, dwell.sum_millis), (1, 0));
    // The skew is the alert's: it alone gave both ends of occurred → detected.
    let skewed =
        |role: TopicRole| snapshot.topics[role.index()].rejected[RejectReason::ClockSkew.index()];
    assert_eq!(
        (skewed(TopicRole::Alerts), skewed(TopicRole::Cases)),
        (1, 0)
    );
    // The 24h window holds the resolution: its span sums are exact, not wrapped.
    let day = card.per_window.last().expect("a 24h window");
    let resolve = day.spans[Span::Resolve.index()][high];
    assert_eq!((resolve.count, resolve.sum_millis), (1, i128::from(last)));

    // A changelog record can hold any i64 (an older version, a bug, a stranger wrote it):
    // detected at i64::MIN and resolved at i64::MAX − 1 is a difference no i64 holds. It is
    // no duration (nothing observed), and the modelled cost saturates to i64::MAX hours' worth.
    let mut incident = Incident::new();
    incident.detected = i64::MIN;
    incident.acknowledged = i64::MIN;
    incident.resolved = last;
    let names = Names {
        analyst: |_: u32| String::new(),
        root_cause: |_: u32| String::new(),
        source: |_: u32| String::new(),
    };
    let key = state::incident_key(&IncidentKey::new("", "EXTREME"));
    let value = state::encode_incident(&incident, &names);
    let mut p = pipeline(ClockMode::Wall);
    assert_eq!(p.restore(0, [(key.as_str(), Some(&value[..]))], WALL), 0);
    let snapshot = p.fresh_snapshot(WALL);
    let card = &snapshot.scorecard.incidents;
    assert_eq!(card.in_memory, 1);
    let unknown = crate::engine::card::severity_slot(None);
    for span in Span::ALL {
        assert_eq!(
            card.counters.durations[span.index()][unknown].count,
            0,
            "{span:?}"
        );
    }
    let expected = Config::default().cost.hourly_rate * (i64::MAX as f64 / 3_600_000.0);
    let all = crate::engine::card::ALL_SLOT;
    assert_eq!(card.quality.per_window.len(), card.windows.len());
    for window in &card.quality.per_window {
        assert_eq!(window.cost[all], expected);
        assert_eq!(window.cost[unknown], expected);
    }
}
