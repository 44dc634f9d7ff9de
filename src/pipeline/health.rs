//! Pipeline health: what each input topic's records came to (the `soc_events_*` families).

use crate::event::EventTime;
use crate::formats::{RejectReason, SkipReason};

/// Pipeline health per topic: the `soc_events_*` families.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopicHealth {
    pub topic: String,
    /// Records read, whatever came of them.
    pub consumed: u64,
    /// Indexed by [`RejectReason::index`].
    pub rejected: [u64; RejectReason::ALL.len()],
    /// Records of a class or type their format does not map, by [`SkipReason::index`].
    pub skipped: [u64; SkipReason::ALL.len()],
    /// Events that repeated one already counted.
    pub duplicate: u64,
    /// Events older than the retention horizon, dropped.
    pub late: u64,
    /// Largest event time seen on the topic.
    pub last_event: Option<EventTime>,
}
