use serde_json::{Value, json};

use super::*;
use crate::formats::{RejectReason, encode};

fn events(record: Value) -> Vec<Value> {
    decode(&record.to_string())
        .unwrap_or_else(|refusal| panic!("refused: {refusal:?}"))
        .iter()
        .map(encode::to_value)
        .collect()
}

fn rejected(record: Value) -> (RejectReason, String) {
    match decode(&record.to_string()) {
        Err(Refusal::Reject(rejection)) => (rejection.reason, rejection.detail),
        other => panic!("not rejected: {other:?}"),
    }
}

const EVENT_ID: &str =
    "5E6DE97D-B137-47AB-8905-8C4F42998937@@notable@@e4f07602f507975e9f7ba47c4ae0c417";

fn base() -> Value {
    json!({
        "_time": "1727785200.000",
        "event_id": EVENT_ID,
        "search_name": "Endpoint - Recurring Malware Infection - Rule",
        "rule_name": "Recurring Malware Infection",
        "urgency": "high",
        "severity": "medium",
        "host": "sh-01",
        "dest": ["ACME-workstation-012", "192.168.3.12"],
        "src": "10.0.0.5",
        "status": "1",
        "status_label": "New",
        "owner": "unassigned",
        "disposition": "disposition:6",
        "disposition_label": "Undetermined"
    })
}

#[test]
fn a_new_notable_is_an_alert_and_a_new_incident_at_its_time() {
    assert_eq!(
        events(base()),
        vec![
            json!({"alert_id": EVENT_ID, "detected_at": "2024-10-01T12:20:00.000Z",
                   "source": "splunk", "rule": "Endpoint - Recurring Malware Infection - Rule",
                   "severity": "high", "incident_id": EVENT_ID, "asset": "ACME-workstation-012"}),
            json!({"incident_id": EVENT_ID, "at": "2024-10-01T12:20:00.000Z", "status": "new",
                   "severity": "high", "disposition": "undetermined"}),
        ]
    );
}

#[test]
fn a_reviewed_notable_gives_its_status_at_the_review_time() {
    let mut record = base();
    record["status"] = json!("5");
    record["status_label"] = json!("Closed");
    record["owner"] = json!("analyst1");
    record["disposition"] = json!("disposition:3");
    record["disposition_label"] = json!("False Positive - Incorrect Analytic Logic");
    record["review_time"] = json!("1727792400");
    let out = events(record);
    assert_eq!(out.len(), 3);
    assert_eq!(
        out[1],
        json!({"incident_id": EVENT_ID, "at": "2024-10-01T12:20:00.000Z", "status": "new",
               "severity": "high"})
    );
    assert_eq!(
        out[2],
        json!({"incident_id": EVENT_ID, "at": "2024-10-01T14:20:00.000Z", "status": "closed",
               "severity": "high", "assignee": "analyst1", "disposition": "false_positive"})
    );
}

#[test]
fn without_a_review_time_a_later_status_is_not_stamped_at_detection() {
    let mut record = base();
    record["status"] = json!("4");
    record["status_label"] = json!("Resolved");
    record["owner"] = json!("analyst1");
    let out = events(record);
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[1],
        json!({"incident_id": EVENT_ID, "at": "2024-10-01T12:20:00.000Z", "status": "new",
               "severity": "high", "assignee": "analyst1", "disposition": "undetermined"})
    );
}

#[test]
fn statuses_map_by_label_then_id_and_custom_ones_by_status_end() {
    let status_of = |fields: Value| {
        let mut record = base();
        record.as_object_mut().unwrap().remove("status_label");
        for (k, v) in fields.as_object().unwrap() {
            record[k] = v.clone();
        }
        record["review_time"] = json!("1727792400");
        events(record)[2]["status"].clone()
    };
    assert_eq!(status_of(json!({"status": "2"})), json!("in_progress"));
    assert_eq!(status_of(json!({"status": "3"})), json!("in_progress"));
    assert_eq!(status_of(json!({"status": "4"})), json!("resolved"));
    assert_eq!(status_of(json!({"status": "Closed"})), json!("closed"));
    assert_eq!(
        status_of(json!({"status": "7", "status_label": "Escalated to IR", "status_end": "false"})),
        json!("in_progress")
    );
    assert_eq!(
        status_of(
            json!({"status": "8", "status_label": "Closed - Duplicate", "status_end": "true"})
        ),
        json!("closed")
    );
    let mut record = base();
    record["status"] = json!("9");
    record["status_label"] = json!("Mystery");
    let (reason, detail) = rejected(record);
    assert_eq!(reason, RejectReason::BadValue);
    assert!(detail.contains("`status_label` = \"Mystery\""), "{detail}");
}

