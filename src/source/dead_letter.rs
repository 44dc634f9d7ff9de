//! Dead letters: a rejected record is copied to `topics.dead_letter` with its original key and
//! headers, plus `socmetrics.reason` (the `reason` label), `socmetrics.detail`, and where it came
//! from (`socmetrics.topic`, `socmetrics.partition`, `socmetrics.offset`). A record rejected for
//! its size is sent without its payload (`socmetrics.original_bytes` says how big it was): it
//! is still in its source topic at the offset given. So is one whose dead letter the dead-letter
//! topic refuses as too large (its `max.message.bytes`): it goes again without its payload, with
//! `socmetrics.payload_dropped`. A record's offset is stored only once its dead letter is
//! acknowledged: a failed delivery is retried until it is, or until the daemon stops.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use tokio_util::sync::CancellationToken;

use super::{Record, SourceError};
use crate::config::Config;
use crate::formats::{RejectReason, Rejection};

/// The pause after a dead letter failed the first time; it doubles up to [`LAST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LAST_PAUSE: Duration = Duration::from_secs(10);

/// What a dead letter carries of the rejected record's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Payload {
    /// The payload as read.
    Kept,
    /// The payload as read, sent alone: librdkafka batches letters, and the broker refuses a
    /// batch over the topic's `max.message.bytes` as a whole, so a letter refused as too large
    /// may have been refused for a neighbour. Alone, a refusal is its own.
    KeptAlone,
    /// None: the record was rejected for its size.
    TooLarge,
    /// None: the topic refused the letter with it (`socmetrics.payload_dropped`).
    TooLargeForDeadLetters,
}

impl Payload {
    fn dropped(self) -> Option<&'static str> {
        match self {
            Self::TooLargeForDeadLetters => Some("too large for the dead-letter topic"),
            Self::Kept | Self::KeptAlone | Self::TooLarge => None,
        }
    }
}

/// The dead-letter producer.
#[derive(Clone)]
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    /// Held by a letter retried alone.
    alone: std::sync::Arc<tokio::sync::Mutex<()>>,
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
            alone: std::sync::Arc::default(),
        })
    }

    /// Sends the dead letter and waits until the broker has acknowledged it: true then, false
    /// only when `stop` is cancelled first (the record's offset must not be stored). A letter
    /// too large for the dead-letter topic goes again without its payload; any other failure
    /// (brokers down, a timeout) is retried with a growing pause, logged each time.
    pub async fn send_acknowledged(
        &self,
        record: &Record<'_>,
        rejection: &Rejection,
        stop: &CancellationToken,
    ) -> bool {
        let mut payload = match rejection.reason {
            RejectReason::TooLarge => Payload::TooLarge,
            _ => Payload::Kept,
        };
        let mut pause = FIRST_PAUSE;
        loop {
            let sent = tokio::select! {
                () = stop.cancelled() => return false,
                sent = async {
                    let _alone = match payload {
                        Payload::KeptAlone => Some(self.alone.lock().await),
                        _ => None,
                    };
                    self.send(record, rejection, payload).await
                } => sent,
            };
            let too_large = matches!(
                sent,
                Err(KafkaError::MessageProduction(
                    RDKafkaErrorCode::MessageSizeTooLarge
                ))
            );
            match sent {
                Ok(()) => return true,
                Err(_) if too_large && payload == Payload::Kept => {
                    payload = Payload::KeptAlone;
                    continue;
                }
                Err(_) if too_large && payload == Payload::KeptAlone => {
                    tracing::warn!(
                        topic = record.topic,
                        partition = record.partition,
                        offset = record.offset,
                        dead_letter = %self.topic,
                        "dead letter too large for its topic: sent without its payload"
                    );
                    payload = Payload::TooLargeForDeadLetters;
                    continue;
                }
                Err(error) => {
                    tracing::error!(
                        %error,
                        topic = record.topic,
                        partition = record.partition,
                        offset = record.offset,
                        retry_in = ?pause,
                        "dead letter not delivered; its offset waits until it is"
                    );
                }
            }
            tokio::select! {
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(LAST_PAUSE);
        }
    }

    /// Enqueues one dead letter and waits for the broker's answer.
    async fn send(
        &self,
        record: &Record<'_>,
        rejection: &Rejection,
        payload: Payload,
    ) -> Result<(), KafkaError> {
        let partition = record.partition.to_string();
        let offset = record.offset.to_string();
        let original_bytes = record.payload.map_or(0, <[u8]>::len).to_string();
        let mut headers = OwnedHeaders::new();
        if let Some(original) = record.headers {
            for header in original.iter() {
                headers = headers.insert(header);
            }
        }
        let mut headers = headers
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
        if let Some(why) = payload.dropped() {
            headers = headers.insert(Header {
                key: "socmetrics.payload_dropped",
                value: Some(why),
            });
        }
        let mut letter = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
        if let Some(key) = record.key {
            letter = letter.key(key);
        }
        if let (Payload::Kept | Payload::KeptAlone, Some(bytes)) = (payload, record.payload) {
            letter = letter.payload(bytes);
        }
        let delivery: DeliveryFuture = loop {
            match self.producer.send_result(letter) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    letter = returned;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((error, _)) => return Err(error),
            }
        };
        match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _))) => Err(error),
            Err(_cancelled) => Err(KafkaError::Canceled),
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
