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

fn refusal(record: Value) -> Refusal {
    decode(&record.to_string()).expect_err("refused")
}

/// TheHive 4's webhook (version 0) for case `~41161`, created 2024-10-01T12:00:00Z.
fn case_audit(operation: &str, details: Value, object: Value) -> Value {
    let mut base = json!({
        "_id": "~41161", "id": "~41161", "_type": "case", "caseId": 36,
        "title": "Phishing campaign", "severity": 2, "tlp": 2, "pap": 2,
        "startDate": 1_727_784_000_000_i64, "createdAt": 1_727_784_000_000_i64,
        "createdBy": "analyst@soc.local", "status": "Open", "owner": "analyst@soc.local",
        "flag": false, "tags": [], "customFields": {}, "stats": {}
    });
    for (k, v) in object.as_object().unwrap() {
        base[k] = v.clone();
    }
    json!({
        "operation": operation, "details": details, "objectType": "case",
        "objectId": "~41161", "base": true, "startDate": 1_727_787_600_000_i64,
        "rootId": "~41161", "requestId": "7f1a:1", "object": base,
        "organisationId": "~8248", "organisation": "soc-emea"
    })
}

#[test]
fn a_case_creation_is_new_at_its_created_at() {
    let record = case_audit(
        "Creation",
        json!({"title": "Phishing campaign", "status": "Open"}),
        json!({}),
    );
    assert_eq!(
        events(record),
        vec![
            json!({"incident_id": "~41161", "at": "2024-10-01T12:00:00.000Z", "status": "new",
                    "severity": "medium", "assignee": "analyst@soc.local", "tenant": "soc-emea"})
        ]
    );
}

#[test]
fn a_resolution_is_at_the_end_date_with_its_disposition() {
    let record = case_audit(
        "Update",
        json!({"status": "Resolved", "resolutionStatus": "FalsePositive",
               "impactStatus": "NoImpact", "summary": "benign", "endDate": 1_727_787_000_000_i64}),
        json!({"status": "Resolved", "resolutionStatus": "FalsePositive",
               "endDate": 1_727_787_000_000_i64, "updatedAt": 1_727_787_599_000_i64}),
    );
    assert_eq!(
        events(record),
        vec![
            json!({"incident_id": "~41161", "at": "2024-10-01T12:00:00.000Z", "status": "new",
                   "tenant": "soc-emea"}),
            json!({"incident_id": "~41161", "at": "2024-10-01T12:50:00.000Z",
                   "status": "resolved", "severity": "medium", "assignee": "analyst@soc.local",
                   "disposition": "false_positive", "tenant": "soc-emea"}),
        ]
    );
}

#[test]
fn an_update_setting_open_is_a_reopen_at_the_audit_time() {
    let record = case_audit(
        "Update",
        json!({"status": "Open"}),
        json!({"status": "Open"}),
    );
    let out = events(record);
    assert_eq!(
        out[1],
        json!({"incident_id": "~41161", "at": "2024-10-01T13:00:00.000Z", "status": "reopened",
               "severity": "medium", "assignee": "analyst@soc.local", "tenant": "soc-emea"})
    );
}

#[test]
fn an_owner_or_severity_change_on_an_open_case_is_work_on_it() {
    let record = case_audit(
        "Update",
        json!({"owner": "bob@soc.local"}),
        json!({"owner": "bob@soc.local", "severity": 3}),
    );
    let out = events(record);
    assert_eq!(
        out[1],
        json!({"incident_id": "~41161", "at": "2024-10-01T13:00:00.000Z",
               "status": "in_progress", "severity": "high", "assignee": "bob@soc.local",
               "tenant": "soc-emea"})
    );
}

#[test]
fn updates_of_fields_no_kpi_reads_and_deletions_are_no_change() {
    for record in [
        case_audit(
            "Update",
            json!({"description": "more text", "tags": ["x"]}),
            json!({}),
        ),
        case_audit("Update", json!({"impactStatus": "WithImpact"}), json!({})),
        case_audit(
            "Update",
            json!({"status": "Deleted"}),
            json!({"status": "Deleted"}),
        ),
        case_audit("Delete", json!({}), json!({})),
    ] {
        assert_eq!(refusal(record), Refusal::Skip(SkipReason::NoChange));
    }
}

