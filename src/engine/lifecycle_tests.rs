//! Hand-computed incidents: every derived timestamp, duration, breach rule and window
//! membership of PRODUCT.md §2–§3.

use super::*;
use crate::engine::card::{ALL_SLOT, SlaStats};
use crate::event::{CaseEvent, Disposition, Severity};
use crate::formats::native::{decode_alert, decode_case};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// A round "day 1000" so offsets read easily.
const T0: i64 = 1_000 * DAY;

fn lifecycle() -> Lifecycle {
    Lifecycle::new(LifecycleSettings {
        kpi_windows: vec![
            Window {
                label: "24h".into(),
                millis: DAY,
            },
            Window {
                label: "7d".into(),
                millis: 7 * DAY,
            },
        ],
        sla: crate::config::Config::default().engine_settings().sla,
        retention_millis: 120 * DAY,
        max_incidents: 1_000,
        max_label_values: 100,
        max_label_length: 64,
        scorecard: crate::config::Config::default().engine_settings().scorecard,
    })
}

fn no_sources() -> LabelValues {
    LabelValues::new("source", 10, 64)
}

/// Applies a case event written as native JSON; `at` and `occurred_at` are offsets from T0.
/// True when the event was new; `SKEWED` counts the durations it found negative.
fn case(lifecycle: &mut Lifecycle, json: &str, now: i64) -> bool {
    let event: CaseEvent<'_> = decode_case(json).expect("valid case event");
    let touched = lifecycle.apply_case(0, &event, now);
    SKEWED.with(|s| s.set(s.get() + touched.map_or(0, |t| t.skewed)));
    touched.is_some()
}

