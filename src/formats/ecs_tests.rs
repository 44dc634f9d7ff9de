use serde_json::{Value, json};

use super::*;
use crate::event::EventTime;
use crate::formats::RejectReason;

fn at(text: &str) -> EventTime {
    EventTime::parse_rfc3339(text).unwrap()
}

/// Decodes the record's text, leaked so the alert can outlive it (tests only).
fn run(record: &Value) -> Result<Alert<'static>, Refusal> {
    let text: &'static str = Box::leak(record.to_string().into_boxed_str());
    let mut events = decode(text)?;
    assert_eq!(events.len(), 1);
    match events.remove(0) {
        Event::Alert(alert) => Ok(alert),
        other => panic!("ecs makes alerts only, got {other:?}"),
    }
}

/// An 8.1 indicator-match alert from elastic/kibana's security_solution es_archive, trimmed:
/// dotted `kibana.alert.*` keys beside nested `host` and `threat` objects.
fn threat_match() -> Value {
    json!({
        "kibana.alert.rule.name": "threat-match-rule",
        "kibana.alert.rule.uuid": "031d5c00-a72f-11ec-a8a3-7b1c8077fc3e",
        "@timestamp": "2022-03-19T02:48:12.634Z",
        "host": {"hostname": "security-linux-1", "name": "security-linux-1"},
        "threat": {"enrichments": [{"indicator": {}, "feed": {}, "matched": {"atomic": "security-linux-1", "field": "host.name", "type": "indicator_match_rule"}}]},
        "kibana.alert.workflow_status": "open",
        "kibana.alert.severity": "low",
        "kibana.alert.risk_score": 21,
        "kibana.alert.original_time": "2022-03-19T02:47:57.376Z",
        "event.kind": "signal",
        "kibana.alert.uuid": "30a75fe46d3dbdfab55982036f77a8d60e2d1112e96f277c3b8c22f9bb57817a"
    })
}

#[test]
fn an_alert_document_is_an_elastic_alert() {
    assert_eq!(
        run(&threat_match()),
        Ok(Alert {
            alert_id: "30a75fe46d3dbdfab55982036f77a8d60e2d1112e96f277c3b8c22f9bb57817a".into(),
            detected_at: at("2022-03-19T02:48:12.634Z"),
            occurred_at: Some(at("2022-03-19T02:47:57.376Z")),
            source: "elastic".into(),
            rule: Some("threat-match-rule".into()),
            severity: Severity::Low,
            incident_id: None,
            asset: Some("security-linux-1".into()),
            tenant: None,
            threat_intel: true,
        })
    );
}

#[test]
fn nested_and_dotted_keys_read_the_same() {
    let nested = json!({
        "@timestamp": "2022-03-19T02:48:12.634Z",
        "kibana": {"alert": {
            "uuid": "30a75fe46d3dbdfab55982036f77a8d60e2d1112e96f277c3b8c22f9bb57817a",
            "rule": {"name": "threat-match-rule", "uuid": "031d5c00-a72f-11ec-a8a3-7b1c8077fc3e"},
            "severity": "low",
            "original_time": "2022-03-19T02:47:57.376Z"
        }},
        "host.name": "security-linux-1",
        "threat.enrichments": [{"matched": {"field": "host.name"}}]
    });
    assert_eq!(run(&nested), run(&threat_match()));
}

#[test]
fn a_search_hit_is_read_through_its_source() {
    let hit = json!({"_index": ".internal.alerts-security.alerts-default-000001", "_id": "x", "_source": threat_match()});
    assert_eq!(run(&hit), run(&threat_match()));
}

#[test]
fn the_risk_score_bands_stand_in_for_a_missing_severity() {
    for (score, level) in [
        (json!(0), Severity::Low),
        (json!(21), Severity::Low),
        (json!(22), Severity::Medium),
        (json!(47), Severity::Medium),
        (json!(48), Severity::High),
        (json!(73.5), Severity::High),
        (json!(74), Severity::Critical),
        (json!("99"), Severity::Critical),
    ] {
        let mut doc = threat_match();
        doc.as_object_mut().unwrap().remove("kibana.alert.severity");
        doc["kibana.alert.risk_score"] = score.clone();
        assert_eq!(run(&doc).map(|a| a.severity), Ok(level), "{score}");
    }
    let mut doc = threat_match();
    doc.as_object_mut().unwrap().remove("kibana.alert.severity");
    doc["kibana.alert.risk_score"] = json!(101);
    assert!(matches!(run(&doc), Err(Refusal::Reject(r)) if r.reason == RejectReason::BadValue));
}

#[test]
fn an_alert_attached_to_cases_names_the_first() {
    let mut doc = threat_match();
    doc["kibana.alert.case_ids"] = json!(["c0f6a2b0-1d1e-11ee-9c2f-6b9b6f7f8a11", "second"]);
    assert_eq!(
        run(&doc).unwrap().incident_id.as_deref(),
        Some("c0f6a2b0-1d1e-11ee-9c2f-6b9b6f7f8a11")
    );
    doc["kibana.alert.case_ids"] = json!([]);
    assert_eq!(run(&doc).unwrap().incident_id, None);
}

#[test]
fn empty_enrichments_are_not_threat_intel() {
    let mut doc = threat_match();
    doc["threat"] = json!({"enrichments": []});
    assert!(!run(&doc).unwrap().threat_intel);
    doc.as_object_mut().unwrap().remove("threat");
    assert!(!run(&doc).unwrap().threat_intel);
}

#[test]
fn building_blocks_and_non_alerts_are_skipped() {
    let mut block = threat_match();
    block["kibana.alert.building_block_type"] = "default".into();
    let raw_event = json!({"@timestamp": "2022-03-19T02:47:57.376Z", "host": {"name": "h"}, "event": {"kind": "event"}});
    let mut ruleless = threat_match();
    for key in ["kibana.alert.rule.name", "kibana.alert.rule.uuid"] {
        ruleless.as_object_mut().unwrap().remove(key);
    }
    for doc in [block, raw_event, ruleless] {
        assert_eq!(
            run(&doc),
            Err(Refusal::Skip(SkipReason::UnhandledType)),
            "{doc}"
        );
    }
}

#[test]
fn a_missing_timestamp_or_severity_is_rejected_by_name() {
    let mut doc = threat_match();
    doc.as_object_mut().unwrap().remove("@timestamp");
    let Err(Refusal::Reject(r)) = run(&doc) else {
        panic!("expected a rejection")
    };
    assert_eq!(r.reason, RejectReason::MissingField);
    assert!(r.detail.contains("`@timestamp`"), "{}", r.detail);

    let mut doc = threat_match();
    for key in ["kibana.alert.severity", "kibana.alert.risk_score"] {
        doc.as_object_mut().unwrap().remove(key);
    }
    let Err(Refusal::Reject(r)) = run(&doc) else {
        panic!("expected a rejection")
    };
    assert!(r.detail.contains("`kibana.alert.severity`"), "{}", r.detail);
}
