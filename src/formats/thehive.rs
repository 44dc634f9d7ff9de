//! The `thehive` adapter: TheHive webhook messages, the audit trail TheHive 3 sends and
//! TheHive 4 sends in the same form (webhook `version: 0`, plus `organisation`), also read in
//! TheHive 4's `version: 1` form (`Case`, `_createdAt`, `assignee`) and with TheHive 5's
//! `stage` and status names. One message is one operation (`Creation`, `Update`, `Delete`)
//! on one object; `object` is the object after it, and in an update `details` holds only the
//! fields that changed. The change time is the audit's own `startDate` (`audit._createdAt`).
//!
//! Cases are incidents: a creation is `new` at the case's `createdAt`; an update of a field
//! the KPIs read is a case event at the audit time (a resolution at the case's `endDate`),
//! and also restates `new` at `createdAt` so a lost creation message costs nothing. An
//! update that sets `Open` is a reopen: an update can only set Open from Resolved. Alerts
//! are alerts only, naming a case once imported into one (PRODUCT.md §6). Tasks,
//! observables, logs and jobs are skipped. docs/formats.md (section `thehive`) is the mapping's contract.

use std::borrow::Cow;

use serde_json::Value;

use super::{Events, Refusal, Rejection, SkipReason, fields};
use crate::event::{Alert, CaseEvent, Disposition, Event, EventTime, Severity, Status};

/// The case fields whose change the KPIs read; an update of any other is no change.
const CASE_FIELDS: [&str; 7] = [
    "status",
    "stage",
    "resolutionStatus",
    "owner",
    "assignee",
    "severity",
    "endDate",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Creation,
    Update,
    Delete,
}

pub fn decode(text: &str) -> Result<Events<'_>, Refusal> {
    let record = fields::object(text)?;
    let object_type = fields::required_text(&record, "objectType")?.to_ascii_lowercase();
    let operation = operation(&record)?;
    match object_type.as_str() {
        "case" => case(&record, operation),
        "alert" => alert(&record, operation),
        // case_task, case_artifact, case_task_log, Task, Observable, Log, Job, user…
        _ => Err(Refusal::Skip(SkipReason::UnhandledType)),
    }
}

fn operation(record: &Value) -> Result<Operation, Rejection> {
    let text = fields::first_text(record, &["operation", "action"])
        .ok_or_else(|| Rejection::missing("operation"))?;
    Ok(match text.to_ascii_lowercase().as_str() {
        "creation" | "create" => Operation::Creation,
        "update" | "merge" => Operation::Update,
        "delete" | "deletion" => Operation::Delete,
        _ => {
            return Err(Rejection::bad_value(format!(
                "`operation` = {text:?} is not Creation, Update or Delete"
            )));
        }
    })
}

/// The organisation: TheHive 4's tenant, on alerts and cases alike; TheHive 3 has none.
fn tenant(record: &Value) -> Option<Cow<'static, str>> {
    fields::text(record, "organisation").map(fields::owned)
}

