//! Coverage inputs: the asset inventory (what should be monitored) and log-source heartbeats
//! (what is).

use std::borrow::Cow;

use super::EventTime;

/// One asset of the inventory; a tombstone (null value, keyed by asset id) removes it.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryRecord<'a> {
    pub asset_id: Cow<'a, str>,
    pub tenant: Option<Cow<'a, str>>,
    pub criticality: Option<Cow<'a, str>>,
    /// A retired asset no longer counts as one that should be monitored.
    pub retired: bool,
}

/// A heartbeat: the asset's logs were seen at `at`.
#[derive(Clone, Debug, PartialEq)]
pub struct Telemetry<'a> {
    pub asset_id: Cow<'a, str>,
    pub source: Option<Cow<'a, str>>,
    pub at: EventTime,
}
