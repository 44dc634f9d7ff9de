//! The engine's state as changelog records (PRODUCT.md §5): what a restore needs, keyed so
//! that compaction keeps exactly that. Per input partition:
//!
//! | key | value | tombstoned when |
//! |---|---|---|
//! | `i2` 0x1f incident key ([`IncidentKey`]: tenant length `:` tenant id) | the incident ([`StoredIncident`], postcard) | it leaves memory |
//! | `a` 0x1f alert id hash (hex) | source, severity, detected_at of an alert in the volume windows | it leaves the longest alert window |
//! | `s` 0x1f severity 0x1f source | (empty) an alert series exists, so it is exported at 0 | never |
//! | `c` | the partition's largest event time (the event clock) | never |
//!
//! Names (analysts, root causes, sources) are stored as text: interned ids are per process.
//! Legacy incident keys (`i` 0x1f tenant 0x1f id, or `i` 0x1f id; ambiguous when either part
//! holds 0x1f) are still read, with the rule that wrote them, and migrated (`durable.rs`).

use serde::{Deserialize, Serialize};

use super::incident::{EventKey, Incident, Latest};
use super::key::{IncidentKey, KeyRef};
use crate::event::{Detection, Disposition, Severity, Status};

/// Separates a record kind from its key.
pub const SEPARATOR: char = '\u{1f}';
/// The event-clock record of a partition.
pub const CLOCK_KEY: &str = "c";

/// Why a changelog record could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("changelog record {key:?}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The partition's stored event clock is in the future: ignored on restore.
    #[error(
        "changelog record \"c\": event clock {at} is later than the wall clock plus \
         limits.max_clock_ahead ({not_after}); ignored"
    )]
    ClockAhead {
        at: crate::event::EventTime,
        not_after: crate::event::EventTime,
    },
}

/// One record for the changelog: a key of a partition and its new value, or a tombstone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRecord {
    pub partition: i32,
    pub key: String,
    pub value: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct StoredLatest<T> {
    at: i64,
    event: u32,
    value: T,
}

#[derive(Serialize, Deserialize)]
enum StoredKey<'a> {
    Implicit {
        status: u8,
        at: i64,
    },
    Explicit(&'a str),
    Alert {
        hash: u64,
        detected_at: i64,
        source: &'a str,
    },
}

/// An incident as the changelog keeps it: enums as their index, names as text.
#[derive(Serialize, Deserialize)]
struct StoredIncident<'a> {
    occurred: i64,
    detected: i64,
    acknowledged: i64,
    contained_event: i64,
    resolved: i64,
    status: StoredLatest<u8>,
    severity: StoredLatest<u8>,
    /// `u8::MAX`: none.
    alert_severity: u8,
    disposition: StoredLatest<u8>,
    #[serde(borrow)]
    assignee: StoredLatest<&'a str>,
    detection: StoredLatest<u8>,
    #[serde(borrow)]
    root_cause: StoredLatest<&'a str>,
    cost: StoredLatest<f64>,
    flags: u16,
    #[serde(borrow)]
    events: Vec<StoredKey<'a>>,
}

#[derive(Serialize, Deserialize)]
struct StoredAlert<'a> {
    source: &'a str,
    severity: u8,
    detected_at: i64,
}

/// An alert kept for the volume windows, as restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredAlert {
    pub source: String,
    pub severity: Severity,
    pub detected_at: i64,
}

const NONE: u8 = u8::MAX;

fn stored<T: Copy, U>(latest: &Latest<T>, map: impl Fn(T) -> U) -> StoredLatest<U> {
    StoredLatest {
        at: latest.at,
        event: latest.event,
        value: map(latest.value),
    }
}

fn option_index<T>(value: Option<T>, index: impl Fn(T) -> usize) -> u8 {
    value.map_or(NONE, |v| index(v) as u8)
}

