//! Dead letters: a rejected record is copied to `topics.dead_letter` with its original key and
//! headers, plus `socmetrics.reason` (the `reason` label), `socmetrics.detail`, and where it came
//! from (`socmetrics.topic`, `socmetrics.partition`, `socmetrics.offset`). A record rejected for
//! its size is sent without its payload (`socmetrics.original_bytes` says how big it was): it
//! is still in its source topic at the offset given.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use super::{Record, SourceError};
use crate::config::Config;
use crate::formats::{RejectReason, Rejection};

/// The dead-letter producer.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("topic", &self.topic)
            .finish()
    }
}

impl DeadLetters {
    pub fn new(config: &Config, topic: &str) -> Result<Self, SourceError> {
        let mut client = super::consumer::client_config(config)?;
        client
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "60000")
            .set("message.max.bytes", "10485760");
        let producer = super::consumer::create(&client, "dead-letter producer", config)?;
        Ok(Self {
            producer,
            topic: topic.to_owned(),
        })
    }

    /// Enqueues the dead letter; the future resolves when the broker acknowledged it.
    pub async fn send(&self, record: &Record<'_>, rejection: &Rejection) -> OwnedDeliveryResult {
        let partition = record.partition.to_string();
        let offset = record.offset.to_string();
        let original_bytes = record.payload.map_or(0, <[u8]>::len).to_string();
        let mut headers = OwnedHeaders::new();
        if let Some(original) = record.headers {
            for header in original.iter() {
                headers = headers.insert(header);
            }
        }
        let headers = headers
            .insert(Header {
                key: "socmetrics.reason",
                value: Some(rejection.reason.as_str()),
            })
            .insert(Header {
                key: "socmetrics.detail",
                value: Some(rejection.detail.as_str()),
            })
            .insert(Header {
                key: "socmetrics.topic",
                value: Some(record.topic),
            })
            .insert(Header {
                key: "socmetrics.partition",
                value: Some(partition.as_str()),
            })
            .insert(Header {
                key: "socmetrics.offset",
                value: Some(offset.as_str()),
            })
            .insert(Header {
                key: "socmetrics.original_bytes",
                value: Some(original_bytes.as_str()),
            });
        let payload = match rejection.reason {
            RejectReason::TooLarge => None,
            _ => record.payload,
        };
        let mut letter = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
        if let Some(key) = record.key {
            letter = letter.key(key);
        }
        if let Some(payload) = payload {
            letter = letter.payload(payload);
        }
        let delivery: DeliveryFuture = loop {
            match self.producer.send_result(letter) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    letter = returned;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((error, returned)) => {
                    return Err((
                        error,
                        rdkafka::message::OwnedMessage::new(
                            returned.payload.map(<[u8]>::to_vec),
                            returned.key.map(<[u8]>::to_vec),
                            self.topic.clone(),
                            rdkafka::Timestamp::NotAvailable,
                            -1,
                            -1,
                            None,
                        ),
                    ));
                }
            }
        };
        match delivery.await {
            Ok(result) => result,
            Err(_cancelled) => Err((
                KafkaError::Canceled,
                rdkafka::message::OwnedMessage::new(
                    None,
                    None,
                    self.topic.clone(),
                    rdkafka::Timestamp::NotAvailable,
                    -1,
                    -1,
                    None,
                ),
            )),
        }
    }

    /// Waits for every queued dead letter (shutdown).
    pub fn flush(&self, timeout: Duration) {
        use rdkafka::producer::Producer;
        if let Err(error) = self.producer.flush(timeout) {
            tracing::warn!(%error, "dead letters not all delivered at shutdown");
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }
}
