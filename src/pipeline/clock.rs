//! "Now" per `clock.mode`: the wall clock the caller read, or the largest event time seen on
//! any topic (replays, backfills, tests). It is given times, never reads one.

use crate::config::ClockMode;
use crate::event::EventTime;

/// The pipeline's now.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    mode: ClockMode,
    latest_event: Option<EventTime>,
    latest_wall: EventTime,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        Self {
            mode,
            latest_event: None,
            latest_wall: EventTime(0),
        }
    }

    pub fn observe_event(&mut self, at: EventTime) {
        self.latest_event = Some(self.latest_event.map_or(at, |seen| seen.max(at)));
    }

    /// Never goes backwards, even if the wall clock does.
    pub fn now(&mut self, wall: EventTime) -> EventTime {
        match self.mode {
            ClockMode::Wall => {
                self.latest_wall = self.latest_wall.max(wall);
                self.latest_wall
            }
            ClockMode::Event => self.latest_event.unwrap_or_default(),
        }
    }
}
