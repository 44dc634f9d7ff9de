//! The native event model of PRODUCT.md §1: what every format adapter produces and the
//! engine consumes. Types here are plain values with no I/O; parsing of the wire forms
//! (timestamps, severities) lives beside the types so every adapter shares one definition.

mod alert;
mod asset;
mod case;
mod severity;
mod time;

pub use alert::Alert;
pub use asset::{InventoryRecord, Telemetry};
pub use case::{CaseEvent, Detection, Disposition, Status};
pub use severity::Severity;
pub use time::EventTime;

use std::borrow::Cow;

/// One native event: what a format adapter makes of a record (zero or more of them) and what
/// the engine applies. A record's topic no longer decides the kind: an adapter may emit an
/// alert and a case event from one record.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<'a> {
    Alert(Alert<'a>),
    Case(CaseEvent<'a>),
    Inventory(InventoryRecord<'a>),
    /// An inventory tombstone: the asset is gone.
    AssetRemoved(Cow<'a, str>),
    Telemetry(Telemetry<'a>),
}

impl Event<'_> {
    /// The event time that moves the event clock; inventory changes have none.
    pub fn time(&self) -> Option<EventTime> {
        match self {
            Event::Alert(alert) => Some(alert.detected_at),
            Event::Case(case) => Some(case.at),
            Event::Telemetry(beat) => Some(beat.at),
            Event::Inventory(_) | Event::AssetRemoved(_) => None,
        }
    }

    /// The key that brings the event to its incident's partition: the incident id, or for an
    /// alert naming none its alert id (its dedupe key); an asset's id for coverage events.
    pub fn partition_key(&self) -> &str {
        match self {
            Event::Alert(alert) => alert.incident_id.as_deref().unwrap_or(&alert.alert_id),
            Event::Case(case) => &case.incident_id,
            Event::Inventory(asset) => &asset.asset_id,
            Event::AssetRemoved(asset_id) => asset_id,
            Event::Telemetry(beat) => &beat.asset_id,
        }
    }

    /// Every event time the event carries, by field name: what can move a clock or be stored
    /// (the bound of `limits.max_clock_ahead` applies to each).
    pub fn times(&self) -> impl Iterator<Item = (&'static str, EventTime)> {
        let [first, second] = match self {
            Event::Alert(alert) => [
                Some(("detected_at", alert.detected_at)),
                alert.occurred_at.map(|t| ("occurred_at", t)),
            ],
            Event::Case(case) => [
                Some(("at", case.at)),
                case.occurred_at.map(|t| ("occurred_at", t)),
            ],
            Event::Telemetry(beat) => [Some(("at", beat.at)), None],
            Event::Inventory(_) | Event::AssetRemoved(_) => [None, None],
        };
        first.into_iter().chain(second)
    }
}
