//! The `ecs` adapter: Elastic Security alerts (8.x `kibana.alert.*` documents of
//! `.alerts-security.alerts-*`), whose fields come nested, dotted or both in one document.
//! docs/formats.md (section `ecs`) is the mapping field by field.
//!
//! Invariants: one alert document is one alert, never a case event: its
//! `kibana.alert.workflow_status` is the alert's own triage state, not an incident lifecycle.
//! It names an incident only when it is attached to a Kibana case. Documents that are not
//! detection alerts, and building-block alerts, are skipped.

use std::borrow::Cow;

use serde_json::Value;

use super::fields::{self, owned};
use super::{Events, Refusal, Rejection, SkipReason};
use crate::event::{Alert, Event, Severity};

/// One Elastic document (its `_source`, or a search hit that wraps one): an alert, or a skip.
pub fn decode(text: &str) -> Result<Events<'_>, Refusal> {
    let hit = fields::object(text)?;
    let document = match hit.get("_source") {
        Some(source) if source.is_object() => source,
        _ => &hit,
    };
    let Some(alert_id) = fields::text(document, "kibana.alert.uuid") else {
        return Err(Refusal::Skip(SkipReason::UnhandledType));
    };
    let has_rule = ["name", "uuid", "rule_id", "rule_type_id"]
        .iter()
        .any(|field| fields::get(document, &format!("kibana.alert.rule.{field}")).is_some());
    // Building blocks are inputs to other rules, hidden from the Alerts table: nobody triages
    // them, and counting them would inflate alert volume and the noisiest-rule gauge.
    if !has_rule || fields::get(document, "kibana.alert.building_block_type").is_some() {
        return Err(Refusal::Skip(SkipReason::UnhandledType));
    }
    let alert = Alert {
        alert_id: owned(alert_id),
        detected_at: fields::required_time(document, &["@timestamp"])?,
        occurred_at: fields::time_at(document, "kibana.alert.original_time")?,
        source: Cow::Borrowed("elastic"),
        rule: fields::text(document, "kibana.alert.rule.name").map(owned),
        severity: severity(document)?,
        incident_id: case_id(document),
        asset: fields::first_text(document, &["host.name", "host.hostname"]).map(owned),
        tenant: None,
        threat_intel: fields::get(document, "threat.enrichments")
            .and_then(Value::as_array)
            .is_some_and(|enrichments| !enrichments.is_empty()),
    };
    Ok(Events::from_buf([Event::Alert(alert)]))
}

/// `kibana.alert.severity` (low, medium, high, critical), else `kibana.alert.risk_score` in
/// Elastic's own bands: 0–21 low, 22–47 medium, 48–73 high, 74–100 critical.
fn severity(document: &Value) -> Result<Severity, Rejection> {
    let word = fields::text(document, "kibana.alert.severity");
    if let Some(level) = word.as_deref().and_then(fields::severity_word) {
        return Ok(level);
    }
    match fields::get(document, "kibana.alert.risk_score") {
        Some(score) => {
            let number = match score {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            number.and_then(risk_band).ok_or_else(|| {
                Rejection::bad_value(format!(
                    "`kibana.alert.risk_score` = {score} is not a risk score from 0 to 100"
                ))
            })
        }
        None => Err(match word {
            Some(word) => Rejection::bad_value(format!(
                "`kibana.alert.severity` = {word:?} is not an Elastic severity (low, medium, \
                 high, critical)"
            )),
            None => Rejection::missing("kibana.alert.severity"),
        }),
    }
}

fn risk_band(score: f64) -> Option<Severity> {
    Some(match score {
        s if !(0.0..=100.0).contains(&s) => return None,
        s if s < 22.0 => Severity::Low,
        s if s < 48.0 => Severity::Medium,
        s if s < 74.0 => Severity::High,
        _ => Severity::Critical,
    })
}

/// The first Kibana case the alert is attached to (`kibana.alert.case_ids`, 8.x): an alert
/// may be attached to several, and one incident id is all an alert names.
fn case_id(document: &Value) -> Option<Cow<'static, str>> {
    match fields::get(document, "kibana.alert.case_ids")? {
        Value::Array(ids) => ids
            .iter()
            .find_map(|id| id.as_str().filter(|s| !s.trim().is_empty()))
            .map(|id| Cow::Owned(id.to_owned())),
        _ => fields::text(document, "kibana.alert.case_ids").map(owned),
    }
}

#[cfg(test)]
#[path = "ecs_tests.rs"]
mod tests;
