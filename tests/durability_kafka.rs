//! State survives what production throws at it (PRODUCT.md §5): SIGKILL at random points and
//! restarts, an instance of two dying mid-stream, the broker away for 30 s. Each scenario ends
//! compared with an uninterrupted run over the same records: every windowed and current gauge
//! must be equal.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Daemon, Metrics, Record, block_on, produce_to, unique};
use serde_json::json;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-07-01T00:00:00Z: the latest event of every scenario.
const NOW: i64 = 1_782_864_000_000;
const STATUSES: [&str; 6] = [
    "acknowledged",
    "in_progress",
    "escalated",
    "contained",
    "resolved",
    "closed",
];
const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// Every gauge family that is windowed or current (counters restart with a process).
const GAUGES: [&str; 17] = [
    "soc_alert_volume",
    "soc_incidents",
    "soc_incidents_open",
    "soc_incidents_in_memory",
    "soc_sla_breached_open_incidents",
    "soc_sla_compliance_ratio",
    "soc_mean_time_to_detect_seconds",
    "soc_mean_time_to_acknowledge_seconds",
    "soc_mean_time_to_contain_seconds",
    "soc_mean_time_to_resolve_seconds",
    "soc_mean_dwell_time_seconds",
    "soc_time_to_detect_quantile_seconds",
    "soc_time_to_acknowledge_quantile_seconds",
    "soc_time_to_contain_quantile_seconds",
    "soc_time_to_resolve_quantile_seconds",
    "soc_dwell_time_quantile_seconds",
    "soc_kafka_up",
];
/// Gauges that add up across instances sharing the partitions.
const COUNTS: [&str; 4] = [
    "soc_incidents",
    "soc_incidents_open",
    "soc_incidents_in_memory",
    "soc_sla_breached_open_incidents",
];

/// Alerts and case events of `incidents` incidents keyed by incident id, plus `noise` alerts
/// without one; every event before NOW.
fn scenario(seed: u64, incidents: usize, noise: usize) -> (Vec<Record>, Vec<Record>) {
    let mut random = common::Lcg(seed);
    let (mut alerts, mut cases) = (Vec::new(), Vec::new());
    for n in 0..incidents {
        let id = format!("INC-{seed}-{n}");
        let detected = NOW - HOUR - random.below(40 * DAY as u64) as i64;
        let key = Some(id.clone().into_bytes());
        for a in 0..1 + random.below(3) {
            let source = ["splunk", "sentinel", "defender"][random.below(3) as usize];
            let alert = json!({
                "alert_id": format!("{id}-a{a}"), "incident_id": id,
                "detected_at": detected + a as i64 * MINUTE, "occurred_at": detected - random.below(DAY as u64) as i64,
                "source": source,
                "severity": SEVERITIES[random.below(5) as usize],
            });
            alerts.push(Record {
                key: key.clone(),
                payload: Some(alert.to_string().into_bytes()),
            });
        }
        let mut at = detected;
        for step in 0..random.below(5) {
            at = (at + random.below(12 * HOUR as u64) as i64 + 1).min(NOW - 1);
            let mut case = json!({"incident_id": id, "at": at, "status": STATUSES[(step + random.below(2)) as usize]});
            if step == 0 {
                case["severity"] = json!(SEVERITIES[random.below(5) as usize]);
                case["assignee"] = json!(format!("analyst-{}", random.below(4)));
            }
            if random.below(3) == 0 {
                let disposition = ["true_positive", "false_positive"][random.below(2) as usize];
                case["disposition"] = json!(disposition);
            }
            cases.push(Record {
                key: key.clone(),
                payload: Some(case.to_string().into_bytes()),
            });
        }
    }
    for n in 0..noise {
        let source = ["suricata", "zeek"][random.below(2) as usize];
        let alert = json!({
            "alert_id": format!("noise-{seed}-{n}"),
            "detected_at": NOW - random.below(2 * DAY as u64) as i64 - 1,
            "source": source,
            "severity": SEVERITIES[random.below(5) as usize],
        });
        alerts.push(Record {
            key: None,
            payload: Some(alert.to_string().into_bytes()),
        });
    }
    (alerts, cases)
}

/// An alert at NOW in every partition, so every instance's event clock ends at NOW.
fn sentinels(partitions: i32) -> Vec<(i32, Record)> {
    (0..partitions)
        .map(|p| {
            let alert = json!({"alert_id": format!("sentinel-{p}"), "detected_at": NOW, "source": "sentinel", "severity": "low"});
            (p, Record { key: None, payload: Some(alert.to_string().into_bytes()) })
        })
        .collect()
}

