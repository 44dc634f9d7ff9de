//! The native case event: one change of an incident in the case tool (SOAR, ticketing).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::{EventTime, Severity};

/// One change of an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseEvent<'a> {
    pub incident_id: Cow<'a, str>,
    /// When the change happened.
    pub at: EventTime,
    pub status: Status,
    /// Dedupe key; when absent the event is identified by incident, status and `at`.
    pub event_id: Option<Cow<'a, str>>,
    pub severity: Option<Severity>,
    /// Support tier 1–3; 2 or more means escalated.
    pub tier: Option<u8>,
    pub assignee: Option<Cow<'a, str>>,
    pub disposition: Option<Disposition>,
    /// How the incident was found; `alert` when absent.
    pub detection: Option<Detection>,
    pub occurred_at: Option<EventTime>,
    pub root_cause: Option<Cow<'a, str>>,
    /// Reported cost, in currency units.
    pub cost: Option<f64>,
    pub threat_intel: Option<bool>,
    pub tenant: Option<Cow<'a, str>>,
}

impl<'a> CaseEvent<'a> {
    /// A change with only its required fields; adapters fill in what their record gives.
    pub fn new(incident_id: Cow<'a, str>, at: EventTime, status: Status) -> Self {
        Self {
            incident_id,
            at,
            status,
            event_id: None,
            severity: None,
            tier: None,
            assignee: None,
            disposition: None,
            detection: None,
            occurred_at: None,
            root_cause: None,
            cost: None,
            threat_intel: None,
            tenant: None,
        }
    }
}

/// Declares a closed set of lowercase wire names, parsed ignoring ASCII case.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(text))
            }

            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct WireVisitor;

                impl Visitor<'_> for WireVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }

                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$name, E> {
                        $name::parse(text).ok_or_else(|| {
                            E::custom(format_args!(concat!("`{}` is not ", $what), text))
                        })
                    }
                }

                deserializer.deserialize_str(WireVisitor)
            }
        }
    };
}

wire_enum!(
    /// Case status (PRODUCT.md §1).
    Status, "a case status", {
        New => "new",
        Acknowledged => "acknowledged",
        InProgress => "in_progress",
        Escalated => "escalated",
        Contained => "contained",
        Resolved => "resolved",
        Closed => "closed",
        Reopened => "reopened",
    }
);

wire_enum!(
    /// The verdict on an incident.
    Disposition, "a disposition", {
        TruePositive => "true_positive",
        FalsePositive => "false_positive",
        BenignPositive => "benign_positive",
        Undetermined => "undetermined",
    }
);

wire_enum!(
    /// How an incident was found.
    Detection, "a detection kind", {
        Alert => "alert",
        Hunt => "hunt",
        UserReport => "user_report",
        External => "external",
    }
);

impl Status {
    /// Statuses that mean someone has taken the incident on (the acknowledged stage).
    pub fn acknowledges(self) -> bool {
        !matches!(self, Status::New | Status::Reopened)
    }

    /// Statuses that end an incident (the resolved stage; not open).
    pub fn resolves(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }
}

/// Only so latest-wins slots can start empty; an unset slot is never read.
impl Default for Status {
    fn default() -> Self {
        Status::New
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_ignoring_case_and_classify() {
        assert_eq!(Status::parse("In_Progress"), Some(Status::InProgress));
        assert_eq!(Status::parse("done"), None);
        assert!(Status::Closed.acknowledges() && Status::Closed.resolves());
        assert!(Status::Escalated.acknowledges() && !Status::Escalated.resolves());
        assert!(!Status::Reopened.acknowledges() && !Status::New.acknowledges());
        assert_eq!(Status::ALL.len(), 8);
        assert_eq!(
            Disposition::parse("FALSE_POSITIVE"),
            Some(Disposition::FalsePositive)
        );
        assert_eq!(Detection::parse("user_report"), Some(Detection::UserReport));
    }
}
