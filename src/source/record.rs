//! The record: what every input hands the pipeline, whether it came from Kafka, a file or the
//! demo's simulator. It borrows its bytes from wherever they live (an rdkafka message, a line
//! of a file, a generated buffer), so taking one costs no copy; dead letters are made from it.

use rdkafka::message::{BorrowedHeaders, Message};

use crate::config::Config;

/// The role a topic plays (PRODUCT.md §1); the index into per-topic statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicRole {
    Alerts,
    Cases,
    Inventory,
    Telemetry,
}

impl TopicRole {
    pub const ALL: [TopicRole; 4] = [
        TopicRole::Alerts,
        TopicRole::Cases,
        TopicRole::Inventory,
        TopicRole::Telemetry,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The configured topic name of this role.
    pub fn topic(self, config: &Config) -> &str {
        match self {
            TopicRole::Alerts => &config.topics.alerts,
            TopicRole::Cases => &config.topics.cases,
            TopicRole::Inventory => &config.topics.inventory,
            TopicRole::Telemetry => &config.topics.telemetry,
        }
    }

    /// The role of a configured topic; `None` for a topic no role names.
    pub fn of(config: &Config, topic: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.topic(config) == topic)
    }
}

/// One input record and where it sits in its stream.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    pub topic: &'a str,
    /// The slot of its input ([`super::Inputs`]): a native role's index, an `[[inputs]]`
    /// topic's, or the repartition topic's.
    pub input: u16,
    /// The input partition, which is also the state partition its events belong to.
    pub partition: i32,
    /// Position in the partition (a file's line number, the simulator's sequence number).
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    /// `None` is a tombstone (on the compacted inventory: the asset named by the key is gone).
    pub payload: Option<&'a [u8]>,
    /// Kafka headers, copied to a dead letter; files and the simulator have none.
    pub headers: Option<&'a BorrowedHeaders>,
}

impl<'a> Record<'a> {
    /// A record of a native topic without headers, at partition 0 (files, the simulator, tests).
    pub fn new(topic: &'a str, role: TopicRole, offset: i64, payload: Option<&'a [u8]>) -> Self {
        Self::of_input(topic, role.index() as u16, offset, payload)
    }

    /// A record of the input in `slot`, without headers, at partition 0.
    pub fn of_input(topic: &'a str, input: u16, offset: i64, payload: Option<&'a [u8]>) -> Self {
        Self {
            topic,
            input,
            partition: 0,
            offset,
            key: None,
            payload,
            headers: None,
        }
    }

    pub fn with_key(self, key: Option<&'a [u8]>) -> Self {
        Self { key, ..self }
    }

    pub fn in_partition(self, partition: i32) -> Self {
        Self { partition, ..self }
    }
}

impl std::fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.topic, self.partition, self.offset)
    }
}

/// `topic/partition/offset`, the record's position in logs.
impl std::fmt::Display for Record<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl<'a> Record<'a> {
    /// The record of a Kafka message of a configured input topic.
    pub fn of_message(
        inputs: &super::Inputs,
        message: &'a rdkafka::message::BorrowedMessage<'_>,
    ) -> Option<Self> {
        let topic = message.topic();
        let Some(input) = inputs.slot(topic) else {
            tracing::warn!(topic, "record of a topic no input names: skipped");
            return None;
        };
        Some(Record {
            topic,
            input,
            partition: message.partition(),
            offset: message.offset(),
            key: message.key(),
            payload: message.payload(),
            headers: message.headers(),
        })
    }
}
