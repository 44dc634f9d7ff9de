//! Property: for generated incident histories, every permutation of their records, with any
//! of them delivered more than once, gives the same outputs as in-order delivery (PRODUCT.md
//! §2: minima, latest-wins by version, dedupe by event key). The records go the daemon's way,
//! through `Pipeline::apply_batch` on a fixed wall clock, and the outputs compared are all of
//! a snapshot: every series of the scorecard (alert counters and volumes, every incident
//! gauge, windowed KPI, ratio, quantile, cost, analyst and posture value, the in-memory,
//! eviction and label-overflow series) and every pipeline counter of every topic (consumed,
//! rejected by reason, duplicate, late, last event time), and now. Consumer lag is not part
//! of it: the pipeline leaves it empty (the Kafka consumer fills it in).
//!
//! The pipeline counters are also checked against what the records' fates say (applied, bad
//! value, clock ahead, late), computed without the engine, and a small model of docs/kpis.md
//! §2 pins the totals an order comparison alone cannot (a counter that never moves, in any
//! order, compares equal): distinct incidents opened and in memory, resolutions, reopens,
//! alerts, and the time to detect, acknowledge and resolve histogram counts.
//!
//! Some outputs depend on order by the spec, and are compared as far as the spec makes them
//! independent of it, never left out silently:
//! - a duplicate delivery is one more record: `consumed` grows by one per injected copy, and
//!   the copy counts as a duplicate, or as late or rejected again if its original was;
//! - incident counters take the severity (and disposition) of the moment they count
//!   (docs/kpis.md, decision 2), so the opened, resolved and reopened counters are compared
//!   summed over their labels;
//! - a duration histogram observes a duration once, when it is first known, with its value
//!   then: time to detect, acknowledge and resolve are compared by count (their ends, once
//!   known, stay known). Containment and dwell counts are not compared: `contained` falls
//!   back to the resolution of a true positive, and a later disposition can take that back.
//!   They are held to bounds instead: at most one per incident, dwell at most containment
//!   and at most the incidents with an `occurred_at`;
//! - `soc_sla_breaches_total` counts a breach when it happens and never takes it back (a
//!   later, earlier acknowledgement does not undo it; a later severity change can make an
//!   earlier stage deadline shorter or longer), and `clock_skew` counts a negative duration
//!   seen on the way, which a later event may make positive. Neither is compared between
//!   deliveries; each is held to what holds in any order: breaches at most one per incident
//!   and stage, none for `severity="unknown"`; `clock_skew` at most two per incident with an
//!   `occurred_at` (only time to detect and dwell can be negative) and at least one per
//!   incident whose final time to detect is negative;
//! - gauges summing floating-point amounts over incidents (cost) sum them in hash-map order:
//!   compared to a relative 1e-9.
//!
//! What the generator does not reach is compared but only at its trivial value: it makes no
//! inventory or telemetry records (coverage stays empty), never runs the expiry tick (nothing
//! is evicted, and a deadline passing with no event is not counted), uses one tenant and too
//! few analysts and sources to overflow a label.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;
use socmetrics::config::Config;
use socmetrics::engine::incident::Span;
use socmetrics::engine::scorecard::Kpi;
use socmetrics::event::EventTime;
use socmetrics::formats::RejectReason;
use socmetrics::pipeline::{Pipeline, TopicHealth};
use socmetrics::source::{Record, TopicRole};

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;
const T0: i64 = 1_000 * DAY;
/// Every event lies in [T0, T0 + 3d]; the wall clock is fixed just after.
const NOW: i64 = T0 + 3 * DAY + MINUTE;

const STATUSES: [&str; 8] = [
    "new",
    "acknowledged",
    "in_progress",
    "escalated",
    "contained",
    "resolved",
    "closed",
    "reopened",
];
const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const DISPOSITIONS: [&str; 4] = [
    "true_positive",
    "false_positive",
    "benign_positive",
    "undetermined",
];

