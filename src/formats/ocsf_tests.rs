//! The OCSF adapter's quirks, each on a minimal record shaped as the schema writes it.

use std::borrow::Cow;

use super::*;
use crate::formats::RejectReason;

/// 2025-10-01T12:00:00Z in epoch milliseconds.
const T0: i64 = 1_759_320_000_000;
const MINUTE: i64 = 60_000;

fn one(text: &str) -> Event<'static> {
    let events = decode(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    assert_eq!(events.len(), 1, "{text}");
    owned_event(&events[0])
}

fn owned_event(event: &Event<'_>) -> Event<'static> {
    match event {
        Event::Alert(a) => Event::Alert(Alert {
            alert_id: Cow::Owned(a.alert_id.to_string()),
            source: Cow::Owned(a.source.to_string()),
            rule: a.rule.as_ref().map(|r| Cow::Owned(r.to_string())),
            incident_id: None,
            asset: a.asset.as_ref().map(|r| Cow::Owned(r.to_string())),
            tenant: a.tenant.as_ref().map(|r| Cow::Owned(r.to_string())),
            ..*a
        }),
        Event::Case(c) => Event::Case(CaseEvent {
            incident_id: Cow::Owned(c.incident_id.to_string()),
            assignee: c.assignee.as_ref().map(|r| Cow::Owned(r.to_string())),
            tenant: c.tenant.as_ref().map(|r| Cow::Owned(r.to_string())),
            event_id: None,
            root_cause: None,
            ..*c
        }),
        other => panic!("unexpected {other:?}"),
    }
}

fn alert(text: &str) -> Alert<'static> {
    match one(text) {
        Event::Alert(alert) => alert,
        other => panic!("not an alert: {other:?}"),
    }
}

fn cases(text: &str) -> Vec<CaseEvent<'static>> {
    decode(text)
        .unwrap_or_else(|e| panic!("{text}: {e:?}"))
        .iter()
        .map(|event| match owned_event(event) {
            Event::Case(case) => case,
            other => panic!("not a case event: {other:?}"),
        })
        .collect()
}

fn refusal(text: &str) -> Refusal {
    decode(text).expect_err(text)
}

fn rejected(text: &str) -> (RejectReason, String) {
    match refusal(text) {
        Refusal::Reject(r) => (r.reason, r.detail),
        other => panic!("{text}: not rejected but {other:?}"),
    }
}

#[test]
fn a_detection_finding_is_an_alert_detected_when_the_finding_was_created() {
    let text = format!(
        r#"{{"class_uid":2004,"activity_id":2,"time":{},"severity_id":4,
        "finding_info":{{"uid":"f-1","title":"SSH brute force","created_time":{},
          "first_seen_time_dt":"2025-10-01T11:50:00Z","analytic":{{"name":"Rule"}}}},
        "metadata":{{"product":{{"name":"AWS GuardDuty"}},"tenant_uid":"acme"}},
        "device":{{"hostname":"web01"}}}}"#,
        T0 + 30 * MINUTE,
        T0
    );
    assert_eq!(
        alert(&text),
        Alert {
            alert_id: "f-1".into(),
            detected_at: EventTime(T0),
            occurred_at: Some(EventTime(T0 - 10 * MINUTE)),
            source: "aws guardduty".into(),
            rule: Some("SSH brute force".into()),
            severity: Severity::High,
            incident_id: None,
            asset: Some("web01".into()),
            tenant: Some("acme".into()),
            threat_intel: false,
        }
    );
}

#[test]
fn detection_falls_back_to_time_dt_and_resources_and_the_analytic_name() {
    let got = alert(
        r#"{"class_uid":2004,"time_dt":"2025-10-01T12:00:00.000Z","severity_id":6,
        "finding_info":{"uid":"f-2","analytic":{"name":"Impossible travel"}},
        "metadata":{"product":{"name":"Okta"}},"resources":[{"uid":"i-0abc"},{"name":"second"}],
        "start_time":1759319400}"#,
    );
    assert_eq!(got.detected_at, EventTime(T0));
    assert_eq!(
        got.occurred_at,
        Some(EventTime(T0 - 10 * MINUTE)),
        "epoch seconds"
    );
    assert_eq!(got.severity, Severity::Critical, "Fatal is critical");
    assert_eq!(got.rule.as_deref(), Some("Impossible travel"));
    assert_eq!(got.asset.as_deref(), Some("i-0abc"));
}

