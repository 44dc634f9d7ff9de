//! The SOC scorecard end to end through a real broker over all four topics: alerts, case
//! events, the asset inventory (with a retired asset and a tombstone) and telemetry (with a
//! silent asset). Every scorecard gauge in `/metrics` must equal an independent calculation
//! made here from the plan.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Daemon, Metrics, Record, block_on, create_topic, produce_keyed, unique};
use serde_json::json;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-09-01T00:00:00Z: the latest event, so event-clock now.
const NOW: i64 = 1_788_220_800_000;
const WINDOWS: [(&str, i64); 2] = [("24h", DAY), ("7d", 7 * DAY)];
const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const ACK_TARGET: [i64; 5] = [72 * HOUR, 24 * HOUR, 4 * HOUR, HOUR, 15 * MINUTE];
const RESOLVE_TARGET: [i64; 5] = [14 * DAY, 7 * DAY, 72 * HOUR, 24 * HOUR, 4 * HOUR];
/// The default cost model.
const HOURLY_RATE: f64 = 60.0;
const BASE_COST: [f64; 5] = [10.0, 50.0, 150.0, 400.0, 1000.0];

/// One incident of the plan; offsets are from NOW.
struct Plan {
    id: &'static str,
    severity: usize,
    detected: i64,
    /// (source, offset) of its alerts; the first is the detection.
    alerts: Vec<(&'static str, i64)>,
    detection: &'static str,
    root_cause: Option<&'static str>,
    threat_intel: bool,
    /// Acknowledged at, by whom, at which tier.
    ack: Option<(i64, &'static str, u8)>,
    resolved: Option<i64>,
    disposition: Option<&'static str>,
    cost: Option<f64>,
}

#[allow(clippy::too_many_arguments)]
fn plan(
    id: &'static str,
    severity: usize,
    detected: i64,
    sources: &[&'static str],
    detection: &'static str,
    root_cause: Option<&'static str>,
    threat_intel: bool,
    ack: Option<(i64, &'static str, u8)>,
    resolved: Option<i64>,
    disposition: Option<&'static str>,
    cost: Option<f64>,
) -> Plan {
    let alerts = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, detected + i as i64 * MINUTE))
        .collect();
    Plan {
        id,
        severity,
        detected,
        alerts,
        detection,
        root_cause,
        threat_intel,
        ack,
        resolved,
        disposition,
        cost,
    }
}

fn plans() -> Vec<Plan> {
    let h = HOUR;
    vec![
        plan(
            "I1",
            4,
            -20 * h,
            &["edr", "siem"],
            "alert",
            Some("phishing"),
            true,
            Some((-19 * h, "ana", 1)),
            Some(-15 * h),
            Some("true_positive"),
            None,
        ),
        plan(
            "I2",
            3,
            -10 * h,
            &["edr"],
            "alert",
            Some("phishing"),
            false,
            Some((-9 * h, "ana", 2)),
            Some(-2 * h),
            Some("false_positive"),
            Some(120.0),
        ),
        plan(
            "I3",
            2,
            -5 * h,
            &["siem", "siem"],
            "hunt",
            Some("vpn"),
            false,
            Some((-4 * h, "bob", 1)),
            Some(-h),
            Some("true_positive"),
            None,
        ),
        plan(
            "I4",
            1,
            -3 * h,
            &["ndr"],
            "user_report",
            None,
            true,
            Some((-2 * h, "bob", 3)),
            None,
            None,
            None,
        ),
        plan(
            "I5",
            4,
            -30 * MINUTE,
            &["edr"],
            "alert",
            Some("malware"),
            false,
            None,
            None,
            None,
            None,
        ),
        plan(
            "I6",
            3,
            -3 * DAY,
            &["siem"],
            "alert",
            Some("vpn"),
            false,
            Some((-3 * DAY + h, "carl", 1)),
            Some(-2 * DAY),
            Some("false_positive"),
            None,
        ),
        plan(
            "I7",
            2,
            -40 * DAY,
            &["siem"],
            "alert",
            Some("malware"),
            false,
            Some((-40 * DAY + h, "carl", 1)),
            Some(-39 * DAY),
            Some("benign_positive"),
            None,
        ),
        plan(
            "I8",
            4,
            -8 * h,
            &["ndr"],
            "external",
            None,
            false,
            Some((-7 * h, "ana", 1)),
            Some(-6 * h),
            Some("true_positive"),
            Some(5000.0),
        ),
        plan(
            "I9",
            0,
            -12 * h,
            &["edr"],
            "alert",
            None,
            false,
            Some((-11 * h, "bob", 1)),
            Some(-11 * h),
            Some("undetermined"),
            None,
        ),
    ]
}

fn records(plans: &[Plan]) -> (Vec<Record>, Vec<Record>) {
    let (mut alerts, mut cases) = (Vec::new(), Vec::new());
    let record = |key: &str, value: serde_json::Value| Record {
        key: Some(key.as_bytes().to_vec()),
        payload: Some(value.to_string().into_bytes()),
    };
    for p in plans {
        for (n, (source, at)) in p.alerts.iter().enumerate() {
            let alert = json!({"alert_id": format!("{}-{n}", p.id), "incident_id": p.id, "detected_at": NOW + at,
                "source": source, "severity": SEVERITIES[p.severity]});
            alerts.push(record(p.id, alert));
        }
        let mut new = json!({"incident_id": p.id, "at": NOW + p.detected + 1000, "status": "new",
            "severity": SEVERITIES[p.severity], "detection": p.detection, "threat_intel": p.threat_intel});
        if let Some(root) = p.root_cause {
            new["root_cause"] = json!(root);
        }
        cases.push(record(p.id, new));
        if let Some((at, who, tier)) = p.ack {
            cases.push(record(p.id, json!({"incident_id": p.id, "at": NOW + at, "status": "acknowledged", "assignee": who, "tier": tier})));
        }
        if let Some(at) = p.resolved {
            let mut resolved = json!({"incident_id": p.id, "at": NOW + at, "status": "resolved"});
            if let Some(d) = p.disposition {
                resolved["disposition"] = json!(d);
            }
            if let Some(c) = p.cost {
                resolved["cost"] = json!(c);
            }
            cases.push(record(p.id, resolved));
        }
    }
    (alerts, cases)
}

fn inside(offset: i64, window: i64) -> bool {
    offset > -window && offset <= 0
}

fn ratio(pairs: impl Iterator<Item = bool>) -> Option<f64> {
    let (mut yes, mut all) = (0, 0);
    for p in pairs {
        all += 1;
        yes += u32::from(p);
    }
    (all > 0).then(|| f64::from(yes) / f64::from(all))
}

fn assert_near(metrics: &Metrics, name: &str, labels: &[(&str, &str)], expected: Option<f64>) {
    let got = metrics.get(name, labels);
    match (got, expected) {
        (Some(g), Some(e)) => assert!(
            (g - e).abs() < 1e-9 * e.abs().max(1.0),
            "{name} {labels:?}: {g} vs expected {e}"
        ),
        (None, None) => {}
        _ => panic!("{name} {labels:?}: got {got:?}, expected {expected:?}"),
    }
}

/// §2: a stage is breached if reached after detected + target, or not reached and now is past it.
fn sla(p: &Plan, stage: usize) -> (i64, bool) {
    let target = if stage == 0 {
        ACK_TARGET[p.severity]
    } else {
        RESOLVE_TARGET[p.severity]
    };
    let deadline = p.detected + target;
    let reached = if stage == 0 {
        p.ack.map(|a| a.0).or(p.resolved)
    } else {
        p.resolved
    };
    (deadline, reached.map_or(0 > deadline, |r| r > deadline))
}

#[test]
fn scorecard_kpis_over_all_four_topics_equal_an_independent_calculation() {
    let topics: Vec<String> = ["alerts", "cases", "inventory", "telemetry"]
        .iter()
        .map(|t| unique(t))
        .collect();
    for topic in &topics {
        block_on(create_topic(topic, 1, &[]));
    }
    let plans = plans();
    let (alerts, cases) = records(&plans);
    // Inventory: a1..a10; a9 retired; a10 removed by a tombstone. Telemetry: a1..a6 within the
    // last day, a7 silent for 30 h, a8 never seen; a heartbeat at NOW sets the event clock.
    let mut inventory: Vec<Record> = (1..=10)
        .map(|n| Record {
            key: Some(format!("a{n}").into_bytes()),
            payload: Some(
                json!({"asset_id": format!("a{n}"), "retired": n == 9})
                    .to_string()
                    .into_bytes(),
            ),
        })
        .collect();
    inventory.push(Record::tombstone("a10"));
    let mut telemetry: Vec<Record> = (1..=6)
        .map(|n| {
            Record::json(
                json!({"asset_id": format!("a{n}"), "source": "syslog", "at": NOW - n * HOUR}),
            )
        })
        .collect();
    telemetry.push(Record::json(
        json!({"asset_id": "a7", "at": NOW - 30 * HOUR}),
    ));
    telemetry.push(Record::json(json!({"asset_id": "a1", "at": NOW})));
    block_on(async {
        produce_keyed(&topics[0], &alerts).await;
        produce_keyed(&topics[1], &cases).await;
        produce_keyed(&topics[2], &inventory).await;
        produce_keyed(&topics[3], &telemetry).await;
    });
    let daemon = Daemon::start(&format!(
        "[kafka]\nbrokers = \"{}\"\ngroup_id = \"{}\"\n[topics]\nalerts = \"{}\"\ncases = \"{}\"\ninventory = \"{}\"\ntelemetry = \"{}\"\n[windows]\nkpis = [\"24h\", \"7d\", \"30d\"]\n[clock]\nmode = \"event\"\n",
        common::brokers(),
        unique("group"),
        topics[0],
        topics[1],
        topics[2],
        topics[3]
    ));
    let total = (alerts.len() + cases.len() + inventory.len() + telemetry.len()) as f64;
    daemon.scrape_until(Duration::from_secs(60), |m| {
        m.sum("soc_events_consumed_total") == total
    });
    std::thread::sleep(Duration::from_millis(1_200));
    let m = daemon.scrape();

    // Coverage: 8 assets count (a9 retired, a10 removed), 6 monitored.
    assert_eq!(m.get("soc_assets_monitored", &[]), Some(6.0));
    assert_eq!(m.get("soc_assets_unmonitored", &[]), Some(2.0));
    assert_eq!(m.get("soc_coverage_gap_ratio", &[]), Some(0.25));

    let mut scores: BTreeMap<String, f64> = BTreeMap::new();
    for (window, length) in WINDOWS.iter().chain(&[("30d", 30 * DAY)]) {
        let w = *window;
        let detected: Vec<&Plan> = plans
            .iter()
            .filter(|p| inside(p.detected, *length))
            .collect();
        let resolved: Vec<&Plan> = plans
            .iter()
            .filter(|p| p.resolved.is_some_and(|r| inside(r, *length)))
            .collect();
        let judged: Vec<&Plan> = resolved
            .iter()
            .copied()
            .filter(|p| p.disposition.is_some())
            .collect();
        let fp = |p: &&Plan| p.disposition == Some("false_positive");
        assert_near(
            &m,
            "soc_false_positive_ratio",
            &[("window", w), ("severity", "all")],
            ratio(judged.iter().map(fp)),
        );
        for (s, severity) in SEVERITIES.iter().enumerate() {
            let of: Vec<&Plan> = judged.iter().copied().filter(|p| p.severity == s).collect();
            assert_near(
                &m,
                "soc_false_positive_ratio",
                &[("window", w), ("severity", severity)],
                ratio(of.iter().map(fp)),
            );
            let cost: f64 = resolved
                .iter()
                .filter(|p| p.severity == s)
                .map(|p| {
                    p.cost.unwrap_or_else(|| {
                        let start = p.ack.map_or(p.detected, |a| a.0);
                        BASE_COST[s]
                            + HOURLY_RATE * (p.resolved.unwrap() - start) as f64 / HOUR as f64
                    })
                })
                .sum();
            assert_near(
                &m,
                "soc_incident_cost",
                &[("window", w), ("severity", severity)],
                Some(cost),
            );
        }
        for source in ["edr", "siem", "ndr"] {
            let alerts = judged.iter().flat_map(|p| {
                p.alerts
                    .iter()
                    .filter(move |(s, _)| *s == source)
                    .map(move |_| fp(p))
            });
            assert_near(
                &m,
                "soc_alert_false_positive_ratio",
                &[("window", w), ("source", source)],
                ratio(alerts),
            );
        }
        let true_positives = detected
            .iter()
            .filter(|p| p.disposition == Some("true_positive"));
        assert_near(
            &m,
            "soc_detection_ratio",
            &[("window", w)],
            ratio(true_positives.map(|p| matches!(p.detection, "alert" | "hunt"))),
        );
        assert_near(
            &m,
            "soc_escalation_ratio",
            &[("window", w), ("severity", "all")],
            ratio(detected.iter().map(|p| p.ack.is_some_and(|a| a.2 >= 2))),
        );
        assert_near(
            &m,
            "soc_threat_intel_ratio",
            &[("window", w)],
            ratio(detected.iter().map(|p| p.threat_intel)),
        );
        assert_eq!(
            m.get("soc_threat_intel_incidents", &[("window", w)]),
            Some(detected.iter().filter(|p| p.threat_intel).count() as f64)
        );
        let repeat = |p: &Plan| {
            plans.iter().any(|o| {
                o.root_cause == p.root_cause
                    && o.detected < p.detected
                    && o.detected >= p.detected - 30 * DAY
            })
        };
        let rooted: Vec<&Plan> = detected
            .iter()
            .copied()
            .filter(|p| p.root_cause.is_some())
            .collect();
        assert_near(
            &m,
            "soc_repeat_incident_ratio",
            &[("window", w)],
            ratio(rooted.iter().map(|p| repeat(p))),
        );
        assert_eq!(
            m.get("soc_repeat_incidents", &[("window", w)]),
            Some(rooted.iter().filter(|p| repeat(p)).count() as f64)
        );
        for analyst in ["ana", "bob", "carl"] {
            let theirs: Vec<&Plan> = plans
                .iter()
                .filter(|p| p.ack.is_some_and(|a| a.1 == analyst))
                .collect();
            let resolved_n = theirs
                .iter()
                .filter(|p| p.resolved.is_some_and(|r| inside(r, *length)))
                .count();
            let labels = [("window", w), ("analyst", analyst)];
            assert_eq!(
                m.get("soc_analyst_resolved_incidents", &labels)
                    .unwrap_or(0.0),
                resolved_n as f64,
                "resolved {labels:?}"
            );
            let alerts_n = theirs
                .iter()
                .flat_map(|p| &p.alerts)
                .filter(|(_, at)| inside(*at, *length))
                .count();
            assert_eq!(
                m.get("soc_analyst_alerts", &labels).unwrap_or(0.0),
                alerts_n as f64,
                "alerts {labels:?}"
            );
            // Busy: union of [ack, resolved or now) clipped to the window.
            let mut spans: Vec<(i64, i64)> = theirs
                .iter()
                .map(|p| {
                    (
                        p.ack.unwrap().0.max(-length),
                        p.resolved.unwrap_or(0).max(-length),
                    )
                })
                .collect();
            spans.sort();
            let (mut busy, mut reach) = (0, -length);
            for (from, to) in spans {
                let from = from.max(reach);
                if to > from {
                    busy += to - from;
                    reach = to;
                }
            }
            assert_near(
                &m,
                "soc_analyst_busy_ratio",
                &labels,
                Some(busy as f64 / *length as f64),
            );
        }
        // Posture: equal weights over the parts that exist.
        let due = |stage: usize| {
            ratio(
                plans
                    .iter()
                    .filter(|p| inside(sla(p, stage).0, *length))
                    .map(|p| !sla(p, stage).1),
            )
        };
        let parts = [
            ratio(
                detected
                    .iter()
                    .filter(|p| p.disposition == Some("true_positive"))
                    .map(|p| matches!(p.detection, "alert" | "hunt")),
            ),
            due(0),
            due(1),
            Some(0.75),
            ratio(judged.iter().map(fp)).map(|r| 1.0 - r),
        ];
        let known: Vec<f64> = parts.iter().flatten().copied().collect();
        let posture = 100.0 * known.iter().sum::<f64>() / known.len() as f64;
        assert_near(&m, "soc_posture_score", &[("window", w)], Some(posture));
        scores.insert(w.to_owned(), posture);
    }
    for analyst in ["ana", "bob", "carl"] {
        let open = plans
            .iter()
            .filter(|p| p.resolved.is_none() && p.ack.is_some_and(|a| a.1 == analyst))
            .count();
        assert_eq!(
            m.get("soc_analyst_open_incidents", &[("analyst", analyst)])
                .unwrap_or(0.0),
            open as f64
        );
    }
    // Compliance: the coverage objectives fail (gap 0.25 > 0.05); 30d SLA compliance decides
    // the RS.MA-02 / A.5.25 ones.
    assert_eq!(
        m.get(
            "soc_compliance_objective_met",
            &[("framework", "nist_csf_2.0"), ("control", "DE.CM-01")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get(
            "soc_compliance_objective_met",
            &[("framework", "iso_27001_2022"), ("control", "A.8.16")]
        ),
        Some(0.0)
    );
    let ack_30d = ratio(
        plans
            .iter()
            .filter(|p| inside(sla(p, 0).0, 30 * DAY))
            .map(|p| !sla(p, 0).1),
    )
    .unwrap();
    let met = if ack_30d >= 0.9 { 1.0 } else { 0.0 };
    assert_eq!(
        m.get(
            "soc_compliance_objective_met",
            &[("framework", "iso_27001_2022"), ("control", "A.5.25")]
        ),
        Some(met)
    );
    // No incident gives occurred_at: the time-to-detect objective has no series and is left out.
    assert_eq!(
        m.get(
            "soc_compliance_objective_met",
            &[("framework", "nist_csf_2.0"), ("control", "DE.AE-02")]
        ),
        None
    );
    let iso: Vec<f64> = m
        .series("soc_compliance_objective_met")
        .into_iter()
        .filter(|(l, _)| l["framework"] == "iso_27001_2022")
        .map(|(_, v)| v)
        .collect();
    assert_near(
        &m,
        "soc_compliance_score",
        &[("framework", "iso_27001_2022")],
        Some(100.0 * iso.iter().sum::<f64>() / iso.len() as f64),
    );
    assert!(!scores.is_empty());
}