thread_local! {
    /// Negative durations the helpers' events found since [`take_skewed`].
    static SKEWED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn take_skewed() -> u64 {
    SKEWED.with(|s| s.replace(0))
}

fn alert(lifecycle: &mut Lifecycle, json: &str, now: i64) {
    let alert = decode_alert(json).expect("valid alert");
    assert!(alert.incident_id.is_some(), "the alert names an incident");
    let hash = crate::engine::id_hash(&alert.alert_id);
    let touched = lifecycle.apply_alert(0, &alert, hash, 0, now);
    SKEWED.with(|s| s.set(s.get() + touched.skewed));
}

fn only(lifecycle: &Lifecycle) -> &Incident {
    assert_eq!(lifecycle.len(), 1);
    lifecycle.incidents().next().unwrap().1
}

fn seconds(millis: i64) -> i64 {
    millis / 1000
}

#[test]
fn incident_known_only_from_alerts_is_open_and_new() {
    let mut lc = lifecycle();
    let now = T0 + 2 * HOUR;
    alert(
        &mut lc,
        &format!(
            r#"{{"alert_id":"a1","incident_id":"I1","detected_at":{},"occurred_at":{},"source":"edr","severity":"medium"}}"#,
            T0,
            T0 - 30 * MINUTE
        ),
        now,
    );
    alert(
        &mut lc,
        &format!(
            r#"{{"alert_id":"a2","incident_id":"I1","detected_at":{},"source":"edr","severity":"high"}}"#,
            T0 + MINUTE
        ),
        now,
    );
    let incident = only(&lc);
    assert_eq!(incident.status(), Status::New);
    assert!(incident.is_open());
    assert_eq!(incident.detected, T0);
    assert_eq!(incident.occurred, T0 - 30 * MINUTE);
    // The highest of its alerts' severities, none from a case event.
    assert_eq!(incident.severity(), Some(Severity::High));
    assert_eq!(incident.duration(Span::Detect), Some(30 * MINUTE));
    assert_eq!(incident.duration(Span::Acknowledge), None);

    let card = lc.card(now, &no_sources());
    assert_eq!(card.open[Severity::High.index()][Status::New.index()], 1);
    assert_eq!(card.per_window[0].incidents[Severity::High.index()], 1);
    assert_eq!(card.per_window[0].incidents[ALL_SLOT], 1);
    let ttd = card.per_window[0].spans[Span::Detect.index()][ALL_SLOT];
    assert_eq!((ttd.count, ttd.sum_millis), (1, i128::from(30 * MINUTE)));
    // High: acknowledge within 1h of T0; unacknowledged at T0+2h, so breached and open.
    assert_eq!(
        card.breached_open[Severity::High.index()][Stage::Acknowledge.index()],
        1
    );
    assert_eq!(
        card.breached_open[Severity::High.index()][Stage::Resolve.index()],
        0
    );
    assert_eq!(
        card.counters.opened[Severity::Medium.index()],
        1,
        "counted with its severity when first seen"
    );
}

#[test]
fn case_events_before_their_alerts() {
    let mut lc = lifecycle();
    let now = T0 + HOUR;
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I2","at":{},"status":"acknowledged","severity":"high"}}"#,
            T0 + 10 * MINUTE
        ),
        now,
    );
    // Detected falls back to the earliest case event until the alert arrives.
    assert_eq!(only(&lc).detected, T0 + 10 * MINUTE);
    assert_eq!(only(&lc).duration(Span::Acknowledge), Some(0));
    alert(
        &mut lc,
        &format!(
            r#"{{"alert_id":"a","incident_id":"I2","detected_at":{T0},"occurred_at":{},"source":"siem","severity":"low"}}"#,
            T0 - HOUR
        ),
        now,
    );
    let incident = only(&lc);
    assert_eq!(incident.detected, T0);
    assert_eq!(incident.duration(Span::Acknowledge), Some(10 * MINUTE));
    assert_eq!(incident.duration(Span::Detect), Some(HOUR));
    assert_eq!(
        incident.severity(),
        Some(Severity::High),
        "a case event's severity beats the alerts'"
    );
    let card = lc.card(now, &no_sources());
    let tta = card.per_window[0].spans[Span::Acknowledge.index()][Severity::High.index()];
    assert_eq!(tta.sum_millis, i128::from(10 * MINUTE));
    // The cumulative histogram observed the duration when first known (0), once.
    let observed = card.counters.durations[Span::Acknowledge.index()][Severity::High.index()];
    assert_eq!(
        (observed.count, observed.sum_millis, observed.buckets[0]),
        (1, 0, 1)
    );
}

#[test]
fn resolved_then_reopened_then_closed() {
    let mut lc = lifecycle();
    let now = T0 + 5 * HOUR;
    let events = [
        (0, "new"),
        (5 * MINUTE, "acknowledged"),
        (HOUR, "resolved"),
        (2 * HOUR, "reopened"),
        (3 * HOUR, "closed"),
    ];
    for (i, (offset, status)) in events.iter().enumerate() {
        case(
            &mut lc,
            &format!(
                r#"{{"incident_id":"I3","at":{},"status":"{status}","severity":"medium","disposition":"true_positive"}}"#,
                T0 + offset
            ),
            now,
        );
        let incident = only(&lc);
        match i {
            3 => assert!(incident.is_open() && incident.status() == Status::Reopened),
            2 | 4 => assert!(!incident.is_open()),
            _ => assert!(incident.is_open()),
        }
    }
    let incident = only(&lc);
    assert_eq!(incident.resolved, T0 + HOUR, "the first resolution");
    assert_eq!(incident.status(), Status::Closed);
    assert_eq!(incident.duration(Span::Resolve), Some(HOUR));
    // True positive without a contained event: contained = resolved.
    assert_eq!(incident.duration(Span::Contain), Some(HOUR));
    let card = lc.card(now, &no_sources());
    let medium = Severity::Medium.index();
    assert_eq!(card.counters.reopened[medium], 1);
    assert_eq!(
        card.counters.resolved[medium][Disposition::TruePositive.index()],
        1,
        "first resolution only"
    );
    assert_eq!(card.open.iter().flatten().sum::<u64>(), 0);
    // A redelivered reopen event is a duplicate and counts nothing.
    assert!(!case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I3","at":{},"status":"reopened","severity":"medium","disposition":"true_positive"}}"#,
            T0 + 2 * HOUR
        ),
        now
    ));
    assert_eq!(lc.card(now, &no_sources()).counters.reopened[medium], 1);
}

