//! The input edge: the [`Record`] every input produces, the Kafka consumer and its offsets,
//! the changelog, and dead letters. It knows bytes, topics, partitions and offsets, never KPIs.

pub mod changelog;
pub mod consumer;
pub mod dead_letter;
pub mod global;
mod record;
pub mod topics;

pub use record::{Record, TopicRole};

/// Why the Kafka edge cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot create the Kafka {client}: {source}")]
    Client {
        client: &'static str,
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot read cluster metadata: {source}")]
    Metadata { source: rdkafka::error::KafkaError },
    #[error("{0}")]
    Changelog(String),
    #[error("{0}")]
    Topics(String),
    #[error("cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: rdkafka::error::KafkaError,
    },
}