/// What a generated record is meant to come to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Applied: counted, and a duplicate when delivered again.
    Applied,
    /// A bad value: rejected (`bad_value`) each time it is delivered.
    Bad,
    /// Stamped past the wall clock plus `limits.max_clock_ahead`: rejected (`clock_ahead`).
    Ahead,
    /// Older than the retention horizon: late, each time.
    Late,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        17 => Just(Fate::Applied),
        1 => Just(Fate::Bad),
        1 => Just(Fate::Ahead),
        1 => Just(Fate::Late),
    ]
}

/// One generated record, rendered, with what it is meant to come to.
#[derive(Clone, Debug)]
struct Generated {
    role: TopicRole,
    text: String,
    fate: Fate,
    /// What the record says, for the expectations computed without the engine.
    incident: u8,
    /// `None` for an alert.
    status: Option<usize>,
    at: i64,
    occurred: Option<i64>,
}

/// One generated event of incident `incident`, before ids are made unique.
#[derive(Clone, Debug)]
struct Draft {
    incident: u8,
    alert: bool,
    /// Minutes after T0, plus a few milliseconds so some land on the same millisecond.
    minute: i64,
    millis: i64,
    status: usize,
    severity: Option<usize>,
    disposition: Option<usize>,
    tier: Option<u8>,
    assignee: Option<u8>,
    occurred_before: Option<i64>,
    explicit_id: bool,
    root_cause: Option<u8>,
    cost: Option<u16>,
    fate: Fate,
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        (
            0u8..5,
            prop::bool::weighted(0.3),
            0i64..(3 * 24 * 60),
            0i64..3,
            0usize..8,
        ),
        (
            prop::option::of(0usize..5),
            prop::option::weighted(0.3, 0usize..4),
            prop::option::weighted(0.2, 1u8..4),
            prop::option::weighted(0.4, 0u8..3),
            prop::option::weighted(0.3, 0i64..(6 * 60)),
            prop::bool::weighted(0.3),
        ),
        (
            prop::option::weighted(0.2, 0u8..2),
            prop::option::weighted(0.1, 0u16..500),
            fate(),
        ),
    )
        .prop_map(
            |(
                (incident, alert, minute, millis, status),
                (severity, disposition, tier, assignee, occurred_before, explicit_id),
                (root_cause, cost, fate),
            )| Draft {
                incident,
                alert,
                minute,
                millis,
                status,
                severity,
                disposition,
                tier,
                assignee,
                occurred_before,
                explicit_id,
                root_cause,
                cost,
                fate,
            },
        )
}

/// Renders drafts as native records. Ids are unique per event, and an implicit case key
/// (incident + status + at) is used at most once: two different events sharing it would be
/// one event by definition, and which copy arrives first would then matter.
fn render(drafts: &[Draft]) -> Vec<Generated> {
    let mut implicit_keys = std::collections::HashSet::new();
    drafts
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let at = match d.fate {
                Fate::Ahead => NOW + 2 * 60 * MINUTE + d.minute * MINUTE,
                Fate::Late => NOW - 200 * DAY + d.minute * MINUTE,
                Fate::Applied | Fate::Bad => T0 + d.minute * MINUTE + d.millis,
            };
            let incident = format!("INC-{}", d.incident);
            let mut record = if d.alert {
                json!({
                    "alert_id": format!("alert-{n}"),
                    "incident_id": incident,
                    "detected_at": at,
                    "source": if n % 2 == 0 { "edr" } else { "siem" },
                    "severity": SEVERITIES[d.severity.unwrap_or(2)],
                    "threat_intel": n % 7 == 0,
                })
            } else {
                let mut case =
                    json!({"incident_id": incident, "at": at, "status": STATUSES[d.status]});
                if d.explicit_id || !implicit_keys.insert((d.incident, d.status, at)) {
                    case["event_id"] = json!(format!("evt-{n:03}"));
                }
                if let Some(s) = d.severity {
                    case["severity"] = json!(SEVERITIES[s]);
                }
                if let Some(x) = d.disposition {
                    case["disposition"] = json!(DISPOSITIONS[x]);
                }
                if let Some(t) = d.tier {
                    case["tier"] = json!(t);
                }
                if let Some(a) = d.assignee {
                    case["assignee"] = json!(format!("analyst-{a}"));
                }
                if let Some(r) = d.root_cause {
                    case["root_cause"] = json!(["phishing", "weak password"][usize::from(r)]);
                }
                if let Some(c) = d.cost {
                    case["cost"] = json!(f64::from(c) / 4.0);
                }
                case
            };
            let occurred = d.occurred_before.map(|before| at - before * MINUTE);
            if let Some(occurred) = occurred {
                record["occurred_at"] = json!(occurred);
            }
            if d.fate == Fate::Bad {
                let field = if d.alert { "severity" } else { "status" };
                record[field] = json!("unheard-of");
            }
            Generated {
                role: if d.alert {
                    TopicRole::Alerts
                } else {
                    TopicRole::Cases
                },
                text: record.to_string(),
                fate: d.fate,
                incident: d.incident,
                status: (!d.alert).then_some(d.status),
                at,
                occurred,
            }
        })
        .collect()
}

