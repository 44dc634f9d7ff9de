//! Vendor records on topics keyed by anything give the KPIs of the same events produced as
//! native records keyed by incident (PRODUCT.md §1): the repartition topic brings every
//! incident's alerts and case events together. One scenario — Sentinel incident snapshots and
//! Elastic alerts, plus native alerts on an `[[inputs]]` topic — is produced once as vendor
//! records with null or random keys over three topics, and once as the native events
//! `convert` makes of them, keyed by incident on `topics.alerts` / `topics.cases`. Every KPI
//! series must be equal; and again with a kill -9 during repartitioned consumption and with
//! two instances sharing the work.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Daemon, Lcg, Metrics, Record, block_on, create_topic, produce_to, unique};
use serde_json::{Value, json};
use socmetrics::formats::{Format, convert::convert, guard::Limits};

const MINUTE: i64 = 60_000;
const NOW: i64 = 1_782_864_000_000; // 2026-07-01T00:00:00Z
/// The clock marks' time: after every event of the scenario (a close comes at most 6 h after
/// NOW). In event-clock mode an instance's now is the latest event time it has seen, so two
/// instances agree on now, and their windowed gauges add up, only if the latest event of the
/// whole scenario is on every state partition: the marks put it there.
const END: i64 = NOW + 8 * 60 * MINUTE;
const PARTITIONS: i32 = 3;
const RULES: [&str; 3] = ["Brute force", "Malware", "Exfiltration"];
const IDS: [&str; 2] = ["suricata", "zeek"];

