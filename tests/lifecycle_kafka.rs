//! The incident lifecycle end to end through a real broker: alerts and case events of a few
//! hundred planned incidents are produced to their topics, the daemon consumes both in
//! event-clock mode, and every windowed and current incident KPI in `/metrics` must equal an
//! independent calculation made here from the plan (not from the engine's code).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Daemon, Metrics, Record, block_on, create_topic, produce, unique};
use serde_json::json;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-06-01T00:00:00Z: the latest event of the scenario, so event-clock now.
const NOW: i64 = 1_780_272_000_000;
const WINDOWS: [(&str, i64); 4] = [
    ("24h", DAY),
    ("7d", 7 * DAY),
    ("30d", 30 * DAY),
    ("90d", 90 * DAY),
];
const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
/// PRODUCT.md §2 defaults, by severity index: acknowledge, resolve.
const ACK_TARGET: [i64; 5] = [72 * HOUR, 24 * HOUR, 4 * HOUR, HOUR, 15 * MINUTE];
const RESOLVE_TARGET: [i64; 5] = [14 * DAY, 7 * DAY, 72 * HOUR, 24 * HOUR, 4 * HOUR];

/// What happens to one incident, as offsets from its detection.
#[derive(Debug)]
struct Plan {
    id: String,
    detected: i64,
    /// occurred = detected − lead.
    lead: i64,
    alert_severities: Vec<usize>,
    /// None: the incident is known only from its alerts.
    case_severity: Option<usize>,
    /// A later raise of the severity: (offset, severity).
    raise: Option<(i64, usize)>,
    acknowledged: Option<i64>,
    contained: Option<i64>,
    resolved: Option<i64>,
    true_positive: bool,
}

fn plans(count: usize) -> Vec<Plan> {
    let mut random = common::Lcg(2026);
    (0..count)
        .map(|n| {
            // Detections over the last 95 days, denser in the last week.
            let age = if random.chance(40) {
                random.below(7 * DAY as u64)
            } else {
                random.below(95 * DAY as u64)
            } as i64;
            let detected = NOW - HOUR - age;
            let latest = NOW - detected;
            let within = |offset: i64| (offset < latest).then_some(offset);
            let known_from_cases = !random.chance(10);
            let acknowledged = if known_from_cases && random.chance(85) {
                within(random.below(6 * HOUR as u64) as i64 + MINUTE)
            } else {
                None
            };
            let contained = acknowledged.and_then(|a| {
                if random.chance(40) {
                    within(a + random.below(12 * HOUR as u64) as i64 + 1)
                } else {
                    None
                }
            });
            let resolved = acknowledged.and_then(|a| {
                if random.chance(70) {
                    within(contained.unwrap_or(a) + random.below(5 * DAY as u64) as i64 + 1)
                } else {
                    None
                }
            });
            Plan {
                id: format!("INC-{n:04}"),
                detected,
                lead: random.below(2 * DAY as u64) as i64,
                alert_severities: (0..1 + random.below(3))
                    .map(|_| random.below(5) as usize)
                    .collect(),
                case_severity: known_from_cases.then(|| random.below(5) as usize),
                raise: if known_from_cases && random.chance(15) {
                    within(random.below(2 * HOUR as u64) as i64 + 1).map(|at| (at, 4))
                } else {
                    None
                },
                acknowledged,
                contained,
                resolved,
                true_positive: random.chance(35),
            }
        })
        .collect()
}

