//! The alert path end to end through a real broker: records with a known mix of sources,
//! severities and timestamps (and every kind of malformed record) are produced, the daemon
//! consumes them in event-clock mode, and `/metrics` must show exactly what an independent
//! count of the scenario gives.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Daemon, Record, block_on, create_topic, header, produce, read_topic, unique};
use serde_json::json;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The latest detection of the scenario: "now" in event-clock mode. 2026-03-01T12:00:00Z.
const NOW: i64 = 1_772_366_400_000;
/// Default windows and retention (longest KPI window 90d + repeat lookback 30d).
const WINDOWS: [(&str, i64); 3] = [("5m", 5 * MINUTE), ("1h", HOUR), ("24h", DAY)];
const RETENTION: i64 = 120 * DAY;

/// One valid alert of the scenario.
struct Alert {
    id: &'static str,
    source: &'static str,
    /// As written on the wire (mixed case).
    severity: &'static str,
    /// detected_at − NOW.
    offset: i64,
    /// How detected_at is written: epoch millis, UTC, or with an offset.
    form: TimeForm,
}

#[derive(Clone, Copy)]
enum TimeForm {
    Millis,
    Utc,
    PlusTwo,
}

impl Alert {
    fn detected_at(&self) -> serde_json::Value {
        let at = NOW + self.offset;
        let utc = chrono::DateTime::from_timestamp_millis(at).unwrap();
        match self.form {
            TimeForm::Millis => json!(at),
            TimeForm::Utc => json!(utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            TimeForm::PlusTwo => {
                let plus_two = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
                json!(utc.with_timezone(&plus_two).to_rfc3339())
            }
        }
    }

    fn record(&self) -> Record {
        Record::json(json!({
            "alert_id": self.id,
            "detected_at": self.detected_at(),
            "source": self.source,
            "severity": self.severity,
            "rule": "r1",
            "incident_id": format!("INC-{}", self.id),
            "unknown_field": {"ignored": [1, 2, 3]},
        }))
    }
}

fn scenario() -> Vec<Alert> {
    use TimeForm::*;
    let alert = |id, source, severity, offset, form| Alert {
        id,
        source,
        severity,
        offset,
        form,
    };
    vec![
        // The latest first, so "now" is NOW before anything older arrives.
        alert("a00", "splunk", "high", 0, Millis),
        alert("a01", "splunk", "HIGH", -10 * SECOND, Utc),
        alert("a02", "splunk", "Critical", -(5 * MINUTE) + 1, PlusTwo),
        alert("a03", "splunk", "critical", -5 * MINUTE, Millis), // on the 5m edge: out
        alert("a04", "sentinel", "low", -30 * MINUTE, Utc),
        alert("a05", "sentinel", "low", -59 * MINUTE, PlusTwo),
        alert("a06", "sentinel", "LOW", -61 * MINUTE, Millis),
        alert("a07", "crowdstrike", "medium", -3 * HOUR, Utc),
        alert("a08", "crowdstrike", "medium", -(DAY - MINUTE), Millis),
        alert("a09", "crowdstrike", "medium", -DAY, Utc), // on the 24h edge: out
        alert("a10", "crowdstrike", "informational", -2 * DAY, PlusTwo),
        alert("a11", "splunk", "high", -100 * DAY, Millis), // total only
        alert("a12", "splunk", "high", -121 * DAY, Millis), // older than retention: late
        alert("a13", "guardduty", "Informational", -2 * MINUTE, Utc),
        alert("a14", "sentinel", "critical", -45 * MINUTE, PlusTwo),
    ]
}

/// Malformed records and the reason each must be rejected with.
fn malformed() -> Vec<(Record, &'static str)> {
    let mut too_large =
        br#"{"alert_id":"big","detected_at":0,"source":"x","severity":"low","pad":""#.to_vec();
    too_large.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    too_large.extend(br#""}"#);
    let deep = format!(
        r#"{{"alert_id":"deep","detected_at":0,"source":"x","severity":"low","x":{}{}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    vec![
        (Record::bytes("not json at all"), "invalid_json"),
        (Record::bytes("[1,2,3]"), "invalid_json"),
        (Record::tombstone("INC-gone"), "invalid_json"),
        (Record::bytes(r#"{"alert_id":"trunc","detected_at":"#), "invalid_json"),
        (Record::json(json!({"detected_at": NOW, "source": "splunk", "severity": "low"})), "missing_field"),
        (Record::json(json!({"alert_id": "m2", "source": "splunk", "severity": "low"})), "missing_field"),
        (Record::json(json!({"alert_id": "m3", "detected_at": NOW, "source": "splunk", "severity": "urgent"})), "bad_value"),
        (Record::json(json!({"alert_id": "m4", "detected_at": "yesterday", "source": "splunk", "severity": "low"})), "bad_value"),
        (Record::bytes(b"{\"alert_id\":\"\xff\xfe\",\"detected_at\":0,\"source\":\"x\",\"severity\":\"low\"}".to_vec()), "invalid_utf8"),
        (Record::bytes(deep), "too_deep"),
        (Record::bytes(too_large), "too_large"),
    ]
}

/// Per (source, severity): the total and the volume per window of [`WINDOWS`].
type Expected = BTreeMap<(String, String), (u64, [u64; 3])>;

/// The independent count of (source, severity as written, detected_at) triples at `now`:
/// per series the total and the volume per window, and how many are late.
fn count(alerts: impl IntoIterator<Item = (String, String, i64)>, now: i64) -> (Expected, u64) {
    let mut series = Expected::new();
    let mut late = 0;
    for (source, severity, at) in alerts {
        if at < now - RETENTION {
            late += 1;
            continue;
        }
        let entry = series.entry((source, severity.to_lowercase())).or_default();
        entry.0 += 1;
        for (i, (_, length)) in WINDOWS.iter().enumerate() {
            if at > now - length {
                entry.1[i] += 1;
            }
        }
    }
    (series, late)
}

fn expected(alerts: &[Alert]) -> (Expected, u64) {
    count(
        alerts
            .iter()
            .map(|a| (a.source.to_owned(), a.severity.to_owned(), NOW + a.offset)),
        NOW,
    )
}

/// Asserts `/metrics` holds exactly `series`: the same alert series, totals and volumes.
fn assert_alert_series(metrics: &common::Metrics, series: &Expected) {
    assert_eq!(
        metrics.series("soc_alerts_total").len(),
        series.len(),
        "{}",
        metrics.text
    );
    for ((source, severity), (total, volume)) in series {
        let labels = [("source", source.as_str()), ("severity", severity.as_str())];
        assert_eq!(
            metrics.get("soc_alerts_total", &labels),
            Some(*total as f64),
            "total {source}/{severity}"
        );
        for (i, (window, _)) in WINDOWS.iter().enumerate() {
            let labels = [
                ("window", *window),
                ("source", source.as_str()),
                ("severity", severity.as_str()),
            ];
            assert_eq!(
                metrics.get("soc_alert_volume", &labels),
                Some(volume[i] as f64),
                "volume {window} {source}/{severity}"
            );
        }
    }
}

fn config(topic: &str, dead_letter: &str, group: &str) -> String {
    common::alerts_config(topic, dead_letter, group)
}

#[test]
fn counts_alerts_per_window_rejects_bad_records_and_dead_letters_them() {
    let topic = unique("alerts");
    let dead_letter = unique("dead");
    let group = unique("group");
    block_on(create_topic(&topic, 1, &[("max.message.bytes", "4194304")]));
    block_on(create_topic(&dead_letter, 1, &[]));

    // Valid alerts, three of them delivered twice, malformed records in between.
    let alerts = scenario();
    let bad = malformed();
    let mut records = Vec::new();
    let mut bad_records = bad.iter();
    for (i, alert) in alerts.iter().enumerate() {
        records.push(alert.record());
        if i > 0 {
            if let Some((record, _)) = bad_records.next() {
                records.push(record.clone());
            }
        }
    }
    records.extend(bad_records.map(|(record, _)| record.clone()));
    for repeated in [1, 4, 13] {
        records.push(alerts[repeated].record());
    }
    block_on(produce(&topic, &records));

    let daemon = Daemon::start(&config(&topic, &dead_letter, &group));
    let consumed = records.len() as f64;
    let metrics = daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(consumed)
    });

    let (series, late) = expected(&alerts);
    assert_alert_series(&metrics, &series);
    // Spot checks of the independent count itself, by hand.
    assert_eq!(series[&("splunk".into(), "high".into())], (3, [2, 2, 2]));
    assert_eq!(
        series[&("splunk".into(), "critical".into())],
        (2, [1, 2, 2])
    );
    assert_eq!(
        series[&("crowdstrike".into(), "medium".into())],
        (3, [0, 0, 2])
    );
    assert_eq!(late, 1);

    assert_eq!(
        metrics.get("soc_events_late_total", &[("topic", &topic)]),
        Some(1.0)
    );
    assert_eq!(
        metrics.get("soc_events_duplicate_total", &[("topic", &topic)]),
        Some(3.0)
    );
    let mut reasons: BTreeMap<&str, f64> = BTreeMap::new();
    for (_, reason) in &bad {
        *reasons.entry(reason).or_default() += 1.0;
    }
    assert_eq!(
        metrics.series("soc_events_rejected_total").len(),
        reasons.len(),
        "{}",
        metrics.text
    );
    for (reason, count) in &reasons {
        assert_eq!(
            metrics.get(
                "soc_events_rejected_total",
                &[("topic", &topic), ("reason", reason)]
            ),
            Some(*count),
            "rejected {reason}"
        );
    }
    assert_eq!(
        metrics.get("soc_last_event_timestamp_seconds", &[("topic", &topic)]),
        Some(NOW as f64 / 1000.0)
    );
    assert_eq!(metrics.get("soc_kafka_up", &[]), Some(1.0));
    assert_eq!(
        metrics.get("soc_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        Some(1.0)
    );

    // Every malformed record is in the dead-letter topic with its reason.
    let letters = read_topic(&dead_letter, bad.len(), Duration::from_secs(30));
    assert_eq!(letters.len(), bad.len());
    let mut letter_reasons: BTreeMap<String, f64> = BTreeMap::new();
    for letter in &letters {
        *letter_reasons
            .entry(header(letter, "socmetrics.reason").unwrap())
            .or_default() += 1.0;
        assert_eq!(
            header(letter, "socmetrics.topic").as_deref(),
            Some(topic.as_str())
        );
        assert_eq!(
            header(letter, "producer").as_deref(),
            Some("test"),
            "original headers kept"
        );
    }
    assert_eq!(
        letter_reasons,
        reasons.iter().map(|(r, c)| (r.to_string(), *c)).collect()
    );
    let not_json = letters
        .iter()
        .find(|l| rdkafka::Message::payload(*l) == Some(b"not json at all".as_slice()));
    assert!(not_json.is_some(), "payload copied as is");
    let big = letters
        .iter()
        .find(|l| header(l, "socmetrics.reason").as_deref() == Some("too_large"))
        .unwrap();
    assert_eq!(
        rdkafka::Message::payload(big),
        None,
        "an oversized record is not copied"
    );
    assert!(
        header(big, "socmetrics.original_bytes")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 2 * 1024 * 1024
    );

    // Still serving after all of it; SIGTERM exits 0 after committing.
    assert_eq!(daemon.healthz(), Some(200));
    let status = daemon.terminate();
    assert!(status.success(), "exit status {status:?}");

    // A restart in the same group reads only what came after: offsets were committed.
    let later = [
        Alert {
            id: "b01",
            source: "splunk",
            severity: "low",
            offset: SECOND,
            form: TimeForm::Millis,
        },
        Alert {
            id: "b02",
            source: "splunk",
            severity: "low",
            offset: 2 * SECOND,
            form: TimeForm::Utc,
        },
    ];
    block_on(produce(
        &topic,
        &later.iter().map(Alert::record).collect::<Vec<_>>(),
    ));
    let restarted = Daemon::start(&config(&topic, &dead_letter, &group));
    let metrics = restarted.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(2.0)
    });
    assert_eq!(metrics.sum("soc_alerts_total"), 2.0, "{}", metrics.text);
    assert_eq!(
        metrics.get(
            "soc_alert_volume",
            &[("window", "5m"), ("source", "splunk"), ("severity", "low")]
        ),
        Some(2.0)
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        restarted
            .scrape()
            .get("soc_events_consumed_total", &[("topic", &topic)]),
        Some(2.0)
    );
}

#[test]
fn event_clock_counts_are_exact_for_records_from_kafkas_own_console_producer() {
    let topic = unique("alerts-console");
    block_on(create_topic(&topic, 1, &[]));
    let sources = ["splunk", "sentinel", "crowdstrike", "suricata"];
    let severities = ["informational", "Low", "MEDIUM", "high", "critical"];
    let mut random = common::Lcg(42);
    // The latest alert first, so event-clock "now" is NOW from the start.
    let mut alerts = vec![("splunk".to_owned(), "high".to_owned(), NOW)];
    for _ in 0..400 {
        let source = sources[random.below(4) as usize];
        let severity = severities[random.below(5) as usize];
        // Anywhere in the last two days, to the millisecond.
        let at = NOW - random.below(2 * DAY as u64) as i64;
        alerts.push((source.to_owned(), severity.to_owned(), at));
    }
    let mut lines = String::new();
    for (i, (source, severity, at)) in alerts.iter().enumerate() {
        let detected_at = if i % 2 == 0 {
            json!(at)
        } else {
            json!(
                chrono::DateTime::from_timestamp_millis(*at)
                    .unwrap()
                    .to_rfc3339()
            )
        };
        let record = json!({"alert_id": format!("c{i}"), "detected_at": detected_at, "source": source, "severity": severity});
        lines.push_str(&record.to_string());
        lines.push('\n');
    }
    lines.push_str("this line is not json\n");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/local/kafka.sh");
    let mut producer = std::process::Command::new(script)
        .args(["produce", &topic])
        .env("KAFKA_BROKERS", common::brokers())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(producer.stdin.as_mut().unwrap(), lines.as_bytes()).unwrap();
    drop(producer.stdin.take());
    assert!(
        producer.wait().unwrap().success(),
        "Kafka's console producer failed"
    );

    let daemon = Daemon::start(&config(&topic, &unique("dead"), &unique("group")));
    let consumed = (alerts.len() + 1) as f64;
    let metrics = daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(consumed)
    });
    let (series, late) = count(alerts, NOW);
    assert_eq!(late, 0);
    assert_eq!(series.values().map(|(total, _)| total).sum::<u64>(), 401);
    assert_alert_series(&metrics, &series);
    assert_eq!(
        metrics.get(
            "soc_events_rejected_total",
            &[("topic", &topic), ("reason", "invalid_json")]
        ),
        Some(1.0)
    );
}

