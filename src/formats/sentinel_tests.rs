use std::borrow::Cow;

use serde_json::{Value, json};

use super::*;
use crate::formats::RejectReason;

fn at(text: &str) -> EventTime {
    EventTime::parse_rfc3339(text).unwrap()
}

/// Decodes the record's text, leaked so the events can outlive it (tests only).
fn run(record: &Value) -> Result<Vec<Event<'static>>, Refusal> {
    let text: &'static str = Box::leak(record.to_string().into_boxed_str());
    decode(text).map(|events| events.into_vec())
}

fn case(id: &str, status: Status, when: &str) -> CaseEvent<'static> {
    CaseEvent::new(Cow::Owned(id.into()), at(when), status)
}

fn rejection(record: &Value) -> Rejection {
    match run(record) {
        Err(Refusal::Reject(rejection)) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A Log Analytics SecurityIncident row as the Python SDK exports it: space-separated times,
/// `"None"` for nulls, `Owner` a JSON string.
fn la_incident() -> Value {
    json!({
        "TenantId": "e00daaf8-d6a4-4410-b50b-f5ef61c9cb45",
        "TimeGenerated": "2022-05-07 12:27:10.171000+00:00",
        "IncidentName": "919158c6-4c3f-4273-a730-a37f75622350",
        "Title": "AlertLog",
        "Severity": "Medium",
        "Status": "New",
        "Classification": "",
        "ClassificationReason": "",
        "Owner": "{\"objectId\":null,\"email\":null,\"assignedTo\":null,\"userPrincipalName\":null}",
        "ProviderName": "Azure Sentinel",
        "FirstActivityTime": "2022-05-07 11:46:36.502000+00:00",
        "FirstModifiedTime": "None",
        "LastModifiedTime": "2022-05-07 12:27:10.171000+00:00",
        "CreatedTime": "2022-05-07 12:27:10.171000+00:00",
        "ClosedTime": "None",
        "IncidentNumber": "1186",
        "AlertIds": "[\"17bbb3bd-00fb-73f0-573b-f2039bd3b5c5\"]",
        "Type": "SecurityIncident"
    })
}

#[test]
fn a_new_incident_row_is_one_new_event_at_its_creation() {
    let mut expected = case(
        "919158c6-4c3f-4273-a730-a37f75622350",
        Status::New,
        "2022-05-07T12:27:10.171Z",
    );
    expected.severity = Some(Severity::Medium);
    expected.occurred_at = Some(at("2022-05-07T11:46:36.502Z"));
    expected.tenant = Some("e00daaf8-d6a4-4410-b50b-f5ef61c9cb45".into());
    assert_eq!(run(&la_incident()), Ok(vec![Event::Case(expected)]));
}

#[test]
fn a_closed_row_gives_new_closed_at_the_close_time_and_its_current_state() {
    let mut row = la_incident();
    row["Status"] = "Closed".into();
    row["Classification"] = "TruePositive".into();
    row["ClassificationReason"] = "SuspiciousActivity".into();
    row["Owner"] =
        json!({"objectId": "2046feea", "email": "ana@contoso.com", "assignedTo": "Ana Diaz"});
    row["ClosedTime"] = "2022-05-07T15:00:00.1234567Z".into();
    row["LastModifiedTime"] = "2022-05-07T15:10:00.0000000Z".into();
    let events = run(&row).unwrap();
    let shape: Vec<_> = events
        .iter()
        .map(|e| match e {
            Event::Case(c) => (c.status, c.at),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        shape,
        [
            (Status::New, at("2022-05-07T12:27:10.171Z")),
            (Status::Closed, at("2022-05-07T15:00:00.123Z")),
            (Status::Closed, at("2022-05-07T15:10:00Z")),
        ]
    );
    for event in &events {
        let Event::Case(c) = event else {
            unreachable!()
        };
        assert_eq!(c.disposition, Some(Disposition::TruePositive));
        assert_eq!(c.assignee.as_deref(), Some("Ana Diaz"));
        assert_eq!(c.event_id, None);
    }
}

#[test]
fn the_same_snapshot_twice_gives_the_same_events() {
    let mut row = la_incident();
    row["Status"] = "Active".into();
    row["LastModifiedTime"] = "2022-05-07 13:00:00.000000+00:00".into();
    assert_eq!(run(&row), run(&row));
    let events = run(&row).unwrap();
    assert_eq!(events.len(), 2);
    let Event::Case(current) = &events[1] else {
        unreachable!()
    };
    assert_eq!(
        (current.status, current.at),
        (Status::InProgress, at("2022-05-07T13:00:00Z"))
    );
}

#[test]
fn a_row_without_last_modified_time_uses_time_generated() {
    let mut row = la_incident();
    row["Status"] = "Active".into();
    row["LastModifiedTime"] = "None".into();
    row["TimeGenerated"] = "2022-05-07 14:00:00.000000+00:00".into();
    let events = run(&row).unwrap();
    let Event::Case(current) = &events[1] else {
        unreachable!()
    };
    assert_eq!(current.at, at("2022-05-07T14:00:00Z"));
}

#[test]
fn a_classification_reason_alone_implies_the_disposition() {
    for (reason, disposition) in [
        ("SuspiciousActivity", Disposition::TruePositive),
        ("SuspiciousButExpected", Disposition::BenignPositive),
        ("IncorrectAlertLogic", Disposition::FalsePositive),
        ("InaccurateData", Disposition::FalsePositive),
    ] {
        let mut row = la_incident();
        row["ClassificationReason"] = reason.into();
        let Event::Case(c) = &run(&row).unwrap()[0] else {
            unreachable!()
        };
        assert_eq!(c.disposition, Some(disposition), "{reason}");
    }
}

/// The REST API's Get example (azure-rest-api-specs, 2024-09-01, GetIncidentById.json).
fn arm_incident() -> Value {
    json!({
        "id": "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5",
        "name": "73e01a99-5cd7-4139-a149-9f2736ff2ab5",
        "type": "Microsoft.SecurityInsights/incidents",
        "properties": {
            "lastModifiedTimeUtc": "2019-01-01T13:15:30Z",
            "createdTimeUtc": "2019-01-01T13:05:30Z",
            "firstActivityTimeUtc": "2019-01-01T13:00:30Z",
            "owner": {"objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70", "email": "john.doe@contoso.com", "assignedTo": "john doe"},
            "severity": "High",
            "classification": "FalsePositive",
            "classificationReason": "InaccurateData",
            "status": "Closed",
            "incidentNumber": 3177
        }
    })
}

#[test]
fn an_arm_closed_incident_is_closed_at_its_last_modified_time() {
    let id = "73e01a99-5cd7-4139-a149-9f2736ff2ab5";
    let fill = |mut c: CaseEvent<'static>| {
        c.severity = Some(Severity::High);
        c.assignee = Some("john doe".into());
        c.disposition = Some(Disposition::FalsePositive);
        c.occurred_at = Some(at("2019-01-01T13:00:30Z"));
        Event::Case(c)
    };
    assert_eq!(
        run(&arm_incident()),
        Ok(vec![
            fill(case(id, Status::New, "2019-01-01T13:05:30Z")),
            fill(case(id, Status::Closed, "2019-01-01T13:15:30Z")),
        ])
    );
}

#[test]
fn both_forms_name_the_same_incident() {
    let mut row = la_incident();
    row["IncidentName"] = "73e01a99-5cd7-4139-a149-9f2736ff2ab5".into();
    let ids = |record: &Value| -> Vec<String> {
        run(record)
            .unwrap()
            .iter()
            .map(|e| match e {
                Event::Case(c) => c.incident_id.to_string(),
                _ => unreachable!(),
            })
            .collect()
    };
    assert_eq!(ids(&row)[0], ids(&arm_incident())[0]);
}

#[test]
fn an_la_alert_row_is_an_alert_with_its_product_as_source() {
    let row = json!({
        "TenantId": "e00daaf8-d6a4-4410-b50b-f5ef61c9cb45",
        "TimeGenerated": "2022-05-04 16:47:08.560000+00:00",
        "AlertName": "AlertLog",
        "AlertSeverity": "Medium",
        "SystemAlertId": "50396c5f-2cb6-9d2f-e601-9f430bf17869",
        "ConfidenceScore": "None",
        "StartTime": "2022-05-04 16:08:32.180000+00:00",
        "ProductName": "Azure Sentinel",
        "CompromisedEntity": "",
        "Entities": "",
        "Type": "SecurityAlert"
    });
    assert_eq!(
        run(&row),
        Ok(vec![Event::Alert(Alert {
            alert_id: "50396c5f-2cb6-9d2f-e601-9f430bf17869".into(),
            detected_at: at("2022-05-04T16:47:08.560Z"),
            occurred_at: Some(at("2022-05-04T16:08:32.180Z")),
            source: "azure sentinel".into(),
            rule: Some("AlertLog".into()),
            severity: Severity::Medium,
            incident_id: None,
            asset: None,
            tenant: Some("e00daaf8-d6a4-4410-b50b-f5ef61c9cb45".into()),
            threat_intel: false,
        })])
    );
}

#[test]
fn an_arm_alert_reads_properties_and_seven_digit_fractions() {
    let alert = json!({
        "id": "/subscriptions/bd794837/resourceGroups/myRG/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/Entities/baa8a239-6fde-4ab7-a093-d09f7b75c58c",
        "name": "baa8a239-6fde-4ab7-a093-d09f7b75c58c",
        "type": "Microsoft.SecurityInsights/Entities",
        "kind": "SecurityAlert",
        "properties": {
            "systemAlertId": "baa8a239-6fde-4ab7-a093-d09f7b75c58c",
            "alertDisplayName": "myAlert",
            "severity": "Low",
            "productName": "Azure Security Center",
            "startTimeUtc": "2020-07-20T18:21:53.6158361Z",
            "timeGenerated": "2020-07-20T18:21:53.6158361Z"
        }
    });
    let Event::Alert(a) = &run(&alert).unwrap()[0] else {
        unreachable!()
    };
    assert_eq!(a.detected_at, at("2020-07-20T18:21:53.615Z"));
    assert_eq!(a.source, "azure security center");
    assert_eq!(a.severity, Severity::Low);
    assert_eq!(a.tenant, None);
}

#[test]
fn other_tables_and_resources_are_skipped() {
    for record in [
        json!({"Type": "SecurityEvent", "TimeGenerated": "2022-05-25 12:04:38.070000+00:00"}),
        json!({"name": "x", "type": "Microsoft.SecurityInsights/Entities", "kind": "Account", "properties": {}}),
        json!({"TimeGenerated": "2022-05-25 12:04:38.070000+00:00"}),
    ] {
        assert_eq!(
            run(&record),
            Err(Refusal::Skip(SkipReason::UnhandledType)),
            "{record}"
        );
    }
}

#[test]
fn missing_and_bad_fields_are_rejected_by_name() {
    let mut row = la_incident();
    row["IncidentName"] = "None".into();
    let missing = rejection(&row);
    assert_eq!(missing.reason, RejectReason::MissingField);
    assert!(
        missing.detail.contains("`IncidentName`"),
        "{}",
        missing.detail
    );

    let mut row = la_incident();
    row["Status"] = "Resolved".into();
    let bad = rejection(&row);
    assert_eq!(bad.reason, RejectReason::BadValue);
    assert!(bad.detail.contains("`Status`"), "{}", bad.detail);

    let mut row = la_incident();
    row["Owner"] = "{not json".into();
    assert_eq!(rejection(&row).reason, RejectReason::BadValue);

    let mut arm = arm_incident();
    arm["properties"]["lastModifiedTimeUtc"] = Value::Null;
    let missing = rejection(&arm);
    assert!(
        missing.detail.contains("`properties.lastModifiedTimeUtc`"),
        "{}",
        missing.detail
    );
}

#[test]
fn none_is_null_anywhere() {
    let mut value = json!({"a": "None", "b": ["None", {"c": "None"}], "d": "Nonesuch"});
    null_nones(&mut value);
    assert_eq!(
        value,
        json!({"a": null, "b": [null, {"c": null}], "d": "Nonesuch"})
    );
}
