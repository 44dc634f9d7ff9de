//! The state changelog (PRODUCT.md §5, the Kafka Streams design): a compacted topic with one
//! partition per input partition. The writer produces a batch's state records and resolves
//! once the broker has acknowledged all of them (offsets are stored only after that); the
//! reader replays a partition from its beginning to the high watermark seen when it starts.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use tokio_util::sync::CancellationToken;

use super::SourceError;
use super::acked::{self, AckedProducer, Acks, Outgoing};
use super::consumer::{Diagnosis, client_config};
use crate::config::Config;
use crate::engine::state::StateRecord;

/// How long metadata and admin calls may take. Startup retries them, so a short wait each
/// time keeps the daemon's log saying what is wrong.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Partition counts of the input topics that exist: `(topic, partitions)`; a missing topic
/// is `None`.
pub fn partition_counts(
    config: &Config,
    topics: &[&str],
) -> Result<Vec<(String, Option<usize>)>, SourceError> {
    let consumer: BaseConsumer<Diagnosis> = super::consumer::create_with_context(
        &client_config(config)?,
        Diagnosis::default(),
        "metadata client",
        config,
    )?;
    let metadata = consumer
        .fetch_metadata(None, ADMIN_TIMEOUT)
        .map_err(|source| SourceError::Metadata {
            source,
            cause: super::consumer::diagnose(&consumer),
        })?;
    Ok(topics
        .iter()
        .map(|name| {
            let count = metadata
                .topics()
                .iter()
                .find(|t| t.name() == *name && t.error().is_none())
                .map(|t| t.partitions().len());
            ((*name).to_owned(), count)
        })
        .collect())
}

/// Creates the repartition topic when missing (`partitions` partitions, deleted after
/// `retention.ms` = 7 days like any input) and checks its partition count when present.
pub async fn ensure_repartition_topic(
    config: &Config,
    partitions: usize,
) -> Result<(), SourceError> {
    let topic = config.repartition_topic();
    let existing = partition_counts(config, &[&topic])?;
    match existing.first().and_then(|(_, count)| *count) {
        None => {
            let new = NewTopic::new(
                &topic,
                i32::try_from(partitions).unwrap_or(i32::MAX),
                TopicReplication::Fixed(-1),
            )
            .set("cleanup.policy", "delete")
            .set("retention.ms", "604800000");
            create(config, new, "repartition").await?;
            tracing::info!(topic, partitions, "repartition topic created");
            Ok(())
        }
        Some(count) if count != partitions => Err(SourceError::Topics(format!(
            "repartition topic {topic} has {count} partitions but topics.alerts has \
             {partitions}: it must be partitioned like the inputs keyed by incident. Set \
             topics.repartition to a new topic (it is created with {partitions} partitions)"
        ))),
        Some(_) => Ok(()),
    }
}

/// Creates one topic; one that exists already (another instance was first) is fine.
async fn create(config: &Config, new: NewTopic<'_>, what: &str) -> Result<(), SourceError> {
    let admin: AdminClient<DefaultClientContext> =
        super::consumer::create(&client_config(config)?, "admin client", config)?;
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    let topic = new.name.to_owned();
    let results = admin
        .create_topics(&[new], &options)
        .await
        .map_err(|source| SourceError::Admin {
            what: format!("create the {what} topic {topic}"),
            source,
        })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(SourceError::Changelog(format!(
                    "cannot create {topic}: {code}"
                )));
            }
        }
    }
    Ok(())
}

/// Creates the changelog topic when missing (compacted, `partitions` partitions) and checks
/// it when present.
pub async fn ensure_topic(
    config: &Config,
    topic: &str,
    partitions: usize,
) -> Result<(), SourceError> {
    let admin: AdminClient<DefaultClientContext> =
        super::consumer::create(&client_config(config)?, "admin client", config)?;
    let existing = partition_counts(config, &[topic])?;
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    match existing.first().and_then(|(_, count)| *count) {
        None => {
            let partitions = i32::try_from(partitions).unwrap_or(i32::MAX);
            let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1))
                .set("cleanup.policy", "compact")
                .set("min.compaction.lag.ms", "0")
                .set("segment.ms", "3600000");
            create(config, new, "changelog").await?;
            tracing::info!(topic, partitions, "changelog topic created (compacted)");
            Ok(())
        }
        Some(count) if count != partitions => Err(SourceError::Changelog(format!(
            "changelog topic {topic} has {count} partitions but the inputs have {partitions}; \
             the changelog must be partitioned like the inputs. Set topics.state to a new topic \
             (created with {partitions} partitions) and reset the group's offsets to the earliest \
             to rebuild the state from the inputs"
        ))),
        Some(_) => {
            let described = admin
                .describe_configs(&[ResourceSpecifier::Topic(topic)], &options)
                .await
                .map_err(|source| SourceError::Admin {
                    what: format!("describe the changelog topic {topic}"),
                    source,
                })?;
            let policy = described
                .into_iter()
                .flatten()
                .flat_map(|resource| resource.entries)
                .find(|entry| entry.name == "cleanup.policy")
                .and_then(|entry| entry.value);
            match policy {
                // `compact,delete` would drop state of open incidents after retention.ms.
                Some(policy) if policy == "compact" => Ok(()),
                other => Err(SourceError::Changelog(format!(
                    "changelog topic {topic} has cleanup.policy={} but must be compacted \
                     and only compacted, or state is lost after retention.ms \
                     (kafka-configs --alter --add-config cleanup.policy=compact)",
                    other.unwrap_or_default()
                ))),
            }
        }
    }
}

