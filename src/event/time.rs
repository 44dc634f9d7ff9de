//! Event timestamps: RFC 3339 strings with any offset, or integer epoch milliseconds.
//! Stored as UTC epoch milliseconds, the resolution every duration in the product uses.

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
/// including fractional numbers, is a bad value.
impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;

        impl Visitor<'_> for TimeVisitor {
            type Value = EventTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or integer epoch milliseconds")
            }

            fn visit_i64<E: de::Error>(self, millis: i64) -> Result<EventTime, E> {
                Ok(EventTime(millis))
            }

            fn visit_u64<E: de::Error>(self, millis: u64) -> Result<EventTime, E> {
                i64::try_from(millis)
                    .map(EventTime)
                    .map_err(|_| E::custom(format_args!("timestamp {millis} is out of range")))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<EventTime, E> {
                EventTime::parse_rfc3339(text)
                    .ok_or_else(|| E::custom(format_args!("`{text}` is not an RFC 3339 timestamp")))
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
    fn displays_as_rfc3339_utc() {
        assert_eq!(
            EventTime(1_767_261_600_250).to_string(),
            "2026-01-01T10:00:00.250Z"
        );
    }
}
