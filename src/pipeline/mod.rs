//! The record path: Record → Event | Rejection → Applied → Scorecard. [`Pipeline::apply_batch`]
//! takes a batch of records from any input (the Kafka consumer, a file, the simulator), decodes
//! each in its input's format, moves the clock, applies the events, and returns a [`Batch`]:
//! what became of each record, the offsets the batch covers, and the changelog records of what
//! it changed. The daemon, the demo, the benches and the file commands all call it; none of
//! them repeats the protocol. It never fails: a bad record is an [`Outcome::Rejected`] value.

mod clock;
mod health;

use std::sync::Arc;

pub use clock::Clock;
pub use health::TopicHealth;

use crate::config::Config;
use crate::engine::card::IncidentCard;
use crate::engine::state::StateRecord;
use crate::engine::{Applied, Change, Effect, Engine, Scorecard};
use crate::event::EventTime;
use crate::formats::{self, Refusal, RejectReason, Rejection, encode};
use crate::source::{Inputs, Record};

/// What became of one record.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Its events were applied: `Counted` if any was a new fact, else `Duplicate` if any
    /// repeated one, else `Late`.
    Applied(Effect),
    /// The record held no event its format makes anything of.
    Skipped,
    Rejected(Rejection),
    /// Its events go to the repartition topic (its input is not keyed by incident): they are
    /// applied when they come back from there, keyed by incident.
    Forwarded,
}

/// An event on its way to the repartition topic: keyed by incident id (an alert naming no
/// incident by its alert id), as native JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    pub key: String,
    pub payload: String,
}

/// What a batch of records came to.
#[derive(Debug, Default)]
pub struct Batch {
    /// One per record, in order.
    pub outcomes: Vec<Outcome>,
    /// Per (topic, partition), the last offset taken: stored only once `changes` are durable.
    pub offsets: Vec<(String, i32, i64)>,
    /// What the batch changed, for the changelog (empty unless durable): names of changed
    /// state, encoded by [`Pipeline::state_records`] when they are written, so that a key
    /// changed by many batches between two writes is written once, as it is then.
    pub changes: Vec<Change>,
    /// Events for the repartition topic: the offsets are stored only once they are acknowledged.
    pub forwards: Vec<Forward>,
}

/// What `/metrics` shows: the scorecard and the pipeline's health at one instant.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub scorecard: Scorecard,
    pub topics: Vec<TopicHealth>,
    /// `soc_kafka_consumer_lag`: (topic, partition, records behind the high watermark).
    pub lag: Vec<(String, i32, i64)>,
}

/// The engine with its clock and the pipeline's own health counters.
#[derive(Debug)]
pub struct Pipeline {
    engine: Engine,
    clock: Clock,
    /// The inputs, by slot ([`Record::input`]).
    inputs: Inputs,
    /// Indexed by input slot.
    health: Vec<TopicHealth>,
    limits: formats::guard::Limits,
    /// `limits.max_incidents`, for the log line when the cap bites.
    max_incidents: usize,
    /// `limits.max_clock_ahead`: no event time later than the wall clock plus this is taken.
    max_clock_ahead_millis: i64,
    /// The latest incident KPIs ([`Pipeline::refresh_incidents`]).
    incident_card: Arc<IncidentCard>,
    /// A record was taken since the incident KPIs were last recomputed.
    changed_since_card: bool,
}

impl Pipeline {
    pub fn new(config: &Config) -> Self {
        Self {
            engine: Engine::new(config.engine_settings()),
            clock: Clock::new(config.clock.mode),
            inputs: Inputs::of(config),
            health: Inputs::of(config)
                .iter()
                .map(|input| TopicHealth {
                    topic: input.topic.clone(),
                    ..TopicHealth::default()
                })
                .collect(),
            limits: formats::guard::Limits {
                max_record_bytes: config.limits.max_record_bytes,
                max_depth: config.limits.max_depth,
            },
            max_incidents: config.limits.max_incidents,
            max_clock_ahead_millis: config.limits.max_clock_ahead.millis,
            incident_card: Arc::default(),
            changed_since_card: false,
        }
    }

    /// Reports every state change for the changelog from now on ([`Batch::changes`]).
    pub fn make_durable(&mut self) {
        self.engine.record_changes();
    }