fn records(plans: &[Plan]) -> (Vec<Record>, Vec<Record>) {
    let mut alerts = Vec::new();
    let mut cases = Vec::new();
    const SOURCES: [&str; 3] = ["splunk", "sentinel", "crowdstrike"];
    for p in plans {
        for (i, severity) in p.alert_severities.iter().enumerate() {
            let source = SOURCES[i % 3];
            let mut alert = json!({
                "alert_id": format!("{}-a{i}", p.id),
                "incident_id": p.id,
                // The first alert is the detection; later ones join the incident.
                "detected_at": p.detected + i as i64 * 90 * SECOND,
                "source": source,
                "severity": SEVERITIES[*severity],
            });
            if i == 0 {
                alert["occurred_at"] = json!(p.detected - p.lead);
            }
            alerts.push(Record {
                key: Some(p.id.clone().into_bytes()),
                payload: Some(alert.to_string().into_bytes()),
            });
        }
        let Some(severity) = p.case_severity else {
            continue;
        };
        let mut case = |offset: i64, status: &str, extra: serde_json::Value| {
            let mut event =
                json!({"incident_id": p.id, "at": p.detected + offset, "status": status});
            for (k, v) in extra.as_object().unwrap() {
                event[k] = v.clone();
            }
            cases.push(Record {
                key: Some(p.id.clone().into_bytes()),
                payload: Some(event.to_string().into_bytes()),
            });
        };
        case(
            SECOND,
            "new",
            json!({"severity": SEVERITIES[severity], "assignee": "tier1"}),
        );
        if let Some((at, raised)) = p.raise {
            case(
                at,
                "in_progress",
                json!({"severity": SEVERITIES[raised], "event_id": format!("{}-raise", p.id)}),
            );
        }
        if let Some(at) = p.acknowledged {
            case(at, "acknowledged", json!({}));
        }
        if let Some(at) = p.contained {
            case(at, "contained", json!({}));
        }
        if let Some(at) = p.resolved {
            let disposition = if p.true_positive {
                "true_positive"
            } else {
                "false_positive"
            };
            case(at, "resolved", json!({"disposition": disposition}));
        }
    }
    (alerts, cases)
}

/// The expected values of one incident, derived from its plan by §2's definitions.
struct Truth {
    severity: usize,
    status: &'static str,
    detected: i64,
    /// (end, duration) per detect, acknowledge, contain, resolve, dwell.
    spans: [Option<(i64, i64)>; 5],
    /// Per stage: (deadline, reached).
    stages: [(i64, Option<i64>); 2],
}

fn truth(p: &Plan) -> Truth {
    // The case events as (offset, status, severity given).
    let mut events: Vec<(i64, &'static str, Option<usize>)> = Vec::new();
    if p.case_severity.is_some() {
        events.push((SECOND, "new", p.case_severity));
        if let Some((at, raised)) = p.raise {
            events.push((at, "in_progress", Some(raised)));
        }
        for (offset, status) in [
            (p.acknowledged, "acknowledged"),
            (p.contained, "contained"),
            (p.resolved, "resolved"),
        ] {
            if let Some(at) = offset {
                events.push((at, status, None));
            }
        }
    }
    // The latest event carrying a severity; else the highest of the alerts'.
    let severity = events
        .iter()
        .filter_map(|(at, _, severity)| severity.map(|s| (*at, s)))
        .max()
        .map_or_else(|| *p.alert_severities.iter().max().unwrap(), |(_, s)| s);
    let at = |offset: Option<i64>| offset.map(|o| p.detected + o);
    let occurred = p.detected - p.lead;
    // Acknowledged: the earliest event of a status past `new`.
    let acknowledged = at(events
        .iter()
        .filter(|(_, status, _)| *status != "new")
        .map(|(at, _, _)| *at)
        .min());
    let resolved = at(p.resolved);
    let contained = at(p.contained).or(if p.true_positive { resolved } else { None });
    let span = |start: i64, end: Option<i64>| end.map(|e| (e, (e - start).max(0)));
    // The latest status; `new` for an incident known only from alerts.
    let status = events
        .iter()
        .max_by_key(|(at, _, _)| *at)
        .map_or("new", |(_, status, _)| status);
    Truth {
        severity,
        status,
        detected: p.detected,
        spans: [
            span(occurred, Some(p.detected)),
            span(p.detected, acknowledged),
            span(p.detected, contained),
            span(p.detected, resolved),
            span(occurred, contained),
        ],
        stages: [
            (p.detected + ACK_TARGET[severity], acknowledged),
            (p.detected + RESOLVE_TARGET[severity], resolved),
        ],
    }
}

fn in_window(t: i64, length: i64) -> bool {
    t > NOW - length && t <= NOW
}

fn breached((deadline, reached): (i64, Option<i64>)) -> bool {
    match reached {
        Some(r) => r > deadline,
        None => NOW > deadline,
    }
}

/// Series label sets of one severity slot: each level, and "all".
fn slots(truths: &[Truth]) -> Vec<(String, Vec<&Truth>)> {
    let mut slots: Vec<(String, Vec<&Truth>)> = SEVERITIES
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.to_string(),
                truths.iter().filter(|t| t.severity == i).collect(),
            )
        })
        .collect();
    slots.push(("all".into(), truths.iter().collect()));
    slots
}

