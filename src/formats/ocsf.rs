//! The `ocsf` adapter: OCSF Detection Findings (class 2004) become alerts, Incident Findings
//! (class 2005) become case events; every other class is skipped as unhandled (PRODUCT.md §6).
//! docs/formats.md (section `ocsf`) is the mapping, field by field, with the schema pages it follows.
//!
//! Invariants: an Incident Finding is a snapshot, so its events carry no `event_id` and sit at
//! the record's `time` (the activity's time), never earlier; a Detection Finding's alert is
//! identified by `finding_info.uid`, so its Update and Close activities repeat the same alert
//! and dedupe. Times are read as epoch numbers first (`time`), then the `_dt` sibling of the
//! datetime profile (`time_dt`).

use serde_json::Value;

use super::fields::{self, owned};
use super::{Events, Refusal, Rejection, SkipReason};
use crate::event::{Alert, CaseEvent, Disposition, Event, EventTime, Severity, Status};

const DETECTION_FINDING: i64 = 2004;
const INCIDENT_FINDING: i64 = 2005;

/// `activity_id` 1: the Incident Finding reports the incident's creation.
const CREATE: i64 = 1;

pub fn decode(text: &str) -> Result<Events<'_>, Refusal> {
    let record = fields::object(text)?;
    match enum_id(&record, "class_uid")? {
        Some(DETECTION_FINDING) => detection(&record),
        Some(INCIDENT_FINDING) => incident(&record),
        Some(_) => Err(Refusal::Skip(SkipReason::UnhandledType)),
        None => Err(Rejection::missing("class_uid").into()),
    }
}

/// A Detection Finding: one alert, detected when the finding was created.
fn detection<'a>(record: &Value) -> Result<Events<'a>, Refusal> {
    // The producer says this finding is not an alertable signal (a Close, say).
    if fields::flag(record, "is_alert") == Some(false) {
        return Err(Refusal::Skip(SkipReason::NoChange));
    }
    let alert_id = owned(fields::required_text(record, "finding_info.uid")?);
    let detected_at = first_time(record, &["finding_info.created_time", "time"])?
        .ok_or_else(|| Rejection::missing("time"))?;
    let alert = Alert {
        alert_id,
        detected_at,
        occurred_at: first_time(record, &["finding_info.first_seen_time", "start_time"])?,
        source: source(record)?.into(),
        rule: fields::first_text(
            record,
            &["finding_info.title", "finding_info.analytic.name"],
        )
        .map(owned),
        severity: severity(record)?.unwrap_or(Severity::Informational),
        incident_id: None,
        asset: asset(record).map(owned),
        tenant: fields::text(record, "metadata.tenant_uid").map(owned),
        threat_intel: threat_intel(record),
    };
    Ok(Events::from_buf([Event::Alert(alert)]))
}

/// An Incident Finding: a snapshot of the incident at the activity's `time`.
fn incident<'a>(record: &Value) -> Result<Events<'a>, Refusal> {
    // ocsf-schema#903: the class has no incident uid of its own; `metadata.uid` is it.
    let incident_id = fields::first_text(record, &["metadata.uid", "finding_info.uid"])
        .map(owned)
        .ok_or_else(|| Rejection::missing("metadata.uid"))?;
    let at = time_of(record, "time")?.ok_or_else(|| Rejection::missing("time"))?;
    let status = incident_status(record)?;
    let created = enum_id(record, "activity_id")? == Some(CREATE);
    let template = CaseEvent {
        incident_id,
        at,
        status: Status::New,
        event_id: None,
        severity: match severity(record)? {
            Some(level) => Some(level),
            None => priority(record)?,
        },
        tier: None,
        assignee: fields::first_text(
            record,
            &["assignee.name", "assignee.email_addr", "assignee.uid"],
        )
        .map(owned),
        disposition: verdict(record)?,
        detection: None,
        occurred_at: incident_occurred(record)?,
        root_cause: None,
        cost: None,
        threat_intel: threat_intel(record).then_some(true),
        tenant: fields::text(record, "metadata.tenant_uid").map(owned),
    };
    let mut statuses: Vec<Status> = Vec::with_capacity(2);
    if created || status == Some(Status::New) {
        statuses.push(Status::New);
    }
    if let Some(current) = status.filter(|s| *s != Status::New) {
        statuses.push(current);
    }
    if statuses.is_empty() {
        // An Update whose status is Unknown/Other: nothing we can place on the lifecycle.
        return Err(Refusal::Skip(SkipReason::NoChange));
    }
    Ok(statuses
        .into_iter()
        .map(|status| {
            Event::Case(CaseEvent {
                status,
                ..template.clone()
            })
        })
        .collect())
}

