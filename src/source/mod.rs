//! The Kafka edge: the consumer, its offsets, and dead letters. It knows bytes, topics,
//! partitions and offsets, never KPIs.

pub mod consumer;
pub mod dead_letter;

/// Why the Kafka edge cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot create the Kafka {client}: {source}")]
    Client {
        client: &'static str,
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: rdkafka::error::KafkaError,
    },
}
