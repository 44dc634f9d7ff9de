//! The `sentinel` adapter: Microsoft Sentinel `SecurityAlert` and `SecurityIncident` records, in
//! the Log Analytics column form (`Type`, `TimeGenerated`, `IncidentName`…) and in the ARM/REST
//! resource form (`name`, `type`/`kind`, `properties.*`). docs/formats.md (section `sentinel`) is the
//! mapping field by field.
//!
//! Invariants: a SecurityAlert row is one alert and never names an incident; a SecurityIncident
//! row is a snapshot of the incident after one update, and becomes case events that are the same
//! whichever snapshot, or how many times one, arrives: `new` at the creation time, the current
//! status at the snapshot's last-modified time, and `closed` at the close time where the row
//! gives one. The string `"None"` (how exports write a null) is null anywhere in the record.

use std::borrow::Cow;

use serde_json::Value;

use super::fields::{self, owned};
use super::{Events, Refusal, Rejection, SkipReason};
use crate::event::{Alert, CaseEvent, Disposition, Event, EventTime, Severity, Status};

/// One Sentinel record: an alert, the case events of an incident snapshot, or a skip.
pub fn decode(text: &str) -> Result<Events<'_>, Refusal> {
    let mut record = fields::object(text)?;
    null_nones(&mut record);
    match kind(&record) {
        Some(Kind::Alert(form)) => Ok(Events::from_buf([Event::Alert(alert(&record, form)?)])),
        Some(Kind::Incident(form)) => Ok(incident(&record, form)?),
        None => Err(Refusal::Skip(SkipReason::UnhandledType)),
    }
}

/// The two shapes Sentinel writes the same facts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// A Log Analytics row: PascalCase columns at the top level.
    Columns,
    /// An ARM resource: `name` at the top, camelCase fields under `properties`.
    Arm,
}

impl Form {
    /// The field's path in this form: the column name, or `properties.<camelCase>`.
    fn path(self, column: &'static str, property: &'static str) -> &'static str {
        match self {
            Form::Columns => column,
            Form::Arm => property,
        }
    }
}

enum Kind {
    Alert(Form),
    Incident(Form),
}

/// Which record this is: a Log Analytics row by its `Type` column, an ARM resource by its
/// `type` (incidents) or `kind` (alerts, listed as `Microsoft.SecurityInsights/Entities`).
fn kind(record: &Value) -> Option<Kind> {
    if record.get("properties").is_some_and(Value::is_object) {
        let is = |path: &str, expected: &str| {
            fields::text(record, path).is_some_and(|t| t.eq_ignore_ascii_case(expected))
        };
        if is("type", "Microsoft.SecurityInsights/incidents") {
            return Some(Kind::Incident(Form::Arm));
        }
        if is("kind", "SecurityAlert") {
            return Some(Kind::Alert(Form::Arm));
        }
        return None;
    }
    match fields::text(record, "Type")?.as_ref() {
        "SecurityAlert" => Some(Kind::Alert(Form::Columns)),
        "SecurityIncident" => Some(Kind::Incident(Form::Columns)),
        _ => None,
    }
}

fn alert(record: &Value, form: Form) -> Result<Alert<'static>, Rejection> {
    let path = |column, property| form.path(column, property);
    let alert_id =
        fields::required_text(record, path("SystemAlertId", "properties.systemAlertId"))?;
    let detected_at =
        fields::required_time(record, &[path("TimeGenerated", "properties.timeGenerated")])?;
    let occurred_at = fields::time_at(record, path("StartTime", "properties.startTimeUtc"))?;
    let source = fields::required_text(record, path("ProductName", "properties.productName"))?;
    let severity_path = path("AlertSeverity", "properties.severity");
    let severity =
        severity(record, severity_path)?.ok_or_else(|| Rejection::missing(severity_path))?;
    Ok(Alert {
        alert_id: owned(alert_id),
        detected_at,
        occurred_at,
        source: source.to_lowercase().into(),
        rule: fields::text(record, path("AlertName", "properties.alertDisplayName")).map(owned),
        severity,
        incident_id: None,
        asset: fields::text(
            record,
            path("CompromisedEntity", "properties.compromisedEntity"),
        )
        .map(owned),
        tenant: tenant(record, form),
        threat_intel: false,
    })
}