/// `metadata.product.name`, lowercased: the tool that raised the finding.
fn source(record: &Value) -> Result<String, Rejection> {
    Ok(fields::required_text(record, "metadata.product.name")?
        .trim()
        .to_lowercase())
}

/// The affected host: the `device`, else the first affected resource.
fn asset(record: &Value) -> Option<std::borrow::Cow<'_, str>> {
    fields::first_text(record, &["device.hostname", "device.name", "device.uid"]).or_else(|| {
        array(record, "resources")
            .iter()
            .find_map(|resource| fields::first_text(resource, &["hostname", "name", "uid"]))
    })
}

/// Enriched by threat intelligence: an enrichment of a threat-intel kind or carrying a
/// reputation, an observable's reputation, or OSINT attached to the finding. A location
/// enrichment (the schema's own example) is not threat intelligence.
fn threat_intel(record: &Value) -> bool {
    const INTEL: [&str; 5] = ["threat", "intel", "ioc", "reputation", "malware"];
    let intel_kind = |enrichment: &Value| {
        fields::text(enrichment, "type").is_some_and(|kind| {
            let kind = kind.to_ascii_lowercase();
            INTEL.iter().any(|word| kind.contains(word))
        })
    };
    array(record, "enrichments")
        .iter()
        .any(|e| fields::get(e, "reputation").is_some() || intel_kind(e))
        || array(record, "observables")
            .iter()
            .any(|o| fields::get(o, "reputation").is_some())
        || !array(record, "osint").is_empty()
}

/// `severity_id`; Fatal is above critical, so critical. Unknown (0) is `None` (an alert then
/// takes informational, a case event no severity); Other (99) reads the `severity` caption.
fn severity(record: &Value) -> Result<Option<Severity>, Rejection> {
    Ok(match enum_id(record, "severity_id")? {
        Some(1) => Some(Severity::Informational),
        Some(2) => Some(Severity::Low),
        Some(3) => Some(Severity::Medium),
        Some(4) => Some(Severity::High),
        Some(5 | 6) => Some(Severity::Critical),
        Some(0 | 99) | None => caption_severity(record, "severity"),
        Some(other) => return Err(Rejection::bad_value(format!("`severity_id` = {other}"))),
    })
}

/// `priority_id` (0 Unknown, 1 Low … 4 Critical, 99 Other): an incident's severity when its
/// `severity_id` gives none.
fn priority(record: &Value) -> Result<Option<Severity>, Rejection> {
    Ok(match enum_id(record, "priority_id")? {
        Some(1) => Some(Severity::Low),
        Some(2) => Some(Severity::Medium),
        Some(3) => Some(Severity::High),
        Some(4) => Some(Severity::Critical),
        Some(0 | 99) | None => caption_severity(record, "priority"),
        Some(other) => return Err(Rejection::bad_value(format!("`priority_id` = {other}"))),
    })
}

fn caption_severity(record: &Value, path: &str) -> Option<Severity> {
    let caption = fields::text(record, path)?;
    if caption.trim().eq_ignore_ascii_case("fatal") {
        return Some(Severity::Critical);
    }
    fields::severity_word(&caption)
}

/// The Incident Finding's `status_id` (OCSF 1.1+): On Hold is `in_progress` until the native
/// model has `on_hold` (issue 14). Unknown (0) and Other (99) read the `status` caption.
fn incident_status(record: &Value) -> Result<Option<Status>, Rejection> {
    Ok(match enum_id(record, "status_id")? {
        Some(1) => Some(Status::New),
        Some(2 | 3) => Some(Status::InProgress),
        Some(4) => Some(Status::Resolved),
        Some(5) => Some(Status::Closed),
        Some(0 | 99) => fields::text(record, "status").and_then(|caption| status_word(&caption)),
        Some(other) => return Err(Rejection::bad_value(format!("`status_id` = {other}"))),
        None => return Err(Rejection::missing("status_id")),
    })
}