fn case<'a>(record: &Value, operation: Operation) -> Result<Events<'a>, Refusal> {
    // A deleted case leaves no trace the engine could remove: nothing to count.
    if operation == Operation::Delete {
        return Err(Refusal::Skip(SkipReason::NoChange));
    }
    if operation == Operation::Update && !CASE_FIELDS.iter().any(|f| changed(record, f)) {
        return Err(Refusal::Skip(SkipReason::NoChange));
    }
    let incident_id = fields::owned(
        fields::first_text(record, &["objectId", "object._id", "object.id"])
            .ok_or_else(|| Rejection::missing("objectId"))?,
    );
    let created_at = fields::first_time(record, &["object.createdAt", "object._createdAt"])?;
    let audit_at = fields::first_time(record, &["startDate"])?;
    let tenant = tenant(record);
    let severity = severity(record, &["object.severity", "details.severity"])?;
    let assignee = fields::first_text(
        record,
        &[
            "object.assignee",
            "object.owner",
            "details.assignee",
            "details.owner",
        ],
    )
    .map(fields::owned);

    let mut events = Events::new();
    let current = match operation {
        Operation::Creation => {
            let at = created_at
                .or(audit_at)
                .ok_or_else(|| Rejection::missing("object.createdAt"))?;
            let mut opened = blank(incident_id.clone(), at, Status::New, tenant.clone());
            opened.severity = severity;
            opened.assignee = assignee.clone();
            events.push(Event::Case(opened));
            // A case created already closed (an import, a merge) also gives its resolution.
            match current_status(record)? {
                Some(status) if status.resolves() => status,
                _ => return Ok(events),
            }
        }
        _ => {
            if let Some(at) = created_at {
                events.push(Event::Case(blank(
                    incident_id.clone(),
                    at,
                    Status::New,
                    tenant.clone(),
                )));
            }
            let status = if changed(record, "status") || changed(record, "stage") {
                transition(record)?
            } else {
                current_status(record)?
            };
            let Some(status) = status else {
                return Err(Refusal::Skip(SkipReason::NoChange));
            };
            status
        }
    };
    let audit_at = audit_at
        .or(fields::first_time(
            record,
            &["object.updatedAt", "object._updatedAt"],
        )?)
        .ok_or_else(|| Rejection::missing("startDate"))?;
    let mut at = audit_at;
    let mut disposition = None;
    if current.resolves() {
        // The case's close time, never before the case existed.
        if let Some(end) = fields::first_time(record, &["details.endDate", "object.endDate"])? {
            at = created_at.map_or(end, |created| end.max(created));
        }
        disposition = resolution(record);
    }
    let mut event = blank(incident_id, at, current, tenant);
    event.severity = severity;
    event.assignee = assignee;
    event.disposition = disposition;
    events.push(Event::Case(event));
    Ok(events)
}

/// Whether an update's `details` names `field` (a change to null counts: a cleared owner).
fn changed(record: &Value, field: &str) -> bool {
    record
        .get("details")
        .and_then(|details| details.get(field))
        .is_some()
}

/// The status an update's `details` set. TheHive 3/4 cases are created Open, so an update
/// setting Open comes from Resolved: a reopen.
fn transition(record: &Value) -> Result<Option<Status>, Rejection> {
    match fields::text(record, "details.status") {
        Some(status) if status.eq_ignore_ascii_case("open") => Ok(Some(Status::Reopened)),
        Some(status) => status_word(record, &status, "details.status"),
        None => stage(record),
    }
}

/// The case's status after the operation, from `object` (an update that changed no status).
/// TheHive 3/4's Open is the working state: a change to an open case is work on it.
fn current_status(record: &Value) -> Result<Option<Status>, Rejection> {
    match fields::text(record, "object.status") {
        Some(status) if status.eq_ignore_ascii_case("open") => Ok(Some(Status::InProgress)),
        Some(status) => status_word(record, &status, "object.status"),
        None => stage(record),
    }
}

/// A status name: TheHive 3/4's `Resolved`, `Duplicated`, `Deleted`; TheHive 5's defaults
/// (`New`, `InProgress`, and the closed `TruePositive`, `FalsePositive`, `Indeterminate`,
/// `Other`, `Duplicated`); a custom TheHive 5 status by its `stage`. `None`: deleted.
fn status_word(record: &Value, status: &str, field: &str) -> Result<Option<Status>, Rejection> {
    Ok(Some(match status.to_ascii_lowercase().as_str() {
        "new" => Status::New,
        "inprogress" => Status::InProgress,
        "resolved" | "truepositive" | "falsepositive" | "indeterminate" | "other" => {
            Status::Resolved
        }
        "duplicated" => Status::Closed,
        "deleted" => return Ok(None),
        _ => {
            return stage(record)?.map(Some).ok_or_else(|| {
                Rejection::bad_value(format!(
                    "`{field}` = {status:?} is not a TheHive case status, and no `stage` says \
                     what it means"
                ))
            });
        }
    }))
}