#[test]
fn wall_clock_windows_and_the_source_cap() {
    let topic = unique("alerts-wall");
    block_on(create_topic(&topic, 1, &[]));
    let now = chrono::Utc::now().timestamp_millis();
    // Offsets far from every window edge, so the seconds between produce and scrape cannot
    // move an alert across one.
    let alerts = [
        ("a", "high", -10 * SECOND),
        ("a", "high", -3 * MINUTE),
        ("b", "low", -30 * MINUTE),
        ("c", "low", -2 * HOUR),
        ("d", "low", -10 * SECOND),
        ("c", "critical", -25 * HOUR),
    ];
    let records: Vec<_> = alerts
        .iter()
        .enumerate()
        .map(|(i, (source, severity, offset))| {
            Record::json(json!({"alert_id": format!("w{i}"), "detected_at": now + offset, "source": source, "severity": severity}))
        })
        .collect();
    block_on(produce(&topic, &records));
    let config = format!(
        "[kafka]\nbrokers = \"{}\"\ngroup_id = \"{}\"\n[topics]\nalerts = \"{topic}\"\n[limits]\nmax_label_values = 2\n",
        common::brokers(),
        unique("group")
    );
    let daemon = Daemon::start(&config);
    let metrics = daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(alerts.len() as f64)
    });
    // Sources a and b fill the cap of 2; c and d become "other".
    let (series, _) = count(
        alerts.iter().map(|(source, severity, offset)| {
            let source = if matches!(*source, "a" | "b") {
                *source
            } else {
                "other"
            };
            (source.to_owned(), (*severity).to_owned(), now + offset)
        }),
        now,
    );
    assert_alert_series(&metrics, &series);
    assert_eq!(series[&("other".into(), "low".into())], (2, [1, 1, 2]));
    assert_eq!(
        metrics.get("soc_label_overflow_total", &[("label", "source")]),
        Some(3.0)
    );
}