struct Topics {
    brokers: String,
    alerts: String,
    cases: String,
}

impl Topics {
    fn new(brokers: &str, partitions: i32) -> Self {
        let topics = Self {
            brokers: brokers.to_owned(),
            alerts: unique("alerts"),
            cases: unique("cases"),
        };
        block_on(create_topics(
            brokers,
            &[&topics.alerts, &topics.cases],
            partitions,
        ));
        topics
    }

    fn produce(&self, alerts: &[Record], cases: &[Record]) {
        block_on(async {
            produce_to(&self.brokers, &self.alerts, alerts, None).await;
            produce_to(&self.brokers, &self.cases, cases, None).await;
        });
    }

    fn produce_sentinels(&self, partitions: i32) {
        for (partition, record) in sentinels(partitions) {
            block_on(produce_to(
                &self.brokers,
                &self.alerts,
                &[record],
                Some(partition),
            ));
        }
    }

    fn config(&self, group: &str) -> String {
        format!(
            "[kafka]\nbrokers = \"{}\"\ngroup_id = \"{group}\"\n[topics]\nalerts = \"{}\"\ncases = \"{}\"\n[clock]\nmode = \"event\"\n",
            self.brokers, self.alerts, self.cases
        )
    }
}

async fn create_topics(brokers: &str, topics: &[&str], partitions: i32) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let new: Vec<_> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    for result in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .unwrap()
    {
        result.unwrap();
    }
}

/// Scrapes `daemon` until its gauges equal `expected` (or fails with the difference).
fn until_equal(daemon: &Daemon, expected: &BTreeMap<String, f64>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = daemon.scrape().families(&GAUGES);
        if &got == expected {
            return;
        }
        if Instant::now() > deadline {
            let differing: Vec<_> = expected
                .iter()
                .filter(|(k, v)| got.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k}: expected {v}, got {:?}", got.get(k)))
                .chain(
                    got.keys()
                        .filter(|k| !expected.contains_key(*k))
                        .map(|k| format!("{k}: unexpected")),
                )
                .take(20)
                .collect();
            panic!(
                "gauges differ from the uninterrupted run:\n{}",
                differing.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The gauges of an uninterrupted run over everything in `topics`, once it consumed `records`.
fn uninterrupted(topics: &Topics, records: usize) -> BTreeMap<String, f64> {
    let daemon = Daemon::start(&topics.config(&unique("reference")));
    let consumed = |m: &Metrics| m.sum("soc_events_consumed_total") == records as f64;
    daemon.scrape_until(Duration::from_secs(90), consumed);
    std::thread::sleep(Duration::from_millis(1_200));
    let gauges = daemon.scrape().families(&GAUGES);
    assert!(
        gauges
            .keys()
            .any(|k| k.starts_with("soc_mean_time_to_resolve_seconds")),
        "the scenario resolves incidents"
    );
    gauges
}

#[test]
fn sigkill_at_random_points_and_restarts_end_equal_to_an_uninterrupted_run() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill points seed: {seed}");
    let mut random = common::Lcg(seed);
    let topics = Topics::new(common::brokers(), 3);
    let group = unique("killed");
    let (alerts, cases) = scenario(1, 400, 12_000);
    let chunks = 4;
    let (alert_chunk, case_chunk) = (alerts.len().div_ceil(chunks), cases.len().div_ceil(chunks));
    for run in 0..chunks {
        let daemon = Daemon::start(&topics.config(&group));
        topics.produce(
            &alerts[(run * alert_chunk).min(alerts.len())
                ..((run + 1) * alert_chunk).min(alerts.len())],
            &cases[(run * case_chunk).min(cases.len())..((run + 1) * case_chunk).min(cases.len())],
        );
        if run + 1 < chunks {
            std::thread::sleep(Duration::from_millis(100 + random.below(900)));
            daemon.kill();
        } else {
            topics.produce_sentinels(3);
            let expected = uninterrupted(&topics, alerts.len() + cases.len() + 3);
            until_equal(&daemon, &expected, Duration::from_secs(90));
        }
    }
}

#[test]
fn the_survivor_of_two_instances_takes_over_and_ends_equal() {
    let topics = Topics::new(common::brokers(), 6);
    let group = unique("pair");
    let (alerts, cases) = scenario(2, 300, 6_000);
    let (first_alerts, first_cases) = (alerts.len() / 2, cases.len() / 2);
    topics.produce(&alerts[..first_alerts], &cases[..first_cases]);
    topics.produce_sentinels(6);
    let first = first_alerts + first_cases + 6;

    let a = Daemon::start(&topics.config(&group));
    let b = Daemon::start(&topics.config(&group));
    let single = Daemon::start(&topics.config(&unique("single")));
    single.scrape_until(Duration::from_secs(90), |m| {
        m.sum("soc_events_consumed_total") == first as f64
    });
    // Both live: each holds some partitions, and the count gauges add up to the single
    // instance's.
    // One tick later the incident KPIs are recomputed from everything consumed.
    std::thread::sleep(Duration::from_millis(1_200));
    let expected = single.scrape().families(&COUNTS);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (ma, mb) = (a.scrape(), b.scrape());
        let mut summed = ma.families(&COUNTS);
        for (key, value) in mb.families(&COUNTS) {
            *summed.entry(key).or_default() += value;
        }
        let both_hold_some = ma.get("soc_incidents_in_memory", &[]) > Some(0.0)
            && mb.get("soc_incidents_in_memory", &[]) > Some(0.0);
        if summed == expected && both_hold_some {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "summed count gauges never matched the single instance's: in memory {:?} + {:?}; differing: {:?}",
            ma.get("soc_incidents_in_memory", &[]),
            mb.get("soc_incidents_in_memory", &[]),
            expected
                .iter()
                .filter(|(k, v)| summed.get(*k) != Some(*v))
                .map(|(k, v)| (k, v, summed.get(k)))
                .take(8)
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(single);

    // The rest arrives; one instance dies in the middle of it.
    topics.produce(&alerts[first_alerts..], &cases[first_cases..]);
    std::thread::sleep(Duration::from_millis(200));
    a.kill();
    let expected = uninterrupted(&topics, alerts.len() + cases.len() + 6);
    until_equal(&b, &expected, Duration::from_secs(90));
}

/// A broker of this test's own, so stopping it troubles no other test.
struct OwnBroker {
    port: u16,
}

impl OwnBroker {
    fn script(&self, action: &str) {
        let status = Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/local/kafka.sh"
        ))
        .arg(action)
        .env("KAFKA_PORT", self.port.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
        assert!(status.success(), "kafka.sh {action} on port {}", self.port);
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/local/kafka.sh"
        ))
        .arg("stop")
        .env("KAFKA_PORT", self.port.to_string())
        .status();
    }
}

