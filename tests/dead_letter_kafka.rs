//! Dead letters against a dead-letter topic that refuses them (PRODUCT.md §5, issue 10
//! finding 7): a letter too large for its topic goes without its payload, and a record's offset
//! is stored only once its dead letter is acknowledged, so a letter the topic cannot take holds
//! the offsets back until it can.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Daemon, Record, block_on, create_topic, header, produce, read_topic, unique};
use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::json;

/// 2026-03-01T12:00:00Z.
const NOW: i64 = 1_772_366_400_000;

fn config(topic: &str, dead_letter: &str, group: &str) -> String {
    common::alerts_config(topic, dead_letter, group)
}

fn alert(id: usize) -> Record {
    Record::json(json!({
        "alert_id": format!("a{id}"),
        "source": "splunk",
        "severity": "high",
        "detected_at": NOW - id as i64 * 1_000,
    }))
}

/// A record of `bytes` bytes that is not JSON: rejected as `invalid_json`.
fn garbage(bytes: usize) -> Record {
    Record::bytes(vec![b'x'; bytes])
}

/// The group's committed offset of partition 0 of `topic`, if any.
fn committed(group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", common::brokers())
        .set("group.id", group)
        .create()
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, 0);
    let offsets = consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .unwrap();
    match offsets.elements()[0].offset() {
        Offset::Offset(offset) => Some(offset),
        _ => None,
    }
}

#[test]
fn a_letter_too_large_for_the_dead_letter_topic_goes_without_its_payload() {
    let (topic, dead_letter, group) = (unique("alerts"), unique("dead"), unique("group"));
    block_on(create_topic(&topic, 1, &[]));
    // Takes a letter of a few hundred bytes, not one carrying 6,000 bytes of payload.
    block_on(create_topic(
        &dead_letter,
        1,
        &[("max.message.bytes", "2000")],
    ));
    let mut records = vec![garbage(6_000), garbage(40)];
    records.extend((0..5).map(alert));
    block_on(produce(&topic, &records));

    let daemon = Daemon::start(&config(&topic, &dead_letter, &group));
    let metrics = daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(7.0)
    });
    assert_eq!(
        metrics.get(
            "soc_events_rejected_total",
            &[("topic", &topic), ("reason", "invalid_json")]
        ),
        Some(2.0),
        "{}",
        metrics.text
    );
    assert_eq!(metrics.sum("soc_alerts_total"), 5.0);

    let mut letters = read_topic(&dead_letter, 2, Duration::from_secs(30));
    assert_eq!(letters.len(), 2);
    // Retries may reorder them: by the offset they come from.
    letters.sort_by_key(|letter| header(letter, "socmetrics.offset"));
    let big = &letters[0];
    assert_eq!(big.payload(), None);
    assert_eq!(
        header(big, "socmetrics.original_bytes").as_deref(),
        Some("6000")
    );
    assert_eq!(
        header(big, "socmetrics.payload_dropped").as_deref(),
        Some("too large for the dead-letter topic")
    );
    assert_eq!(header(big, "socmetrics.offset").as_deref(), Some("0"));
    assert_eq!(
        header(big, "socmetrics.reason").as_deref(),
        Some("invalid_json")
    );
    let small = &letters[1];
    assert_eq!(small.payload(), Some(&[b'x'; 40][..]));
    assert_eq!(header(small, "socmetrics.payload_dropped"), None);
    assert_eq!(header(small, "socmetrics.offset").as_deref(), Some("1"));

    assert!(daemon.terminate().success());
    assert_eq!(committed(&group, &topic), Some(7));
}

#[test]
fn offsets_wait_until_the_dead_letter_is_acknowledged() {
    let (topic, dead_letter, group) = (unique("alerts"), unique("dead"), unique("group"));
    block_on(create_topic(&topic, 1, &[]));
    // Refuses every letter, even one without payload: its headers alone are larger.
    block_on(create_topic(
        &dead_letter,
        1,
        &[("max.message.bytes", "100")],
    ));
    let mut records = vec![garbage(40)];
    records.extend((0..5).map(alert));
    block_on(produce(&topic, &records));

    let daemon = Daemon::start(&config(&topic, &dead_letter, &group));
    // The batch is applied (counted) but its letter is refused: its offsets are not stored.
    let metrics = daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(6.0)
    });
    assert_eq!(metrics.sum("soc_alerts_total"), 5.0);
    std::thread::sleep(Duration::from_secs(6)); // past an auto-commit interval
    assert!(daemon.terminate().success());
    assert_eq!(committed(&group, &topic), None);

    // The topic takes letters now: the restarted daemon reads the batch again, the letter is
    // delivered, and the offsets move; the alerts, already in the state (the stop wrote it to
    // the changelog), are duplicates now: counted once, in the first run's counters.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", common::brokers())
        .create()
        .unwrap();
    let altered = block_on(
        admin.alter_configs(
            &[AlterConfig::new(ResourceSpecifier::Topic(&dead_letter))
                .set("max.message.bytes", "1048576")],
            &AdminOptions::new(),
        ),
    )
    .unwrap();
    assert!(altered.iter().all(Result::is_ok));
    let daemon = Daemon::start(&config(&topic, &dead_letter, &group));
    let metrics = daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(6.0)
    });
    assert_eq!(metrics.sum("soc_alerts_total"), 0.0);
    assert_eq!(
        metrics.get("soc_events_duplicate_total", &[("topic", &topic)]),
        Some(5.0)
    );
    let labels = [
        ("window", "24h"),
        ("source", "splunk"),
        ("severity", "high"),
    ];
    assert_eq!(metrics.get("soc_alert_volume", &labels), Some(5.0));
    let letters = read_topic(&dead_letter, 1, Duration::from_secs(30));
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].payload(), Some(&[b'x'; 40][..]));
    assert!(daemon.terminate().success());
    assert_eq!(committed(&group, &topic), Some(6));
}
