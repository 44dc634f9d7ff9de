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

// Windows, quantiles, ties, tenants, extreme times, retention and the cap.
mod windows;