/// Resolves interned ids to names (encoding) or names to ids (decoding).
#[derive(Debug)]
pub struct Names<A, R, S> {
    pub analyst: A,
    pub root_cause: R,
    pub source: S,
}

/// Encodes an incident; `names` resolves interned analyst, root-cause and source ids.
pub fn encode_incident<A, R, S, N>(incident: &Incident, names: &Names<A, R, S>) -> Vec<u8>
where
    A: Fn(u32) -> N,
    R: Fn(u32) -> N,
    S: Fn(u32) -> N,
    N: AsRef<str>,
{
    let (analyst, root_cause) = (&names.analyst, &names.root_cause);
    // Names borrowed from the label tables: no allocation per event.
    let sources: Vec<Option<N>> = incident
        .events
        .iter()
        .map(|key| match key {
            EventKey::Alert { source, .. } => Some((names.source)(*source)),
            _ => None,
        })
        .collect();
    let analyst_name = incident.assignee.get().map(analyst);
    let analyst_name = analyst_name.as_ref().map_or("", AsRef::as_ref);
    let root_cause_name = incident.root_cause.get().map(root_cause);
    let root_cause_name = root_cause_name.as_ref().map_or("", AsRef::as_ref);
    let record = StoredIncident {
        occurred: incident.occurred,
        detected: incident.detected,
        acknowledged: incident.acknowledged,
        contained_event: incident.contained_event,
        resolved: incident.resolved,
        status: stored(&incident.status, |s| s.index() as u8),
        severity: stored(&incident.severity, |s| s.index() as u8),
        alert_severity: option_index(incident.alert_severity, Severity::index),
        disposition: stored(&incident.disposition, |d| {
            option_index(d, Disposition::index)
        }),
        assignee: stored(&incident.assignee, |_| analyst_name),
        detection: stored(&incident.detection, |d| option_index(d, Detection::index)),
        root_cause: stored(&incident.root_cause, |_| root_cause_name),
        cost: stored(&incident.cost, |c| c),
        flags: incident.flags,
        events: incident
            .events
            .iter()
            .zip(&sources)
            .map(|(key, source)| match key {
                EventKey::Implicit { status, at } => StoredKey::Implicit {
                    status: status.index() as u8,
                    at: *at,
                },
                EventKey::Explicit(id) => StoredKey::Explicit(id),
                EventKey::Alert {
                    hash, detected_at, ..
                } => StoredKey::Alert {
                    hash: *hash,
                    detected_at: *detected_at,
                    source: source.as_ref().map_or("", AsRef::as_ref),
                },
            })
            .collect(),
    };
    // Sized once: a fixed part under 64 bytes, then about 24 per event.
    let buffer = Vec::with_capacity(64 + 24 * incident.events.len());
    postcard::to_extend(&record, buffer).unwrap_or_default()
}

fn pick<T: Copy>(all: &[T], index: u8, key: &str) -> Result<T, StateError> {
    all.get(usize::from(index))
        .copied()
        .ok_or_else(|| StateError::Corrupt {
            key: key.to_owned(),
            reason: format!("index {index} out of range"),
        })
}

fn pick_option<T: Copy>(all: &[T], index: u8, key: &str) -> Result<Option<T>, StateError> {
    if index == NONE {
        Ok(None)
    } else {
        pick(all, index, key).map(Some)
    }
}

fn latest<T, U>(
    stored: StoredLatest<T>,
    map: impl FnOnce(T) -> Result<U, StateError>,
) -> Result<Latest<U>, StateError> {
    Ok(Latest {
        at: stored.at,
        event: stored.event,
        value: map(stored.value)?,
    })
}

