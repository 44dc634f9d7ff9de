//! Records → events. Every record first passes the [`guard`] (size, UTF-8, depth), then the
//! decoder of its input's [`Format`], one file per format behind the one `match` of [`decode`],
//! then the clock bound: no event time later than the wall clock plus
//! `limits.max_clock_ahead`, whatever the format. A decoder makes zero or more native events of
//! a record, of any kinds. A record that cannot become events is a [`Rejection`] value, never
//! an error that stops anything: the pipeline counts it, logs it and dead-letters it. A record
//! of a class or type its format does not map is [`Refusal::Skip`]ped and counted: it is not
//! bad input (PRODUCT.md §6).
//!
//! Vendor adapters (every format but `native`) are pure functions from the record's text, once
//! it passed the guard, to events: `fn decode(text: &str) -> Result<Events<'_>, Refusal>`.
//! They share the lenient readers of [`fields`] (dotted paths, vendor timestamps).

pub mod convert;
pub mod ecs;
pub mod encode;
pub mod fields;
pub mod guard;
pub mod native;
pub mod ocsf;
pub mod sentinel;
pub mod splunk;
pub mod thehive;
pub mod wazuh;

use std::fmt;

use smallvec::SmallVec;

use crate::event::{Event, EventTime};
use crate::source::{Record, TopicRole};

/// The events of one record: one inline (the common case, no allocation), more on the heap.
pub type Events<'a> = SmallVec<[Event<'a>; 1]>;

/// The wire format of an input (PRODUCT.md §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// socmetrics' own JSON (PRODUCT.md §1): the topic's role says which event it holds.
    #[default]
    Native,
    /// OCSF Detection Finding (2004) and Incident Finding (2005).
    Ocsf,
    /// Microsoft Sentinel `SecurityAlert` and `SecurityIncident`.
    Sentinel,
    /// Elastic Security alerts (`kibana.alert.*`).
    Ecs,
    /// Splunk ES notable events.
    Splunk,
    /// TheHive alert and case webhooks.
    TheHive,
    /// Wazuh `alerts.json` lines.
    Wazuh,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Native,
        Format::Ocsf,
        Format::Sentinel,
        Format::Ecs,
        Format::Splunk,
        Format::TheHive,
        Format::Wazuh,
    ];

    /// The name in config (`format = "sentinel"`) and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "native",
            Format::Ocsf => "ocsf",
            Format::Sentinel => "sentinel",
            Format::Ecs => "ecs",
            Format::Splunk => "splunk",
            Format::TheHive => "thehive",
            Format::Wazuh => "wazuh",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Format::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "unknown format `{text}`: expected one of native, ocsf, sentinel, ecs, splunk, \
                 thehive, wazuh"
            ))
        })
    }
}

impl serde::Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Why a record gave no events: rejected (bad input: counted, logged, dead-lettered) or
/// skipped (a class or type its format does not map: counted only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Reject(Rejection),
    Skip(SkipReason),
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal::Reject(rejection)
    }
}

/// Why a record was skipped: the `reason` label of `soc_events_skipped_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A record of a class or type the adapter does not map (an OCSF class other than 2004 and
    /// 2005, a TheHive webhook about an observable or a task…).
    UnhandledType,
    /// A record of a handled type that changes nothing the KPIs read (a TheHive update of the
    /// description only).
    NoChange,
}

impl SkipReason {
    pub const ALL: [SkipReason; 2] = [SkipReason::UnhandledType, SkipReason::NoChange];

    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UnhandledType => "unhandled_type",
            SkipReason::NoChange => "no_change",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// How an input's records are read: its format, and for a native topic of a role, the role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decoder {
    /// `topics.alerts`, `topics.cases`…: the role says which event a native record holds.
    Native(TopicRole),
    /// Native alerts and case events on one topic (an `[[inputs]]` topic of format `native`,
    /// the repartition topic): told apart by their fields.
    NativeAny,
    Vendor(Format),
}

impl Decoder {
    /// The decoder of an `[[inputs]]` topic of `format`.
    pub fn of_input(format: Format) -> Self {
        match format {
            Format::Native => Decoder::NativeAny,
            vendor => Decoder::Vendor(vendor),
        }
    }
}

