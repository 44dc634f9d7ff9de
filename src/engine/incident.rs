//! One incident's state (PRODUCT.md §2), reduced so that the result does not depend on the
//! order events arrive in and a duplicate changes nothing: derived timestamps are minima,
//! flags are ORs, and every latest-wins field keeps the version (`at`, then event id) of the
//! event that set it. The event keys seen are kept, which both deduplicates and breaks ties
//! between events at the same millisecond exactly by event id.

use std::cmp::Ordering;

use crate::event::{Alert, CaseEvent, Detection, Disposition, Severity, Status};

/// An absent timestamp: the identity of `min`.
pub const NEVER: i64 = i64::MAX;

/// The durations of §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Span {
    /// occurred → detected
    Detect,
    /// detected → acknowledged
    Acknowledge,
    /// detected → contained
    Contain,
    /// detected → resolved
    Resolve,
    /// occurred → contained
    Dwell,
}

impl Span {
    pub const ALL: [Span; 5] = [
        Span::Detect,
        Span::Acknowledge,
        Span::Contain,
        Span::Resolve,
        Span::Dwell,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The SLA stages of §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Acknowledge,
    Resolve,
}

impl Stage {
    pub const ALL: [Stage; 2] = [Stage::Acknowledge, Stage::Resolve];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Acknowledge => "acknowledge",
            Stage::Resolve => "resolve",
        }
    }
}

/// How an event is identified within its incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKey {
    /// A case event without `event_id`: incident id + status + at.
    Implicit { status: Status, at: i64 },
    /// A case event's own `event_id`.
    Explicit(Box<str>),
    /// An alert: a hash of its `alert_id`, when it fired, and its source (interned).
    Alert {
        hash: u64,
        detected_at: i64,
        source: u32,
    },
}

impl EventKey {
    /// Orders two case events at the same `at` by event id, the implicit id being the
    /// incident id followed by the status and `at` in epoch milliseconds.
    fn cmp_ids(&self, other: &EventKey, incident_id: &str) -> Ordering {
        match (self, other) {
            (EventKey::Implicit { status: a, at: x }, EventKey::Implicit { status: b, at: y }) => {
                (a.as_str(), x).cmp(&(b.as_str(), y))
            }
            (EventKey::Explicit(a), EventKey::Explicit(b)) => a.cmp(b),
            (EventKey::Explicit(a), EventKey::Implicit { status, at }) => {
                (**a).cmp(format!("{incident_id}{status}{at}").as_str())
            }
            (EventKey::Implicit { .. }, EventKey::Explicit(_)) => {
                other.cmp_ids(self, incident_id).reverse()
            }
            _ => Ordering::Equal,
        }
    }
}

/// A latest-wins field: its value and the version of the event that set it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latest<T> {
    pub(crate) at: i64,
    /// Index of the setting event in [`Incident::events`]; `u32::MAX`: never set.
    pub(crate) event: u32,
    pub(crate) value: T,
}

impl<T: Copy + Default> Default for Latest<T> {
    fn default() -> Self {
        Self {
            at: i64::MIN,
            event: u32::MAX,
            value: T::default(),
        }
    }
}

impl<T: Copy> Latest<T> {
    pub fn get(&self) -> Option<T> {
        (self.event != u32::MAX).then_some(self.value)
    }

    pub fn at(&self) -> Option<i64> {
        (self.event != u32::MAX).then_some(self.at)
    }
}

/// Bits of [`Incident::flags`].
pub mod flag {
    pub const ESCALATED: u16 = 1;
    pub const THREAT_INTEL: u16 = 1 << 1;
    /// Counted in `soc_incidents_resolved_total`.
    pub const RESOLUTION_COUNTED: u16 = 1 << 2;
    /// Bit `OBSERVED << span`: the duration was observed in its cumulative histogram.
    pub const OBSERVED: u16 = 1 << 3;
    /// Bit `SKEWED << span`: the duration was negative and counted as clock skew.
    pub const SKEWED: u16 = 1 << 8;
    /// Bit `BREACHED << stage`: the breach was counted in `soc_sla_breaches_total`.
    pub const BREACHED: u16 = 1 << 13;
}

