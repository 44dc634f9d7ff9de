use std::borrow::Cow;
use std::collections::BTreeMap;

use super::*;
use crate::event::{Alert, Disposition, Event, Status};
use crate::formats::decode_text;
use crate::sim::Simulator;
use crate::source::TopicRole;

const DETECTED: i64 = 1_764_000_000_123;
const OCCURRED: i64 = 1_763_999_100_000;

fn native(severity: Severity, incident_id: Option<&'static str>) -> Native<'static> {
    Native {
        alert_id: "edr-42",
        detected_at: EventTime(DETECTED),
        occurred_at: Some(EventTime(OCCURRED)),
        source: "edr",
        rule: "credential-dump",
        severity,
        incident_id,
        asset: "host-007",
        threat_intel: true,
    }
}

/// The native alert each adapter reads back from what the renderer wrote.
fn expected(
    source: &'static str,
    severity: Severity,
    incident: Option<&'static str>,
) -> Alert<'static> {
    Alert {
        alert_id: Cow::Borrowed("edr-42"),
        detected_at: EventTime(DETECTED),
        occurred_at: Some(EventTime(OCCURRED)),
        source: Cow::Borrowed(source),
        rule: Some(Cow::Borrowed("credential-dump")),
        severity,
        incident_id: incident.map(Cow::Borrowed),
        asset: Some(Cow::Borrowed("host-007")),
        tenant: None,
        threat_intel: true,
    }
}

fn decoded(format: Format, text: &str) -> Vec<Event<'_>> {
    decode_text(format, text)
        .unwrap_or_else(|refusal| panic!("{format:?} refused {text}: {refusal:?}"))
        .into_vec()
}

#[test]
fn each_renderer_is_read_back_by_its_adapter_as_the_same_alert() {
    let critical = native(Severity::Critical, None);
    let cases: [(Format, Value, Alert<'static>); 5] = [
        (
            Format::Ocsf,
            ocsf(&critical),
            expected("edr", Severity::Critical, None),
        ),
        // Sentinel has no critical, and its alerts no threat-intel flag.
        (Format::Sentinel, sentinel(&critical), {
            let mut alert = expected("edr", Severity::High, None);
            alert.threat_intel = false;
            alert
        }),
        (
            Format::Ecs,
            ecs(&critical),
            expected("elastic", Severity::Critical, None),
        ),
        (Format::TheHive, thehive(&critical), {
            let mut alert = expected("edr", Severity::Critical, None);
            alert.tenant = Some(Cow::Borrowed("demo"));
            // TheHive keeps no first-seen time and no asset field, nor a threat-intel flag.
            alert.occurred_at = None;
            alert.asset = None;
            alert.threat_intel = false;
            alert
        }),
        (Format::Wazuh, wazuh(&critical), {
            let mut alert = expected("wazuh", Severity::Critical, None);
            alert.occurred_at = None;
            alert
        }),
    ];
    for (format, record, alert) in cases {
        let text = record.to_string();
        assert_eq!(
            decoded(format, &text),
            vec![Event::Alert(alert)],
            "{format:?}"
        );
    }
}

#[test]
fn linking_formats_carry_the_incident() {
    let linked = native(Severity::Medium, Some("INC-9"));
    let (ecs_text, thehive_text) = (ecs(&linked).to_string(), thehive(&linked).to_string());
    let ecs_events = decoded(Format::Ecs, &ecs_text);
    assert_eq!(
        ecs_events,
        vec![Event::Alert(expected(
            "elastic",
            Severity::Medium,
            Some("INC-9")
        ))]
    );
    let thehive_events = decoded(Format::TheHive, &thehive_text);
    let Some(Event::Alert(alert)) = thehive_events.first() else {
        panic!("TheHive gave {thehive_events:?}");
    };
    assert_eq!(alert.incident_id.as_deref(), Some("INC-9"));
    assert_eq!(thehive_events.len(), 1);
}

#[test]
fn a_splunk_notable_is_an_alert_and_an_incident_closed_as_false_positive() {
    let alert = native(Severity::High, None);
    let hash = 7 << 20; // a review 12 minutes after detection
    let text = splunk(&alert, hash).to_string();
    let events = decoded(Format::Splunk, &text);
    let review = EventTime(DETECTED + 12 * 60_000);
    let [Event::Alert(got), Event::Case(new), Event::Case(closed)] = events.as_slice() else {
        panic!("Splunk gave {events:?}");
    };
    assert_eq!(*got, {
        let mut alert = expected("splunk", Severity::High, Some("edr-42"));
        alert.incident_id = Some(Cow::Borrowed("edr-42"));
        alert
    });
    assert_eq!((new.status, new.at), (Status::New, EventTime(DETECTED)));
    assert_eq!(new.incident_id, "edr-42");
    assert_eq!((closed.status, closed.at), (Status::Closed, review));
    assert_eq!(closed.disposition, Some(Disposition::FalsePositive));
}

/// A day of simulated alerts: one in eight (by alert id) goes to a vendor, every format is
/// used, linked alerts only where the format can link, and a redelivered duplicate is
/// rendered as its original.
#[test]
fn the_share_is_stable_and_every_format_is_used() {
    let mut simulator = Simulator::new(11);
    let start = EventTime(1_764_000_000_000);
    let records = simulator.records_between(start, start.saturating_add_millis(6 * 3_600_000));
    let mut alerts = 0u64;
    let mut per_format: BTreeMap<Format, u64> = BTreeMap::new();
    let mut rendered: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.role == TopicRole::Alerts) {
        let Ok(value) = serde_json::from_slice::<Value>(&record.payload) else {
            assert_eq!(
                render(&record.payload),
                None,
                "a malformed record stays native"
            );
            continue;
        };
        alerts += 1;
        let Some((format, payload)) = render(&record.payload) else {
            continue;
        };
        *per_format.entry(format).or_default() += 1;
        if value.get("incident_id").is_some() {
            assert!(
                LINKING.contains(&format),
                "{format:?} cannot link an incident"
            );
        }
        let previous = rendered.insert(record.payload.clone(), payload.clone());
        assert!(
            previous.is_none_or(|p| p == payload),
            "a duplicate renders alike"
        );
    }
    let vendored: u64 = per_format.values().sum();
    assert_eq!(per_format.len(), FORMATS.len(), "{per_format:?}");
    // 1/8 of several thousand alerts, within a generous ±25 %.
    let share = vendored as f64 / alerts as f64;
    assert!(
        alerts > 5_000 && (0.094..0.157).contains(&share),
        "{vendored} of {alerts}"
    );
}