/// A snapshot, as compared (see the header).
#[derive(Debug)]
struct Outputs {
    now: EventTime,
    /// Compared between deliveries: `name{labels}` → value for every series of the families
    /// delivery order does not change, `sum(name)` / `count(name)` for those whose labels or
    /// histogram values it does.
    series: BTreeMap<String, f64>,
    /// Not compared between deliveries, only held to bounds ([`assert_bounds`]): the
    /// containment and dwell histogram counts, and the breaches counter summed by stage and
    /// for `severity="unknown"`.
    bounded: BTreeMap<String, f64>,
    /// Per topic role.
    health: Vec<TopicHealth>,
}

fn config() -> Config {
    let mut config = Config::default();
    config.windows.kpis = ["24h", "7d"]
        .iter()
        .map(|w| socmetrics::config::Span::parse(w).expect("a valid window"))
        .collect();
    config
}

fn sum(kpi: Kpi) -> String {
    format!("sum({})", kpi.name())
}

fn count(kpi: Kpi) -> String {
    format!("count({})", kpi.name())
}

fn run(records: &[Generated]) -> Outputs {
    let config = config();
    let mut pipeline = Pipeline::new(&config);
    let views: Vec<Record<'_>> = records
        .iter()
        .enumerate()
        .map(|(n, r)| {
            Record::new(
                r.role.topic(&config),
                r.role,
                n as i64,
                Some(r.text.as_bytes()),
            )
        })
        .collect();
    let wall = EventTime(NOW);
    let _ = pipeline.apply_batch(&views, wall);
    let snapshot = pipeline.fresh_snapshot(wall);
    let mut series = BTreeMap::new();
    let mut bounded = BTreeMap::new();
    for s in snapshot.scorecard.series() {
        let name = s.kpi.name();
        let value = s.value.number();
        match s.kpi {
            Kpi::IncidentsOpenedTotal
            | Kpi::IncidentsResolvedTotal
            | Kpi::IncidentsReopenedTotal => {
                *series.entry(sum(s.kpi)).or_insert(0.0) += value;
            }
            Kpi::Duration(Span::Detect | Span::Acknowledge | Span::Resolve) => {
                *series.entry(count(s.kpi)).or_insert(0.0) += value;
            }
            Kpi::Duration(Span::Contain | Span::Dwell) => {
                *bounded.entry(count(s.kpi)).or_insert(0.0) += value;
            }
            Kpi::SlaBreachesTotal => {
                let stage = s.label("stage").unwrap_or_default();
                *bounded
                    .entry(format!("sum({name}{{stage={stage}}})"))
                    .or_insert(0.0) += value;
                if s.label("severity").as_deref() == Some("unknown") {
                    *bounded
                        .entry(format!("{name}{{severity=unknown}}"))
                        .or_insert(0.0) += value;
                }
            }
            _ => {
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .map(|l| format!("{}={:?}", l.name(), l.value()))
                    .collect();
                let key = format!("{name}{{{}}}", labels.join(","));
                let repeated = series.insert(key.clone(), value);
                assert!(repeated.is_none(), "series {key} twice");
            }
        }
    }
    Outputs {
        now: snapshot.scorecard.now,
        series,
        bounded,
        health: snapshot.topics,
    }
}

