//! One record through the product: guard → decode → clock → engine, and what came of it.
//! `Pipeline::step` is what the Kafka loop, the demo and the tests all call; it never fails:
//! a bad record is an [`Outcome::Rejected`] value the caller dead-letters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{ClockMode, Config};
use crate::engine::lifecycle::IncidentCard;
use crate::engine::state::StateRecord;
use crate::engine::{Applied, Engine, Scorecard};
use crate::event::EventTime;
use crate::formats::{self, RejectReason, Rejection};

/// The role a topic plays (PRODUCT.md §1); the index into per-topic statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicRole {
    Alerts,
    Cases,
    Inventory,
    Telemetry,
}

impl TopicRole {
    pub const ALL: [TopicRole; 4] = [
        TopicRole::Alerts,
        TopicRole::Cases,
        TopicRole::Inventory,
        TopicRole::Telemetry,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The configured topic name of this role.
    pub fn topic(self, config: &Config) -> &str {
        match self {
            TopicRole::Alerts => &config.topics.alerts,
            TopicRole::Cases => &config.topics.cases,
            TopicRole::Inventory => &config.topics.inventory,
            TopicRole::Telemetry => &config.topics.telemetry,
        }
    }
}

/// What became of one record.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Applied(Applied),
    Rejected(Rejection),
}

/// Pipeline health per topic: the `soc_events_*` families.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopicHealth {
    pub topic: String,
    /// Records read, whatever came of them.
    pub consumed: u64,
    /// Indexed by [`RejectReason::index`].
    pub rejected: [u64; RejectReason::ALL.len()],
    pub duplicate: u64,
    pub late: u64,
    /// Largest event time seen on the topic.
    pub last_event: Option<EventTime>,
}

/// "Now" per `clock.mode`: the wall clock, or the largest event time seen on any topic.
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

/// Logs a rejection at most once per second per reason, with how many were held back.
#[derive(Debug, Default)]
struct RejectionLog {
    last: [Option<Instant>; RejectReason::ALL.len()],
    held_back: [u64; RejectReason::ALL.len()],
}

impl RejectionLog {
    fn log(&mut self, topic: &str, position: &dyn std::fmt::Display, rejection: &Rejection) {
        let slot = rejection.reason.index();
        let now = Instant::now();
        if self.last[slot].is_some_and(|at| now.duration_since(at) < Duration::from_secs(1)) {
            self.held_back[slot] += 1;
            return;
        }
        tracing::warn!(
            topic,
            %position,
            reason = %rejection.reason,
            detail = %rejection.detail,
            suppressed = self.held_back[slot],
            "record rejected"
        );
        self.last[slot] = Some(now);
        self.held_back[slot] = 0;
    }
}

/// The engine with its clock and the pipeline's own health counters.
#[derive(Debug)]
pub struct Pipeline {
    engine: Engine,
    clock: Clock,
    health: Vec<TopicHealth>,
    limits: formats::guard::Limits,
    rejections: RejectionLog,
    /// `limits.max_incidents`, for the log line when the cap bites.
    max_incidents: usize,
    /// The latest incident KPIs, and what recomputing them cost: they are recomputed only
    /// when the last recomputation cost at most a tenth of the time since (or when asked for
    /// fresh ones), so the pass over the incidents never takes more than ~10 % of the owner task.
    incident_card: Arc<IncidentCard>,
    card_computed: Option<Instant>,
    card_cost: Duration,
    /// A record was taken since the incident KPIs were last recomputed.
    changed_since_card: bool,
}

impl Pipeline {
    pub fn new(config: &Config) -> Self {
        Self {
            engine: Engine::new(config.engine_settings()),
            clock: Clock::new(config.clock.mode),
            health: TopicRole::ALL
                .iter()
                .map(|role| TopicHealth {
                    topic: role.topic(config).to_owned(),
                    ..TopicHealth::default()
                })
                .collect(),
            limits: formats::guard::Limits {
                max_record_bytes: config.limits.max_record_bytes,
                max_depth: config.limits.max_depth,
            },
            rejections: RejectionLog::default(),
            max_incidents: config.limits.max_incidents,
            incident_card: Arc::default(),
            card_computed: None,
            card_cost: Duration::ZERO,
            changed_since_card: false,
        }
    }