/// Decodes an incident; `names` turns analyst, root-cause and source names back into ids.
pub fn decode_incident<A, R, S>(
    key: &str,
    bytes: &[u8],
    names: &mut Names<A, R, S>,
) -> Result<Incident, StateError>
where
    A: FnMut(&str) -> u32,
    R: FnMut(&str) -> u32,
    S: FnMut(&str) -> u32,
{
    let corrupt = |e: postcard::Error| StateError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    };
    let record: StoredIncident<'_> = postcard::from_bytes(bytes).map_err(corrupt)?;
    let events = record
        .events
        .iter()
        .map(|stored| {
            Ok(match stored {
                StoredKey::Implicit { status, at } => EventKey::Implicit {
                    status: pick(Status::ALL, *status, key)?,
                    at: *at,
                },
                StoredKey::Explicit(id) => EventKey::Explicit(Box::from(*id)),
                StoredKey::Alert {
                    hash,
                    detected_at,
                    source,
                } => EventKey::Alert {
                    hash: *hash,
                    detected_at: *detected_at,
                    source: (names.source)(source),
                },
            })
        })
        .collect::<Result<Vec<_>, StateError>>()?;
    let assignee_set = record.assignee.event != u32::MAX;
    let root_cause_set = record.root_cause.event != u32::MAX;
    Ok(Incident {
        occurred: record.occurred,
        detected: record.detected,
        acknowledged: record.acknowledged,
        contained_event: record.contained_event,
        resolved: record.resolved,
        status: latest(record.status, |s| pick(Status::ALL, s, key))?,
        severity: latest(record.severity, |s| pick(&Severity::ALL, s, key))?,
        alert_severity: pick_option(&Severity::ALL, record.alert_severity, key)?,
        disposition: latest(record.disposition, |d| {
            pick_option(Disposition::ALL, d, key)
        })?,
        assignee: latest(record.assignee, |name| {
            Ok(if assignee_set {
                (names.analyst)(name)
            } else {
                0
            })
        })?,
        detection: latest(record.detection, |d| pick_option(Detection::ALL, d, key))?,
        root_cause: latest(record.root_cause, |name| {
            Ok(if root_cause_set {
                (names.root_cause)(name)
            } else {
                0
            })
        })?,
        cost: latest(record.cost, Ok)?,
        flags: record.flags,
        partition: 0,
        events,
    })
}

pub fn encode_alert(source: &str, severity: Severity, detected_at: i64) -> Vec<u8> {
    postcard::to_stdvec(&StoredAlert {
        source,
        severity: severity.index() as u8,
        detected_at,
    })
    .unwrap_or_default()
}

pub fn decode_alert(key: &str, bytes: &[u8]) -> Result<RestoredAlert, StateError> {
    let record: StoredAlert<'_> = postcard::from_bytes(bytes).map_err(|e| StateError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(RestoredAlert {
        source: record.source.to_owned(),
        severity: pick(&Severity::ALL, record.severity, key)?,
        detected_at: record.detected_at,
    })
}

pub fn incident_key(incident: &IncidentKey) -> String {
    format!("i2{SEPARATOR}{}", incident.encoded())
}

/// The changelog key of an incident under the legacy format (`legacy`: what followed `i`
/// 0x1f), to tombstone it.
pub fn legacy_incident_key(legacy: &str) -> String {
    format!("i{SEPARATOR}{legacy}")
}

/// (tenant, id) of a legacy incident key, by the rule of the versions that wrote it: the
/// tenant is what precedes the last 0x1f, none (`""`) without one.
pub fn legacy_pair(legacy: &str) -> (&str, &str) {
    legacy.rsplit_once(SEPARATOR).unwrap_or(("", legacy))
}

pub fn alert_key(hash: u64) -> String {
    format!("a{SEPARATOR}{hash:016x}")
}

pub fn series_key(severity: Severity, source: &str) -> String {
    format!("s{SEPARATOR}{}{SEPARATOR}{source}", severity.as_str())
}