/// Decodes one record: its events, or why it has none. `not_after` is the latest event time
/// accepted: the wall clock plus `limits.max_clock_ahead`.
pub fn decode<'a>(
    decoder: Decoder,
    record: &Record<'a>,
    limits: guard::Limits,
    not_after: EventTime,
) -> Result<Events<'a>, Refusal> {
    let events = match decoder {
        Decoder::Native(role) => native::decode(record, role, limits)?,
        Decoder::NativeAny => {
            Events::from_buf([native::decode_any(guard::check(record.payload, limits)?)?])
        }
        Decoder::Vendor(format) => decode_text(format, guard::check(record.payload, limits)?)?,
    };
    within_clock(&events, not_after)?;
    Ok(events)
}

/// The one `match` over vendor formats: the record's text, checked by the guard, to events.
pub fn decode_text(format: Format, text: &str) -> Result<Events<'_>, Refusal> {
    match format {
        Format::Native => Err(Refusal::Skip(SkipReason::UnhandledType)),
        Format::Ocsf => ocsf::decode(text),
        Format::Sentinel => sentinel::decode(text),
        Format::Ecs => ecs::decode(text),
        Format::Splunk => splunk::decode(text),
        Format::TheHive => thehive::decode(text),
        Format::Wazuh => wazuh::decode(text),
    }
}

/// Rejects a record any of whose event times is later than `not_after`: one such time would
/// move the event clock (or an incident, or a heartbeat) into the future for good.
fn within_clock(events: &[Event<'_>], not_after: EventTime) -> Result<(), Rejection> {
    for event in events {
        if let Some((field, at)) = event.times().find(|(_, at)| *at > not_after) {
            return Err(Rejection::new(
                RejectReason::ClockAhead,
                format!(
                    "`{field}` {at} is later than the wall clock plus limits.max_clock_ahead \
                     ({not_after})"
                ),
            ));
        }
    }
    Ok(())
}

/// Why a record was rejected: the `reason` label of `soc_events_rejected_total` and the
/// `socmetrics.reason` header of its dead letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Larger than `limits.max_record_bytes`; rejected unread.
    TooLarge,
    /// Not valid UTF-8, so not JSON.
    InvalidUtf8,
    /// Nested deeper than `limits.max_depth`.
    TooDeep,
    /// Not JSON, not a JSON object, or an empty (null) record.
    InvalidJson,
    /// A required field is absent or null.
    MissingField,
    /// A field has the wrong type or an invalid value (timestamp, severity…).
    BadValue,
    /// A duration came out negative (its ends disagree): clamped to 0 and counted.
    ClockSkew,
    /// An event time is later than the wall clock plus `limits.max_clock_ahead`.
    ClockAhead,
}