    /// Takes one record of `role`'s topic; `wall` is the wall clock, read once per batch by the
    /// caller; `position` names the record in logs (`partition/offset`).
    pub fn step(
        &mut self,
        role: TopicRole,
        payload: Option<&[u8]>,
        wall: EventTime,
        position: impl std::fmt::Display,
    ) -> Outcome {
        self.step_in(role, 0, None, payload, wall, position)
    }

    /// [`Pipeline::step`] for a record of an input partition: its state lives (and is made
    /// durable) with that partition.
    pub fn step_in(
        &mut self,
        role: TopicRole,
        partition: i32,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        wall: EventTime,
        position: impl std::fmt::Display,
    ) -> Outcome {
        let health = &mut self.health[role.index()];
        health.consumed += 1;
        self.changed_since_card = true;
        let outcome = match role {
            TopicRole::Alerts => formats::guard::check(payload, self.limits)
                .and_then(formats::native::decode_alert)
                .map(|alert| {
                    self.clock.observe_event(alert.detected_at);
                    health.last_event = health.last_event.max(Some(alert.detected_at));
                    let now = self.clock.now(wall);
                    self.engine.apply_alert_in(partition, &alert, now)
                }),
            TopicRole::Cases => formats::guard::check(payload, self.limits)
                .and_then(formats::native::decode_case)
                .map(|case| {
                    self.clock.observe_event(case.at);
                    health.last_event = health.last_event.max(Some(case.at));
                    let now = self.clock.now(wall);
                    self.engine.apply_case_in(partition, &case, now)
                }),
            // A tombstone on the compacted inventory removes the asset named by its key.
            TopicRole::Inventory if payload.is_none_or(<[u8]>::is_empty) => {
                match key
                    .and_then(|k| std::str::from_utf8(k).ok())
                    .filter(|k| !k.is_empty())
                {
                    Some(asset_id) => Ok(self.engine.remove_asset(asset_id)),
                    None => Err(Rejection::new(
                        RejectReason::MissingField,
                        "inventory tombstone without an asset id key",
                    )),
                }
            }
            TopicRole::Inventory => formats::guard::check(payload, self.limits)
                .and_then(formats::native::decode_inventory)
                .map(|record| self.engine.apply_inventory(&record)),
            TopicRole::Telemetry => formats::guard::check(payload, self.limits)
                .and_then(formats::native::decode_telemetry)
                .map(|beat| {
                    self.clock.observe_event(beat.at);
                    health.last_event = health.last_event.max(Some(beat.at));
                    let now = self.clock.now(wall);
                    self.engine.apply_telemetry(&beat, now)
                }),
        };
        health.rejected[RejectReason::ClockSkew.index()] += self.engine.take_skewed();
        match outcome {
            Ok(applied) => {
                match applied {
                    Applied::Duplicate => health.duplicate += 1,
                    Applied::Late => health.late += 1,
                    Applied::Counted => {}
                }
                Outcome::Applied(applied)
            }
            Err(rejection) => {
                health.rejected[rejection.reason.index()] += 1;
                let topic = health.topic.clone();
                self.rejections.log(&topic, &position, &rejection);
                Outcome::Rejected(rejection)
            }
        }
    }

    /// Records every state change for the changelog from now on.
    pub fn make_durable(&mut self) {
        self.engine.record_changes();
    }

    /// Changelog records of everything changed since the last call.
    pub fn take_changes(&mut self) -> Vec<StateRecord> {
        self.engine.take_changes()
    }