/// TheHive 5's stage of a (custom) status: New, InProgress or Closed.
fn stage(record: &Value) -> Result<Option<Status>, Rejection> {
    let Some(stage) = fields::first_text(record, &["details.stage", "object.stage"]) else {
        return Ok(None);
    };
    Ok(Some(match stage.to_ascii_lowercase().as_str() {
        "new" => Status::New,
        "inprogress" => Status::InProgress,
        "closed" => Status::Resolved,
        _ => {
            return Err(Rejection::bad_value(format!(
                "`stage` = {stage:?} is not New, InProgress or Closed"
            )));
        }
    }))
}

/// `resolutionStatus` (TheHive 3/4), else TheHive 5's closed status name.
fn resolution(record: &Value) -> Option<Disposition> {
    let word = fields::first_text(
        record,
        &[
            "details.resolutionStatus",
            "object.resolutionStatus",
            "details.status",
            "object.status",
        ],
    )?;
    Some(match word.to_ascii_lowercase().as_str() {
        "truepositive" => Disposition::TruePositive,
        "falsepositive" => Disposition::FalsePositive,
        "indeterminate" | "other" => Disposition::Undetermined,
        // Duplicated: the verdict is the other case's.
        _ => return None,
    })
}

/// TheHive's severity, 1–4: low, medium, high, critical.
fn severity(record: &Value, paths: &[&str]) -> Result<Option<Severity>, Rejection> {
    for path in paths {
        if fields::get(record, path).is_none() {
            continue;
        }
        return Ok(Some(match fields::integer(record, path) {
            Some(1) => Severity::Low,
            Some(2) => Severity::Medium,
            Some(3) => Severity::High,
            Some(4) => Severity::Critical,
            _ => {
                return Err(Rejection::bad_value(format!(
                    "`{path}` = {} is not a TheHive severity (1–4)",
                    fields::get(record, path).map_or(Value::Null, Value::clone)
                )));
            }
        }));
    }
    Ok(None)
}

fn alert<'a>(record: &Value, operation: Operation) -> Result<Events<'a>, Refusal> {
    let links_case = changed(record, "case") || changed(record, "caseId");
    match operation {
        Operation::Delete => return Err(Refusal::Skip(SkipReason::NoChange)),
        Operation::Update if !links_case => return Err(Refusal::Skip(SkipReason::NoChange)),
        _ => {}
    }
    let alert_id = fields::first_text(
        record,
        &["object.sourceRef", "objectId", "object._id", "object.id"],
    )
    .ok_or_else(|| Rejection::missing("object.sourceRef"))?;
    let source = fields::required_text(record, "object.source")?.to_lowercase();
    let severity = severity(record, &["object.severity"])?
        .ok_or_else(|| Rejection::missing("object.severity"))?;
    let detected_at: EventTime = fields::required_time(
        record,
        &["object.date", "object.createdAt", "object._createdAt"],
    )?;
    let alert = Alert {
        alert_id: fields::owned(alert_id),
        detected_at,
        occurred_at: None,
        source: Cow::Owned(source),
        rule: fields::text(record, "object.type").map(fields::owned),
        severity,
        incident_id: fields::first_text(
            record,
            &[
                "details.case",
                "details.caseId",
                "object.case",
                "object.caseId",
            ],
        )
        .map(fields::owned),
        asset: None,
        tenant: tenant(record),
        threat_intel: false,
    };
    Ok(Events::from_buf([Event::Alert(alert)]))
}

fn blank<'a>(
    incident_id: Cow<'a, str>,
    at: EventTime,
    status: Status,
    tenant: Option<Cow<'a, str>>,
) -> CaseEvent<'a> {
    CaseEvent {
        tenant,
        ..CaseEvent::new(incident_id, at, status)
    }
}

#[cfg(test)]
#[path = "thehive_tests.rs"]
mod tests;
