//! The coverage inputs read whole by every instance, as Kafka Streams reads a global table:
//! all partitions assigned by hand (no group, no commits), the compacted inventory from its
//! beginning and the telemetry from `coverage.max_silence` ago (from the beginning with the
//! event clock), so a restart needs no changelog for them.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::SourceError;
use super::changelog::partition_counts;
use crate::config::{ClockMode, Config};
use crate::event::EventTime;

/// Assigns every partition of the inventory and telemetry topics that exist; `None` when
/// neither does. `wall` is the wall clock, from which telemetry is read back.
pub fn subscribe(config: &Config, wall: EventTime) -> Result<Option<StreamConsumer>, SourceError> {
    let (inventory, telemetry) = (&config.topics.inventory, &config.topics.telemetry);
    let counts = partition_counts(config, &[inventory, telemetry])?;
    let consumer: StreamConsumer = super::consumer::create(
        &super::consumer::standalone_config(config, "global")?,
        "inventory and telemetry consumer",
        config,
    )?;
    let since = match config.clock.mode {
        ClockMode::Wall => wall
            .saturating_sub_millis(config.coverage.max_silence.millis)
            .millis(),
        ClockMode::Event => 0,
    };
    let mut assignment = TopicPartitionList::new();
    let mut by_time = TopicPartitionList::new();
    for (topic, count) in &counts {
        let Some(count) = count else {
            tracing::warn!(
                topic,
                "topic does not exist: coverage KPIs stay empty until it does (restart to pick it up)"
            );
            continue;
        };
        for partition in 0..*count as i32 {
            if topic == inventory {
                let _ = assignment.add_partition_offset(topic, partition, Offset::Beginning);
            } else {
                let _ = by_time.add_partition_offset(topic, partition, Offset::Offset(since));
            }
        }
    }
    if by_time.count() > 0 {
        let offsets = consumer
            .offsets_for_times(by_time, Duration::from_secs(30))
            .map_err(|source| SourceError::Metadata {
                source,
                cause: String::new(),
            })?;
        for element in offsets.elements() {
            // No record that recent: start at the end.
            let offset = match element.offset() {
                Offset::Offset(offset) => Offset::Offset(offset),
                _ => Offset::End,
            };
            let _ = assignment.add_partition_offset(element.topic(), element.partition(), offset);
        }
    }
    if assignment.count() == 0 {
        return Ok(None);
    }
    consumer
        .assign(&assignment)
        .map_err(|source| SourceError::Subscribe {
            topics: vec![inventory.clone(), telemetry.clone()],
            source,
        })?;
    tracing::info!(inventory = %inventory, telemetry = %telemetry, partitions = assignment.count(), "reading coverage inputs whole");
    Ok(Some(consumer))
}