fn at(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The vendor scenario: (format, record) in production order.
fn scenario(seed: u64, incidents: usize) -> Vec<(Format, Value)> {
    let mut random = Lcg(seed);
    let mut out = Vec::new();
    let severities = ["Informational", "Low", "Medium", "High"];
    let elastic = ["low", "medium", "high", "critical"];
    for n in 0..incidents {
        let id = format!("{seed:04x}{n:04x}-4c3f-4273-a730-a37f75622350");
        let detected = NOW - 36 * 60 * MINUTE + random.below(30 * 60) as i64 * MINUTE;
        for a in 0..=random.below(3) {
            out.push((
                Format::Ecs,
                json!({
                    "@timestamp": at(detected - a as i64 * MINUTE),
                    "kibana.alert.uuid": format!("ecs-{seed}-{n}-{a}"),
                    "kibana.alert.original_time": at(detected - (10 + a as i64) * MINUTE),
                    "kibana.alert.rule.name": RULES[random.below(3) as usize],
                    "kibana.alert.rule.uuid": "031d5c00-a72f-11ec-a8a3-7b1c8077fc3e",
                    "kibana.alert.severity": elastic[random.below(4) as usize],
                    "kibana.alert.case_ids": [id.clone()],
                    "host": {"name": format!("host-{}", random.below(20))},
                }),
            ));
        }
        let severity = severities[random.below(4) as usize];
        let row =
            |status: &str, modified: i64, closed: Option<i64>, owner: Option<&str>, class: &str| {
                json!({
                    "Type": "SecurityIncident",
                    "TimeGenerated": at(modified),
                    "IncidentName": id,
                    "IncidentNumber": n,
                    "Severity": severity,
                    "Status": status,
                    "Classification": class,
                    "Owner": json!({"assignedTo": owner, "email": null}).to_string(),
                    "ProviderName": "Azure Sentinel",
                    "FirstActivityTime": at(detected - 30 * MINUTE),
                    "CreatedTime": at(detected + MINUTE),
                    "LastModifiedTime": at(modified),
                    "ClosedTime": closed.map_or("None".to_owned(), at),
                })
            };
        let acknowledged = detected + (1 + random.below(120) as i64) * MINUTE;
        let closed = acknowledged + (1 + random.below(600) as i64) * MINUTE;
        assert!(closed < END, "the clock marks must come after every event");
        let analyst = ["ana", "bo", "cy"][random.below(3) as usize];
        out.push((
            Format::Sentinel,
            row("New", detected + MINUTE, None, None, ""),
        ));
        match random.below(10) {
            0..=1 => {}
            2..=4 => out.push((
                Format::Sentinel,
                row("Active", acknowledged, None, Some(analyst), ""),
            )),
            _ => {
                out.push((
                    Format::Sentinel,
                    row("Active", acknowledged, None, Some(analyst), ""),
                ));
                let class =
                    ["TruePositive", "FalsePositive", "BenignPositive"][random.below(3) as usize];
                let last = row("Closed", closed, Some(closed), Some(analyst), class);
                // Snapshots come again: the same row twice changes nothing.
                if random.chance(20) {
                    out.push((Format::Sentinel, last.clone()));
                }
                out.push((Format::Sentinel, last));
            }
        }
    }
    // Native alerts naming no incident, on an [[inputs]] topic of format native.
    for n in 0..incidents / 2 {
        out.push((
            Format::Native,
            json!({
                "alert_id": format!("ids-{seed}-{n}"),
                "detected_at": NOW - random.below(24 * 60) as i64 * MINUTE,
                "source": IDS[random.below(2) as usize],
                "severity": elastic[random.below(3) as usize],
            }),
        ));
    }
    // Shuffled: arrival order is not event order.
    for i in (1..out.len()).rev() {
        out.swap(i, random.below(i as u64 + 1) as usize);
    }
    out
}

/// The native events of the scenario, as `convert` makes them: (is_alert, key, text).
fn native_events(scenario: &[(Format, Value)]) -> Vec<(bool, String, String)> {
    let limits = Limits {
        max_record_bytes: 1 << 20,
        max_depth: 64,
    };
    scenario
        .iter()
        .flat_map(|(format, record)| convert(*format, &record.to_string(), limits))
        .map(|event| {
            assert!(
                event.get("rejected").is_none() && event.get("skipped").is_none(),
                "{event}"
            );
            let alert = event.get("alert_id").is_some();
            let key = event
                .get("incident_id")
                .or_else(|| event.get("alert_id"))
                .and_then(Value::as_str)
                .unwrap()
                .to_owned();
            (alert, key, event.to_string())
        })
        .collect()
}

struct Setup {
    alerts: String,
    cases: String,
    sentinel: String,
    elastic: String,
    ids: String,
}

impl Setup {
    fn new() -> Self {
        let setup = Self {
            alerts: unique("alerts"),
            cases: unique("cases"),
            sentinel: unique("sentinel.incidents"),
            elastic: unique("elastic.alerts"),
            ids: unique("ids.alerts"),
        };
        block_on(async {
            create_topic(&setup.alerts, PARTITIONS, &[]).await;
            create_topic(&setup.cases, PARTITIONS, &[]).await;
            // Partitioned unlike the state, as a SIEM export is.
            create_topic(&setup.sentinel, 2, &[]).await;
            create_topic(&setup.elastic, 5, &[]).await;
            create_topic(&setup.ids, 1, &[]).await;
        });
        setup
    }

    fn config(&self, group: &str) -> String {
        format!(
            "[kafka]\nbrokers = \"{}\"\ngroup_id = \"{group}\"\n[topics]\nalerts = \"{}\"\ncases = \"{}\"\n[clock]\nmode = \"event\"\n\
             [[inputs]]\ntopic = \"{}\"\nformat = \"sentinel\"\n\
             [[inputs]]\ntopic = \"{}\"\nformat = \"ecs\"\n\
             [[inputs]]\ntopic = \"{}\"\nformat = \"native\"\n",
            common::brokers(),
            self.alerts,
            self.cases,
            self.sentinel,
            self.elastic,
            self.ids
        )
    }

    /// The vendor records, with null keys (Sentinel) or random ones (the others).
    fn produce_vendor(&self, records: &[(Format, Value)], random: &mut Lcg) {
        let mut by_topic: BTreeMap<&str, Vec<Record>> = BTreeMap::new();
        for (format, value) in records {
            let (topic, key) = match format {
                Format::Sentinel => (&self.sentinel, None),
                Format::Ecs => (&self.elastic, Some(format!("k{}", random.below(1000)))),
                _ => (&self.ids, Some(format!("k{}", random.below(1000)))),
            };
            by_topic.entry(topic).or_default().push(Record {
                key: key.map(String::into_bytes),
                payload: Some(value.to_string().into_bytes()),
            });
        }
        block_on(async {
            for (topic, records) in by_topic {
                produce_to(common::brokers(), topic, &records, None).await;
            }
        });
    }

    /// The same events as native records keyed by incident id.
    fn produce_native(&self, events: &[(bool, String, String)]) {
        let (mut alerts, mut cases) = (Vec::new(), Vec::new());
        for (alert, key, text) in events {
            let record = Record {
                key: Some(key.clone().into_bytes()),
                payload: Some(text.clone().into_bytes()),
            };
            if *alert {
                alerts.push(record)
            } else {
                cases.push(record)
            }
        }
        block_on(async {
            produce_to(common::brokers(), &self.alerts, &alerts, None).await;
            produce_to(common::brokers(), &self.cases, &cases, None).await;
        });
    }

    /// An alert at END in each state partition, so that every instance's event clock ends at
    /// END whatever partitions it holds.
    fn produce_clock_marks(&self) {
        for partition in 0..PARTITIONS {
            let mark = json!({"alert_id": format!("now-{partition}"), "detected_at": END, "source": "clock", "severity": "low"});
            block_on(produce_to(
                common::brokers(),
                &self.alerts,
                &[Record::json(mark)],
                Some(partition),
            ));
        }
    }
}

/// Every KPI series that does not depend on arrival order: the gauges (windowed and current)
/// and the distinct-alert counter. The pipeline's own health is per topic, and the other
/// counters and the histograms observe each value once, when it first becomes known: with the
/// events in another order, at another moment (docs/kpis.md).
fn kpis(metrics: &Metrics) -> BTreeMap<String, f64> {
    let mut names: Vec<String> = vec!["soc_alerts_total".to_owned()];
    for line in metrics.text.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|l| l.strip_suffix(" gauge"))
            .filter(|n| {
                !n.starts_with("soc_events_")
                    && !n.starts_with("soc_kafka_")
                    && !n.starts_with("soc_last_event_")
            })
        {
            names.push(name.to_owned());
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    metrics.families(&names)
}

/// Scrapes until `got(daemon)` equals `expected`, or fails naming the differences.
fn until_equal(
    what: &str,
    expected: &BTreeMap<String, f64>,
    got: impl Fn() -> BTreeMap<String, f64>,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = got();
        if &now == expected {
            return;
        }
        if Instant::now() > deadline {
            let differing: Vec<_> = expected
                .iter()
                .filter(|(k, v)| now.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k}: expected {v}, got {:?}", now.get(k)))
                .chain(
                    now.keys()
                        .filter(|k| !expected.contains_key(*k))
                        .map(|k| format!("{k}: unexpected")),
                )
                .take(20)
                .collect();
            panic!("{what}: series differ:\n{}", differing.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The reference: the native events keyed by incident, one instance, all consumed.
fn reference(events: &[(bool, String, String)]) -> BTreeMap<String, f64> {
    let setup = Setup::new();
    setup.produce_native(events);
    setup.produce_clock_marks();
    let daemon = Daemon::start(
        setup
            .config(&unique("native"))
            .split("[[inputs]]")
            .next()
            .unwrap(),
    );
    let total = (events.len() + PARTITIONS as usize) as f64;
    daemon.scrape_until(Duration::from_secs(90), |m| {
        m.sum("soc_events_consumed_total") == total
    });
    // One tick later the incident KPIs are recomputed from everything consumed.
    std::thread::sleep(Duration::from_millis(1_200));
    let kpis = kpis(&daemon.scrape());
    assert!(
        kpis.keys()
            .any(|k| k.starts_with("soc_mean_time_to_resolve_seconds")),
        "the scenario resolves incidents"
    );
    assert!(
        kpis.keys()
            .any(|k| k.starts_with("soc_alert_volume") && k.contains("elastic")),
        "{kpis:?}"
    );
    kpis
}

#[test]
fn vendor_records_keyed_by_anything_give_the_kpis_of_native_records_keyed_by_incident() {
    let records = scenario(1, 150);
    let events = native_events(&records);
    let expected = reference(&events);

    let setup = Setup::new();
    setup.produce_vendor(&records, &mut Lcg(7));
    setup.produce_clock_marks();
    let daemon = Daemon::start(&setup.config(&unique("vendor")));
    // Each forwarded event is read back once from the repartition topic.
    let total = (records.len() + events.len() + PARTITIONS as usize) as f64;
    daemon.scrape_until(Duration::from_secs(90), |m| {
        m.sum("soc_events_consumed_total") == total
    });
    until_equal("vendor run", &expected, || kpis(&daemon.scrape()));
}

#[test]
fn a_kill_during_repartitioned_consumption_ends_equal() {
    let records = scenario(2, 200);
    let events = native_events(&records);
    let gauges = |all: BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        // Counters and histograms restart with a process; windowed and current gauges do not.
        all.into_iter()
            .filter(|(k, _)| {
                !k.contains("_total")
                    && !k.contains("_bucket")
                    && !k.contains("_sum{")
                    && !k.contains("_count{")
            })
            .collect()
    };
    let expected = gauges(reference(&events));

    let setup = Setup::new();
    let group = unique("pair");
    let a = Daemon::start(&setup.config(&group));
    let b = Daemon::start(&setup.config(&group));
    let mut random = Lcg(11);
    let half = records.len() / 2;
    setup.produce_vendor(&records[..half], &mut random);
    std::thread::sleep(Duration::from_millis(300));
    // kill -9 in the middle of consumption: forwards sent, offsets maybe not stored.
    a.kill();
    setup.produce_vendor(&records[half..], &mut random);
    setup.produce_clock_marks();
    until_equal("survivor", &expected, || gauges(kpis(&b.scrape())));
}

#[test]
fn two_instances_sharing_repartitioned_work_add_up() {
    let records = scenario(2, 200);
    let events = native_events(&records);
    let expected = reference(&events);
    let setup = Setup::new();
    let group = unique("pair");
    let b = Daemon::start(&setup.config(&group));
    setup.produce_vendor(&records, &mut Lcg(11));
    setup.produce_clock_marks();
    // A second instance joins: the work is shared, and the count gauges add up.
    let c = Daemon::start(&setup.config(&group));
    let counts = |m: &BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        m.iter()
            .filter(|(k, _)| k.starts_with("soc_incidents_open") || k.starts_with("soc_incidents{"))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let show = |d: &Daemon| {
        let m = d.scrape();
        format!(
            "incidents24h={:?} open={:?} in_memory={:?} last_event={:?}",
            m.series("soc_incidents")
                .into_iter()
                .filter(|(l, _)| l.get("window").map(String::as_str) == Some("24h"))
                .collect::<Vec<_>>(),
            m.sum("soc_incidents_open"),
            m.get("soc_incidents_in_memory", &[]),
            m.series("soc_last_event_timestamp_seconds")
        )
    };
    eprintln!("before c: b {}", show(&b));
    std::thread::sleep(Duration::from_secs(5));
    eprintln!("b: {}\nc: {}", show(&b), show(&c));
    until_equal("two instances", &counts(&expected), || {
        let (mb, mc) = (kpis(&b.scrape()), kpis(&c.scrape()));
        let mut summed = counts(&mb);
        for (key, value) in counts(&mc) {
            *summed.entry(key).or_default() += value;
        }
        summed
    });
}
