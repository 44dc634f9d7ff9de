//! The demo's vendor-format streams: one simulated alert in eight is written as a SIEM or case
//! tool would export it (OCSF, Sentinel, Elastic, Splunk ES, TheHive, Wazuh) on an unkeyed
//! `demo.<format>` topic instead of the native one, so every adapter and the repartition path
//! run in the demo as they do in production.
//!
//! Which alerts and which format is a hash of the alert id (no draw from the simulator's
//! `rng`, whose order is its invariant), so a redelivered duplicate gets the same vendor
//! record byte for byte and dedupes as it would natively. Alerts that name an incident go only
//! to formats that can carry the link (Elastic's `kibana.alert.case_ids`, TheHive's
//! `object.case`); the others take alerts that name none. A Splunk notable is itself an
//! incident (docs/formats.md): the demo writes it as reviewed and closed as a false positive
//! a few minutes after it fired, the fate of most unlinked notables.
//!
//! What a vendor cannot say is lost as it would be: Sentinel has no critical (→ High), Elastic
//! no informational (→ low), TheHive's four levels start at low.

use serde_json::{Value, json};

use crate::event::{EventTime, Severity};
use crate::formats::Format;

/// One alert in eight goes to a vendor topic.
const VENDOR_SHARE: u64 = 8;

/// Formats that can name the incident an alert belongs to.
const LINKING: [Format; 2] = [Format::Ecs, Format::TheHive];
/// Formats for alerts that name no incident: every vendor format.
const UNLINKED: &[Format] = Format::ALL.split_at(1).1;

/// The demo topic of a vendor format.
pub fn topic(format: Format) -> String {
    format!("demo.{}", format.as_str())
}

/// The vendor formats the demo writes, each on [`topic`].
pub const FORMATS: &[Format] = UNLINKED;

/// The fields of a native alert the renderers read.
#[derive(Debug)]
struct Native<'a> {
    alert_id: &'a str,
    detected_at: EventTime,
    occurred_at: Option<EventTime>,
    source: &'a str,
    rule: &'a str,
    severity: Severity,
    incident_id: Option<&'a str>,
    asset: &'a str,
    threat_intel: bool,
}