/// Everything known about one incident.
#[derive(Clone, Debug)]
pub struct Incident {
    pub occurred: i64,
    pub detected: i64,
    pub acknowledged: i64,
    /// Earliest `contained` event; see [`Incident::contained`] for the derived value.
    pub contained_event: i64,
    pub resolved: i64,
    pub status: Latest<Status>,
    pub severity: Latest<Severity>,
    /// Highest severity of its alerts: the fallback when no case event gives one.
    pub alert_severity: Option<Severity>,
    pub disposition: Latest<Option<Disposition>>,
    /// Interned analyst id.
    pub assignee: Latest<u32>,
    pub detection: Latest<Option<Detection>>,
    /// Interned root cause.
    pub root_cause: Latest<u32>,
    pub cost: Latest<f64>,
    pub flags: u16,
    /// The input partition (and changelog partition) the incident belongs to.
    pub partition: i32,
    /// Keys of the events applied, in arrival order (indexes are stable).
    pub events: Vec<EventKey>,
}

/// Nothing known yet: every timestamp [`NEVER`], every latest-wins field unset.
impl Default for Incident {
    fn default() -> Self {
        Self {
            occurred: NEVER,
            detected: NEVER,
            acknowledged: NEVER,
            contained_event: NEVER,
            resolved: NEVER,
            status: Latest::default(),
            severity: Latest::default(),
            alert_severity: None,
            disposition: Latest::default(),
            assignee: Latest::default(),
            detection: Latest::default(),
            root_cause: Latest::default(),
            cost: Latest::default(),
            flags: 0,
            partition: 0,
            events: Vec::new(),
        }
    }
}

impl Incident {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a case event; false when it was already applied (a duplicate).
    pub fn apply_case(
        &mut self,
        case: &CaseEvent<'_>,
        incident_id: &str,
        assignee: Option<u32>,
        root_cause: Option<u32>,
    ) -> bool {
        let key = match &case.event_id {
            Some(id) => EventKey::Explicit(Box::from(&**id)),
            None => EventKey::Implicit {
                status: case.status,
                at: case.at.millis(),
            },
        };
        if self.events.contains(&key) {
            return false;
        }
        let event = u32::try_from(self.events.len()).unwrap_or(u32::MAX - 1);
        self.events.push(key);
        let at = case.at.millis();
        self.detected = self.detected.min(at);
        if let Some(occurred) = case.occurred_at {
            self.occurred = self.occurred.min(occurred.millis());
        }
        if case.status.acknowledges() {
            self.acknowledged = self.acknowledged.min(at);
        }
        if case.status == Status::Contained {
            self.contained_event = self.contained_event.min(at);
        }
        if case.status.resolves() {
            self.resolved = self.resolved.min(at);
        }
        if case.status == Status::Escalated || case.tier.is_some_and(|tier| tier >= 2) {
            self.flags |= flag::ESCALATED;
        }
        if case.threat_intel == Some(true) {
            self.flags |= flag::THREAT_INTEL;
        }
        let events = &self.events;
        let newer = |at_then: i64, event_then: u32| -> bool {
            if event_then == u32::MAX || at > at_then {
                return true;
            }
            at == at_then
                && events[event as usize].cmp_ids(&events[event_then as usize], incident_id)
                    == Ordering::Greater
        };
        macro_rules! latest {
            ($field:ident, $value:expr) => {
                if let Some(value) = $value {
                    if newer(self.$field.at, self.$field.event) {
                        self.$field = Latest { at, event, value };
                    }
                }
            };
        }
        latest!(status, Some(case.status));
        latest!(severity, case.severity);
        latest!(disposition, case.disposition.map(Some));
        latest!(assignee, assignee);
        latest!(detection, case.detection.map(Some));
        latest!(root_cause, root_cause);
        latest!(cost, case.cost);
        true
    }