    /// Rebuilds a partition from its changelog records; the partition's event clock moves the
    /// pipeline's. Returns how many records could not be read (logged).
    pub fn restore<'a>(
        &mut self,
        partition: i32,
        records: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        wall: EventTime,
    ) -> usize {
        let now = self.clock.now(wall);
        let (clock, errors) = self.engine.restore(partition, records, now);
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

    /// Lets the engine forget what no window needs at the current time.
    pub fn expire(&mut self, wall: EventTime) {
        let now = self.clock.now(wall);
        let [retention, cap] = self.engine.expire(now);
        if retention > 0 {
            tracing::info!(
                incidents = retention,
                "closed incidents past retention let go"
            );
        }
        if cap > 0 {
            tracing::warn!(
                incidents = cap,
                max_incidents = self.max_incidents,
                "limits.max_incidents reached: oldest closed incidents let go first"
            );
        }
    }

    /// Whether records were taken since the incident KPIs were last recomputed.
    pub fn changed_since_card(&self) -> bool {
        self.changed_since_card
    }

    /// Every KPI and health value now. With `fresh`, the incident KPIs are recomputed;
    /// otherwise only if that is cheap relative to the time since they last were.
    pub fn snapshot(&mut self, wall: EventTime, fresh: bool) -> Snapshot {
        let now = self.clock.now(wall);
        let due = self
            .card_computed
            .is_none_or(|at| at.elapsed() >= self.card_cost * 10);
        if fresh || due {
            let started = Instant::now();
            self.incident_card = Arc::new(self.engine.incident_card(now));
            self.card_cost = started.elapsed();
            self.card_computed = Some(Instant::now());
            self.changed_since_card = false;
        }
        Snapshot {
            scorecard: self.engine.scorecard(now, Arc::clone(&self.incident_card)),
            topics: self.health.clone(),
            lag: Vec::new(),
        }
    }
}

