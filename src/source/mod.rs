//! The input edge: the [`Record`] every input produces, the Kafka consumer and its offsets,
//! the changelog, and dead letters. It knows bytes, topics, partitions and offsets, never KPIs.

mod acked;
pub mod changelog;
pub mod consumer;
pub mod dead_letter;
pub mod global;
mod inputs;
mod record;
pub mod repartition;
pub mod topics;

pub use inputs::{Input, Inputs};
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
    /// `cause` is what librdkafka reported on the way (an authentication failure, a TLS
    /// handshake refused), empty or starting with "; ".
    #[error("cannot read cluster metadata: {source}{cause}")]
    Metadata {
        source: rdkafka::error::KafkaError,
        cause: String,
    },
    /// An admin request the brokers did not answer.
    #[error("cannot {what}: {source}")]
    Admin {
        what: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("{0}")]
    Changelog(String),
    /// An input topic that does not exist (yet).
    #[error("{0}")]
    MissingTopic(String),
    #[error("{0}")]
    Topics(String),
    #[error("cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: rdkafka::error::KafkaError,
    },
}

impl SourceError {
    /// Whether retrying can cure it without a change of config: the brokers did not answer,
    /// or an input topic is not created yet. A mispartitioned or uncompacted topic, a refused
    /// property, a client that cannot be created are not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Metadata { .. } | Self::Admin { .. } | Self::MissingTopic(_)
        )
    }
}