#[test]
fn a_broker_outage_of_30_seconds_changes_nothing() {
    // Its own broker, started and stopped through deploy/local/kafka.sh on a port of its own,
    // whatever SOCMETRICS_TEST_BROKERS points the other tests at.
    let broker = OwnBroker { port: 19_392 };
    broker.script("start");
    let brokers = format!("127.0.0.1:{}", broker.port);
    let topics = Topics::new(&brokers, 2);
    let (alerts, cases) = scenario(3, 200, 4_000);
    let half = (alerts.len() / 2, cases.len() / 2);
    topics.produce(&alerts[..half.0], &cases[..half.1]);
    let daemon = Daemon::start(&topics.config(&unique("outage")));
    daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_kafka_up", &[]) == Some(1.0)
    });

    // The rest is in the topic and being consumed when the broker goes away.
    topics.produce(&alerts[half.0..], &cases[half.1..]);
    std::thread::sleep(Duration::from_millis(200));
    broker.script("stop");
    let down = daemon.scrape_until(Duration::from_secs(30), |m| {
        m.get("soc_kafka_up", &[]) == Some(0.0)
    });
    assert!(
        down.get("soc_incidents_in_memory", &[]).is_some(),
        "last values still served"
    );
    std::thread::sleep(Duration::from_secs(30));
    assert_eq!(daemon.healthz(), Some(200), "alive through the outage");
    broker.script("start");
    daemon.scrape_until(Duration::from_secs(90), |m| {
        m.get("soc_kafka_up", &[]) == Some(1.0)
    });

    topics.produce_sentinels(2);
    let expected = uninterrupted(&topics, alerts.len() + cases.len() + 2);
    until_equal(&daemon, &expected, Duration::from_secs(90));
}
