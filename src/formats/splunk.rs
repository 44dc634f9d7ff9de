//! The `splunk` adapter: Splunk Enterprise Security notable events, as the `notable` macro
//! returns them (one search result per record, bare or wrapped in the `{"result": {…}}` of
//! the search export API and the webhook alert action), and rows of the `incident_review`
//! KV store collection (`| inputlookup incident_review_lookup`), ES's audit of triage edits.
//!
//! A notable is both an alert and an incident (PRODUCT.md §6): the alert (`alert_id` and
//! `incident_id` = `event_id`, source `splunk`) and a `new` case event at `_time`. Its
//! status, owner and disposition become a case event at `review_time` when the record gives
//! one; a notable without a review time gives its owner and disposition on the `new` event
//! and no later status, since stamping a status at the detection time would invent the time
//! it was reached. A review row is a case event at its `time`. Every value may be a string
//! (numbers and epoch times too) and multivalue fields are arrays: the first value is read.
//! docs/formats.md (section `splunk`) is the mapping's contract.

use std::borrow::Cow;

use serde_json::Value;

use super::{Events, Refusal, Rejection, SkipReason, fields};
use crate::event::{Alert, CaseEvent, Disposition, Event, EventTime, Severity, Status};

/// ES's `source` (PRODUCT.md §6).
const SOURCE: &str = "splunk";

/// The asset a notable is about, in the order read: ES's asset fields (`extract_artifacts`
/// default `src, dest, dvc, orig_host`), the target first. Not `host`: in `index=notable`
/// that is the search head that wrote the stash event.
const ASSET_FIELDS: [&str; 4] = ["dest", "src", "dvc", "orig_host"];

/// Fields only a threat-intelligence match (ES Threat Activity Detected) writes.
const THREAT_FIELDS: [&str; 3] = [
    "threat_match_field",
    "threat_match_value",
    "threat_collection",
];

pub fn decode(text: &str) -> Result<Events<'_>, Refusal> {
    let record = fields::object(text)?;
    let result = match record.get("result") {
        Some(inner @ Value::Object(_)) => inner,
        // The export API's trailer and search messages carry no result.
        _ if ["lastrow", "messages", "preview"]
            .iter()
            .any(|key| record.get(*key).is_some()) =>
        {
            return Err(Refusal::Skip(SkipReason::UnhandledType));
        }
        _ => &record,
    };
    // A search result from another index (risk events, the raw data) is not a notable.
    if value_text(result, "index").is_some_and(|index| index != "notable") {
        return Err(Refusal::Skip(SkipReason::UnhandledType));
    }
    if fields::get(result, "event_id").is_none() && is_review_row(result) {
        return Ok(Events::from_buf([Event::Case(review(result)?)]));
    }
    notable(result, &record)
}

/// An `incident_review_lookup` row: it names the notable by `rule_id` and has a `time`, but
/// none of a notable's indexed fields.
fn is_review_row(record: &Value) -> bool {
    fields::get(record, "rule_id").is_some()
        && fields::get(record, "time").is_some()
        && ["_raw", "_time", "search_name", "orig_sid"]
            .iter()
            .all(|field| fields::get(record, field).is_none())
}

fn notable<'a>(result: &Value, envelope: &Value) -> Result<Events<'a>, Refusal> {
    // The `notable` macro assigns event_id; raw `index=notable` results lack it.
    let event_id =
        owned(value_text(result, "event_id").ok_or_else(|| Rejection::missing("event_id"))?);
    let detected_at = fields::required_time(result, &["_time"])?;
    let severity = urgency(result)?;
    let status = status(result)?;
    let assignee = owner(result);
    let disposition = disposition(result);
    let review_at = fields::first_time(result, &["review_time"])?.map(|at| at.max(detected_at));

    let alert = Alert {
        alert_id: event_id.clone(),
        detected_at,
        // The original event's time, when the correlation search kept it; lenient: an
        // unreadable one is an enrichment lost, not a bad notable.
        occurred_at: fields::get(result, "orig_time").and_then(fields::time),
        source: Cow::Borrowed(SOURCE),
        rule: first_value(result, &["search_name", "rule_name", "source"])
            .or_else(|| first_value(envelope, &["search_name"]))
            .map(owned),
        severity,
        incident_id: Some(event_id.clone()),
        asset: first_value(result, &ASSET_FIELDS).map(owned),
        tenant: None,
        threat_intel: THREAT_FIELDS
            .iter()
            .any(|field| fields::get(result, field).is_some()),
    };
    let mut events = Events::new();
    events.push(Event::Alert(alert));
    let mut opened = case(event_id.clone(), detected_at, Status::New);
    opened.severity = Some(severity);
    match review_at {
        None => {
            opened.assignee = assignee;
            opened.disposition = disposition;
            events.push(Event::Case(opened));
        }
        Some(at) => {
            events.push(Event::Case(opened));
            let mut reviewed = case(event_id, at, status.unwrap_or(Status::New));
            reviewed.severity = Some(severity);
            reviewed.assignee = assignee;
            reviewed.disposition = disposition;
            events.push(Event::Case(reviewed));
        }
    }
    Ok(events)
}