/// What the generated records come to, computed from what they say, without the engine
/// (docs/kpis.md §2): it pins the values the order comparison alone cannot, such as a
/// counter that never moves in any order.
#[derive(Debug, Default)]
struct Model {
    /// Distinct incidents with an applied record.
    incidents: u64,
    /// Of which an applied record gives `occurred_at`: time to detect is known.
    with_occurred: u64,
    /// Of which an applied case event is acknowledging (`acknowledged` … `closed`).
    acknowledged: u64,
    /// Of which an applied case event is `resolved` or `closed`.
    resolved: u64,
    /// Of which the final time to detect is negative: min `occurred_at` > min event time.
    negative_ttd: u64,
    /// Applied `reopened` case events (all distinct).
    reopens: u64,
    /// Applied alerts (all distinct).
    alerts: u64,
}

impl Model {
    fn of(records: &[Generated]) -> Self {
        // incident → (detected, occurred, acknowledged, resolved)
        let mut incidents: BTreeMap<u8, (i64, Option<i64>, bool, bool)> = BTreeMap::new();
        let mut model = Model::default();
        for r in records.iter().filter(|r| r.fate == Fate::Applied) {
            let entry = incidents
                .entry(r.incident)
                .or_insert((i64::MAX, None, false, false));
            entry.0 = entry.0.min(r.at);
            if let Some(occurred) = r.occurred {
                entry.1 = Some(entry.1.map_or(occurred, |o| o.min(occurred)));
            }
            match r.status {
                None => model.alerts += 1,
                Some(status) => {
                    entry.2 |= (1..=6).contains(&status);
                    entry.3 |= status == 5 || status == 6;
                    model.reopens += u64::from(status == 7);
                }
            }
        }
        for (detected, occurred, acknowledged, resolved) in incidents.into_values() {
            model.incidents += 1;
            model.with_occurred += u64::from(occurred.is_some());
            model.negative_ttd += u64::from(occurred.is_some_and(|o| o > detected));
            model.acknowledged += u64::from(acknowledged);
            model.resolved += u64::from(resolved);
        }
        model
    }
}

/// The values the model pins exactly, in one delivery.
fn assert_model(outputs: &Outputs, model: &Model) -> Result<(), TestCaseError> {
    let series = &outputs.series;
    let exact = [
        (sum(Kpi::IncidentsOpenedTotal), model.incidents),
        (
            format!("{}{{}}", Kpi::IncidentsInMemory.name()),
            model.incidents,
        ),
        (sum(Kpi::IncidentsResolvedTotal), model.resolved),
        (sum(Kpi::IncidentsReopenedTotal), model.reopens),
        (count(Kpi::Duration(Span::Detect)), model.with_occurred),
        (count(Kpi::Duration(Span::Acknowledge)), model.acknowledged),
        (count(Kpi::Duration(Span::Resolve)), model.resolved),
    ];
    for (key, expected) in exact {
        prop_assert_eq!(series.get(&key).copied(), Some(expected as f64), "{}", key);
    }
    let alerts_total: f64 = series
        .iter()
        .filter(|(key, _)| key.starts_with(&format!("{}{{", Kpi::AlertsTotal.name())))
        .map(|(_, value)| value)
        .sum();
    prop_assert_eq!(alerts_total, model.alerts as f64, "alerts_total");
    Ok(())
}

/// The order-dependent values, held to what the spec bounds them by in any order:
/// each counts at most once per incident (and stage or duration), and every final fact is
/// counted by the time the last change is applied.
fn assert_bounds(outputs: &Outputs, model: &Model) -> Result<(), TestCaseError> {
    let bounded = |key: String| outputs.bounded.get(&key).copied().unwrap_or(0.0);
    let breaches = Kpi::SlaBreachesTotal.name();
    // An incident of unknown severity has no deadline, so it never breaches.
    prop_assert_eq!(bounded(format!("{breaches}{{severity=unknown}}")), 0.0);
    for stage in ["acknowledge", "resolve"] {
        let n = bounded(format!("sum({breaches}{{stage={stage}}})"));
        prop_assert!(n <= model.incidents as f64, "{} breaches at {}", n, stage);
    }
    let contain = bounded(count(Kpi::Duration(Span::Contain)));
    prop_assert!(
        contain <= model.incidents as f64,
        "contain count {}",
        contain
    );
    let dwell = bounded(count(Kpi::Duration(Span::Dwell)));
    prop_assert!(
        dwell <= contain.min(model.with_occurred as f64),
        "dwell count {}",
        dwell
    );
    // Only time to detect and dwell can be negative; a final negative time to detect is seen
    // when the last change to either end is applied.
    let skew: u64 = outputs
        .health
        .iter()
        .map(|h| h.rejected[RejectReason::ClockSkew.index()])
        .sum();
    prop_assert!(
        model.negative_ttd <= skew && skew <= 2 * model.with_occurred,
        "clock_skew {} outside [{}, {}]",
        skew,
        model.negative_ttd,
        2 * model.with_occurred
    );
    Ok(())
}