#[test]
fn dispositions_map_by_id_or_label() {
    let disposition_of = |value: &str| {
        let mut record = base();
        record.as_object_mut().unwrap().remove("disposition_label");
        record["disposition"] = json!(value);
        events(record)[1].get("disposition").cloned()
    };
    assert_eq!(
        disposition_of("disposition:1"),
        Some(json!("true_positive"))
    );
    assert_eq!(
        disposition_of("disposition:2"),
        Some(json!("benign_positive"))
    );
    assert_eq!(
        disposition_of("disposition:4"),
        Some(json!("false_positive"))
    );
    assert_eq!(disposition_of("disposition:5"), Some(json!("undetermined")));
    assert_eq!(
        disposition_of("Benign Positive - Suspicious But Expected"),
        Some(json!("benign_positive"))
    );
    assert_eq!(disposition_of("disposition:9"), None);
}

#[test]
fn iso_times_results_wrappers_and_threat_matches_are_read() {
    let mut inner = base();
    inner["_time"] = json!("2020-08-24T12:10:17.000-07:00");
    inner["threat_match_field"] = json!("src");
    inner["orig_time"] = json!("1598295000");
    inner.as_object_mut().unwrap().remove("search_name");
    let out = events(json!({"preview": false, "offset": 0, "result": inner}));
    assert_eq!(out[0]["detected_at"], json!("2020-08-24T19:10:17.000Z"));
    assert_eq!(out[0]["occurred_at"], json!("2020-08-24T18:50:00.000Z"));
    assert_eq!(out[0]["rule"], json!("Recurring Malware Infection"));
    assert_eq!(out[0]["threat_intel"], json!(true));
}

#[test]
fn urgency_falls_back_to_severity_and_else_rejects() {
    let mut record = base();
    record["urgency"] = json!("unknown");
    assert_eq!(events(record.clone())[0]["severity"], json!("medium"));
    record["severity"] = json!("unknown");
    assert_eq!(rejected(record).0, RejectReason::BadValue);
}

#[test]
fn a_raw_notable_without_event_id_is_rejected_by_name() {
    let mut record = base();
    record.as_object_mut().unwrap().remove("event_id");
    let (reason, detail) = rejected(record);
    assert_eq!(reason, RejectReason::MissingField);
    assert!(detail.contains("`event_id`"), "{detail}");
}

#[test]
fn a_review_row_is_a_case_event_at_its_time() {
    let row = json!({"rule_id": EVENT_ID, "time": "1727796000.5", "status": "2",
                     "owner": "analyst2", "urgency": "critical", "disposition": "disposition:1",
                     "comment": "taking it", "user": "analyst2"});
    assert_eq!(
        events(row),
        vec![
            json!({"incident_id": EVENT_ID, "at": "2024-10-01T15:20:00.500Z",
                    "status": "in_progress", "severity": "critical", "assignee": "analyst2",
                    "disposition": "true_positive"})
        ]
    );
}

#[test]
fn a_review_time_before_detection_is_taken_as_detection() {
    let mut record = base();
    record["status"] = json!("2");
    record["status_label"] = json!("In Progress");
    record["review_time"] = json!("1727780000");
    assert_eq!(events(record)[2]["at"], json!("2024-10-01T12:20:00.000Z"));
}

#[test]
fn export_trailers_and_other_indexes_are_skipped() {
    for record in [
        json!({"preview": false, "lastrow": true}),
        json!({"messages": [{"type": "INFO", "text": "Your timerange was substituted"}]}),
        json!({"_time": "1727785200", "index": "risk", "risk_object": "h1", "risk_score": "40"}),
    ] {
        assert_eq!(
            decode(&record.to_string()),
            Err(Refusal::Skip(SkipReason::UnhandledType)),
            "{record}"
        );
    }
}
