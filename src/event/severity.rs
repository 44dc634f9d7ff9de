//! Incident and alert severity: the five native levels, case-insensitive on the wire.
//! Synonyms (`info`, `sev1`, …) are an adapter's business, not the native format's.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// Native severity, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// All levels, in order; the index of each is `severity as usize`.
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The label value exported to Prometheus.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a native severity, ignoring ASCII case.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text))
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeverityVisitor;

        impl Visitor<'_> for SeverityVisitor {
            type Value = Severity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("one of informational, low, medium, high, critical")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Severity, E> {
                Severity::parse(text)
                    .ok_or_else(|| E::custom(format_args!("`{text}` is not a severity")))
            }
        }

        deserializer.deserialize_str(SeverityVisitor)
    }
}

/// Only so latest-wins slots can start empty; an unset slot is never read.
impl Default for Severity {
    fn default() -> Self {
        Severity::Informational
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_ascii_case() {
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("Critical"), Some(Severity::Critical));
        assert_eq!(
            Severity::parse("informational"),
            Some(Severity::Informational)
        );
        assert_eq!(Severity::parse("info"), None);
        assert_eq!(Severity::parse("sev1"), None);
    }

    #[test]
    fn index_follows_order() {
        for (i, level) in Severity::ALL.into_iter().enumerate() {
            assert_eq!(level.index(), i);
        }
        assert!(Severity::Critical > Severity::High);
    }
}
