//! Producing a batch of records and knowing when the broker has all of them: the changelog's
//! and the repartition topic's one way of writing. One shared [`Tally`] per batch counts the
//! acknowledgements in librdkafka's delivery callback (on the producer's polling thread), so a
//! record costs an atomic decrement, not a future and a oneshot channel as with rdkafka's
//! `FutureProducer` (BENCHMARKS.md, issue 12: that was a visible share of the Kafka path).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::ToBytes;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use tokio::sync::Notify;

/// How long to wait before queueing again when librdkafka's queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(5);

/// The acknowledgements of one batch still to come, and its first failure.
#[derive(Debug)]
pub struct Tally {
    /// Records not yet acknowledged, plus one while the batch is still being queued.
    remaining: AtomicUsize,
    failure: Mutex<Option<KafkaError>>,
    done: Notify,
}

impl Tally {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            remaining: AtomicUsize::new(1),
            failure: Mutex::new(None),
            done: Notify::new(),
        })
    }

    fn settle_one(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }

    /// Resolves once every record is acknowledged or failed for good: the first failure.
    pub async fn wait(&self) -> Result<(), KafkaError> {
        while self.remaining.load(Ordering::Acquire) > 0 {
            // `notify_one` keeps a permit when nobody waits yet, so none is missed.
            self.done.notified().await;
        }
        match self
            .failure
            .lock()
            .ok()
            .and_then(|mut failure| failure.take())
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The producer context: counts each delivery in its batch's tally.
#[derive(Debug, Default)]
pub struct Acks;

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = Arc<Tally>;

    fn delivery(&self, result: &DeliveryResult<'_>, tally: Arc<Tally>) {
        if let Err((error, _)) = result
            && let Ok(mut failure) = tally.failure.lock()
        {
            failure.get_or_insert_with(|| error.clone());
        }
        tally.settle_one();
    }
}

/// A producer whose batches are awaited through a [`Tally`]; librdkafka's own thread polls it.
pub type AckedProducer = ThreadedProducer<Acks>;

/// A record to produce: topic, partition (`None`: by key), key, payload (`None`: tombstone).
pub struct Outgoing<'a, K: ToBytes + ?Sized, P: ToBytes + ?Sized> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub key: &'a K,
    pub payload: Option<&'a P>,
}

/// Queues every record (pausing while librdkafka's queue is full) and returns the batch's
/// tally; a record librdkafka refuses outright fails the batch at once.
pub async fn queue<'a, K, P>(
    producer: &AckedProducer,
    records: Vec<Outgoing<'a, K, P>>,
) -> Result<Arc<Tally>, KafkaError>
where
    K: ToBytes + ?Sized + 'a,
    P: ToBytes + ?Sized + 'a,
{
    let tally = Tally::new();
    for outgoing in records {
        let mut record =
            BaseRecord::with_opaque_to(outgoing.topic, Arc::clone(&tally)).key(outgoing.key);
        if let Some(partition) = outgoing.partition {
            record = record.partition(partition);
        }
        if let Some(payload) = outgoing.payload {
            record = record.payload(payload);
        }
        tally.remaining.fetch_add(1, Ordering::AcqRel);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((error, _)) => {
                    // Neither this record nor the guard will be acknowledged.
                    tally.settle_one();
                    tally.settle_one();
                    return Err(error);
                }
            }
        }
    }
    // The batch is queued: drop the guard that kept the count above zero meanwhile.
    tally.settle_one();
    Ok(tally)
}

/// [`queue`], then waits for every acknowledgement: the first failure, if any.
pub async fn send_all<'a, K, P>(
    producer: &AckedProducer,
    records: Vec<Outgoing<'a, K, P>>,
) -> Result<(), KafkaError>
where
    K: ToBytes + ?Sized + 'a,
    P: ToBytes + ?Sized + 'a,
{
    queue(producer, records).await?.wait().await
}

/// Flushes `producer` at shutdown, logging what could not be delivered in time.
pub fn flush(producer: &AckedProducer, timeout: Duration, what: &str) {
    if let Err(error) = producer.flush(timeout) {
        tracing::warn!(%error, "{what} not flushed at shutdown");
    }
}