/// A status caption: the OCSF captions and the native names.
fn status_word(caption: &str) -> Option<Status> {
    let word = caption.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match word.as_str() {
        "on_hold" => Some(Status::InProgress),
        other => Status::parse(other),
    }
}

/// `verdict_id` → disposition. Suspicious and Insufficient Data are undetermined; Disregard,
/// Benign and Test are benign positives; Security Risk is a true positive; Managed Externally,
/// Duplicate, Unknown and Other say nothing about the verdict.
fn verdict(record: &Value) -> Result<Option<Disposition>, Rejection> {
    Ok(match enum_id(record, "verdict_id")? {
        Some(1) => Some(Disposition::FalsePositive),
        Some(2 | 8) => Some(Disposition::TruePositive),
        Some(3 | 5 | 6) => Some(Disposition::BenignPositive),
        Some(4 | 7) => Some(Disposition::Undetermined),
        Some(0 | 9 | 10 | 99) | None => None,
        Some(other) => return Err(Rejection::bad_value(format!("`verdict_id` = {other}"))),
    })
}

/// The earliest activity the incident covers: its `start_time` or the first time any of its
/// findings was seen.
fn incident_occurred(record: &Value) -> Result<Option<EventTime>, Rejection> {
    let mut earliest = time_of(record, "start_time")?;
    for finding in array(record, "finding_info_list") {
        if let Some(seen) = time_of(finding, "first_seen_time")? {
            earliest = Some(earliest.map_or(seen, |at| at.min(seen)));
        }
    }
    Ok(earliest)
}

/// An OCSF enum or class id: `None` when absent, a `bad_value` naming it when not an integer.
fn enum_id(record: &Value, path: &str) -> Result<Option<i64>, Rejection> {
    match fields::get(record, path) {
        None => Ok(None),
        Some(found) => fields::integer(record, path)
            .map(Some)
            .ok_or_else(|| Rejection::bad_value(format!("`{path}` = {found} is not an integer"))),
    }
}

/// The first of `paths` that holds a time, each read as [`time_of`].
fn first_time(record: &Value, paths: &[&str]) -> Result<Option<EventTime>, Rejection> {
    for path in paths {
        if let Some(at) = time_of(record, path)? {
            return Ok(Some(at));
        }
    }
    Ok(None)
}

/// An OCSF time: the `timestamp_t` attribute (epoch milliseconds; seconds, microseconds and
/// nanoseconds are recognised by magnitude), else its `_dt` sibling (RFC 3339).
fn time_of(record: &Value, path: &str) -> Result<Option<EventTime>, Rejection> {
    if let Some(number) = fields::get(record, path).and_then(Value::as_f64) {
        return epoch(number).map(Some).ok_or_else(|| {
            Rejection::bad_value(format!("`{path}` = {number} is not a timestamp"))
        });
    }
    if let Some(at) = fields::time_at(record, path)? {
        return Ok(Some(at));
    }
    fields::time_at(record, &format!("{path}_dt"))
}

/// Milliseconds are OCSF's unit; numbers past the year 5138 in milliseconds are microseconds
/// (the ocsf/examples GuardDuty mapping writes `ts_unix_micro()`) or nanoseconds.
fn epoch(number: f64) -> Option<EventTime> {
    const MICROS_FROM: f64 = 1e14;
    const NANOS_FROM: f64 = 1e17;
    let millis = if number >= NANOS_FROM {
        number / 1e6
    } else if number >= MICROS_FROM {
        number / 1e3
    } else {
        number
    };
    fields::time(&Value::from(millis))
}

fn array<'v>(record: &'v Value, path: &str) -> &'v [Value] {
    fields::get(record, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
#[path = "ocsf_tests.rs"]
mod tests;
