//! Native events back to the native JSON of PRODUCT.md §1: what `convert` prints, what the
//! fixtures' expected outputs hold, and what the repartition topic carries. Decoding the text
//! made here with [`super::native::decode_any`] gives the same event back (times are
//! milliseconds, written as RFC 3339 UTC with milliseconds).

use serde_json::{Map, Value};

use crate::event::{Alert, CaseEvent, Event, EventTime};

/// The native record of one event, as a JSON object (keys in sorted order).
pub fn to_value(event: &Event<'_>) -> Value {
    let mut out = Map::new();
    match event {
        Event::Alert(alert) => alert_fields(alert, &mut out),
        Event::Case(case) => case_fields(case, &mut out),
        Event::Inventory(asset) => {
            out.insert("asset_id".into(), asset.asset_id.as_ref().into());
            put(&mut out, "tenant", asset.tenant.as_deref());
            put(&mut out, "criticality", asset.criticality.as_deref());
            if asset.retired {
                out.insert("retired".into(), true.into());
            }
        }
        Event::AssetRemoved(asset_id) => {
            out.insert("asset_id".into(), asset_id.as_ref().into());
            out.insert("removed".into(), true.into());
        }
        Event::Telemetry(beat) => {
            out.insert("asset_id".into(), beat.asset_id.as_ref().into());
            put(&mut out, "source", beat.source.as_deref());
            out.insert("at".into(), time(beat.at));
        }
    }
    Value::Object(out)
}

/// One line of native JSON.
pub fn to_line(event: &Event<'_>) -> String {
    to_value(event).to_string()
}

fn alert_fields(alert: &Alert<'_>, out: &mut Map<String, Value>) {
    out.insert("alert_id".into(), alert.alert_id.as_ref().into());
    out.insert("detected_at".into(), time(alert.detected_at));
    if let Some(at) = alert.occurred_at {
        out.insert("occurred_at".into(), time(at));
    }
    out.insert("source".into(), alert.source.as_ref().into());
    put(out, "rule", alert.rule.as_deref());
    out.insert("severity".into(), alert.severity.as_str().into());
    put(out, "incident_id", alert.incident_id.as_deref());
    put(out, "asset", alert.asset.as_deref());
    put(out, "tenant", alert.tenant.as_deref());
    if alert.threat_intel {
        out.insert("threat_intel".into(), true.into());
    }
}

fn case_fields(case: &CaseEvent<'_>, out: &mut Map<String, Value>) {
    out.insert("incident_id".into(), case.incident_id.as_ref().into());
    out.insert("at".into(), time(case.at));
    out.insert("status".into(), case.status.as_str().into());
    put(out, "event_id", case.event_id.as_deref());
    put(out, "severity", case.severity.map(|s| s.as_str()));
    if let Some(tier) = case.tier {
        out.insert("tier".into(), tier.into());
    }
    put(out, "assignee", case.assignee.as_deref());
    put(out, "disposition", case.disposition.map(|d| d.as_str()));
    put(out, "detection", case.detection.map(|d| d.as_str()));
    if let Some(at) = case.occurred_at {
        out.insert("occurred_at".into(), time(at));
    }
    put(out, "root_cause", case.root_cause.as_deref());
    if let Some(cost) = case.cost {
        out.insert("cost".into(), cost.into());
    }
    if let Some(flag) = case.threat_intel {
        out.insert("threat_intel".into(), flag.into());
    }
    put(out, "tenant", case.tenant.as_deref());
}

fn put(out: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.insert(key.into(), value.into());
    }
}

fn time(at: EventTime) -> Value {
    Value::String(at.to_string())
}