/// Produces state records and waits for the broker's acknowledgements.
#[derive(Clone)]
pub struct ChangelogWriter {
    producer: AckedProducer,
    topic: String,
}

impl std::fmt::Debug for ChangelogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangelogWriter")
            .field("topic", &self.topic)
            .finish()
    }
}

impl ChangelogWriter {
    pub fn new(config: &Config, topic: &str) -> Result<Self, SourceError> {
        let mut client = client_config(config)?;
        client
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            // Never give up on a state record: while the brokers are away, consumption waits.
            .set("message.timeout.ms", "0")
            .set("queue.buffering.max.messages", "1000000");
        let producer =
            super::consumer::create_with_context(&client, Acks, "changelog producer", config)?;
        Ok(Self {
            producer,
            topic: topic.to_owned(),
        })
    }

    /// Writes state records to the changelog, retrying until the broker has them all: the
    /// offsets they cover must not be stored before. False when `stop` came first (the
    /// records will be read again from the inputs after a restart).
    pub async fn write_durably(self, records: Vec<StateRecord>, stop: CancellationToken) -> bool {
        if records.is_empty() {
            return true;
        }
        let mut delay = Duration::from_millis(100);
        loop {
            tokio::select! {
                written = self.write(records.clone()) => match written {
                    Ok(_) => return true,
                    Err(error) => {
                        tracing::error!(%error, records = records.len(), "changelog write failed; retrying");
                    }
                },
                () = stop.cancelled() => {
                    tracing::warn!("stopping before the changelog acknowledged a batch; its offsets stay uncommitted");
                    return false;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stop.cancelled() => return false,
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Writes `records` and resolves once every one is acknowledged (or failed for good).
    pub async fn write(&self, records: Vec<StateRecord>) -> Result<usize, KafkaError> {
        acked::send_all(
            &self.producer,
            records
                .iter()
                .map(|record| Outgoing::<str, [u8]> {
                    topic: &self.topic,
                    partition: Some(record.partition),
                    key: &record.key,
                    payload: record.value.as_deref(),
                })
                .collect(),
        )
        .await?;
        Ok(records.len())
    }

    pub fn flush(&self, timeout: Duration) {
        acked::flush(&self.producer, timeout, "changelog");
    }
}

/// Records read between two progress lines of a long restore.
const PROGRESS_EVERY: i64 = 500_000;

/// A changelog key and its latest value (`None`: a tombstone).
pub type KeyValue = (String, Option<Vec<u8>>);

/// The latest value of every key of one changelog partition, in first-seen order of keys.
/// Blocking: run it off the async runtime.
pub fn read_partition(
    config: &Config,
    topic: &str,
    partition: i32,
) -> Result<Vec<KeyValue>, SourceError> {
    let mut client = super::consumer::standalone_config(config, "restore")?;
    client
        // The default 1 s fetch back-off stalls a reader that keeps up; restores measured 8.1 s
        // → 5.6 s for 1M incidents with 10 ms (BENCHMARKS.md).
        .set("fetch.queue.backoff.ms", "10");
    let reader: BaseConsumer = super::consumer::create(&client, "changelog reader", config)?;
    let (low, high) = reader
        .fetch_watermarks(topic, partition, ADMIN_TIMEOUT)
        .map_err(|source| {
            SourceError::Changelog(format!(
                "cannot read watermarks of {topic}/{partition}: {source}"
            ))
        })?;
    let mut latest: HashMap<String, usize> = HashMap::new();
    let mut records: Vec<KeyValue> = Vec::new();
    if high <= low {
        return Ok(records);
    }
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Offset(low))
        .map_err(|source| SourceError::Changelog(source.to_string()))?;
    reader.assign(&assignment).map_err(|source| {
        SourceError::Changelog(format!("cannot assign {topic}/{partition}: {source}"))
    })?;
    let mut next = low;
    let mut progress_at = low + PROGRESS_EVERY;
    while next < high {
        match reader.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => {
                next = message.offset() + 1;
                let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                    continue;
                };
                let value = message.payload().map(<[u8]>::to_vec);
                match latest.get(key) {
                    Some(&at) => records[at].1 = value,
                    None => {
                        latest.insert(key.to_owned(), records.len());
                        records.push((key.to_owned(), value));
                    }
                }
                if next >= progress_at {
                    tracing::info!(
                        topic,
                        partition,
                        read = next - low,
                        of = high - low,
                        "restoring"
                    );
                    progress_at = next + PROGRESS_EVERY;
                }
            }
            Some(Err(error)) => {
                tracing::warn!(topic, partition, %error, "changelog read error; retrying")
            }
            None => {}
        }
    }
    tracing::info!(
        topic,
        partition,
        records = high - low,
        keys = records.len(),
        "changelog partition read"
    );
    Ok(records)
}