#[test]
fn a_severity_change_after_detection_moves_the_deadline() {
    let mut lc = lifecycle();
    let now = T0 + 2 * HOUR;
    case(
        &mut lc,
        &format!(r#"{{"incident_id":"I4","at":{T0},"status":"new","severity":"low"}}"#),
        now,
    );
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I4","at":{},"status":"in_progress"}}"#,
            T0 + 30 * MINUTE
        ),
        now,
    );
    // Low: acknowledge within 24h, met at T0+30m. Deadline T0+24h is after now: not due yet.
    let card = lc.card(now, &no_sources());
    assert_eq!(
        card.per_window[0].sla[Stage::Acknowledge.index()][ALL_SLOT],
        SlaStats::default()
    );
    assert_eq!(card.counters.breaches.iter().flatten().sum::<u64>(), 0);
    // Raised to critical: acknowledge deadline T0+15m, reached at T0+30m: breached.
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I4","at":{},"status":"in_progress","severity":"critical","event_id":"raise"}}"#,
            T0 + 40 * MINUTE
        ),
        now,
    );
    // An older event carrying a severity does not override the latest one.
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I4","at":{},"status":"new","severity":"informational","event_id":"stale"}}"#,
            T0 + MINUTE
        ),
        now,
    );
    assert_eq!(only(&lc).severity(), Some(Severity::Critical));
    let card = lc.card(now, &no_sources());
    let critical = Severity::Critical.index();
    let ack = card.per_window[0].sla[Stage::Acknowledge.index()][critical];
    assert_eq!((ack.due, ack.met), (1, 0));
    assert_eq!(
        card.counters.breaches[critical][Stage::Acknowledge.index()],
        1
    );
    // Resolve deadline T0+4h is still ahead: not breached, not due in the window.
    assert_eq!(card.breached_open[critical][Stage::Resolve.index()], 0);
    assert_eq!(
        card.per_window[0].sla[Stage::Resolve.index()][critical].due,
        0
    );
    // Not counted until the partition's stream has been read past the deadline: a backlog
    // may still hold the resolution.
    lc.advance(T0 + 4 * HOUR + 1, None);
    assert_eq!(
        lc.card(T0 + 4 * HOUR + 1, &no_sources()).counters.breaches[critical]
            [Stage::Resolve.index()],
        0
    );
    lc.observe(0, T0 + 4 * HOUR + 1);
    lc.advance(T0 + 4 * HOUR + 1, None);
    let card = lc.card(T0 + 4 * HOUR + 1, &no_sources());
    assert_eq!(card.breached_open[critical][Stage::Resolve.index()], 1);
    assert_eq!(card.counters.breaches[critical][Stage::Resolve.index()], 1);
    let resolve = card.per_window[0].sla[Stage::Resolve.index()][ALL_SLOT];
    assert_eq!((resolve.due, resolve.met), (1, 0));
}

#[test]
fn deadline_met_exactly_is_not_a_breach() {
    let mut lc = lifecycle();
    case(
        &mut lc,
        &format!(r#"{{"incident_id":"I5","at":{T0},"status":"new","severity":"high"}}"#),
        T0,
    );
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I5","at":{},"status":"acknowledged"}}"#,
            T0 + HOUR
        ),
        T0 + HOUR,
    );
    let card = lc.card(T0 + HOUR, &no_sources());
    let ack = card.per_window[0].sla[Stage::Acknowledge.index()][Severity::High.index()];
    assert_eq!((ack.due, ack.met), (1, 1));
    assert_eq!(card.counters.breaches.iter().flatten().sum::<u64>(), 0);
}

