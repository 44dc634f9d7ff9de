//! The one place that reads a clock (`clippy.toml` bans `SystemTime::now`, `Instant::now` and
//! chrono's `Utc::now` everywhere else): the wall clock, read once per batch and handed to the
//! pipeline as an [`EventTime`], and the monotonic clock the shell paces its work with.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::event::EventTime;

/// The wall clock as an event time (milliseconds since the Unix epoch).
pub fn wall() -> EventTime {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    EventTime(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

/// The monotonic clock: for timeouts, pacing and how long something took.
pub fn monotonic() -> Instant {
    Instant::now()
}

/// Paces a recomputation against its own cost: due when at least `factor` times its last
/// cost has passed since it last ran, so it never takes more than about 1/`factor` of the
/// task that runs it (a recomputation of the incident KPIs costs over a second at a million
/// incidents).
#[derive(Debug)]
pub struct Pacer {
    factor: u32,
    last: Option<Instant>,
    cost: Duration,
}

impl Pacer {
    pub fn new(factor: u32) -> Self {
        Self {
            factor,
            last: None,
            cost: Duration::ZERO,
        }
    }

    /// Whether the paced work is due now.
    pub fn due(&self) -> bool {
        self.last
            .is_none_or(|at| at.elapsed() >= self.cost * self.factor)
    }

    /// Runs `work`, timing it.
    pub fn run<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let done = work();
        self.cost = started.elapsed();
        self.last = Some(Instant::now());
        done
    }
}