/// What a changelog key names.
#[derive(Debug, PartialEq, Eq)]
pub enum StateKey<'a> {
    Incident(KeyRef<'a>),
    /// An incident under the legacy key format: the text after `i` 0x1f.
    LegacyIncident(&'a str),
    Alert(u64),
    Series(Severity, &'a str),
    Clock,
}

pub fn parse_key(key: &str) -> Option<StateKey<'_>> {
    if key == CLOCK_KEY {
        return Some(StateKey::Clock);
    }
    let (kind, rest) = key.split_once(SEPARATOR)?;
    match kind {
        "i2" => KeyRef::parse(rest).map(StateKey::Incident),
        "i" => Some(StateKey::LegacyIncident(rest)),
        "a" => u64::from_str_radix(rest, 16).ok().map(StateKey::Alert),
        "s" => {
            let (severity, source) = rest.split_once(SEPARATOR)?;
            Some(StateKey::Series(Severity::parse(severity)?, source))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::native::decode_case;

    #[test]
    fn an_incident_survives_the_round_trip() {
        let mut incident = Incident::new();
        for text in [
            r#"{"incident_id":"I","at":1000,"status":"new","severity":"high","occurred_at":500}"#,
            r#"{"incident_id":"I","at":2000,"status":"resolved","event_id":"e7","assignee":"ana","root_cause":"phish","disposition":"true_positive","cost":12.5,"detection":"hunt","tier":2}"#,
        ] {
            let case = decode_case(text).unwrap();
            let assignee = case.assignee.as_ref().map(|_| 3);
            let root = case.root_cause.as_ref().map(|_| 9);
            incident.apply_case(&case, "I", assignee, root);
        }
        incident.alert_severity = Some(Severity::Low);
        incident.events.push(EventKey::Alert {
            hash: 42,
            detected_at: 900,
            source: 5,
        });
        let names = Names {
            analyst: |id| format!("analyst{id}"),
            root_cause: |id| format!("cause{id}"),
            source: |id| format!("tool{id}"),
        };
        let bytes = encode_incident(&incident, &names);
        assert!(bytes.len() < 120, "{} bytes", bytes.len());
        let mut back_names = Names {
            analyst: |name: &str| if name == "analyst3" { 3 } else { 0 },
            root_cause: |name: &str| if name == "cause9" { 9 } else { 0 },
            source: |name: &str| if name == "tool5" { 5 } else { 0 },
        };
        let back = decode_incident("I", &bytes, &mut back_names).unwrap();
        assert_eq!(format!("{back:?}"), format!("{incident:?}"));
        assert!(decode_incident("I", &bytes[..bytes.len() / 2], &mut back_names).is_err());
    }

    #[test]
    fn keys_name_what_they_hold() {
        let acme = IncidentKey::new("acme", "INC-1");
        assert_eq!(incident_key(&acme), "i2\u{1f}4:acmeINC-1");
        assert_eq!(
            parse_key(&incident_key(&acme)),
            Some(StateKey::Incident(acme.as_key()))
        );
        assert_eq!(parse_key("i2\u{1f}INC-1"), None, "not an encoded pair");
        assert_eq!(
            parse_key("i\u{1f}acme\u{1f}INC-1"),
            Some(StateKey::LegacyIncident("acme\u{1f}INC-1"))
        );
        assert_eq!(legacy_pair("acme\u{1f}INC-1"), ("acme", "INC-1"));
        assert_eq!(legacy_pair("INC-1"), ("", "INC-1"));
        assert_eq!(legacy_incident_key("INC-1"), "i\u{1f}INC-1");
        assert_eq!(parse_key(&alert_key(0xabc)), Some(StateKey::Alert(0xabc)));
        assert_eq!(parse_key("c"), Some(StateKey::Clock));
        assert_eq!(
            parse_key(&series_key(Severity::Low, "edr")),
            Some(StateKey::Series(Severity::Low, "edr"))
        );
        assert_eq!(parse_key("zzz"), None);
        let alert = decode_alert("a", &encode_alert("edr", Severity::Critical, 77)).unwrap();
        assert_eq!(
            alert,
            RestoredAlert {
                source: "edr".into(),
                severity: Severity::Critical,
                detected_at: 77
            }
        );
    }
}