fn assert_close(actual: Option<f64>, expected: f64, tolerance: f64, what: &str) {
    let actual = actual.unwrap_or_else(|| panic!("{what}: series missing, expected {expected}"));
    let error = (actual - expected).abs() / expected.abs().max(1e-9);
    assert!(
        error <= tolerance,
        "{what}: {actual} vs expected {expected}"
    );
}

#[test]
fn lifecycle_kpis_equal_an_independent_calculation() {
    let plans = plans(300);
    let (mut alerts, cases) = records(&plans);
    // The latest event of all: sets event-clock now; its own alert has no incident.
    alerts.push(Record::json(
        json!({"alert_id": "last", "detected_at": NOW, "source": "splunk", "severity": "low"}),
    ));
    let (alerts_topic, cases_topic) = (unique("alerts"), unique("cases"));
    block_on(create_topic(&alerts_topic, 1, &[]));
    block_on(create_topic(&cases_topic, 1, &[]));
    block_on(produce(&alerts_topic, &alerts));
    block_on(produce(&cases_topic, &cases));

    let daemon = Daemon::start(&format!(
        "[kafka]\nbrokers = \"{}\"\ngroup_id = \"{}\"\n[topics]\nalerts = \"{alerts_topic}\"\ncases = \"{cases_topic}\"\n[clock]\nmode = \"event\"\n",
        common::brokers(),
        unique("group")
    ));
    daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &alerts_topic)]) == Some(alerts.len() as f64)
            && m.get("soc_events_consumed_total", &[("topic", &cases_topic)])
                == Some(cases.len() as f64)
    });
    // One more tick, so the incident KPIs are recomputed after the last record.
    std::thread::sleep(Duration::from_millis(1_200));
    let metrics = daemon.scrape();
    let truths: Vec<Truth> = plans.iter().map(truth).collect();
    check(&metrics, &truths, &plans);
}

