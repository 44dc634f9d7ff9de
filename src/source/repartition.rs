//! The repartition topic (PRODUCT.md §1, Kafka Streams' design): the events of inputs not keyed
//! by incident are produced here keyed by incident id, with Kafka's default partitioner
//! (murmur2, as the Java clients and Kafka Streams partition), so that every incident's alerts
//! and case events meet in one partition, on one instance. It has as many partitions as
//! `topics.alerts` and is read back like a native topic keyed by incident. The source records'
//! offsets are stored only once their events are acknowledged here: a crash between the two
//! sends the events again, and the engine's dedupe makes the second copy change nothing.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

use super::SourceError;
use crate::config::Config;
use crate::pipeline::Forward;

/// Produces forwarded events and waits for the broker's acknowledgements.
#[derive(Clone)]
pub struct RepartitionWriter {
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for RepartitionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepartitionWriter")
            .field("topic", &self.topic)
            .finish()
    }
}

impl RepartitionWriter {
    pub fn new(config: &Config) -> Result<Self, SourceError> {
        let mut client = super::consumer::client_config(config)?;
        client
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "0")
            .set("queue.buffering.max.messages", "1000000");
        let producer = super::consumer::create(&client, "repartition producer", config)?;
        Ok(Self {
            producer,
            topic: config.repartition_topic(),
        })
    }

    /// Sends the events and resolves once the broker has them all: true, or false when `stop`
    /// came first (the source offsets must then not be stored). Failures are retried.
    pub async fn send_durably(&self, forwards: &[Forward], stop: &CancellationToken) -> bool {
        if forwards.is_empty() {
            return true;
        }
        let mut delay = Duration::from_millis(100);
        loop {
            tokio::select! {
                sent = self.send(forwards) => match sent {
                    Ok(()) => return true,
                    Err(error) => tracing::error!(%error, events = forwards.len(), "repartition write failed; retrying"),
                },
                () = stop.cancelled() => return false,
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stop.cancelled() => return false,
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    async fn send(&self, forwards: &[Forward]) -> Result<(), KafkaError> {
        super::changelog::send_all(
            &self.producer,
            forwards
                .iter()
                .map(|forward| {
                    FutureRecord::<str, str>::to(&self.topic)
                        .key(&forward.key)
                        .payload(&forward.payload)
                })
                .collect(),
        )
        .await
    }

    pub fn flush(&self, timeout: Duration) {
        use rdkafka::producer::Producer;
        if let Err(error) = self.producer.flush(timeout) {
            tracing::warn!(%error, "repartition topic not flushed at shutdown");
        }
    }
}