/// What `/metrics` shows: the scorecard and the pipeline's health at one instant.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub scorecard: Scorecard,
    pub topics: Vec<TopicHealth>,
    /// `soc_kafka_consumer_lag`: (topic, partition, records behind the high watermark).
    pub lag: Vec<(String, i32, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(mode: ClockMode) -> Pipeline {
        let mut config = Config::default();
        config.clock.mode = mode;
        Pipeline::new(&config)
    }

    fn alert(id: &str, at: i64) -> Vec<u8> {
        format!(r#"{{"alert_id":"{id}","detected_at":{at},"source":"edr","severity":"high"}}"#)
            .into_bytes()
    }

    #[test]
    fn event_clock_is_the_latest_event_time_seen() {
        let mut p = pipeline(ClockMode::Event);
        let wall = EventTime(5_000_000_000_000);
        p.step(TopicRole::Alerts, Some(&alert("a", 1_000_000)), wall, "0/0");
        p.step(TopicRole::Alerts, Some(&alert("b", 400_000)), wall, "0/1");
        let snapshot = p.snapshot(wall, true);
        assert_eq!(snapshot.scorecard.now, EventTime(1_000_000));
        // Both inside 24h of the latest event, only "a" inside 5m.
        assert_eq!(snapshot.scorecard.alerts[0].volume, vec![1, 2, 2]);
        assert_eq!(snapshot.topics[0].last_event, Some(EventTime(1_000_000)));
    }

    #[test]
    fn case_records_reach_the_incidents_and_move_the_event_clock() {
        let mut p = pipeline(ClockMode::Event);
        let wall = EventTime(0);
        let case = |at: i64, status: &str| {
            format!(r#"{{"incident_id":"I","at":{at},"status":"{status}","severity":"high"}}"#)
                .into_bytes()
        };
        p.step(TopicRole::Cases, Some(&case(1_000, "new")), wall, "0/0");
        p.step(
            TopicRole::Cases,
            Some(&case(61_000, "acknowledged")),
            wall,
            "0/1",
        );
        assert_eq!(
            p.step(
                TopicRole::Cases,
                Some(&case(61_000, "acknowledged")),
                wall,
                "0/2"
            ),
            Outcome::Applied(Applied::Duplicate)
        );
        let snapshot = p.snapshot(wall, true);
        assert_eq!(snapshot.scorecard.now, EventTime(61_000));
        let card = &snapshot.scorecard.incidents;
        assert_eq!(card.in_memory, 1);
        let high = crate::event::Severity::High.index();
        assert_eq!(
            card.open[high][crate::event::Status::Acknowledged.index()],
            1
        );
        let tta =
            card.per_window[0].spans[crate::engine::incident::Span::Acknowledge.index()][high];
        assert_eq!((tta.count, tta.sum_millis), (1, 60_000));
        assert_eq!(snapshot.topics[TopicRole::Cases.index()].duplicate, 1);
    }

    #[test]
    fn inventory_tombstones_and_telemetry_move_coverage() {
        let mut p = pipeline(ClockMode::Event);
        let wall = EventTime(0);
        for asset in ["a", "b", "c"] {
            let record = format!(r#"{{"asset_id":"{asset}"}}"#).into_bytes();
            p.step_in(
                TopicRole::Inventory,
                0,
                Some(asset.as_bytes()),
                Some(&record),
                wall,
                "0/0",
            );
        }
        p.step_in(TopicRole::Inventory, 0, Some(b"c"), None, wall, "0/3");
        let outcome = p.step_in(TopicRole::Inventory, 0, None, None, wall, "0/4");
        assert!(matches!(outcome, Outcome::Rejected(r) if r.reason == RejectReason::MissingField));
        p.step(
            TopicRole::Telemetry,
            Some(br#"{"asset_id":"a","at":90000000}"#),
            wall,
            "0/0",
        );
        let coverage = p.snapshot(wall, true).scorecard.coverage;
        assert_eq!((coverage.inventory, coverage.monitored), (2, 1));
        assert_eq!(
            p.snapshot(wall, true).scorecard.now,
            EventTime(90_000_000),
            "telemetry moves the event clock"
        );
    }

    #[test]
    fn wall_clock_never_goes_backwards() {
        let mut clock = Clock::new(ClockMode::Wall);
        assert_eq!(clock.now(EventTime(10)), EventTime(10));
        assert_eq!(clock.now(EventTime(5)), EventTime(10));
        clock.observe_event(EventTime(99));
        assert_eq!(clock.now(EventTime(11)), EventTime(11));
    }

    #[test]
    fn outcomes_are_counted_per_topic_and_reason() {
        let mut p = pipeline(ClockMode::Event);
        let wall = EventTime(0);
        assert_eq!(
            p.step(TopicRole::Alerts, Some(&alert("a", 1_000)), wall, "0/0"),
            Outcome::Applied(Applied::Counted)
        );
        assert_eq!(
            p.step(TopicRole::Alerts, Some(&alert("a", 1_000)), wall, "0/1"),
            Outcome::Applied(Applied::Duplicate)
        );
        let Outcome::Rejected(rejection) = p.step(TopicRole::Alerts, Some(b"{"), wall, "0/2")
        else {
            panic!("a truncated record is rejected");
        };
        assert_eq!(rejection.reason, RejectReason::InvalidJson);
        p.step(TopicRole::Alerts, None, wall, "0/3");
        p.step(TopicRole::Alerts, Some(b"\xff"), wall, "0/4");
        let health = &p.snapshot(wall, true).topics[TopicRole::Alerts.index()];
        assert_eq!(health.topic, "soc.alerts");
        assert_eq!(health.consumed, 5);
        assert_eq!(health.duplicate, 1);
        assert_eq!(health.rejected[RejectReason::InvalidJson.index()], 2);
        assert_eq!(health.rejected[RejectReason::InvalidUtf8.index()], 1);
        assert_eq!(health.rejected.iter().sum::<u64>(), 3);
    }
}
