//! `socmetrics run`: the consumer loop (the one task that owns the pipeline), the HTTP
//! server, the broker probe, and a graceful stop.
//!
//! Lifecycle of the loop:
//! 1. subscribe; `/readyz` turns ready;
//! 2. take whatever records are ready (a batch), apply each, dead-letter the rejected ones and
//!    wait for those to be acknowledged, then store the batch's offsets;
//! 3. publish a snapshot for `/metrics` (at most every 50 ms, and on every tick so wall-clock
//!    windows slide and lag is fresh);
//! 4. on cancel: stop fetching, commit the stored offsets synchronously, flush dead letters,
//!    stop HTTP last.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::export::{Exporter, Status, http};
use crate::pipeline::{Outcome, Pipeline, Snapshot, TopicRole};
use crate::source::SourceError;
use crate::source::consumer::{self, InputConsumer};
use crate::source::dead_letter::{DeadLetters, RejectedRecord};

/// Most records taken into one batch.
const MAX_BATCH: usize = 2048;
/// Least time between two published snapshots while records flow.
const PUBLISH_EVERY: Duration = Duration::from_millis(50);
/// Wall-clock tick: slide windows, refresh lag, expire state.
const TICK: Duration = Duration::from_millis(500);
/// How often the brokers are asked whether they answer.
const PROBE_EVERY: Duration = Duration::from_secs(5);

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot listen on http.listen = {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("HTTP server failed: {0}")]
    Http(std::io::Error),
}

/// Runs until `shutdown` is cancelled, then drains and returns.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let status = Arc::new(Status::default());
    let mut pipeline = Pipeline::new(&config);
    let (publish, snapshots) =
        watch::channel(Arc::new(pipeline.snapshot(super::wall_clock(), true)));

    let listener = TcpListener::bind(&config.http.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: config.http.listen.clone(),
            source,
        })?;
    tracing::info!(addr = %config.http.listen, "serving /metrics, /healthz, /readyz");
    let exporter = Exporter {
        snapshots,
        status: Arc::clone(&status),
        kafka: true,
    };
    let tasks = TaskTracker::new();
    let http_stop = CancellationToken::new();
    let http_task = tasks.spawn(http::serve(listener, exporter, http_stop.clone()));

    let alerts_topic = config.topics.alerts.clone();
    let cases_topic = config.topics.cases.clone();
    let consumer = Arc::new(consumer::subscribe(
        &config,
        &[&alerts_topic, &cases_topic],
        Arc::clone(&status),
    )?);
    let dead_letters = match config.topics.dead_letter() {
        Some(topic) => Some(DeadLetters::new(&config, topic)?),
        None => None,
    };
    tracing::info!(
        brokers = %config.kafka.brokers,
        group = %config.kafka.group_id,
        alerts = %alerts_topic,
        cases = %cases_topic,
        clock = %config.clock.mode,
        dead_letter = config.topics.dead_letter().unwrap_or("none"),
        "consuming"
    );
    status.set_ready(true);
    tasks.spawn(probe_brokers(
        Arc::clone(&consumer),
        alerts_topic.clone(),
        Arc::clone(&status),
        shutdown.clone(),
    ));

    let consumed = consume(
        &config,
        &consumer,
        dead_letters.as_ref(),
        &mut pipeline,
        &publish,
        &status,
        &shutdown,
    )
    .await;

    status.set_ready(false);
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => tracing::info!("offsets committed"),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(error) => {
            tracing::warn!(%error, "final offset commit failed; records since the last commit will be read again")
        }
    }
    if let Some(letters) = &dead_letters {
        letters.flush(Duration::from_secs(10));
    }
    http_stop.cancel();
    tasks.close();
    let served = http_task.await;
    tasks.wait().await;
    tracing::info!("stopped");
    consumed?;
    match served {
        Ok(Err(error)) => Err(DaemonError::Http(error)),
        _ => Ok(()),
    }
}

/// The owner loop: batches in, offsets stored, snapshots out.
async fn consume(
    config: &Config,
    consumer: &InputConsumer,
    dead_letters: Option<&DeadLetters>,
    pipeline: &mut Pipeline,
    publish: &watch::Sender<Arc<Snapshot>>,
    status: &Status,
    shutdown: &CancellationToken,
) -> Result<(), DaemonError> {
    let mut batches = consumer.stream().ready_chunks(MAX_BATCH);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_publish = Instant::now();
    let mut last_error_log: Option<Instant> = None;
    let mut lag = Vec::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {
                let wall = super::wall_clock();
                pipeline.expire(wall);
                lag = consumer::lag(consumer);
                let mut snapshot = pipeline.snapshot(wall, true);
                snapshot.lag = lag.clone();
                publish.send_replace(Arc::new(snapshot));
                last_publish = Instant::now();
            }
            batch = batches.next() => {
                let Some(batch) = batch else { return Ok(()) };
                let wall = super::wall_clock();
                let mut processed: BTreeMap<(String, i32), i64> = BTreeMap::new();
                let mut letters = Vec::new();
                for message in &batch {
                    let message = match message {
                        Ok(message) => message,
                        Err(error) => {
                            if last_error_log.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                                tracing::warn!(%error, "kafka consume error");
                                last_error_log = Some(Instant::now());
                            }
                            continue;
                        }
                    };
                    status.set_kafka_up(true);
                    let role = role_of(config, message.topic());
                    let position = format!("{}/{}", message.partition(), message.offset());
                    if let Outcome::Rejected(rejection) = pipeline.step(role, message.payload(), wall, &position)
                        && let Some(letters_out) = dead_letters
                    {
                        let record = RejectedRecord {
                            topic: message.topic(),
                            partition: message.partition(),
                            offset: message.offset(),
                            key: message.key(),
                            payload: message.payload(),
                            headers: message.headers(),
                        };
                        letters.push(async move {
                            let sent = letters_out.send(&record, &rejection).await;
                            (record.topic.to_owned(), record.partition, record.offset, sent)
                        });
                    }
                    processed.insert((message.topic().to_owned(), message.partition()), message.offset());
                }
                for (topic, partition, offset, sent) in futures::future::join_all(letters).await {
                    if let Err((error, _)) = sent {
                        tracing::error!(%error, topic, partition, offset, "dead letter not delivered");
                    }
                }
                let processed: Vec<_> = processed.into_iter().map(|((t, p), o)| (t, p, o)).collect();
                if let Err(error) = consumer::store_processed(consumer, &processed) {
                    tracing::warn!(%error, "cannot store offsets (partition revoked?)");
                }
                if last_publish.elapsed() >= PUBLISH_EVERY {
                    let mut snapshot = pipeline.snapshot(wall, false);
                    snapshot.lag = lag.clone();
                    publish.send_replace(Arc::new(snapshot));
                    last_publish = Instant::now();
                }
            }
        }
    }
}

fn role_of(config: &Config, topic: &str) -> TopicRole {
    TopicRole::ALL
        .into_iter()
        .find(|role| role.topic(config) == topic)
        .unwrap_or(TopicRole::Alerts)
}

/// Asks the brokers every few seconds whether they answer: `soc_kafka_up`.
async fn probe_brokers(
    consumer: Arc<InputConsumer>,
    topic: String,
    status: Arc<Status>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(PROBE_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let consumer = Arc::clone(&consumer);
        let topic = topic.clone();
        let up = tokio::task::spawn_blocking(move || consumer::probe(&consumer, &topic))
            .await
            .unwrap_or(false);
        if up != status.kafka_up() {
            tracing::info!(up, "kafka reachability changed");
        }
        status.set_kafka_up(up);
    }
}
