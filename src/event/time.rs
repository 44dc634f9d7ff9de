//! Event timestamps: RFC 3339 strings with any offset, or integer epoch milliseconds.
//! Stored as UTC epoch milliseconds, the resolution every duration in the product uses.
//! Invariant of a decoded time: it is not before the Unix epoch (no SOC event is), so the
//! difference of two decoded times always fits an `i64`; the upper bound (the wall clock plus
//! `limits.max_clock_ahead`) moves, and is checked after decoding (`formats::decode`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime(pub i64);

impl EventTime {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Seconds since the Unix epoch, as Prometheus timestamps are exported.
    pub fn as_seconds_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Parses an RFC 3339 timestamp (`2026-01-01T10:00:00.5+02:00`, `...Z`).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        Some(Self(parsed.timestamp_millis()))
    }

    pub fn saturating_sub_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_sub(millis))
    }

    pub fn saturating_add_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// A decoded time: epoch milliseconds, not before the epoch.
    fn decoded<E: de::Error>(millis: i64) -> Result<Self, E> {
        if millis < 0 {
            return Err(E::custom(format_args!(
                "timestamp {} is before 1970-01-01T00:00:00Z (the Unix epoch)",
                Self(millis)
            )));
        }
        Ok(Self(millis))
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(utc) => write!(f, "{}", utc.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
            None => write!(f, "{}ms", self.0),
        }
    }
}

/// Accepts a JSON string (RFC 3339) or an integer (epoch milliseconds); anything else,
/// including fractional numbers and times before the Unix epoch, is a bad value.
impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;

        impl Visitor<'_> for TimeVisitor {
            type Value = EventTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or integer epoch milliseconds")
            }

            fn visit_i64<E: de::Error>(self, millis: i64) -> Result<EventTime, E> {
                EventTime::decoded(millis)
            }

            fn visit_u64<E: de::Error>(self, millis: u64) -> Result<EventTime, E> {
                i64::try_from(millis)
                    .map(EventTime)
                    .map_err(|_| E::custom(format_args!("timestamp {millis} is out of range")))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<EventTime, E> {
                EventTime::parse_rfc3339(text)
                    .ok_or_else(|| E::custom(format_args!("`{text}` is not an RFC 3339 timestamp")))
                    .and_then(|time| EventTime::decoded(time.0))
            }
        }

        deserializer.deserialize_any(TimeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_offsets_are_stored_as_utc() {
        let utc = EventTime::parse_rfc3339("2026-01-01T10:00:00Z").unwrap();
        let plus_two = EventTime::parse_rfc3339("2026-01-01T12:00:00+02:00").unwrap();
        assert_eq!(utc, plus_two);
        assert_eq!(utc.millis(), 1_767_261_600_000);
        let fractional = EventTime::parse_rfc3339("2026-01-01T10:00:00.250Z").unwrap();
        assert_eq!(fractional.millis() - utc.millis(), 250);
    }

    #[test]
    fn integers_are_epoch_millis_and_floats_are_rejected() {
        let t: EventTime = serde_json::from_str("1767261600000").unwrap();
        assert_eq!(t.millis(), 1_767_261_600_000);
        assert!(serde_json::from_str::<EventTime>("1767261600000.5").is_err());
        assert!(serde_json::from_str::<EventTime>("\"yesterday\"").is_err());
        assert!(serde_json::from_str::<EventTime>("true").is_err());
    }

    #[test]
    fn times_before_the_epoch_are_rejected_and_the_epoch_itself_is_not() {
        let error = serde_json::from_str::<EventTime>("-9223372036854775807").unwrap_err();
        assert!(error.to_string().contains("before 1970-01-01"), "{error}");
        assert!(serde_json::from_str::<EventTime>("-1").is_err());
        assert!(serde_json::from_str::<EventTime>("\"1969-12-31T23:59:59.999Z\"").is_err());
        assert!(serde_json::from_str::<EventTime>("\"0001-01-01T00:00:00Z\"").is_err());
        assert_eq!(
            serde_json::from_str::<EventTime>("0").unwrap(),
            EventTime(0)
        );
        assert_eq!(
            serde_json::from_str::<EventTime>("\"1970-01-01T01:00:00+01:00\"").unwrap(),
            EventTime(0)
        );
    }

    #[test]
    fn displays_as_rfc3339_utc() {
        assert_eq!(
            EventTime(1_767_261_600_250).to_string(),
            "2026-01-01T10:00:00.250Z"
        );
    }
}
