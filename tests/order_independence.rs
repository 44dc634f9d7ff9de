//! Property: for generated incident histories, every permutation of their events, with any
//! of them delivered more than once, gives the same windowed and current incident KPIs as
//! in-order delivery (PRODUCT.md §2: minima, latest-wins by version, dedupe by event key).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::json;
use socmetrics::config::Config;
use socmetrics::engine::Engine;
use socmetrics::event::{self, EventTime};
use socmetrics::formats::native::{decode_alert, decode_case};

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;
const T0: i64 = 1_000 * DAY;
/// Every event lies in [T0, T0 + 3d]; the clock is fixed just after.
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

#[derive(Clone, Debug)]
enum Event {
    Alert(String),
    Case(String),
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
    )
        .prop_map(
            |(
                (incident, alert, minute, millis, status),
                (severity, disposition, tier, assignee, occurred_before, explicit_id),
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
            },
        )
}

/// Renders drafts as native records. Ids are unique per event, and an implicit case key
/// (incident + status + at) is used at most once: two different events sharing it would be
/// one event by definition, and which copy arrives first would then matter.
fn render(drafts: &[Draft]) -> Vec<Event> {
    let mut implicit_keys = std::collections::HashSet::new();
    drafts
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let at = T0 + d.minute * MINUTE + d.millis;
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
                case
            };
            if let Some(before) = d.occurred_before {
                record["occurred_at"] = json!(at - before * MINUTE);
            }
            if d.alert {
                Event::Alert(record.to_string())
            } else {
                Event::Case(record.to_string())
            }
        })
        .collect()
}

/// Everything windowed or current the exporter shows for incidents, as text for comparison.
fn kpis(events: &[Event]) -> String {
    let mut config = Config::default();
    config.windows.kpis = ["24h", "7d"]
        .iter()
        .map(|w| socmetrics::config::Span::parse(w).unwrap())
        .collect();
    let mut engine = Engine::new(config.engine_settings());
    let now = EventTime(NOW);
    for event in events {
        match event {
            Event::Alert(text) => {
                engine.apply(0, &event::Event::Alert(decode_alert(text).unwrap()), now);
            }
            Event::Case(text) => {
                engine.apply(0, &event::Event::Case(decode_case(text).unwrap()), now);
            }
        }
    }
    let card = engine.incident_card(now);
    let alerts = engine.scorecard(now, Default::default()).alerts;
    let mut alerts: Vec<_> = alerts
        .iter()
        .map(|a| (a.source.to_string(), a.severity, a.total, a.volume.clone()))
        .collect();
    alerts.sort();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{}\n{:?}",
        card.per_window, card.open, card.breached_open, card.windows, card.in_memory, alerts
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_order_and_any_duplication_give_the_same_kpis(
        (events, order, repeats) in prop::collection::vec(draft(), 1..40).prop_flat_map(|drafts| {
            let events = render(&drafts);
            let n = events.len();
            (
                Just(events),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec((0..n, 0..=n), 0..10),
            )
        })
    ) {
        let in_order = kpis(&events);
        let mut delivered: Vec<Event> = order.iter().map(|&i| events[i].clone()).collect();
        for (which, position) in repeats {
            let copy = events[which].clone();
            delivered.insert(position.min(delivered.len()), copy);
        }
        prop_assert_eq!(in_order, kpis(&delivered));
    }
}
