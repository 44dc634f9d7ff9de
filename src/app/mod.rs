//! Wiring: the daemon (`run`), the demo, signals and logging. The only place that reads the
//! wall clock and spawns tasks.

pub mod daemon;
pub mod demo;
pub mod logging;
pub mod signal;

use crate::event::EventTime;

/// The wall clock, read once per batch and handed to the pipeline.
pub fn wall_clock() -> EventTime {
    EventTime::now_wall()
}
