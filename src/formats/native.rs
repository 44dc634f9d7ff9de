//! The native JSON format of PRODUCT.md §1. Fields are decoded borrowed from the record; unknown
//! fields are skipped; required fields that are absent or null are reported by name.

use std::borrow::Cow;

use serde::Deserialize;

use super::{Events, RejectReason, Rejection, guard};
use crate::event::{
    Alert, CaseEvent, Detection, Disposition, Event, EventTime, InventoryRecord, Severity, Status,
    Telemetry,
};
use crate::source::{Record, TopicRole};

/// One native record: the event its topic's role holds. A tombstone on the compacted inventory
/// (no value) removes the asset named by its key.
pub fn decode<'a>(
    record: &Record<'a>,
    role: TopicRole,
    limits: guard::Limits,
) -> Result<Events<'a>, Rejection> {
    if role == TopicRole::Inventory && record.payload.is_none_or(<[u8]>::is_empty) {
        return match record
            .key
            .and_then(|k| std::str::from_utf8(k).ok())
            .filter(|k| !k.is_empty())
        {
            Some(asset_id) => Ok(Events::from_buf([Event::AssetRemoved(Cow::Borrowed(
                asset_id,
            ))])),
            None => Err(Rejection::new(
                RejectReason::MissingField,
                "inventory tombstone without an asset id key",
            )),
        };
    }
    let text = guard::check(record.payload, limits)?;
    let event = match role {
        TopicRole::Alerts => Event::Alert(decode_alert(text)?),
        TopicRole::Cases => Event::Case(decode_case(text)?),
        TopicRole::Inventory => Event::Inventory(decode_inventory(text)?),
        TopicRole::Telemetry => Event::Telemetry(decode_telemetry(text)?),
    };
    Ok(Events::from_buf([event]))
}

/// A native alert or case event, told apart by its fields: a record with an `alert_id` is an
/// alert, any other a case event. What an `[[inputs]]` topic of format `native` and the
/// repartition topic hold, where alerts and case events share a topic.
pub fn decode_any(text: &str) -> Result<Event<'_>, Rejection> {
    #[derive(Deserialize)]
    struct Kind {
        alert_id: Option<serde::de::IgnoredAny>,
    }
    ensure_object(text)?;
    let kind: Kind = serde_json::from_str(text).map_err(|e| Rejection::from_json(&e))?;
    Ok(match kind.alert_id {
        Some(_) => Event::Alert(decode_alert(text)?),
        None => Event::Case(decode_case(text)?),
    })
}

/// The alert as it is on the wire: everything optional so a missing field is reported by name
/// rather than as a serde message.
#[derive(Deserialize)]
struct WireAlert<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    alert_id: Option<Cow<'a, str>>,
    detected_at: Option<EventTime>,
    occurred_at: Option<EventTime>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    rule: Option<Cow<'a, str>>,
    severity: Option<Severity>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    incident_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    asset: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    tenant: Option<Cow<'a, str>>,
    threat_intel: Option<bool>,
}

/// Decodes one native alert record.
pub fn decode_alert(text: &str) -> Result<Alert<'_>, Rejection> {
    ensure_object(text)?;
    let wire: WireAlert<'_> = serde_json::from_str(text).map_err(|e| Rejection::from_json(&e))?;
    let alert_id = non_empty(wire.alert_id, "alert_id")?;
    let source = non_empty(wire.source, "source")?;
    Ok(Alert {
        alert_id,
        detected_at: wire
            .detected_at
            .ok_or_else(|| Rejection::missing("detected_at"))?,
        occurred_at: wire.occurred_at,
        source,
        rule: wire.rule,
        severity: wire
            .severity
            .ok_or_else(|| Rejection::missing("severity"))?,
        incident_id: wire.incident_id.filter(|id| !id.is_empty()),
        asset: wire.asset,
        // An empty tenant is no tenant, as for case events: both are tenant "".
        tenant: wire.tenant.filter(|t| !t.is_empty()),
        threat_intel: wire.threat_intel.unwrap_or(false),
    })
}

/// The case event as it is on the wire.
#[derive(Deserialize)]
struct WireCase<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    incident_id: Option<Cow<'a, str>>,
    at: Option<EventTime>,
    status: Option<Status>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    event_id: Option<Cow<'a, str>>,
    severity: Option<Severity>,
    tier: Option<i64>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    assignee: Option<Cow<'a, str>>,
    disposition: Option<Disposition>,
    detection: Option<Detection>,
    occurred_at: Option<EventTime>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    root_cause: Option<Cow<'a, str>>,
    cost: Option<f64>,
    threat_intel: Option<bool>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    tenant: Option<Cow<'a, str>>,
}

