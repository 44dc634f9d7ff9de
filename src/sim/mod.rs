//! The demo's SOC traffic, rendered as native JSON records so they take the same path as
//! Kafka's:
//!
//! - **alerts** from several detection sources, each with its own rate and severity mix,
//!   bursts (an attack, a noisy rule), a few duplicate deliveries and a few malformed records;
//! - **case events**: some alerts (more of the severe ones) open an incident, and the incident's
//!   case lifecycle is scheduled at once — `new`, `acknowledged`, sometimes `in_progress`,
//!   `escalated` and `contained`, `resolved` with a disposition, `closed`, and now and then a
//!   `reopened` round — at times drawn around the default SLA targets (about one stage in ten
//!   breached). Threat hunts, user reports and external notifications open incidents without
//!   alerts. Each case event becomes a record when its time comes;
//! - **the estate**, for coverage: an inventory of ~400 workstations (the `host-NNN` the alerts
//!   name) and a few servers and cloud accounts with their criticality, sent at the start as
//!   compacted-topic records keyed by asset id, a few of them retired; during the run one asset
//!   is retired and two are removed by tombstones (empty value, keyed by asset id);
//! - **telemetry**: a heartbeat per asset every five minutes or so from its log source
//!   (winlogbeat, syslog, osquery, cloudtrail…). About 4 % of the assets have been silent for
//!   more than a day when the run starts (their last heartbeat comes first, as read from the
//!   topic's backlog), and a few go silent during the run, for a day or more, then come back:
//!   the coverage gap stays around 0.03–0.05.
//!
//! Time is generated in whole steps from the first `from` asked for, so the traffic does not
//! depend on how a caller slices time: a day asked for at once and the same day asked for in
//! 200 ms ticks are the same records, in the same order.
//!
//! This file holds the [`Simulator`], its public API and the delivery queue (records are
//! scheduled when generated and released when their time comes). The roles live beside it:
//! `alerts` (detection tools, bursts), `incidents` (what opens an incident, which ones
//! alerts join, case records), `lifecycle` (how a case unfolds in time) and `estate`
//! (inventory and heartbeats).
//!
//! Invariant: all randomness comes from the one seeded `rng`, drawn in a fixed order, so a
//! seed gives byte-identical records. Reordering two draws, even across files, changes the
//! traffic of every later step.

mod alerts;
mod estate;
mod incidents;
mod lifecycle;
pub mod vendor;

pub use alerts::{TOOLS, Tool};

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::event::EventTime;
use crate::source::TopicRole;

use self::alerts::Burst;
use self::estate::Estate;
use self::incidents::{Joinable, WITHOUT_ALERT_RATE};

/// Time is generated in steps of this many milliseconds.
const STEP_MILLIS: i64 = 1_000;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// One record of the simulated SOC, as a producer would write it to a topic: it owns its
/// bytes; [`Record::as_record`] is the view the pipeline takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The topic the record is on.
    pub role: TopicRole,
    /// When it is delivered: the alert's `detected_at`, the case event's `at`, the
    /// heartbeat's `at` (later for a redelivered duplicate), the start of the run for the
    /// inventory and the backlog of silent assets' last heartbeats.
    pub at: EventTime,
    /// The record key: the incident id (alerts naming one, case events), the asset id
    /// (inventory, telemetry); `None` for unkeyed records.
    pub key: Option<String>,
    /// The native JSON (or, rarely, something malformed). Empty for an inventory tombstone.
    pub payload: Vec<u8>,
}

impl Record {
    /// An inventory tombstone: the asset named by the key is removed.
    pub fn is_tombstone(&self) -> bool {
        self.role == TopicRole::Inventory && self.payload.is_empty()
    }

    /// The record as an input hands it to the pipeline: on `topic`, at `offset`, keyed,
    /// without a value when it is a tombstone.
    pub fn as_record<'a>(&'a self, topic: &'a str, offset: i64) -> crate::source::Record<'a> {
        let payload = (!self.is_tombstone()).then_some(self.payload.as_slice());
        crate::source::Record::new(topic, self.role, offset, payload)
            .with_key(self.key.as_deref().map(str::as_bytes))
    }
}

