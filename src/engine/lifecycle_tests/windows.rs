//! Hand-computed incidents, continued: window membership, quantiles, ties at one
//! millisecond, tenants, extreme times, retention and the cap.

use super::*;

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