#[test]
fn contained_is_missing_unless_true_positive() {
    let mut lc = lifecycle();
    let now = T0 + DAY / 2;
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"FP","at":{T0},"status":"resolved","occurred_at":{},"disposition":"false_positive"}}"#,
            T0 - HOUR
        ),
        now,
    );
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"TP","at":{T0},"status":"new","occurred_at":{}}}"#,
            T0 - 3 * HOUR
        ),
        now,
    );
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"TP","at":{},"status":"resolved","disposition":"true_positive"}}"#,
            T0 + 2 * HOUR
        ),
        now,
    );
    let card = lc.card(now, &no_sources());
    let contain = card.per_window[0].spans[Span::Contain.index()][ALL_SLOT];
    let dwell = card.per_window[0].spans[Span::Dwell.index()][ALL_SLOT];
    assert_eq!(
        (contain.count, contain.sum_millis),
        (1, i128::from(2 * HOUR))
    );
    assert_eq!((dwell.count, dwell.sum_millis), (1, i128::from(5 * HOUR)));
    // A later contained event takes over from the fallback.
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"TP","at":{},"status":"contained"}}"#,
            T0 + HOUR
        ),
        now,
    );
    let contain = lc.card(now, &no_sources()).per_window[0].spans[Span::Contain.index()][ALL_SLOT];
    assert_eq!(contain.sum_millis, i128::from(HOUR));
}

#[test]
fn negative_durations_clamp_to_zero_and_count_as_clock_skew_once() {
    let mut lc = lifecycle();
    let now = T0 + HOUR;
    let skewed = format!(
        r#"{{"alert_id":"s","incident_id":"I6","detected_at":{T0},"occurred_at":{},"source":"edr","severity":"low"}}"#,
        T0 + 5 * MINUTE
    );
    alert(&mut lc, &skewed, now);
    assert_eq!(only(&lc).duration(Span::Detect), Some(-5 * MINUTE));
    assert_eq!(take_skewed(), 1);
    alert(&mut lc, &skewed, now);
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I6","at":{},"status":"new"}}"#,
            T0 + MINUTE
        ),
        now,
    );
    assert_eq!(take_skewed(), 0);
    let ttd = lc.card(now, &no_sources()).per_window[0].spans[Span::Detect.index()]
        [Severity::Low.index()];
    assert_eq!(
        (ttd.count, ttd.sum_millis, ttd.quantiles),
        (1, 0, [0, 0, 0])
    );
}

#[test]
fn window_membership_follows_the_end_of_each_duration() {
    let mut lc = lifecycle();
    let now = T0 + 10 * DAY;
    // Detected 3 days ago (7d only), resolved 2 hours ago (24h and 7d).
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"old","at":{},"status":"new","severity":"low"}}"#,
            now - 3 * DAY
        ),
        now,
    );
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"old","at":{},"status":"resolved"}}"#,
            now - 2 * HOUR
        ),
        now,
    );
    // Detected exactly 24h ago: out of the 24h window, in the 7d one.
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"edge","at":{},"status":"new","severity":"low"}}"#,
            now - DAY
        ),
        now,
    );
    // Detected 8 days less an hour ago: in neither window.
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"older","at":{},"status":"new","severity":"low"}}"#,
            now - 8 * DAY + HOUR
        ),
        now,
    );
    let card = lc.card(now, &no_sources());
    let (day, week) = (&card.per_window[0], &card.per_window[1]);
    assert_eq!(day.incidents[ALL_SLOT], 0);
    assert_eq!(week.incidents[ALL_SLOT], 2);
    let resolve = Span::Resolve.index();
    assert_eq!(day.spans[resolve][ALL_SLOT].count, 1);
    assert_eq!(
        day.spans[resolve][ALL_SLOT].sum_millis,
        i128::from(3 * DAY - 2 * HOUR)
    );
    assert_eq!(week.spans[resolve][ALL_SLOT].count, 1);
    // Low resolve deadline: detected + 7d. "old": now + 4d (ahead); "edge": now + 6d;
    // "older": now − 23h, unresolved: breached, and due inside both windows.
    let due = week.sla[Stage::Resolve.index()][ALL_SLOT];
    assert_eq!((due.due, due.met), (1, 0));
    assert_eq!(day.sla[Stage::Resolve.index()][ALL_SLOT], due);
}

