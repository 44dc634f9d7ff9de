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
    /// The message is scrubbed of secrets: librdkafka's own names the refused value.
    #[error("cannot create the Kafka {client}: {message}")]
    Client {
        client: &'static str,
        message: String,
    },
    /// A property librdkafka refuses: a configuration error (exit 64), message scrubbed.
    #[error("invalid config: key `kafka.properties.{key}`: {message}")]
    Property { key: String, message: String },
    #[error("{0}")]
    Secret(#[from] crate::config::secrets::SecretError),
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