impl<'a> Native<'a> {
    fn of(value: &'a Value) -> Option<Self> {
        let text = |field: &str| value.get(field).and_then(Value::as_str);
        Some(Self {
            alert_id: text("alert_id")?,
            detected_at: EventTime::parse_rfc3339(text("detected_at")?)?,
            occurred_at: value
                .get("occurred_at")
                .and_then(Value::as_i64)
                .map(EventTime),
            source: text("source")?,
            rule: text("rule").unwrap_or("unnamed"),
            severity: Severity::parse(text("severity")?)?,
            incident_id: text("incident_id"),
            asset: text("asset").unwrap_or("unknown"),
            threat_intel: value
                .get("threat_intel")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

/// The vendor record a native alert record becomes, if it is one of the share that does: its
/// format and payload. `None` for the others, and for anything that is not a well-formed
/// native alert (the simulator's malformed records stay on the native topic).
pub fn render(native_payload: &[u8]) -> Option<(Format, Vec<u8>)> {
    let value: Value = serde_json::from_slice(native_payload).ok()?;
    let alert = Native::of(&value)?;
    let hash = fnv1a(alert.alert_id.as_bytes());
    if hash % VENDOR_SHARE != 0 {
        return None;
    }
    let choices: &[Format] = if alert.incident_id.is_some() {
        &LINKING
    } else {
        UNLINKED
    };
    let format = choices[((hash / VENDOR_SHARE) % choices.len() as u64) as usize];
    Some((format, rendered(format, &alert, hash)?))
}

/// Any well-formed native alert record as `format` would export it (benchmarks of the
/// adapters and the repartition path); `None` for a malformed one, or for `native`.
pub fn render_as(format: Format, native_payload: &[u8]) -> Option<Vec<u8>> {
    let value: Value = serde_json::from_slice(native_payload).ok()?;
    let alert = Native::of(&value)?;
    rendered(format, &alert, fnv1a(alert.alert_id.as_bytes()))
}

fn rendered(format: Format, alert: &Native<'_>, hash: u64) -> Option<Vec<u8>> {
    let record = match format {
        Format::Ocsf => ocsf(alert),
        Format::Sentinel => sentinel(alert),
        Format::Ecs => ecs(alert),
        Format::Splunk => splunk(alert, hash),
        Format::TheHive => thehive(alert),
        Format::Wazuh => wazuh(alert),
        Format::Native => return None,
    };
    Some(record.to_string().into_bytes())
}

/// FNV-1a, 64 bits: a stable hash that needs no state.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn rfc3339(time: EventTime, fraction: &str, zone: &str) -> String {
    chrono::DateTime::from_timestamp_millis(time.millis()).map_or_else(
        || time.to_string(),
        |utc| {
            format!(
                "{}{}",
                utc.format(&format!("%Y-%m-%dT%H:%M:%S{fraction}")),
                zone
            )
        },
    )
}

/// OCSF 1.5 Detection Finding (class 2004), times in epoch milliseconds.
fn ocsf(alert: &Native<'_>) -> Value {
    let severity_id = 1 + alert.severity.index();
    let mut finding = json!({
        "uid": alert.alert_id,
        "title": alert.rule,
        "created_time": alert.detected_at.millis(),
    });
    if let Some(occurred) = alert.occurred_at {
        finding["first_seen_time"] = occurred.millis().into();
    }
    let mut record = json!({
        "class_uid": 2004,
        "category_uid": 2,
        "activity_id": 1,
        "type_uid": 200_401,
        "time": alert.detected_at.millis(),
        "severity_id": severity_id,
        "is_alert": true,
        "metadata": {"version": "1.5.0", "product": {"name": alert.source, "vendor_name": "socmetrics demo"}},
        "finding_info": finding,
        "device": {"hostname": alert.asset, "type_id": 2},
    });
    if alert.threat_intel {
        record["enrichments"] =
            json!([{"name": "ip", "value": "198.51.100.7", "type": "threat_intel", "data": {}}]);
    }
    record
}

/// A Log Analytics `SecurityAlert` row: 7-digit fractions, `"None"` for what is unknown.
fn sentinel(alert: &Native<'_>) -> Value {
    let severity = match alert.severity {
        Severity::Informational => "Informational",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High | Severity::Critical => "High",
    };
    let time = |t: EventTime| rfc3339(t, "%.3f0000", "Z");
    json!({
        "Type": "SecurityAlert",
        "TenantId": "None",
        "TimeGenerated": time(alert.detected_at),
        "SystemAlertId": alert.alert_id,
        "AlertName": alert.rule,
        "AlertSeverity": severity,
        "ProductName": alert.source,
        "StartTime": alert.occurred_at.map_or_else(|| "None".to_owned(), time),
        "CompromisedEntity": alert.asset,
        "Status": "New",
    })
}

/// An Elastic Security alert document, dotted `kibana.alert.*` keys beside nested objects.
fn ecs(alert: &Native<'_>) -> Value {
    let severity = match alert.severity {
        Severity::Informational | Severity::Low => "low",
        other => other.as_str(),
    };
    let mut record = json!({
        "@timestamp": alert.detected_at.to_string(),
        "kibana.alert.uuid": alert.alert_id,
        "kibana.alert.rule.name": alert.rule,
        "kibana.alert.rule.uuid": format!("rule-{}", alert.rule),
        "kibana.alert.severity": severity,
        "kibana.alert.workflow_status": "open",
        "host": {"name": alert.asset},
        "event": {"kind": "signal"},
    });
    if let Some(occurred) = alert.occurred_at {
        record["kibana.alert.original_time"] = occurred.to_string().into();
    }
    if let Some(incident) = alert.incident_id {
        record["kibana.alert.case_ids"] = json!([incident]);
    }
    if alert.threat_intel {
        record["threat"] = json!({"enrichments": [{"indicator": {"type": "ipv4-addr"}}]});
    }
    record
}

/// A Splunk ES notable, every value a string, reviewed and closed as a false positive 5 to 35
/// minutes after it fired.
fn splunk(alert: &Native<'_>, hash: u64) -> Value {
    let seconds = |t: EventTime| format!("{}.{:03}", t.millis() / 1000, t.millis() % 1000);
    let review = alert
        .detected_at
        .saturating_add_millis(((5 + (hash >> 20) % 31) * 60_000) as i64);
    let mut record = json!({
        "event_id": alert.alert_id,
        "_time": seconds(alert.detected_at),
        "search_name": alert.rule,
        "urgency": alert.severity.as_str(),
        "dest": alert.asset,
        "owner": "analyst1",
        "status": "5",
        "status_label": "Closed",
        "disposition": "disposition:3",
        "disposition_label": "False Positive - Incorrect Analytic Logic",
        "review_time": seconds(review),
    });
    if let Some(occurred) = alert.occurred_at {
        record["orig_time"] = seconds(occurred).into();
    }
    if alert.threat_intel {
        record["threat_match_field"] = "src".into();
    }
    record
}

/// A TheHive 4 alert creation webhook, linked to its case when the alert names one.
fn thehive(alert: &Native<'_>) -> Value {
    let severity = match alert.severity {
        Severity::Informational | Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    };
    let object_id = format!("~{}", fnv1a(alert.alert_id.as_bytes()) >> 40);
    json!({
        "operation": "Creation",
        "objectType": "alert",
        "objectId": object_id,
        "organisation": "demo",
        "details": {},
        "object": {
            "_id": object_id,
            "_type": "alert",
            "type": alert.rule,
            "source": alert.source,
            "sourceRef": alert.alert_id,
            "title": format!("{} on {}", alert.rule, alert.asset),
            "severity": severity,
            "date": alert.detected_at.millis(),
            "case": alert.incident_id,
            "status": "New",
        },
    })
}

/// A Wazuh `alerts.json` line: `+0000` without a colon, `rule.level` in the severity's band.
fn wazuh(alert: &Native<'_>) -> Value {
    let level = match alert.severity {
        Severity::Informational => 3,
        Severity::Low => 5,
        Severity::Medium => 10,
        Severity::High => 12,
        Severity::Critical => 15,
    };
    let mut record = json!({
        "timestamp": rfc3339(alert.detected_at, "%.3f", "+0000"),
        "id": alert.alert_id,
        "rule": {"level": level, "id": alert.rule, "description": alert.rule, "groups": ["demo"]},
        "agent": {"id": "001", "name": alert.asset},
        "manager": {"name": "wazuh-manager"},
        "decoder": {"name": "json"},
    });
    if alert.threat_intel {
        record["data"] = json!({"virustotal": {"found": "1"}});
    }
    record
}

#[cfg(test)]
#[path = "vendor_tests.rs"]
mod tests;