/// One `incident_review_lookup` row: the state a review left the notable `rule_id` in.
fn review(row: &Value) -> Result<CaseEvent<'static>, Rejection> {
    let incident_id =
        owned(value_text(row, "rule_id").ok_or_else(|| Rejection::missing("rule_id"))?);
    let at = fields::required_time(row, &["time"])?;
    let status = status(row)?.ok_or_else(|| Rejection::missing("status"))?;
    let mut event = case(incident_id, at, status);
    event.severity = first_value(row, &["urgency"]).and_then(|u| fields::severity_word(&u));
    event.assignee = owner(row);
    event.disposition = disposition(row);
    Ok(event)
}

fn case<'a>(incident_id: Cow<'a, str>, at: EventTime, status: Status) -> CaseEvent<'a> {
    CaseEvent::new(incident_id, at, status)
}

/// `urgency` (severity combined with the asset's priority: what Incident Review shows),
/// else the correlation search's `severity`; ES writes `unknown` for neither.
fn urgency(record: &Value) -> Result<Severity, Rejection> {
    let urgency = first_value(record, &["urgency"]);
    if let Some(severity) = urgency.as_deref().and_then(fields::severity_word) {
        return Ok(severity);
    }
    if let Some(severity) = first_value(record, &["severity"])
        .as_deref()
        .and_then(fields::severity_word)
    {
        return Ok(severity);
    }
    Err(match urgency {
        Some(word) => Rejection::bad_value(format!("`urgency` = {word:?} is not a severity")),
        None => Rejection::missing("urgency"),
    })
}

/// The review status: `status_label` when the record has it, else `status` (ES's default
/// ids 0–5, or the label text). A custom status is read by its `status_end` flag.
fn status(record: &Value) -> Result<Option<Status>, Rejection> {
    let label = first_value(record, &["status_label"]);
    let raw = first_value(record, &["status"]);
    let Some(text) = label.clone().or_else(|| raw.clone()) else {
        return Ok(None);
    };
    let word = text.trim().to_ascii_lowercase();
    let known = match word.as_str() {
        "0" | "unassigned" | "1" | "new" => Some(Status::New),
        // Pending: on_hold once issue 14 lands.
        "2" | "in progress" | "3" | "pending" => Some(Status::InProgress),
        "4" | "resolved" => Some(Status::Resolved),
        "5" | "closed" => Some(Status::Closed),
        _ => None,
    };
    if known.is_some() {
        return Ok(known);
    }
    match fields::flag(record, "status_end") {
        Some(true) => Ok(Some(Status::Closed)),
        Some(false) => Ok(Some(Status::InProgress)),
        None => Err(Rejection::bad_value(format!(
            "`{}` = {text:?} is not a review status ES ships, and no `status_end` says \
             whether it ends the review",
            if label.is_some() {
                "status_label"
            } else {
                "status"
            }
        ))),
    }
}

/// The owner; ES writes `unassigned` for none.
fn owner(record: &Value) -> Option<Cow<'static, str>> {
    first_value(record, &["owner"])
        .filter(|owner| !owner.trim().eq_ignore_ascii_case("unassigned"))
        .map(owned)
}

/// `disposition_label`, else `disposition` (`disposition:N` or the label). A custom
/// disposition is read by its label's prefix; one that says nothing maps to none.
fn disposition(record: &Value) -> Option<Disposition> {
    let text = first_value(record, &["disposition_label"])
        .or_else(|| first_value(record, &["disposition"]))?;
    let word = text.trim().to_ascii_lowercase();
    Some(match word.as_str() {
        "disposition:1" => Disposition::TruePositive,
        "disposition:2" => Disposition::BenignPositive,
        "disposition:3" | "disposition:4" => Disposition::FalsePositive,
        "disposition:5" | "disposition:6" | "other" | "undetermined" => Disposition::Undetermined,
        _ if word.starts_with("true positive") => Disposition::TruePositive,
        _ if word.starts_with("benign positive") => Disposition::BenignPositive,
        _ if word.starts_with("false positive") => Disposition::FalsePositive,
        _ => return None,
    })
}

/// The first of `paths` with a value: a string, a number, or a multivalue field's first
/// string.
fn first_value<'v>(record: &'v Value, paths: &[&str]) -> Option<Cow<'v, str>> {
    paths.iter().find_map(|path| value_text(record, path))
}

fn value_text<'v>(record: &'v Value, path: &str) -> Option<Cow<'v, str>> {
    match fields::get(record, path)? {
        Value::Array(values) => values.iter().find_map(|value| match value {
            Value::String(s) if !s.trim().is_empty() => Some(Cow::Borrowed(s.as_str())),
            _ => None,
        }),
        _ => fields::text(record, path),
    }
}

fn owned(text: Cow<'_, str>) -> Cow<'static, str> {
    fields::owned(text)
}

#[cfg(test)]
#[path = "splunk_tests.rs"]
mod tests;