#[test]
fn quantiles_follow_hdrhistogram_within_a_thousandth() {
    let mut lc = lifecycle();
    let now = T0 + DAY / 2;
    // Times to acknowledge of 1..=10 minutes.
    for i in 1..=10 {
        let id = format!("Q{i}");
        case(
            &mut lc,
            &format!(r#"{{"incident_id":"{id}","at":{T0},"status":"new","severity":"medium"}}"#),
            now,
        );
        case(
            &mut lc,
            &format!(
                r#"{{"incident_id":"{id}","at":{},"status":"acknowledged"}}"#,
                T0 + i * MINUTE
            ),
            now,
        );
    }
    let tta = lc.card(now, &no_sources()).per_window[0].spans[Span::Acknowledge.index()][ALL_SLOT];
    assert_eq!(tta.count, 10);
    assert_eq!(seconds((tta.sum_millis / 10) as i64), 330);
    // ⌈0.5·10⌉ = 5th value (5 min), ⌈0.9·10⌉ = 9th (9 min), ⌈0.99·10⌉ = 10th (10 min).
    for (quantile, expected) in tta
        .quantiles
        .iter()
        .zip([5 * MINUTE, 9 * MINUTE, 10 * MINUTE])
    {
        let error = (*quantile as f64 - expected as f64).abs() / expected as f64;
        assert!(error <= 0.001, "{quantile} vs {expected}");
    }
}

#[test]
fn ties_at_the_same_millisecond_go_to_the_greater_event_id() {
    for order in [[0, 1], [1, 0]] {
        let mut lc = lifecycle();
        let events = [
            format!(
                r#"{{"incident_id":"T","at":{T0},"status":"in_progress","event_id":"e2","assignee":"bob","severity":"low"}}"#
            ),
            format!(
                r#"{{"incident_id":"T","at":{T0},"status":"in_progress","event_id":"e1","assignee":"ann","severity":"high"}}"#
            ),
        ];
        for i in order {
            assert!(case(&mut lc, &events[i], T0));
        }
        assert_eq!(only(&lc).severity(), Some(Severity::Low));
        assert_eq!(
            &**lc.analysts.value(only(&lc).assignee.get().unwrap()),
            "bob"
        );
    }
}

#[test]
fn tenants_keep_incidents_apart() {
    let mut lc = lifecycle();
    case(
        &mut lc,
        &format!(r#"{{"incident_id":"I","at":{T0},"status":"new","tenant":"acme"}}"#),
        T0,
    );
    case(
        &mut lc,
        &format!(r#"{{"incident_id":"I","at":{T0},"status":"new","tenant":"globex"}}"#),
        T0,
    );
    case(
        &mut lc,
        &format!(r#"{{"incident_id":"I","at":{T0},"status":"new"}}"#),
        T0,
    );
    assert_eq!(lc.len(), 3);
    let mut keys: Vec<_> = lc
        .incidents()
        .map(|(key, _)| (key.tenant(), key.id()))
        .collect();
    keys.sort();
    assert_eq!(keys, [("", "I"), ("acme", "I"), ("globex", "I")]);
}

#[test]
fn an_occurred_at_at_the_end_of_i64_records_no_duration_and_panics_nowhere() {
    // Finding 8: `occurred_at: -9223372036854775807` made detected − occurred overflow: a
    // panic in debug builds, a wrapped negative counted as clock skew in release ones.
    // Decoding rejects such a time (it is before the epoch); given one directly, the engine
    // records no duration that would need it, in either build.
    let mut lc = lifecycle();
    let text = format!(
        r#"{{"alert_id":"a1","incident_id":"I1","detected_at":{T0},"source":"edr","severity":"high"}}"#
    );
    let mut poison = decode_alert(&text).expect("valid alert");
    poison.occurred_at = Some(crate::event::EventTime(-9_223_372_036_854_775_807));
    let hash = crate::engine::id_hash(&poison.alert_id);
    let touched = lc.apply_alert(0, &poison, hash, 0, T0 + 2 * HOUR);
    assert_eq!(touched.skewed, 0);
    case(
        &mut lc,
        &format!(
            r#"{{"incident_id":"I1","at":{},"status":"contained","disposition":"true_positive"}}"#,
            T0 + HOUR
        ),
        T0 + 2 * HOUR,
    );
    assert_eq!(take_skewed(), 0);
    let incident = only(&lc);
    assert_eq!(incident.occurred, -9_223_372_036_854_775_807);
    assert_eq!(incident.duration(Span::Detect), None);
    assert_eq!(incident.duration(Span::Dwell), None);
    assert_eq!(incident.duration(Span::Contain), Some(HOUR));
    let card = lc.card(T0 + 2 * HOUR, &no_sources());
    let window = &card.per_window[0];
    assert_eq!(window.spans[Span::Detect.index()][ALL_SLOT].count, 0);
    assert_eq!(window.spans[Span::Dwell.index()][ALL_SLOT].count, 0);
    let contain = window.spans[Span::Contain.index()][ALL_SLOT];
    assert_eq!((contain.count, contain.sum_millis), (1, i128::from(HOUR)));
    let high = Severity::High.index();
    assert_eq!(card.counters.durations[Span::Detect.index()][high].count, 0);
    assert_eq!(card.counters.durations[Span::Dwell.index()][high].count, 0);
    assert_eq!(
        card.counters.durations[Span::Contain.index()][high].count,
        1
    );
}

#[test]
fn closed_incidents_leave_after_retention_and_the_cap_takes_the_oldest_closed_first() {
    let mut lc = lifecycle();
    case(
        &mut lc,
        &format!(r#"{{"incident_id":"closed","at":{T0},"status":"closed"}}"#),
        T0,
    );
    case(
        &mut lc,
        &format!(r#"{{"incident_id":"open","at":{T0},"status":"new"}}"#),
        T0,
    );
    lc.advance(T0 + 120 * DAY, None);
    assert_eq!(lc.len(), 2, "exactly at the horizon it stays");
    lc.advance(T0 + 120 * DAY + 1, None);
    assert_eq!(lc.len(), 1);
    assert_eq!(lc.incidents().next().unwrap().0.id(), "open");
    assert_eq!(lc.card(T0, &no_sources()).counters.evicted, [1, 0]);

    let mut capped = Lifecycle::new(LifecycleSettings {
        max_incidents: 2,
        ..lifecycle().settings
    });
    for (id, status, at) in [
        ("a", "closed", T0),
        ("b", "new", T0 - DAY),
        ("c", "closed", T0 + 1),
        ("d", "new", T0 + 2),
    ] {
        case(
            &mut capped,
            &format!(r#"{{"incident_id":"{id}","at":{at},"status":"{status}"}}"#),
            T0,
        );
    }
    capped.advance(T0 + 3, None);
    let mut kept: Vec<_> = capped
        .incidents()
        .map(|(key, _)| key.id().to_owned())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        ["b", "d"],
        "closed ones go before even an older open one"
    );
    assert_eq!(capped.card(T0, &no_sources()).counters.evicted, [0, 2]);
}