/// The pipeline counters a delivery of `records` must give, computed from their fates alone,
/// `clock_skew` aside (0 here, see [`assert_bounds`]).
fn expected_health(records: &[Generated]) -> Vec<TopicHealth> {
    let config = config();
    let mut health: Vec<TopicHealth> = TopicRole::ALL
        .iter()
        .map(|role| TopicHealth {
            topic: role.topic(&config).to_owned(),
            ..TopicHealth::default()
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for record in records {
        let topic = &mut health[record.role.index()];
        topic.consumed += 1;
        match record.fate {
            Fate::Bad => topic.rejected[RejectReason::BadValue.index()] += 1,
            Fate::Ahead => topic.rejected[RejectReason::ClockAhead.index()] += 1,
            Fate::Late => topic.late += 1,
            Fate::Applied if !seen.insert(&record.text) => topic.duplicate += 1,
            Fate::Applied => {}
        }
        // A decoded record moves its topic's last event time, even when late.
        if matches!(record.fate, Fate::Applied | Fate::Late) {
            topic.last_event = topic.last_event.max(Some(EventTime(record.at)));
        }
    }
    health
}

/// Compares the pipeline counters of every topic, `clock_skew` aside (see the header).
fn assert_health(actual: &[TopicHealth], expected: &[TopicHealth]) -> Result<(), TestCaseError> {
    prop_assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        let mut a = a.clone();
        a.rejected[RejectReason::ClockSkew.index()] = 0;
        prop_assert_eq!(&a, e);
    }
    Ok(())
}

/// Same series, same values (to a relative 1e-9: see the header).
fn assert_series(
    actual: &BTreeMap<String, f64>,
    expected: &BTreeMap<String, f64>,
) -> Result<(), TestCaseError> {
    let names = |m: &BTreeMap<String, f64>| m.keys().cloned().collect::<Vec<_>>();
    prop_assert_eq!(names(actual), names(expected));
    for (key, e) in expected {
        let a = actual[key];
        prop_assert!(
            (a - e).abs() <= 1e-9 * e.abs().max(a.abs()).max(1.0),
            "{}: {} vs {}",
            key,
            a,
            e
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_order_and_any_duplication_give_the_same_outputs(
        (records, order, repeats) in prop::collection::vec(draft(), 1..40).prop_flat_map(|drafts| {
            let records = render(&drafts);
            let n = records.len();
            (
                Just(records),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec((0..n, 0..=n), 0..10),
            )
        })
    ) {
        let model = Model::of(&records);
        let in_order = run(&records);
        // In order, the counters are what the fates say: nothing is a duplicate yet.
        assert_health(&in_order.health, &expected_health(&records))?;
        assert_model(&in_order, &model)?;
        assert_bounds(&in_order, &model)?;
        let mut delivered: Vec<Generated> = order.iter().map(|&i| records[i].clone()).collect();
        for (which, position) in repeats {
            let copy = records[which].clone();
            delivered.insert(position.min(delivered.len()), copy);
        }
        let shuffled = run(&delivered);
        prop_assert_eq!(shuffled.now, in_order.now);
        assert_series(&shuffled.series, &in_order.series)?;
        assert_health(&shuffled.health, &expected_health(&delivered))?;
        assert_bounds(&shuffled, &model)?;
    }
}