/// The case events one incident snapshot implies, each at the time the snapshot gives for it.
fn incident<'a>(record: &Value, form: Form) -> Result<Events<'a>, Rejection> {
    let path = |column, property| form.path(column, property);
    let incident_id = owned(fields::required_text(record, path("IncidentName", "name"))?);
    let status_path = path("Status", "properties.status");
    let status = match fields::required_text(record, status_path)?.as_ref() {
        s if s.eq_ignore_ascii_case("New") => Status::New,
        s if s.eq_ignore_ascii_case("Active") => Status::InProgress,
        s if s.eq_ignore_ascii_case("Closed") => Status::Closed,
        other => {
            return Err(Rejection::bad_value(format!(
                "`{status_path}` = {other:?} is not a Sentinel incident status (New, Active, Closed)"
            )));
        }
    };
    let created_at =
        fields::required_time(record, &[path("CreatedTime", "properties.createdTimeUtc")])?;
    // A row is written at each update: its last-modified time (or, in a row without one, the
    // time the row was written) is when the snapshot's state was reached.
    let modified_paths: &[&str] = match form {
        Form::Columns => &["LastModifiedTime", "TimeGenerated"],
        Form::Arm => &["properties.lastModifiedTimeUtc"],
    };
    let modified_at = fields::required_time(record, modified_paths)?;
    // The ARM form has no close time: a Closed snapshot's last-modified time is when it was
    // seen closed, and the minimum over snapshots is the first close.
    let closed_at = match form {
        Form::Columns => fields::time_at(record, "ClosedTime")?,
        Form::Arm => None,
    };
    let template: CaseEvent<'a> = CaseEvent {
        incident_id,
        at: created_at,
        status: Status::New,
        event_id: None,
        severity: severity(record, path("Severity", "properties.severity"))?,
        tier: None,
        assignee: assignee(record, form)?,
        disposition: disposition(record, form)?,
        detection: None,
        occurred_at: fields::time_at(
            record,
            path("FirstActivityTime", "properties.firstActivityTimeUtc"),
        )?,
        root_cause: None,
        cost: None,
        threat_intel: None,
        tenant: tenant(record, form),
    };
    let mut events = Events::new();
    let mut emit = |status: Status, at: EventTime| {
        let duplicate = events
            .iter()
            .any(|e| matches!(e, Event::Case(c) if c.status == status && c.at == at));
        if !duplicate {
            events.push(Event::Case(CaseEvent {
                status,
                at,
                ..template.clone()
            }));
        }
    };
    emit(Status::New, created_at);
    if let Some(at) = closed_at {
        emit(Status::Closed, at);
    }
    emit(status, modified_at);
    Ok(events)
}

/// `TenantId`, the Log Analytics column on both tables; the ARM resource carries none.
fn tenant(record: &Value, form: Form) -> Option<Cow<'static, str>> {
    match form {
        Form::Columns => fields::text(record, "TenantId").map(owned),
        Form::Arm => None,
    }
}

/// Sentinel's four severities; an unknown word is a bad value.
fn severity(record: &Value, path: &str) -> Result<Option<Severity>, Rejection> {
    let Some(word) = fields::text(record, path) else {
        return Ok(None);
    };
    fields::severity_word(&word).map(Some).ok_or_else(|| {
        Rejection::bad_value(format!(
            "`{path}` = {word:?} is not a Sentinel severity (High, Medium, Low, Informational)"
        ))
    })
}

/// The owner's display name, else its email, else its user principal name. The Log Analytics
/// `Owner` column is a JSON object written as a string (or, re-parsed, an object).
fn assignee(record: &Value, form: Form) -> Result<Option<Cow<'static, str>>, Rejection> {
    let path = form.path("Owner", "properties.owner");
    let parsed;
    let owner = match fields::get(record, path) {
        None => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => {
            let mut value: Value = serde_json::from_str(s).map_err(|e| {
                Rejection::bad_value(format!("`{path}` is not a JSON owner object: {e}"))
            })?;
            null_nones(&mut value);
            parsed = value;
            &parsed
        }
        Some(value) => value,
    };
    Ok(fields::first_text(owner, &["assignedTo", "email", "userPrincipalName"]).map(owned))
}

/// `Classification`, or where it is empty the `ClassificationReason` that implies one.
fn disposition(record: &Value, form: Form) -> Result<Option<Disposition>, Rejection> {
    let path = form.path("Classification", "properties.classification");
    if let Some(word) = fields::text(record, path) {
        return Ok(Some(match word.as_ref() {
            "TruePositive" => Disposition::TruePositive,
            "FalsePositive" => Disposition::FalsePositive,
            "BenignPositive" => Disposition::BenignPositive,
            "Undetermined" => Disposition::Undetermined,
            other => {
                return Err(Rejection::bad_value(format!(
                    "`{path}` = {other:?} is not a Sentinel classification (TruePositive, \
                     FalsePositive, BenignPositive, Undetermined)"
                )));
            }
        }));
    }
    let reason = form.path("ClassificationReason", "properties.classificationReason");
    Ok(
        fields::text(record, reason).and_then(|word| match word.as_ref() {
            "SuspiciousActivity" => Some(Disposition::TruePositive),
            "SuspiciousButExpected" => Some(Disposition::BenignPositive),
            "IncorrectAlertLogic" | "InaccurateData" => Some(Disposition::FalsePositive),
            _ => None,
        }),
    )
}

/// Replaces every string `"None"` with null: Log Analytics exports (the Python SDK's `str()` of
/// a null) write it for an empty datetime, number or dynamic column.
fn null_nones(value: &mut Value) {
    match value {
        Value::String(s) if s == "None" => *value = Value::Null,
        Value::Array(items) => items.iter_mut().for_each(null_nones),
        Value::Object(map) => map.values_mut().for_each(null_nones),
        _ => {}
    }
}

#[cfg(test)]
#[path = "sentinel_tests.rs"]
mod tests;