    /// Applies an alert naming this incident; false when the alert was already applied.
    pub fn apply_alert(&mut self, alert: &Alert<'_>, alert_hash: u64, source: u32) -> bool {
        if self.has_alert(alert_hash) {
            return false;
        }
        self.events.push(EventKey::Alert {
            hash: alert_hash,
            detected_at: alert.detected_at.millis(),
            source,
        });
        self.detected = self.detected.min(alert.detected_at.millis());
        if let Some(occurred) = alert.occurred_at {
            self.occurred = self.occurred.min(occurred.millis());
        }
        self.alert_severity = self.alert_severity.max(Some(alert.severity));
        if alert.threat_intel {
            self.flags |= flag::THREAT_INTEL;
        }
        true
    }

    /// Whether this alert was applied to the incident.
    pub fn has_alert(&self, alert_hash: u64) -> bool {
        self.events
            .iter()
            .any(|key| matches!(key, EventKey::Alert { hash, .. } if *hash == alert_hash))
    }

    /// The latest case event's severity, else the highest of its alerts'.
    pub fn severity(&self) -> Option<Severity> {
        self.severity.get().or(self.alert_severity)
    }

    /// The latest status; `new` for an incident known only from alerts.
    pub fn status(&self) -> Status {
        self.status.get().unwrap_or(Status::New)
    }

    pub fn is_open(&self) -> bool {
        !self.status().resolves()
    }

    pub fn disposition(&self) -> Option<Disposition> {
        self.disposition.get().flatten()
    }

    /// How it was found; `alert` unless a case event says otherwise.
    pub fn detection(&self) -> Detection {
        self.detection.get().flatten().unwrap_or(Detection::Alert)
    }

    pub fn is_escalated(&self) -> bool {
        self.flags & flag::ESCALATED != 0
    }

    pub fn is_threat_intel(&self) -> bool {
        self.flags & flag::THREAT_INTEL != 0
    }

    /// The earliest `contained` event; failing that, the resolution of a true positive.
    pub fn contained(&self) -> i64 {
        if self.contained_event != NEVER {
            self.contained_event
        } else if self.disposition() == Some(Disposition::TruePositive) {
            self.resolved
        } else {
            NEVER
        }
    }

    /// The (start, end) of a duration; either may be [`NEVER`].
    pub fn ends(&self, span: Span) -> (i64, i64) {
        match span {
            Span::Detect => (self.occurred, self.detected),
            Span::Acknowledge => (self.detected, self.acknowledged),
            Span::Contain => (self.detected, self.contained()),
            Span::Resolve => (self.detected, self.resolved),
            Span::Dwell => (self.occurred, self.contained()),
        }
    }

    /// The duration in milliseconds when both ends are known, unclamped. A difference that
    /// does not fit an `i64` is not a duration either: decoded times cannot make one (they
    /// are not before the epoch), but the engine is total whatever times it is given.
    pub fn duration(&self, span: Span) -> Option<i64> {
        let (start, end) = self.ends(span);
        if start == NEVER || end == NEVER {
            return None;
        }
        end.checked_sub(start)
    }

    /// When the stage was reached, if it was.
    pub fn reached(&self, stage: Stage) -> i64 {
        match stage {
            Stage::Acknowledge => self.acknowledged,
            Stage::Resolve => self.resolved,
        }
    }

    /// Its alerts: (detected_at, source id).
    pub fn alerts(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        self.events.iter().filter_map(|key| match key {
            EventKey::Alert {
                detected_at,
                source,
                ..
            } => Some((*detected_at, *source)),
            _ => None,
        })
    }

    /// When the incident last changed: what retention counts from once it is closed.
    pub fn last_change(&self) -> i64 {
        self.status
            .at()
            .unwrap_or(i64::MIN)
            .max(if self.detected == NEVER {
                i64::MIN
            } else {
                self.detected
            })
    }
}