impl RejectReason {
    pub const ALL: [RejectReason; 8] = [
        RejectReason::TooLarge,
        RejectReason::InvalidUtf8,
        RejectReason::TooDeep,
        RejectReason::InvalidJson,
        RejectReason::MissingField,
        RejectReason::BadValue,
        RejectReason::ClockSkew,
        RejectReason::ClockAhead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::TooLarge => "too_large",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::TooDeep => "too_deep",
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadValue => "bad_value",
            RejectReason::ClockSkew => "clock_skew",
            RejectReason::ClockAhead => "clock_ahead",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record that did not decode: the reason (a fixed label) and a human detail for logs and
/// the dead letter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    /// Maps a serde_json error to the reason a user can act on.
    pub(crate) fn from_json(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let detail = error.to_string();
        let reason = match error.classify() {
            Category::Data => RejectReason::BadValue,
            Category::Syntax if detail.starts_with("recursion limit exceeded") => {
                RejectReason::TooDeep
            }
            Category::Syntax | Category::Eof | Category::Io => RejectReason::InvalidJson,
        };
        Self { reason, detail }
    }

    /// A field whose value no mapping reads.
    pub(crate) fn bad_value(detail: impl Into<String>) -> Self {
        Self::new(RejectReason::BadValue, detail)
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::new(
            RejectReason::MissingField,
            format!("required field `{field}` is missing or null"),
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01T20:34:12.561Z: the moment finding 2's record meant, in milliseconds.
    const WALL: i64 = 1_796_157_252_561;
    const HOUR: i64 = 3_600_000;

    fn outcome(role: TopicRole, text: &str) -> Result<usize, (RejectReason, String)> {
        let limits = guard::Limits {
            max_record_bytes: 4096,
            max_depth: 8,
        };
        let record = Record::new("topic", role, 0, Some(text.as_bytes()));
        match decode(
            Decoder::Native(role),
            &record,
            limits,
            EventTime(WALL + HOUR),
        ) {
            Ok(events) => Ok(events.len()),
            Err(Refusal::Reject(rejection)) => Err((rejection.reason, rejection.detail)),
            Err(Refusal::Skip(reason)) => panic!("native skipped a record: {reason:?}"),
        }
    }

    fn reason(role: TopicRole, text: &str) -> Option<RejectReason> {
        outcome(role, text).err().map(|(reason, _)| reason)
    }

    #[test]
    fn an_epoch_in_microseconds_is_rejected_as_clock_ahead() {
        let (reason, detail) = outcome(
            TopicRole::Alerts,
            r#"{"alert_id":"poison","detected_at":1796157252561000,"source":"x","severity":"high"}"#,
        )
        .unwrap_err();
        assert_eq!(reason, RejectReason::ClockAhead);
        assert_eq!(
            detail,
            "`detected_at` +58887-12-16T02:09:21.000Z is later than the wall clock plus \
             limits.max_clock_ahead (2026-12-01T21:34:12.561Z)"
        );
    }

    #[test]
    fn the_bound_is_the_wall_clock_plus_max_clock_ahead_exactly() {
        let alert = |at: i64| {
            format!(r#"{{"alert_id":"a","detected_at":{at},"source":"x","severity":"high"}}"#)
        };
        assert_eq!(outcome(TopicRole::Alerts, &alert(WALL + HOUR)), Ok(1));
        assert_eq!(
            reason(TopicRole::Alerts, &alert(WALL + HOUR + 1)),
            Some(RejectReason::ClockAhead)
        );
        for far in [r#""9999-12-31T23:59:59Z""#, "9223372036854775807"] {
            let text =
                format!(r#"{{"alert_id":"a","detected_at":{far},"source":"x","severity":"high"}}"#);
            assert_eq!(
                reason(TopicRole::Alerts, &text),
                Some(RejectReason::ClockAhead),
                "{far}"
            );
        }
    }

    #[test]
    fn every_event_time_of_every_kind_is_bounded() {
        let (ahead, fine) = (WALL + 2 * HOUR, WALL - HOUR);
        for (role, text, field) in [
            (
                TopicRole::Alerts,
                format!(
                    r#"{{"alert_id":"a","detected_at":{fine},"occurred_at":{ahead},"source":"x","severity":"high"}}"#
                ),
                "`occurred_at`",
            ),
            (
                TopicRole::Cases,
                format!(r#"{{"incident_id":"I","at":{ahead},"status":"new"}}"#),
                "`at`",
            ),
            (
                TopicRole::Cases,
                format!(
                    r#"{{"incident_id":"I","at":{fine},"occurred_at":{ahead},"status":"new"}}"#
                ),
                "`occurred_at`",
            ),
            (
                TopicRole::Telemetry,
                format!(r#"{{"asset_id":"h1","at":{ahead}}}"#),
                "`at`",
            ),
        ] {
            let (reason, detail) = outcome(role, &text).unwrap_err();
            assert_eq!(reason, RejectReason::ClockAhead, "{text}");
            assert!(detail.starts_with(field), "{detail}");
        }
        // The same records with every time in bounds, and an inventory record (no time).
        assert_eq!(
            outcome(
                TopicRole::Cases,
                &format!(
                    r#"{{"incident_id":"I","at":{fine},"occurred_at":{fine},"status":"new"}}"#
                )
            ),
            Ok(1)
        );
        assert_eq!(
            outcome(
                TopicRole::Telemetry,
                &format!(r#"{{"asset_id":"h1","at":{fine}}}"#)
            ),
            Ok(1)
        );
        assert_eq!(outcome(TopicRole::Inventory, r#"{"asset_id":"h1"}"#), Ok(1));
    }
}