/// Decodes one native case event record.
pub fn decode_case(text: &str) -> Result<CaseEvent<'_>, Rejection> {
    ensure_object(text)?;
    let wire: WireCase<'_> = serde_json::from_str(text).map_err(|e| Rejection::from_json(&e))?;
    let incident_id = non_empty(wire.incident_id, "incident_id")?;
    let tier = match wire.tier {
        None => None,
        Some(tier @ 1..=3) => Some(tier as u8),
        Some(other) => {
            return Err(Rejection::new(
                RejectReason::BadValue,
                format!("tier {other} is not 1, 2 or 3"),
            ));
        }
    };
    if let Some(cost) = wire.cost
        && !(cost.is_finite() && cost >= 0.0)
    {
        return Err(Rejection::new(
            RejectReason::BadValue,
            format!("cost {cost} is not a non-negative amount"),
        ));
    }
    Ok(CaseEvent {
        incident_id,
        at: wire.at.ok_or_else(|| Rejection::missing("at"))?,
        status: wire.status.ok_or_else(|| Rejection::missing("status"))?,
        event_id: wire.event_id.filter(|id| !id.is_empty()),
        severity: wire.severity,
        tier,
        assignee: wire.assignee.filter(|a| !a.is_empty()),
        disposition: wire.disposition,
        detection: wire.detection,
        occurred_at: wire.occurred_at,
        root_cause: wire.root_cause.filter(|r| !r.is_empty()),
        cost: wire.cost,
        threat_intel: wire.threat_intel,
        tenant: wire.tenant.filter(|t| !t.is_empty()),
    })
}

#[derive(Deserialize)]
struct WireInventory<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    asset_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    tenant: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    criticality: Option<Cow<'a, str>>,
    retired: Option<bool>,
}

/// Decodes one inventory record (a tombstone never reaches a decoder).
pub fn decode_inventory(text: &str) -> Result<InventoryRecord<'_>, Rejection> {
    ensure_object(text)?;
    let wire: WireInventory<'_> =
        serde_json::from_str(text).map_err(|e| Rejection::from_json(&e))?;
    Ok(InventoryRecord {
        asset_id: non_empty(wire.asset_id, "asset_id")?,
        tenant: wire.tenant.filter(|t| !t.is_empty()),
        criticality: wire.criticality,
        retired: wire.retired.unwrap_or(false),
    })
}

#[derive(Deserialize)]
struct WireTelemetry<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    asset_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    source: Option<Cow<'a, str>>,
    at: Option<EventTime>,
}

/// Decodes one telemetry heartbeat.
pub fn decode_telemetry(text: &str) -> Result<Telemetry<'_>, Rejection> {
    ensure_object(text)?;
    let wire: WireTelemetry<'_> =
        serde_json::from_str(text).map_err(|e| Rejection::from_json(&e))?;
    Ok(Telemetry {
        asset_id: non_empty(wire.asset_id, "asset_id")?,
        source: wire.source,
        at: wire.at.ok_or_else(|| Rejection::missing("at"))?,
    })
}

/// `Option<Cow<str>>` borrowing from the record when the string has no escapes. serde's own
/// `#[serde(borrow)]` borrows only a bare `Cow<str>`: inside an `Option` every string would be
/// allocated and copied (measured: none of 500,000 ids borrowed).
fn borrowed<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;

    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or null")
        }

        fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(text)))
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(text.to_owned())))
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    deserializer.deserialize_option(Text)
}

/// Serde would accept a JSON array for a struct (fields by position); the format is objects.
fn ensure_object(text: &str) -> Result<(), Rejection> {
    match text.trim_start().as_bytes().first() {
        Some(b'{') => Ok(()),
        _ => Err(Rejection::new(
            RejectReason::InvalidJson,
            "record is not a JSON object",
        )),
    }
}

