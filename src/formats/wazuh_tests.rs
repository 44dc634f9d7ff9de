//! The Wazuh adapter's quirks, on alerts shaped as `alerts.json` writes them.

use super::*;
use crate::formats::RejectReason;

fn alert(text: &str) -> Alert<'_> {
    let mut events = decode(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    assert_eq!(events.len(), 1);
    match events.remove(0) {
        Event::Alert(alert) => alert,
        other => panic!("not an alert: {other:?}"),
    }
}

fn rejected(text: &str) -> (RejectReason, String) {
    match decode(text) {
        Err(Refusal::Reject(r)) => (r.reason, r.detail),
        other => panic!("{text}: not rejected but {other:?}"),
    }
}

const VIRUSTOTAL: &str = r#"{"timestamp":"2022-11-17T19:30:25.085+0200","rule":{"level":12,
"description":"VirusTotal: Alert - /media/user/software/eicar.com - 66 engines detected this file",
"id":"87105"},"agent":{"id":"010","name":"Ubuntu","ip":"10.0.2.15"},
"manager":{"name":"localhost.localdomain"},"id":"1668706225.104492","decoder":{"name":"json"},
"data":{"virustotal":{"found":"1","malicious":"1","positives":"66","total":"68"},
"integration":"virustotal"},"location":"virustotal"}"#;

#[test]
fn an_alert_json_line_is_an_alert_at_its_timestamp_with_a_colonless_offset() {
    assert_eq!(
        alert(VIRUSTOTAL),
        Alert {
            alert_id: "1668706225.104492".into(),
            // 19:30:25.085+0200 is 17:30:25.085Z.
            detected_at: EventTime(1_668_706_225_085),
            occurred_at: None,
            source: "wazuh".into(),
            rule: Some("87105".into()),
            severity: Severity::High,
            incident_id: None,
            asset: Some("Ubuntu".into()),
            tenant: None,
            threat_intel: true,
        }
    );
}

#[test]
fn levels_are_banded_by_the_rules_classification() {
    let level = |level: &str| {
        let text = format!(
            r#"{{"timestamp":"2022-11-17T19:30:25.085+0200","rule":{{"level":{level},"id":"1"}},"id":"a"}}"#
        );
        decode(&text).map(|events| match &events[0] {
            Event::Alert(alert) => alert.severity,
            other => panic!("{other:?}"),
        })
    };
    for (levels, severity) in [
        (0..=3, Severity::Informational),
        (4..=7, Severity::Low),
        (8..=11, Severity::Medium),
        (12..=14, Severity::High),
        (15..=16, Severity::Critical),
    ] {
        for n in levels {
            assert_eq!(level(&n.to_string()), Ok(severity), "level {n}");
        }
    }
    assert_eq!(
        level(r#""10""#),
        Ok(Severity::Medium),
        "a level written as a string"
    );
    for bad in ["17", "-1", r#""high""#] {
        assert!(
            matches!(level(bad), Err(Refusal::Reject(ref r)) if r.reason == RejectReason::BadValue),
            "{bad}"
        );
    }
}

#[test]
fn occurred_at_is_the_events_own_time_only_with_a_zone() {
    let windows = r#"{"timestamp":"2023-01-05T11:44:58.557+0200","rule":{"level":12,"id":"62123"},
    "agent":{"id":"012","name":"Windows_11"},"id":"1672911898.1113167",
    "data":{"win":{"system":{"eventID":"1116","systemTime":"2023-01-05T09:44:55.1124563Z"}}}}"#;
    let got = alert(windows);
    assert_eq!(got.detected_at, EventTime(1_672_911_898_557));
    assert_eq!(got.occurred_at, Some(EventTime(1_672_911_895_112)));
    assert!(!got.threat_intel);

    let with_data = |timestamp: &str| {
        let text = format!(
            r#"{{"timestamp":"2023-01-10T10:02:24.000+0000","rule":{{"level":3,"id":"86601"}},"id":"b","data":{{"timestamp":"{timestamp}"}}}}"#
        );
        alert(&text).occurred_at.map(EventTime::millis)
    };
    assert_eq!(
        with_data("2023-01-10T10:02:23.123456+0000"),
        Some(1_673_344_943_123)
    );
    assert_eq!(
        with_data("2023-01-10T12:02:23+02:00"),
        Some(1_673_344_943_000)
    );
    assert_eq!(
        with_data("2023-01-10 10:02:23"),
        None,
        "no zone: not guessed"
    );
    assert_eq!(with_data("Jan 10 10:02:23"), None);
    assert_eq!(with_data("1673344943"), None);
}

#[test]
fn threat_intel_comes_from_virustotal_found_or_a_misp_match() {
    let with = |data: &str| {
        let text = format!(
            r#"{{"timestamp":"2022-11-17T19:22:07.974+0200","rule":{{"level":3,"id":"87104"}},"id":"c","data":{data}}}"#
        );
        alert(&text).threat_intel
    };
    assert!(with(r#"{"virustotal":{"found":"1","malicious":"0"}}"#));
    assert!(!with(r#"{"virustotal":{"found":"0"}}"#));
    assert!(!with(r#"{"virustotal":{"error":"403"}}"#));
    assert!(with(
        r#"{"integration":"misp","misp":{"event_id":"1","value":"1.2.3.4"}}"#
    ));
    assert!(!with(
        r#"{"integration":"misp","misp":{"error":"Connection Error to MISP API"}}"#
    ));
}

#[test]
fn a_record_without_a_rule_is_unhandled_and_missing_fields_are_named() {
    assert_eq!(
        decode(r#"{"timestamp":"2022-11-17T19:22:07.974+0200","full_log":"x"}"#),
        Err(Refusal::Skip(SkipReason::UnhandledType))
    );
    for (text, reason, field) in [
        (
            r#"{"timestamp":"2022-11-17T19:22:07.974+0200","rule":{"level":3}}"#,
            RejectReason::MissingField,
            "`id`",
        ),
        (
            r#"{"id":"a","rule":{"level":3}}"#,
            RejectReason::MissingField,
            "`timestamp`",
        ),
        (
            r#"{"id":"a","timestamp":"17/11/2022","rule":{"level":3}}"#,
            RejectReason::BadValue,
            "`timestamp`",
        ),
        (
            r#"{"id":"a","timestamp":"2022-11-17T19:22:07.974+0200","rule":{"id":"5"}}"#,
            RejectReason::MissingField,
            "`rule.level`",
        ),
    ] {
        let (got, detail) = rejected(text);
        assert_eq!(got, reason, "{text}");
        assert!(detail.contains(field), "{text}: {detail}");
    }
}
