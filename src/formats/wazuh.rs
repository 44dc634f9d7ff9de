//! The `wazuh` adapter: one line of a Wazuh manager's `alerts.json` (the Wazuh 4.x alert
//! document, also as indexed in `wazuh-alerts-*`) becomes one alert (PRODUCT.md §6: Wazuh
//! alerts are alerts only; `source` is `wazuh`). docs/formats.md (section `wazuh`) is the mapping.
//!
//! Invariants: `rule.level` (0–16) is banded into the native severities as the Wazuh rules
//! classification describes the levels; `timestamp` (the manager's alert time, `+0200`-style
//! offsets without a colon) is when the detection fired; `occurred_at` is set only from a time
//! the logged event itself carries with an explicit zone, never guessed from a zoneless one.

use serde_json::Value;

use super::fields::{self, owned};
use super::{Events, Refusal, Rejection, SkipReason};
use crate::event::{Alert, Event, EventTime, Severity};

pub fn decode(text: &str) -> Result<Events<'_>, Refusal> {
    let record = fields::object(text)?;
    // Not an alert (an archives.json event, a manager status line): no rule fired.
    if fields::get(&record, "rule").is_none() {
        return Err(Refusal::Skip(SkipReason::UnhandledType));
    }
    let alert = Alert {
        alert_id: owned(fields::required_text(&record, "id")?),
        detected_at: fields::required_time(&record, &["timestamp", "@timestamp"])?,
        occurred_at: event_time(&record),
        source: "wazuh".into(),
        rule: fields::text(&record, "rule.id").map(owned),
        severity: severity(&record)?,
        incident_id: None,
        asset: fields::text(&record, "agent.name").map(owned),
        tenant: None,
        threat_intel: threat_intel(&record),
    };
    Ok(Events::from_buf([Event::Alert(alert)]))
}

/// `rule.level` banded by the Wazuh rules classification: 0–3 no security relevance
/// (ignored, notifications, successful events), 4–7 low relevance (errors, low relevance
/// attacks, "bad word" matches), 8–11 may be relevant (first time seen, invalid source,
/// multiple errors, integrity warnings), 12–14 high importance events, 15–16 severe attacks.
fn severity(record: &Value) -> Result<Severity, Rejection> {
    let found =
        fields::get(record, "rule.level").ok_or_else(|| Rejection::missing("rule.level"))?;
    Ok(match fields::integer(record, "rule.level") {
        Some(0..=3) => Severity::Informational,
        Some(4..=7) => Severity::Low,
        Some(8..=11) => Severity::Medium,
        Some(12..=14) => Severity::High,
        Some(15..=16) => Severity::Critical,
        _ => {
            return Err(Rejection::bad_value(format!(
                "`rule.level` = {found} is not a level from 0 to 16"
            )));
        }
    })
}

/// When the logged event happened, when the event says so with a zone: the Windows event's
/// `data.win.system.systemTime` (UTC), else a decoded JSON log's `data.timestamp` (Suricata
/// EVE writes `+0000`). A zoneless or unreadable one is left out rather than read as UTC:
/// `data` is the monitored log's own content, not Wazuh's.
fn event_time(record: &Value) -> Option<EventTime> {
    ["data.win.system.systemTime", "data.timestamp"]
        .into_iter()
        .filter_map(|path| fields::get(record, path)?.as_str())
        .find(|text| has_zone(text))
        .and_then(fields::time_text)
}

/// Ends in `Z` or a `±hh:mm` / `±hhmm` offset after the time of day.
fn has_zone(text: &str) -> bool {
    let text = text.trim();
    if text.ends_with(['Z', 'z']) {
        return true;
    }
    let Some(time_of_day) = text.rfind([' ', 'T']).map(|at| &text[at + 1..]) else {
        return false;
    };
    time_of_day
        .rfind(['+', '-'])
        .is_some_and(|sign| time_of_day[sign + 1..].trim_start().len() >= 4)
}

/// Enriched by an integration's threat intelligence: the VirusTotal integration found the
/// file's hash (`data.virustotal.found` = 1, whatever the positives), or the MISP integration
/// matched an attribute (`data.misp.event_id`).
fn threat_intel(record: &Value) -> bool {
    fields::flag(record, "data.virustotal.found") == Some(true)
        || fields::text(record, "data.misp.event_id").is_some()
}

#[cfg(test)]
#[path = "wazuh_tests.rs"]
mod tests;