/// A record generated but not yet due; ordered by delivery time, then generation order (so
/// records due at the same millisecond keep the order they were drawn in).
#[derive(Debug)]
struct Scheduled {
    at: i64,
    seq: u64,
    role: TopicRole,
    key: Option<String>,
    payload: Vec<u8>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The traffic generator.
#[derive(Debug)]
pub struct Simulator {
    rng: SmallRng,
    next_alert: u64,
    next_incident: u64,
    burst: Option<Burst>,
    /// Everything before this time has been generated.
    generated_until: Option<i64>,
    /// Generated records not yet returned, earliest first.
    due: BinaryHeap<Reverse<Scheduled>>,
    next_seq: u64,
    joinable: Vec<Joinable>,
    /// `None` until the first step.
    estate: Option<Estate>,
    /// The default SLA targets (PRODUCT.md §2), by stage then severity: case times are drawn
    /// around the same deadlines the engine measures, taken from the one place they are
    /// written.
    sla_targets: [[i64; 5]; 2],
}

impl Simulator {
    /// A simulator whose traffic is fully determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
            next_alert: 0,
            next_incident: 0,
            burst: None,
            generated_until: None,
            due: BinaryHeap::new(),
            next_seq: 0,
            joinable: Vec::new(),
            estate: None,
            sla_targets: Config::default().engine_settings().sla.targets,
        }
    }

    /// The records delivered in `[from, to)`, in delivery order. Case events
    /// of incidents opened here may fall due later: they come with the call that covers their
    /// time. Calls are meant to be contiguous; a part of `[from, to)` generated by an earlier
    /// call is not generated again, and a gap is skipped (what fell due in it comes now).
    pub fn records_between(&mut self, from: EventTime, to: EventTime) -> Vec<Record> {
        let (from, to) = (from.millis(), to.millis());
        let mut cursor = match self.generated_until {
            Some(until) if until >= from => until,
            _ => from,
        };
        let mut records = Vec::new();
        while cursor < to {
            let end = cursor + STEP_MILLIS;
            self.generate(cursor, end);
            cursor = end;
            // Whatever is generated from now on is at `cursor` or later.
            self.release(cursor.min(to), &mut records);
        }
        self.generated_until = Some(cursor);
        self.release(to, &mut records);
        records
    }

    /// The alert records of [`Simulator::records_between`], case events dropped (for
    /// benchmarks of the alert path).
    pub fn alerts_between(&mut self, from: EventTime, to: EventTime) -> Vec<Vec<u8>> {
        self.records_between(from, to)
            .into_iter()
            .filter(|record| record.role == TopicRole::Alerts)
            .map(|record| record.payload)
            .collect()
    }

    /// Moves the records due before `until` to `records`, in order.
    fn release(&mut self, until: i64, records: &mut Vec<Record>) {
        while let Some(next) = self.due.peek_mut() {
            if next.0.at >= until {
                break;
            }
            let Reverse(next) = PeekMut::pop(next);
            records.push(Record {
                role: next.role,
                at: EventTime(next.at),
                key: next.key,
                payload: next.payload,
            });
        }
    }

    /// Queues a record for delivery at `at`, after those already queued for the same time.
    fn schedule(&mut self, role: TopicRole, at: i64, key: Option<String>, payload: Vec<u8>) {
        self.next_seq += 1;
        self.due.push(Reverse(Scheduled {
            at,
            seq: self.next_seq,
            role,
            key,
            payload,
        }));
    }

    /// One step of traffic, `[start, end)`: the tools' alerts, the incidents no alert opens,
    /// then the estate's records. This order is part of the traffic (see the module header).
    fn generate(&mut self, start: i64, end: i64) {
        let span = (end - start) as f64 / 1_000.0;
        self.maybe_burst(start, span);
        for (index, tool) in TOOLS.iter().enumerate() {
            let burst = self
                .burst
                .filter(|burst| burst.tool == index && burst.until > start);
            let factor = burst.map_or(1.0, |burst| burst.factor);
            for _ in 0..self.poisson(tool.rate * factor * span) {
                let at = self.rng.random_range(start..end);
                self.alert(index, at, factor);
            }
        }
        for _ in 0..self.poisson(WITHOUT_ALERT_RATE * span) {
            let at = self.rng.random_range(start..end);
            self.incident_without_alert(at);
        }
        self.estate_records(start, end);
    }

    /// How many events of a Poisson process with this `mean` fall in a step. Knuth's
    /// method: rates here are small, so the loop is short.
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut product = self.rng.random::<f64>();
        let mut count = 0;
        while product > limit && count < 10_000 {
            product *= self.rng.random::<f64>();
            count += 1;
        }
        count
    }
}

/// One of `values`, by relative `weights`.
fn pick<T: Copy>(rng: &mut SmallRng, values: &[T], weights: &[u32]) -> T {
    let total: u32 = weights.iter().sum();
    let mut draw = rng.random_range(0..total.max(1));
    for (&value, &weight) in values.iter().zip(weights) {
        if draw < weight {
            return value;
        }
        draw -= weight;
    }
    values[0]
}

/// What the tests of every role share: the run's start and how they read records back.
#[cfg(test)]
mod fixtures {
    use super::{Record, Simulator};

    /// 2026-01-01T00:00:00Z.
    pub(super) const START: i64 = 1_767_225_600_000;

    pub(super) fn text(record: &Record) -> &str {
        std::str::from_utf8(&record.payload).unwrap()
    }

    /// Every case event still scheduled, as if time ran on with no further alerts.
    pub(super) fn drain(sim: &mut Simulator) -> Vec<Record> {
        let mut records = Vec::new();
        sim.release(i64::MAX, &mut records);
        records
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::START;
    use super::*;

    #[test]
    fn traffic_does_not_depend_on_how_time_is_sliced() {
        let end = START + 40 * MINUTE;
        let whole = Simulator::new(3).records_between(EventTime(START), EventTime(end));
        let mut sliced = Simulator::new(3);
        let mut pieces = Vec::new();
        let mut from = START;
        for width in [200, 7_300, 13 * MINUTE + 1, 1, 999].into_iter().cycle() {
            if from >= end {
                break;
            }
            let to = (from + width).min(end);
            pieces.extend(sliced.records_between(EventTime(from), EventTime(to)));
            from = to;
        }
        assert_eq!(pieces.len(), whole.len());
        assert!(pieces == whole);
    }
}