#[test]
fn thehive5_stages_and_closed_status_names_are_read() {
    let mut record = case_audit(
        "update",
        json!({"status": "TruePositive", "stage": "Closed"}),
        json!({"status": "TruePositive", "stage": "Closed"}),
    );
    record["objectType"] = json!("Case");
    let out = events(record.clone());
    assert_eq!(out[1]["status"], json!("resolved"));
    assert_eq!(out[1]["disposition"], json!("true_positive"));
    record["details"] = json!({"status": "Escalated", "stage": "InProgress"});
    assert_eq!(events(record.clone())[1]["status"], json!("in_progress"));
    record["details"] = json!({"status": "Mystery"});
    record["object"]["stage"] = Value::Null;
    match refusal(record) {
        Refusal::Reject(r) => assert_eq!(r.reason, RejectReason::BadValue),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_end_date_before_creation_is_taken_as_creation() {
    let record = case_audit(
        "Update",
        json!({"status": "Resolved", "resolutionStatus": "TruePositive", "endDate": 1_700_000_000_000_i64}),
        json!({"status": "Resolved", "resolutionStatus": "TruePositive"}),
    );
    assert_eq!(events(record)[1]["at"], json!("2024-10-01T12:00:00.000Z"));
}

fn alert_audit(operation: &str, details: Value, object: Value) -> Value {
    let mut base = json!({
        "_id": "~8356", "id": "~8356", "_type": "alert", "type": "external",
        "source": "SIEM-Splunk", "sourceRef": "notable-4711", "title": "Brute force",
        "severity": 3, "date": 1_727_780_400_000_i64, "createdAt": 1_727_780_410_000_i64,
        "status": "New", "tlp": 2, "pap": 2, "tags": [], "artifacts": []
    });
    for (k, v) in object.as_object().unwrap() {
        base[k] = v.clone();
    }
    json!({
        "operation": operation, "details": details, "objectType": "alert",
        "objectId": "~8356", "base": true, "startDate": 1_727_784_000_000_i64,
        "rootId": "~8356", "requestId": "7f1a:2", "object": base,
        "organisationId": "~8248", "organisation": "soc-emea"
    })
}

#[test]
fn an_alert_creation_is_an_alert_of_its_source() {
    assert_eq!(
        events(alert_audit(
            "Creation",
            json!({"title": "Brute force"}),
            json!({})
        )),
        vec![
            json!({"alert_id": "notable-4711", "detected_at": "2024-10-01T11:00:00.000Z",
                    "source": "siem-splunk", "rule": "external", "severity": "high",
                    "tenant": "soc-emea"})
        ]
    );
}

#[test]
fn an_alert_imported_into_a_case_names_it_and_other_updates_are_no_change() {
    let out = events(alert_audit(
        "Update",
        json!({"status": "Imported", "case": "~41161"}),
        json!({"status": "Imported", "case": "~41161"}),
    ));
    assert_eq!(out[0]["incident_id"], json!("~41161"));
    assert_eq!(
        refusal(alert_audit(
            "Update",
            json!({"status": "Ignored"}),
            json!({})
        )),
        Refusal::Skip(SkipReason::NoChange)
    );
}

#[test]
fn an_alert_without_a_source_or_with_a_bad_severity_is_rejected_by_name() {
    let mut record = alert_audit("Creation", json!({}), json!({}));
    record["object"].as_object_mut().unwrap().remove("source");
    match refusal(record) {
        Refusal::Reject(r) => assert!(r.detail.contains("`object.source`"), "{}", r.detail),
        other => panic!("{other:?}"),
    }
    match refusal(alert_audit("Creation", json!({}), json!({"severity": 7}))) {
        Refusal::Reject(r) => assert_eq!(r.reason, RejectReason::BadValue),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tasks_observables_and_logs_are_unhandled() {
    for object_type in [
        "case_task",
        "case_artifact",
        "case_task_log",
        "Observable",
        "Task",
    ] {
        let mut record = case_audit("Creation", json!({}), json!({}));
        record["objectType"] = json!(object_type);
        assert_eq!(refusal(record), Refusal::Skip(SkipReason::UnhandledType));
    }
}