    /// Takes a batch of records; `wall` is the wall clock, read once per batch by the caller.
    #[must_use = "a batch's changes must reach the changelog before its offsets are stored"]
    pub fn apply_batch(&mut self, records: &[Record<'_>], wall: EventTime) -> Batch {
        let mut changes = Vec::new();
        let mut forwards = Vec::new();
        // (topic, partition, last offset): few partitions per batch, records mostly grouped.
        let mut offsets: Vec<(&str, i32, i64)> = Vec::new();
        let outcomes = records
            .iter()
            .map(|record| {
                // Records of a batch borrow their topic from a few strings: compare by address
                // first, by content only if that differs.
                let same = |(t, p, _): &&mut (&str, i32, i64)| {
                    *p == record.partition
                        && (std::ptr::eq(t.as_ptr(), record.topic.as_ptr()) || *t == record.topic)
                };
                match offsets.iter_mut().rev().find(same) {
                    Some(last) => last.2 = last.2.max(record.offset),
                    None => offsets.push((record.topic, record.partition, record.offset)),
                }
                self.take(record, wall, &mut changes, &mut forwards)
            })
            .collect();
        offsets.sort_unstable();
        Batch {
            outcomes,
            offsets: offsets
                .into_iter()
                .map(|(topic, partition, offset)| (topic.to_owned(), partition, offset))
                .collect(),
            changes,
            forwards,
        }
    }

    /// Applies a batch and then, at once, the events it forwarded, as if they had come back
    /// from the repartition topic: for inputs outside Kafka (the demo, files), where one
    /// process holds the whole state. The forwards' outcomes are counted on the repartition
    /// topic's health, as through Kafka.
    pub fn apply_local(&mut self, records: &[Record<'_>], wall: EventTime) -> Batch {
        let mut batch = self.apply_batch(records, wall);
        if let Some(slot) = self.inputs.repartition()
            && !batch.forwards.is_empty()
        {
            let forwards = std::mem::take(&mut batch.forwards);
            let topic = self.inputs.get(slot).topic.clone();
            let again: Vec<Record<'_>> = forwards
                .iter()
                .enumerate()
                .map(|(n, f)| Record::of_input(&topic, slot, n as i64, Some(f.payload.as_bytes())))
                .collect();
            let back = self.apply_batch(&again, wall);
            batch.changes.extend(back.changes);
        }
        batch
    }

    /// The inputs this pipeline reads, by slot.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// Takes one record outside a batch (tests, and pipelines that are not durable): what
    /// became of it. Its state changes are not reported: a durable caller uses
    /// [`Pipeline::apply_batch`].
    pub fn step(&mut self, record: &Record<'_>, wall: EventTime) -> Outcome {
        self.take(record, wall, &mut Vec::new(), &mut Vec::new())
    }

    /// The latest event time a record may carry at wall clock `wall`, in either clock mode.
    fn not_after(&self, wall: EventTime) -> EventTime {
        wall.saturating_add_millis(self.max_clock_ahead_millis)
    }

    /// Decodes one record, applies its events, counts what came of them.
    fn take(
        &mut self,
        record: &Record<'_>,
        wall: EventTime,
        changes: &mut Vec<Change>,
        forwards: &mut Vec<Forward>,
    ) -> Outcome {
        let slot = usize::from(record.input).min(self.health.len() - 1);
        let input = self.inputs.get(record.input);
        let (decoder, keyed) = (input.decoder, input.keyed);
        self.health[slot].consumed += 1;
        self.changed_since_card = true;
        let not_after = self.not_after(wall);
        let events = match formats::decode(decoder, record, self.limits, not_after) {
            Ok(events) => events,
            Err(Refusal::Reject(rejection)) => {
                self.health[slot].rejected[rejection.reason.index()] += 1;
                return Outcome::Rejected(rejection);
            }
            Err(Refusal::Skip(reason)) => {
                self.health[slot].skipped[reason.index()] += 1;
                return Outcome::Skipped;
            }
        };
        if !keyed {
            let health = &mut self.health[slot];
            for event in &events {
                health.last_event = health.last_event.max(event.time());
                forwards.push(Forward {
                    key: event.partition_key().to_owned(),
                    payload: encode::to_line(event),
                });
            }
            return Outcome::Forwarded;
        }
        let mut outcome = Outcome::Skipped;
        for event in &events {
            if let Some(at) = event.time() {
                self.clock.observe_event(at);
                let health = &mut self.health[slot];
                health.last_event = health.last_event.max(Some(at));
            }
            let now = self.clock.now(wall);
            let Applied {
                effect,
                skewed,
                changes: changed,
            } = self.engine.apply(record.partition, event, now);
            let health = &mut self.health[slot];
            health.rejected[RejectReason::ClockSkew.index()] += skewed;
            match effect {
                Effect::Duplicate => health.duplicate += 1,
                Effect::Late => health.late += 1,
                Effect::Counted => {}
            }
            if !changed.is_empty() {
                changes.extend(changed);
            }
            outcome = match (outcome, effect) {
                (Outcome::Applied(Effect::Counted), _) | (_, Effect::Counted) => {
                    Outcome::Applied(Effect::Counted)
                }
                (Outcome::Applied(Effect::Duplicate), _) | (_, Effect::Duplicate) => {
                    Outcome::Applied(Effect::Duplicate)
                }
                _ => Outcome::Applied(Effect::Late),
            };
        }
        outcome
    }

    /// Rebuilds a partition from its changelog records; the partition's event clock moves the
    /// pipeline's, unless it is later than the wall clock plus `limits.max_clock_ahead` (an
    /// older version took such records): then it is ignored. Returns how many records could
    /// not be read or were ignored (logged).
    pub fn restore<'a>(
        &mut self,
        partition: i32,
        records: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        wall: EventTime,
    ) -> usize {
        let now = self.clock.now(wall);
        let not_after = self.not_after(wall);
        let (clock, errors) = self.engine.restore(partition, records, now, not_after);
        if let Some(at) = clock {
            self.clock.observe_event(EventTime(at));
        }
        for error in errors.iter().take(5) {
            tracing::warn!(partition, %error, "changelog record skipped");
        }
        errors.len()
    }

    /// Forgets a partition no longer assigned here.
    pub fn drop_partition(&mut self, partition: i32) {
        self.engine.drop_partition(partition);
    }

    /// The changelog records of `changes` as the state is now: each incident once (or its
    /// tombstone, when it left memory), alerts kept and gone, series, each partition's clock.
    pub fn state_records(&self, changes: &[Change]) -> Vec<StateRecord> {
        if changes.is_empty() {
            return Vec::new();
        }
        self.engine.state_records(changes)
    }

    /// Lets the engine forget what no window needs at the current time, and pass deadlines;
    /// returns what that changed, for the changelog (empty unless durable).
    #[must_use = "the changes of expiry must reach the changelog"]
    pub fn expire(&mut self, wall: EventTime) -> Vec<Change> {
        let now = self.clock.now(wall);
        let expired = self.engine.expire(now);
        if expired.retention > 0 {
            tracing::info!(
                incidents = expired.retention,
                "closed incidents past retention let go"
            );
        }
        if expired.cap > 0 {
            tracing::warn!(
                incidents = expired.cap,
                max_incidents = self.max_incidents,
                "limits.max_incidents reached: oldest closed incidents let go first"
            );
        }
        expired.changes
    }

    /// Whether records were taken since the incident KPIs were last recomputed.
    pub fn changed_since_card(&self) -> bool {
        self.changed_since_card
    }

    /// Recomputes the incident KPIs (a pass over the incidents: the caller paces it).
    pub fn refresh_incidents(&mut self, wall: EventTime) {
        let now = self.clock.now(wall);
        self.incident_card = Arc::new(self.engine.incident_card(now));
        self.changed_since_card = false;
    }

    /// Every KPI and health value now, with the incident KPIs of the last refresh.
    pub fn snapshot(&mut self, wall: EventTime) -> Snapshot {
        let now = self.clock.now(wall);
        Snapshot {
            scorecard: self.engine.scorecard(now, Arc::clone(&self.incident_card)),
            topics: self.health.clone(),
            lag: Vec::new(),
        }
    }

    /// [`Pipeline::refresh_incidents`] then [`Pipeline::snapshot`].
    pub fn fresh_snapshot(&mut self, wall: EventTime) -> Snapshot {
        self.refresh_incidents(wall);
        self.snapshot(wall)
    }
}

#[cfg(test)]
mod forward_tests;
#[cfg(test)]
mod tests;