#[test]
fn microsecond_epochs_of_the_ocsf_examples_mapping_are_read() {
    let got = alert(&format!(
        r#"{{"class_uid":2004,"severity_id":2,"finding_info":{{"uid":"f","created_time":{}}},
        "metadata":{{"product":{{"name":"x"}}}}}}"#,
        T0 * 1000
    ));
    assert_eq!(got.detected_at, EventTime(T0));
}

#[test]
fn unknown_and_other_severities() {
    let with = |fields: &str| {
        alert(&format!(
            r#"{{"class_uid":2004,"time":{T0},"finding_info":{{"uid":"f"}},
            "metadata":{{"product":{{"name":"x"}}}},{fields}}}"#
        ))
        .severity
    };
    assert_eq!(with(r#""severity_id":0"#), Severity::Informational);
    assert_eq!(
        with(r#""severity_id":99,"severity":"Severe""#),
        Severity::High
    );
    assert_eq!(
        with(r#""severity_id":99,"severity":"Fatal""#),
        Severity::Critical
    );
    assert_eq!(
        with(r#""severity_id":99,"severity":"whatever""#),
        Severity::Informational
    );
    assert_eq!(with(r#""severity":"Medium""#), Severity::Medium);
}

#[test]
fn threat_intel_is_a_reputation_or_intel_enrichment_not_a_location() {
    let with = |fields: &str| {
        alert(&format!(
            r#"{{"class_uid":2004,"time":{T0},"severity_id":3,"finding_info":{{"uid":"f"}},
            "metadata":{{"product":{{"name":"x"}}}},{fields}}}"#
        ))
        .threat_intel
    };
    let location = r#""enrichments":[{"name":"ip","value":"1.2.3.4","type":"location","data":{}}]"#;
    assert!(!with(location));
    assert!(with(
        r#""enrichments":[{"name":"ip","value":"1.2.3.4","type":"Threat Intel","data":{}}]"#
    ));
    assert!(with(
        r#""observables":[{"name":"ip","type_id":2,"reputation":{"score_id":8}}]"#
    ));
    assert!(with(r#""osint":[{"type_id":1,"value":"evil.example"}]"#));
}

#[test]
fn is_alert_false_is_skipped_and_other_classes_are_unhandled() {
    assert_eq!(
        refusal(r#"{"class_uid":2004,"is_alert":false,"finding_info":{"uid":"f"}}"#),
        Refusal::Skip(SkipReason::NoChange)
    );
    assert_eq!(
        refusal(r#"{"class_uid":3002,"activity_id":1}"#),
        Refusal::Skip(SkipReason::UnhandledType)
    );
}

#[test]
fn missing_and_bad_fields_are_rejected_by_their_ocsf_names() {
    let cases = [
        (
            r#"{"activity_id":1}"#,
            RejectReason::MissingField,
            "`class_uid`",
        ),
        (
            r#"{"class_uid":"Detection"}"#,
            RejectReason::BadValue,
            "`class_uid`",
        ),
        (
            r#"{"class_uid":2004,"time":1}"#,
            RejectReason::MissingField,
            "`finding_info.uid`",
        ),
        (
            r#"{"class_uid":2004,"finding_info":{"uid":"f"},"metadata":{"product":{"name":"x"}}}"#,
            RejectReason::MissingField,
            "`time`",
        ),
        (
            r#"{"class_uid":2004,"time":"soon","finding_info":{"uid":"f"}}"#,
            RejectReason::BadValue,
            "`time`",
        ),
        (
            r#"{"class_uid":2004,"time":1759320000000,"finding_info":{"uid":"f"}}"#,
            RejectReason::MissingField,
            "`metadata.product.name`",
        ),
        (
            r#"{"class_uid":2004,"time":1759320000000,"severity_id":7,"finding_info":{"uid":"f"},"metadata":{"product":{"name":"x"}}}"#,
            RejectReason::BadValue,
            "`severity_id`",
        ),
        (
            r#"{"class_uid":2005,"time":1759320000000,"metadata":{"uid":"I"}}"#,
            RejectReason::MissingField,
            "`status_id`",
        ),
        (
            r#"{"class_uid":2005,"time":1759320000000,"status_id":1}"#,
            RejectReason::MissingField,
            "`metadata.uid`",
        ),
    ];
    for (text, reason, field) in cases {
        let (got, detail) = rejected(text);
        assert_eq!(got, reason, "{text}");
        assert!(detail.contains(field), "{text}: {detail}");
    }
}

fn incident(fields: &str) -> String {
    format!(
        r#"{{"class_uid":2005,"time":{},"metadata":{{"uid":"INC-7","tenant_uid":"acme",
        "product":{{"name":"SOAR"}}}},{fields}}}"#,
        T0 + 60 * MINUTE
    )
}

#[test]
fn an_incident_created_in_progress_is_new_and_in_progress_at_its_time() {
    let got = cases(&incident(
        r#""activity_id":1,"status_id":2,"severity_id":0,"priority_id":3,"verdict_id":2,
        "assignee":{"name":"ana","uid":"u-1"},"start_time_dt":"2025-10-01T11:50:00Z",
        "finding_info_list":[{"uid":"f-1","first_seen_time":1759318800000},{"uid":"f-2"}],
        "enrichments":[{"name":"ip","value":"1.2.3.4","type":"reputation","data":{}}]"#,
    ));
    let expected = |status| CaseEvent {
        incident_id: "INC-7".into(),
        at: EventTime(T0 + 60 * MINUTE),
        status,
        event_id: None,
        severity: Some(Severity::High),
        tier: None,
        assignee: Some("ana".into()),
        disposition: Some(Disposition::TruePositive),
        detection: None,
        occurred_at: Some(EventTime(T0 - 20 * MINUTE)),
        root_cause: None,
        cost: None,
        threat_intel: Some(true),
        tenant: Some("acme".into()),
    };
    assert_eq!(
        got,
        vec![expected(Status::New), expected(Status::InProgress)]
    );
}

#[test]
fn incident_statuses_and_verdicts() {
    let status = |fields: &str| {
        cases(&incident(&format!(r#""activity_id":2,{fields}"#)))
            .into_iter()
            .map(|case| (case.status, case.disposition))
            .collect::<Vec<_>>()
    };
    assert_eq!(status(r#""status_id":1"#), vec![(Status::New, None)]);
    assert_eq!(
        status(r#""status_id":3"#),
        vec![(Status::InProgress, None)],
        "On Hold"
    );
    assert_eq!(
        status(r#""status_id":4,"verdict_id":1"#),
        vec![(Status::Resolved, Some(Disposition::FalsePositive))]
    );
    assert_eq!(
        status(r#""status_id":5,"verdict_id":6"#),
        vec![(Status::Closed, Some(Disposition::BenignPositive))]
    );
    assert_eq!(
        status(r#""status_id":99,"status":"On Hold","verdict_id":7"#),
        vec![(Status::InProgress, Some(Disposition::Undetermined))]
    );
    assert_eq!(
        status(r#""status_id":5,"verdict_id":9"#),
        vec![(Status::Closed, None)],
        "Managed Externally is no verdict"
    );
    assert_eq!(
        refusal(&incident(r#""activity_id":2,"status_id":0"#)),
        Refusal::Skip(SkipReason::NoChange)
    );
    let created_unknown = cases(&incident(
        r#""activity_id":1,"status_id":99,"status":"Triage""#,
    ));
    assert_eq!(created_unknown.len(), 1);
    assert_eq!(created_unknown[0].status, Status::New);
}

#[test]
fn the_same_snapshot_twice_gives_the_same_events() {
    let text = incident(r#""activity_id":3,"status_id":5,"time_dt":"ignored when time is set""#);
    assert_eq!(cases(&text), cases(&text));
    assert_eq!(cases(&text)[0].at, EventTime(T0 + 60 * MINUTE));
}
