//! The repartition topic (PRODUCT.md §1, Kafka Streams' design): the events of inputs not keyed
//! by incident are produced here keyed by incident id, with Kafka's default partitioner
//! (murmur2, as the Java clients and Kafka Streams partition), so that every incident's alerts
//! and case events meet in one partition, on one instance. It has as many partitions as
//! `topics.alerts` and is read back like a native topic keyed by incident. The source records'
//! offsets are stored only once their events are acknowledged here: a crash between the two
//! sends the events again, and the engine's dedupe makes the second copy change nothing.

use std::time::Duration;

use std::sync::Arc;

use rdkafka::error::KafkaError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::SourceError;
use super::acked::{self, AckedProducer, Acks, Outgoing, Tally};
use crate::config::Config;
use crate::pipeline::Forward;

/// Produces forwarded events and waits for the broker's acknowledgements.
#[derive(Clone)]
pub struct RepartitionWriter {
    producer: AckedProducer,
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
        let producer =
            super::consumer::create_with_context(&client, Acks, "repartition producer", config)?;
        Ok(Self {
            producer,
            topic: config.repartition_topic(),
        })
    }

    /// Queues the events now, in batch order, and returns a task that resolves once the
    /// broker has them all: true, or false when `stop` came first (the source offsets must
    /// then not be stored). A failed send is retried whole, after 100 ms doubling to 10 s; the
    /// copies it may make are harmless (the engine dedupes).
    pub async fn forward(
        &self,
        forwards: Vec<Forward>,
        stop: CancellationToken,
    ) -> JoinHandle<bool> {
        let first = self.queue(&forwards).await;
        let writer = self.clone();
        tokio::spawn(async move {
            let mut attempt = first;
            let mut delay = Duration::from_millis(100);
            loop {
                let sent = match attempt {
                    Ok(tally) => tokio::select! {
                        biased;
                        sent = tally.wait() => sent,
                        () = stop.cancelled() => return false,
                    },
                    Err(error) => Err(error),
                };
                match sent {
                    Ok(()) => return true,
                    Err(error) => {
                        tracing::error!(%error, events = forwards.len(), "repartition write failed; retrying")
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.cancelled() => return false,
                }
                delay = (delay * 2).min(Duration::from_secs(10));
                attempt = writer.queue(&forwards).await;
            }
        })
    }

    async fn queue(&self, forwards: &[Forward]) -> Result<Arc<Tally>, KafkaError> {
        acked::queue(
            &self.producer,
            forwards
                .iter()
                .map(|forward| Outgoing::<str, str> {
                    topic: &self.topic,
                    partition: None,
                    key: &forward.key,
                    payload: Some(&forward.payload),
                })
                .collect(),
        )
        .await
    }

    pub fn flush(&self, timeout: Duration) {
        acked::flush(&self.producer, timeout, "repartition topic");
    }
}