fn check(m: &Metrics, truths: &[Truth], plans: &[Plan]) {
    assert_eq!(
        m.get("soc_incidents_in_memory", &[]),
        Some(plans.len() as f64)
    );
    assert_eq!(m.sum("soc_incidents_opened_total"), plans.len() as f64);
    let resolved = plans.iter().filter(|p| p.resolved.is_some()).count() as f64;
    assert_eq!(
        m.sum("soc_incidents_resolved_total"),
        resolved,
        "{}",
        m.text
            .lines()
            .filter(|l| l.contains("rejected") || l.contains("soc_events") || l.contains("open{"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        m.get(
            "soc_events_duplicate_total",
            &[(
                "topic",
                m.series("soc_events_consumed_total")[0].0["topic"].as_str()
            )]
        ),
        Some(0.0)
    );

    let spans = ["detect", "acknowledge", "contain", "resolve", "dwell"];
    let mut checked = 0;
    for (window, length) in WINDOWS {
        for (severity, members) in slots(truths) {
            let labels = [("window", window), ("severity", severity.as_str())];
            let detected = members
                .iter()
                .filter(|t| in_window(t.detected, length))
                .count();
            assert_eq!(
                m.get("soc_incidents", &labels),
                Some(detected as f64),
                "soc_incidents {labels:?}"
            );
            for (s, span) in spans.iter().enumerate() {
                let mut durations: Vec<i64> = members
                    .iter()
                    .filter_map(|t| t.spans[s])
                    .filter(|(end, _)| in_window(*end, length))
                    .map(|(_, d)| d)
                    .collect();
                let (mean_name, quantile_name) = if *span == "dwell" {
                    (
                        "soc_mean_dwell_time_seconds".to_owned(),
                        "soc_dwell_time_quantile_seconds".to_owned(),
                    )
                } else {
                    (
                        format!("soc_mean_time_to_{span}_seconds"),
                        format!("soc_time_to_{span}_quantile_seconds"),
                    )
                };
                if durations.is_empty() {
                    assert_eq!(
                        m.get(&mean_name, &labels),
                        None,
                        "{mean_name} {labels:?} should be absent"
                    );
                    continue;
                }
                durations.sort_unstable();
                let mean = durations.iter().sum::<i64>() as f64 / durations.len() as f64 / 1000.0;
                assert_close(
                    m.get(&mean_name, &labels),
                    mean,
                    1e-9,
                    &format!("{mean_name} {labels:?}"),
                );
                for q in [0.5, 0.9, 0.99] {
                    let rank = ((q * durations.len() as f64).ceil() as usize).max(1);
                    let exact = durations[rank - 1] as f64 / 1000.0;
                    let q_label = q.to_string();
                    let got = m.get(
                        &quantile_name,
                        &[labels[0], labels[1], ("quantile", q_label.as_str())],
                    );
                    // HdrHistogram reports the top of the value's bucket: at most 0.1 % above, never below.
                    let got_value =
                        got.unwrap_or_else(|| panic!("{quantile_name} {labels:?} q={q} missing"));
                    assert!(
                        got_value >= exact - 0.001 && got_value <= exact * 1.001 + 0.001,
                        "{quantile_name} {labels:?} q={q}: {got_value} vs {exact}"
                    );
                }
                checked += 1;
            }
            for (stage_index, stage) in ["acknowledge", "resolve"].iter().enumerate() {
                let due: Vec<_> = members
                    .iter()
                    .filter(|t| in_window(t.stages[stage_index].0, length))
                    .collect();
                let labels = [
                    ("window", window),
                    ("severity", severity.as_str()),
                    ("stage", stage),
                ];
                if due.is_empty() {
                    assert_eq!(
                        m.get("soc_sla_compliance_ratio", &labels),
                        None,
                        "{labels:?} should be absent"
                    );
                } else {
                    let met = due
                        .iter()
                        .filter(|t| !breached(t.stages[stage_index]))
                        .count();
                    assert_close(
                        m.get("soc_sla_compliance_ratio", &labels),
                        met as f64 / due.len() as f64,
                        1e-12,
                        &format!("compliance {labels:?}"),
                    );
                }
            }
        }
    }
    assert!(
        checked > 100,
        "the scenario exercises the duration gauges ({checked})"
    );

    for (severity, members) in slots(truths) {
        let mut open: BTreeMap<&str, usize> = BTreeMap::new();
        for t in members.iter().filter(|t| t.status != "resolved") {
            *open.entry(t.status).or_default() += 1;
        }
        for status in [
            "new",
            "acknowledged",
            "in_progress",
            "escalated",
            "contained",
            "reopened",
        ] {
            let labels = [("severity", severity.as_str()), ("status", status)];
            assert_eq!(
                m.get("soc_incidents_open", &labels),
                Some(*open.get(status).unwrap_or(&0) as f64),
                "open {labels:?}"
            );
        }
        for (stage_index, stage) in ["acknowledge", "resolve"].iter().enumerate() {
            let breached_open = members
                .iter()
                .filter(|t| t.stages[stage_index].1.is_none() && NOW > t.stages[stage_index].0)
                .count();
            let labels = [("severity", severity.as_str()), ("stage", *stage)];
            assert_eq!(
                m.get("soc_sla_breached_open_incidents", &labels),
                Some(breached_open as f64),
                "breached open {labels:?}"
            );
        }
    }
}
