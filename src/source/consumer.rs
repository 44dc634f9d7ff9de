//! The consumer group on the input topics.
//!
//! Offsets follow rust-rdkafka's at-least-once pattern: `enable.auto.offset.store = false`,
//! and the pipeline stores a batch's offsets only after every record of it was applied and
//! every dead letter of it was acknowledged; librdkafka's auto-commit then commits what was
//! stored, and shutdown commits synchronously. Rejected records advance the offset like any
//! other: a poison record is dead-lettered, never retried forever.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::{
    ClientConfig, FromClientConfig, FromClientConfigAndContext, RDKafkaLogLevel,
};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::SourceError;
use crate::config::Config;
use crate::config::secrets;
use crate::export::Status;

/// Callbacks from librdkafka: broker reachability and rebalances, returned from fast.
#[derive(Debug)]
pub struct SourceContext {
    status: Arc<Status>,
    /// `(topic, partition, records behind)` from librdkafka's latest statistics.
    lag: Mutex<Vec<(String, i32, i64)>>,
    /// Rebalances for the owner task.
    control: tokio::sync::mpsc::UnboundedSender<Control>,
}

/// librdkafka's log line to tracing, at its level (the logger scrubs secrets from it).
fn forward_log(level: RDKafkaLogLevel, fac: &str, log_message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", fac, "{log_message}"),
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{log_message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", fac, "{log_message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{log_message}"),
    }
}

/// A short-lived client's context: librdkafka's log lines go to tracing, and the last error
/// it reports is kept, so a call that fails can say why (an authentication failure, a TLS
/// handshake refused) and not only that it timed out.
#[derive(Debug, Default)]
pub struct Diagnosis {
    last: Mutex<Option<String>>,
}

impl Diagnosis {
    fn remember(&self, text: String) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(text);
        }
    }

    fn last(&self) -> Option<String> {
        self.last.lock().ok().and_then(|last| last.clone())
    }
}

impl ClientContext for Diagnosis {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
        if (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
            self.remember(log_message.to_owned());
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "kafka client error");
        self.remember(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for Diagnosis {}

/// Why `consumer`'s last call failed, as librdkafka reported it: `""`, or `"; "` and the
/// report. Error events wait on the consumer's queue until served, so they are served here.
pub fn diagnose(consumer: &BaseConsumer<Diagnosis>) -> String {
    for _ in 0..16 {
        match consumer.poll(Duration::from_millis(50)) {
            Some(Err(error)) => consumer.context().remember(error.to_string()),
            Some(Ok(_)) => {}
            None => break,
        }
    }
    consumer
        .context()
        .last()
        .map(|text| format!("; librdkafka reports: {text}"))
        .unwrap_or_default()
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    /// librdkafka's statistics (every `statistics.interval.ms`): records between each assigned
    /// partition's high watermark and the offset stored after its last applied batch.
    fn stats(&self, statistics: Statistics) {
        let mut lag: Vec<_> = statistics
            .topics
            .values()
            .flat_map(|topic| {
                topic
                    .partitions
                    .values()
                    .filter(|p| p.partition >= 0 && p.desired && p.consumer_lag_stored >= 0)
                    .map(|p| (topic.topic.clone(), p.partition, p.consumer_lag_stored))
            })
            .collect();
        lag.sort();
        if let Ok(mut shared) = self.lag.lock() {
            *shared = lag;
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.status.set_kafka_up(false);
        }
        tracing::warn!(%error, reason, "kafka client error");
    }
}

/// What a rebalance asks of the owner task, sent from librdkafka's callbacks.
#[derive(Debug, PartialEq, Eq)]
pub enum Control {
    /// Newly assigned input partitions, paused until their state is restored.
    Assigned(Vec<(String, i32)>),
    /// Input partitions taken away; their offsets were committed in the callback.
    Revoked(Vec<(String, i32)>),
}

impl ConsumerContext for SourceContext {
    /// Before partitions go: commit what was stored for them (the state covering those
    /// offsets is already in the changelog), then tell the owner to drop their state.
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                tracing::info!(partitions = %describe(partitions), "partitions revoked");
                match consumer.commit_consumer_state(CommitMode::Sync) {
                    Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                    Err(error) => tracing::warn!(%error, "commit before revocation failed"),
                }
                let _ = self.control.send(Control::Revoked(elements(partitions)));
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance error"),
        }
    }

    /// After partitions come: pause them until the owner has restored their state.
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            tracing::info!(partitions = %describe(partitions), "partitions assigned");
            // An empty assignment still tells the owner it may report ready.
            if partitions.count() > 0
                && let Err(error) = consumer.pause(partitions)
            {
                tracing::error!(%error, "cannot pause newly assigned partitions");
            }
            let _ = self.control.send(Control::Assigned(elements(partitions)));
        }
    }
}

fn elements(partitions: &TopicPartitionList) -> Vec<(String, i32)> {
    partitions
        .elements()
        .iter()
        .map(|p| (p.topic().to_owned(), p.partition()))
        .collect()
}