/// An id that is present but empty identifies nothing: it counts as missing.
fn non_empty<'a>(value: Option<Cow<'a, str>>, field: &str) -> Result<Cow<'a, str>, Rejection> {
    match value {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(Rejection::missing(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> RejectReason {
        decode_alert(text).unwrap_err().reason
    }

    #[test]
    fn decodes_every_field() {
        let alert = decode_alert(
            r#"{"alert_id":"a-1","detected_at":"2026-01-01T10:00:00+01:00","occurred_at":1767258000000,
                "source":"splunk","rule":"brute force","severity":"High","incident_id":"INC-7",
                "asset":"host-1","tenant":"acme","threat_intel":true,"extra":{"nested":[1,2,3]}}"#,
        )
        .unwrap();
        assert_eq!(alert.alert_id, "a-1");
        assert_eq!(alert.detected_at, EventTime(1_767_258_000_000));
        assert_eq!(alert.occurred_at, Some(EventTime(1_767_258_000_000)));
        assert_eq!(alert.source, "splunk");
        assert_eq!(alert.rule.as_deref(), Some("brute force"));
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.incident_id.as_deref(), Some("INC-7"));
        assert_eq!(alert.asset.as_deref(), Some("host-1"));
        assert_eq!(alert.tenant.as_deref(), Some("acme"));
        assert!(alert.threat_intel);
    }

    #[test]
    fn optional_fields_default() {
        let alert = decode_alert(
            r#"{"alert_id":"a","detected_at":0,"source":"edr","severity":"low","incident_id":""}"#,
        )
        .unwrap();
        assert_eq!(alert.occurred_at, None);
        assert_eq!(alert.incident_id, None);
        let with_empty_tenant = decode_alert(
            r#"{"alert_id":"a","detected_at":0,"source":"edr","severity":"low","tenant":""}"#,
        )
        .unwrap();
        assert_eq!(with_empty_tenant.tenant, None, "as for case events");
        assert!(!alert.threat_intel);
    }

    #[test]
    fn plain_strings_are_borrowed_from_the_record() {
        let alert = decode_alert(r#"{"alert_id":"a-1","detected_at":0,"source":"edr","severity":"low","rule":"r","incident_id":"I","tenant":"t"}"#).unwrap();
        assert!(matches!(alert.alert_id, Cow::Borrowed("a-1")));
        assert!(matches!(alert.source, Cow::Borrowed("edr")));
        assert!(matches!(alert.incident_id, Some(Cow::Borrowed("I"))));
        let case =
            decode_case(r#"{"incident_id":"I","at":0,"status":"new","assignee":"ana"}"#).unwrap();
        assert!(matches!(case.incident_id, Cow::Borrowed("I")));
        assert!(matches!(case.assignee, Some(Cow::Borrowed("ana"))));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let alert = decode_alert(
            r#"{"alert_id":"a\"1","detected_at":0,"source":"spl\u0075nk","severity":"low"}"#,
        )
        .unwrap();
        assert_eq!(alert.alert_id, "a\"1");
        assert_eq!(alert.source, "splunk");
    }

    #[test]
    fn missing_required_fields_are_named() {
        let missing = decode_alert(r#"{"detected_at":0,"source":"edr","severity":"low"}"#);
        assert_eq!(missing.unwrap_err(), Rejection::missing("alert_id"));
        let null =
            decode_alert(r#"{"alert_id":"a","detected_at":null,"source":"edr","severity":"low"}"#);
        assert_eq!(null.unwrap_err(), Rejection::missing("detected_at"));
        assert_eq!(
            reason(r#"{"alert_id":"a","detected_at":0,"severity":"low"}"#),
            RejectReason::MissingField
        );
        assert_eq!(
            reason(r#"{"alert_id":"a","detected_at":0,"source":"x"}"#),
            RejectReason::MissingField
        );
        assert_eq!(
            reason(r#"{"alert_id":"","detected_at":0,"source":"x","severity":"low"}"#),
            RejectReason::MissingField
        );
    }

    #[test]
    fn bad_values_are_rejected() {
        assert_eq!(
            reason(r#"{"alert_id":"a","detected_at":0,"source":"x","severity":"urgent"}"#),
            RejectReason::BadValue
        );
        assert_eq!(
            reason(
                r#"{"alert_id":"a","detected_at":"last tuesday","source":"x","severity":"low"}"#
            ),
            RejectReason::BadValue
        );
        assert_eq!(
            reason(r#"{"alert_id":7,"detected_at":0,"source":"x","severity":"low"}"#),
            RejectReason::BadValue
        );
        assert_eq!(
            reason(r#"{"alert_id":"a","detected_at":1.5,"source":"x","severity":"low"}"#),
            RejectReason::BadValue
        );
        assert_eq!(
            reason(
                r#"{"alert_id":"a","detected_at":0,"source":"x","severity":"low","threat_intel":"yes"}"#
            ),
            RejectReason::BadValue
        );
    }

    #[test]
    fn times_before_the_epoch_are_bad_values() {
        // Finding 8's record: an occurred_at no SOC event has, which would overflow a duration.
        let rejection = decode_alert(
            r#"{"alert_id":"a","detected_at":1767258000000,"occurred_at":-9223372036854775807,"source":"x","severity":"high","incident_id":"I"}"#,
        )
        .unwrap_err();
        assert_eq!(rejection.reason, RejectReason::BadValue);
        assert!(
            rejection.detail.contains("before 1970-01-01"),
            "{rejection}"
        );
        assert_eq!(
            decode_case(r#"{"incident_id":"i","at":"1969-07-20T20:17:00Z","status":"new"}"#)
                .unwrap_err()
                .reason,
            RejectReason::BadValue
        );
        assert_eq!(
            decode_telemetry(r#"{"asset_id":"h1","at":-1}"#)
                .unwrap_err()
                .reason,
            RejectReason::BadValue
        );
    }

    #[test]
    fn malformed_json_is_rejected() {
        assert_eq!(reason("not json"), RejectReason::InvalidJson);
        assert_eq!(reason(r#"{"alert_id":"a","#), RejectReason::InvalidJson);
        assert_eq!(
            reason(r#"["a",0,null,"x","r","low"]"#),
            RejectReason::InvalidJson
        );
        assert_eq!(reason("42"), RejectReason::InvalidJson);
    }

    #[test]
    fn decodes_a_case_event() {
        let case = decode_case(
            r#"{"incident_id":"INC-1","at":"2026-01-01T10:00:00Z","status":"Resolved","event_id":"e9",
                "severity":"critical","tier":2,"assignee":"ana","disposition":"true_positive",
                "detection":"hunt","occurred_at":1767258000000,"root_cause":"phishing","cost":125.5,
                "threat_intel":true,"tenant":"acme"}"#,
        )
        .unwrap();
        assert_eq!(case.incident_id, "INC-1");
        assert_eq!(case.at, EventTime(1_767_261_600_000));
        assert_eq!(case.status, Status::Resolved);
        assert_eq!(case.event_id.as_deref(), Some("e9"));
        assert_eq!(case.severity, Some(Severity::Critical));
        assert_eq!(case.tier, Some(2));
        assert_eq!(case.assignee.as_deref(), Some("ana"));
        assert_eq!(case.disposition, Some(Disposition::TruePositive));
        assert_eq!(case.detection, Some(Detection::Hunt));
        assert_eq!(case.occurred_at, Some(EventTime(1_767_258_000_000)));
        assert_eq!(case.root_cause.as_deref(), Some("phishing"));
        assert_eq!(case.cost, Some(125.5));
        assert_eq!(case.threat_intel, Some(true));
        assert_eq!(case.tenant.as_deref(), Some("acme"));
    }

    #[test]
    fn case_events_need_incident_at_and_status_with_valid_values() {
        let case = |text: &str| decode_case(text).map(|_| ()).map_err(|r| r.reason);
        assert_eq!(case(r#"{"incident_id":"i","at":0,"status":"new"}"#), Ok(()));
        assert_eq!(
            case(r#"{"at":0,"status":"new"}"#),
            Err(RejectReason::MissingField)
        );
        assert_eq!(
            case(r#"{"incident_id":"i","status":"new"}"#),
            Err(RejectReason::MissingField)
        );
        assert_eq!(
            case(r#"{"incident_id":"i","at":0}"#),
            Err(RejectReason::MissingField)
        );
        assert_eq!(
            case(r#"{"incident_id":"i","at":0,"status":"done"}"#),
            Err(RejectReason::BadValue)
        );
        assert_eq!(
            case(r#"{"incident_id":"i","at":0,"status":"new","tier":4}"#),
            Err(RejectReason::BadValue)
        );
        assert_eq!(
            case(r#"{"incident_id":"i","at":0,"status":"new","cost":-1}"#),
            Err(RejectReason::BadValue)
        );
        assert_eq!(
            case(r#"{"incident_id":"i","at":0,"status":"new","disposition":"maybe"}"#),
            Err(RejectReason::BadValue)
        );
        assert_eq!(
            case(r#"{"incident_id":"i","at":0,"status":"new","detection":"psychic"}"#),
            Err(RejectReason::BadValue)
        );
    }

    #[test]
    fn decodes_inventory_and_telemetry() {
        let asset = decode_inventory(
            r#"{"asset_id":"h1","tenant":"acme","criticality":"high","retired":true}"#,
        )
        .unwrap();
        assert_eq!((asset.asset_id.as_ref(), asset.retired), ("h1", true));
        assert!(!decode_inventory(r#"{"asset_id":"h2"}"#).unwrap().retired);
        assert_eq!(
            decode_inventory(r#"{"tenant":"x"}"#).unwrap_err().reason,
            RejectReason::MissingField
        );
        let beat = decode_telemetry(r#"{"asset_id":"h1","source":"syslog","at":1000}"#).unwrap();
        assert_eq!((beat.asset_id.as_ref(), beat.at), ("h1", EventTime(1000)));
        assert_eq!(
            decode_telemetry(r#"{"asset_id":"h1"}"#).unwrap_err().reason,
            RejectReason::MissingField
        );
        assert_eq!(
            decode_telemetry(r#"{"asset_id":"h1","at":"soon"}"#)
                .unwrap_err()
                .reason,
            RejectReason::BadValue
        );
    }

    #[test]
    fn nesting_in_a_known_field_is_a_bad_value() {
        let nested = r#"{"alert_id":[[["a"]]],"detected_at":0,"source":"x","severity":"low"}"#;
        assert_eq!(reason(nested), RejectReason::BadValue);
    }
}