fn describe(partitions: &TopicPartitionList) -> String {
    partitions
        .elements()
        .iter()
        .map(|p| format!("{}/{}", p.topic(), p.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The consumer the daemon reads with.
pub type InputConsumer = StreamConsumer<SourceContext>;

/// librdkafka settings shared by every client: brokers, then the user's `kafka.properties`
/// with their references resolved, which win.
pub fn client_config(config: &Config) -> Result<ClientConfig, SourceError> {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.kafka.brokers);
    for (key, value) in secrets::resolve_all(&config.kafka.properties)? {
        client.set(key, value);
    }
    client.set_log_level(RDKafkaLogLevel::Warning);
    Ok(client)
}

/// Creates a client of `client`'s settings; `what` names it in the error, which carries no
/// property value.
pub fn create<T: FromClientConfig>(
    client: &ClientConfig,
    what: &'static str,
    config: &Config,
) -> Result<T, SourceError> {
    client
        .create()
        .map_err(|error| creation_error(error, what, config))
}

/// [`create`] with a context.
pub fn create_with_context<C: ClientContext, T: FromClientConfigAndContext<C>>(
    client: &ClientConfig,
    context: C,
    what: &'static str,
    config: &Config,
) -> Result<T, SourceError> {
    client
        .create_with_context(context)
        .map_err(|error| creation_error(error, what, config))
}

/// A refused property is a configuration error naming the key; any other failure names the
/// client. Neither carries a value: rust-rdkafka's own message quotes it, and librdkafka's
/// description may too, so the description is scrubbed of every secret value.
fn creation_error(error: KafkaError, what: &'static str, config: &Config) -> SourceError {
    let secrets = config.secrets();
    match error {
        KafkaError::ClientConfig(_, description, key, _value) => SourceError::Property {
            key,
            message: format!("librdkafka refuses it: {}", secrets.scrub(&description)),
        },
        other => SourceError::Client {
            client: what,
            message: secrets.scrub(&other.to_string()).into_owned(),
        },
    }
}

/// Checks that librdkafka takes every property, as the consumer and the producers set them,
/// without connecting anywhere: a refused property is a configuration error (exit 64), found
/// before anything starts.
pub fn check_properties(config: &Config) -> Result<(), SourceError> {
    let mut consumer = consumer_config(config)?;
    consumer.remove("bootstrap.servers");
    let _: BaseConsumer = create(&consumer, "consumer", config)?;
    let mut producer = client_config(config)?;
    producer.remove("bootstrap.servers");
    let _: rdkafka::producer::BaseProducer = create(&producer, "producer", config)?;
    Ok(())
}

/// A consumer outside the group's offset management (it assigns partitions by hand and never
/// commits): the changelog reader and the coverage reader. `role` names its `group.id`.
pub fn standalone_config(config: &Config, role: &str) -> Result<ClientConfig, SourceError> {
    let mut client = client_config(config)?;
    client
        .set("group.id", format!("{}.{role}", config.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    Ok(client)
}

/// Consumer settings the offset and rebalance design rests on; `kafka.properties` cannot
/// change them. Offsets are stored by the owner after the changelog acknowledged a batch
/// (auto-commit commits only what was stored); KIP-848 gives incremental assignments computed
/// by the broker, and its range assignor gives an instance the same partition numbers of the
/// alerts and cases topics.
const GUARANTEES: [(&str, &str); 4] = [
    ("enable.auto.commit", "true"),
    ("enable.auto.offset.store", "false"),
    ("group.protocol", "consumer"),
    ("group.remote.assignor", "range"),
];

/// The group consumer's settings: defaults a user may change, then the user's properties,
/// then what may not change.
fn consumer_config(config: &Config) -> Result<ClientConfig, SourceError> {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("statistics.interval.ms", "1000");
    for (key, value) in secrets::resolve_all(&config.kafka.properties)? {
        if GUARANTEES.iter().any(|(fixed, _)| *fixed == key) {
            tracing::warn!(
                key,
                "kafka.properties cannot override this consumer setting; ignored"
            );
        } else {
            client.set(key, value);
        }
    }
    client.set("group.id", &config.kafka.group_id);
    for (key, value) in GUARANTEES {
        client.set(key, value);
    }
    client.set_log_level(RDKafkaLogLevel::Warning);
    Ok(client)
}

/// Creates the consumer and subscribes it to `topics`.
pub fn subscribe(
    config: &Config,
    topics: &[&str],
    status: Arc<Status>,
    control: tokio::sync::mpsc::UnboundedSender<Control>,
) -> Result<InputConsumer, SourceError> {
    let client = consumer_config(config)?;
    for (key, value) in client.config_map() {
        let shown = secrets::shown(key, value);
        tracing::debug!(key, value = %shown, "consumer setting");
    }
    let context = SourceContext {
        status,
        lag: Mutex::new(Vec::new()),
        control,
    };
    let consumer: InputConsumer = create_with_context(&client, context, "consumer", config)?;
    consumer
        .subscribe(topics)
        .map_err(|source| SourceError::Subscribe {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            source,
        })?;
    Ok(consumer)
}

/// Marks `(topic, partition, offset)` of the last applied records as processed; librdkafka
/// commits `offset + 1` for each.
pub fn store_processed(
    consumer: &InputConsumer,
    processed: &[(String, i32, i64)],
) -> KafkaResult<()> {
    if processed.is_empty() {
        return Ok(());
    }
    let mut list = TopicPartitionList::with_capacity(processed.len());
    for (topic, partition, offset) in processed {
        list.add_partition_offset(topic, *partition, Offset::Offset(offset + 1))?;
    }
    consumer.store_offsets(&list)
}

/// Records behind the high watermark per assigned partition, as of librdkafka's latest
/// statistics (no broker round trip).
pub fn lag(consumer: &InputConsumer) -> Vec<(String, i32, i64)> {
    consumer
        .context()
        .lag
        .lock()
        .map(|lag| lag.clone())
        .unwrap_or_default()
}

/// Asks the brokers for the input topic's metadata: true when they answer. Blocking.
pub fn probe(consumer: &InputConsumer, topic: &str) -> bool {
    consumer
        .fetch_metadata(Some(topic), Duration::from_secs(3))
        .is_ok()
}
