//! `socmetrics run`: the consumer loop (the one task that owns the pipeline), the HTTP
//! server, the broker probe, and a graceful stop.
//!
//! Lifecycle of the loop:
//! 1. check the input topics (same partition count), create or check the changelog, retried
//!    until Kafka answers (`app::startup`); subscribe;
//! 2. on an assignment (paused by the rebalance callback): `/readyz` 503, read each new
//!    partition's changelog into the state, resume the partition, `/readyz` 200 (503 until
//!    the first assignment is restored, or 30 s without one);
//! 3. take whatever records are ready (a batch) of restored partitions, apply each, wait for
//!    its dead letters and forwarded events; its state changes and offsets wait in
//!    [`Pending`] (the commit interval). Every `pending::COMMIT_EVERY`, the changes waiting
//!    are encoded (each key once, as it is then) and sent to the changelog; while later
//!    batches are applied the broker acknowledges them, and only then are the offsets they
//!    cover stored (one write in flight at a time, so the changelog keeps the order of
//!    changes);
//! 4. on a revocation (offsets committed in the callback): drop the partitions' state;
//! 5. publish a snapshot for `/metrics` (at most every 50 ms, and on every tick so wall-clock
//!    windows slide, deadlines pass and lag is fresh);
//! 6. on cancel: stop fetching, write the last changes, commit the stored offsets
//!    synchronously, flush dead letters, stop HTTP last.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod rebalance;

use super::clock::{self, Pacer};
use super::pending::{Pending, Taken};
use super::rejections::RejectionLog;

use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::export::{Exporter, Status, http};
use crate::pipeline::{Outcome, Pipeline, Snapshot};
use crate::source::Inputs;
use crate::source::Record;
use crate::source::SourceError;
use crate::source::changelog::ChangelogWriter;
use crate::source::consumer::{self, Control, InputConsumer};
use crate::source::dead_letter::DeadLetters;
use crate::source::repartition::RepartitionWriter;

/// Most records taken into one batch.
const MAX_BATCH: usize = 2048;
/// Least time between two published snapshots while records flow.
const PUBLISH_EVERY: Duration = Duration::from_millis(50);
/// Wall-clock tick: slide windows, pass deadlines, refresh lag, expire state.
const TICK: Duration = Duration::from_millis(500);
/// Ready without any assignment after this long: an instance the group gives nothing.
const READY_WITHOUT_ASSIGNMENT: Duration = Duration::from_secs(30);
/// How long the last changes may take to reach the changelog at shutdown.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);
/// The incident KPIs are recomputed when at least this many times their last cost has passed
/// since (or when asked for fresh ones), so the pass over the incidents never takes more than
/// ~10 % of the owner task.
const CARD_PACE: u32 = 10;

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
    #[error("http.web_config_file: {0}")]
    WebConfig(#[from] http::WebConfigError),
}

/// Runs until `shutdown` is cancelled, then drains and returns.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let status = Arc::new(Status::default());
    let mut pipeline = Pipeline::new(&config);
    pipeline.make_durable();
    let (publish, snapshots) = watch::channel(Arc::new(pipeline.fresh_snapshot(clock::wall())));

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
        objectives: Arc::new(config.compliance.objectives.clone()),
    };
    let tasks = TaskTracker::new();
    let http_stop = CancellationToken::new();
    let server = http::Server::new(&config.http)?;
    let http_task = tasks.spawn(server.serve(listener, exporter, http_stop.clone()));

    let Some(super::startup::Connected { partitions, global }) =
        super::startup::connect(&config, &shutdown).await?
    else {
        // Stopped before Kafka answered: nothing was consumed, nothing is to drain.
        http_stop.cancel();
        tasks.close();
        let served = http_task.await;
        tracing::info!("stopped before Kafka answered");
        return match served {
            Ok(Err(error)) => Err(DaemonError::Http(error)),
            _ => Ok(()),
        };
    };
    let state_topic = config.state_topic();
    let writer = ChangelogWriter::new(&config, &state_topic)?;
    let dead_letters = match config.topics.dead_letter() {
        Some(topic) => Some(DeadLetters::new(&config, topic)?),
        None => None,
    };
    let repartition = match config.repartitions() {
        true => Some(RepartitionWriter::new(&config)?),
        false => None,
    };
    let inputs = pipeline.inputs().clone();
    let (control_tx, control) = mpsc::unbounded_channel();
    let topics = inputs.group_topics();
    let consumer = Arc::new(consumer::subscribe(
        &config,
        &topics,
        Arc::clone(&status),
        control_tx,
    )?);
    tracing::info!(
        brokers = %config.kafka.brokers,
        group = %config.kafka.group_id,
        alerts = %config.topics.alerts,
        cases = %config.topics.cases,
        inputs = ?config.inputs.iter().map(|i| format!("{} ({}{})", i.topic, i.format, if i.keyed_by_incident { ", keyed by incident" } else { "" })).collect::<Vec<_>>(),
        repartition = repartition.as_ref().map_or("none".to_owned(), |_| config.repartition_topic()),
        changelog = %state_topic,
        partitions,
        clock = %config.clock.mode,
        dead_letter = config.topics.dead_letter().unwrap_or("none"),
        "consuming"
    );
    tasks.spawn(super::probe::probe_brokers(
        Arc::clone(&consumer),
        config.topics.alerts.clone(),
        Arc::clone(&status),
        shutdown.clone(),
    ));

    let mut owner = Owner {
        config: &config,
        inputs: &inputs,
        consumer: &consumer,
        writer: &writer,
        repartition: repartition.as_ref(),
        dead_letters: dead_letters.as_ref(),
        pipeline: &mut pipeline,
        publish: &publish,
        status: &status,
        shutdown: &shutdown,
        state_topic: &state_topic,
        owned: BTreeMap::new(),
        lag: Vec::new(),
        started: clock::monotonic(),
        assigned_once: false,
        in_flight: None,
        pending: Pending::default(),
        batches_since_tick: 0,
        card_pacer: Pacer::new(CARD_PACE),
        rejections: RejectionLog::default(),
    };
    let consumed = owner.consume(control, global.as_ref()).await;
    owner.drain(&tasks).await;
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

/// The state partitions this instance owns: the input partitions of each number it holds,
/// and whether its state is restored.
#[derive(Debug, Default)]
struct Owned {
    inputs: BTreeSet<String>,
    restored: bool,
}

/// The owner task: the only holder of the pipeline.
struct Owner<'a> {
    config: &'a Config,
    inputs: &'a Inputs,
    consumer: &'a InputConsumer,
    writer: &'a ChangelogWriter,
    /// Where the events of inputs not keyed by incident go, when any is configured.
    repartition: Option<&'a RepartitionWriter>,
    dead_letters: Option<&'a DeadLetters>,
    pipeline: &'a mut Pipeline,
    publish: &'a watch::Sender<Arc<Snapshot>>,
    status: &'a Status,
    shutdown: &'a CancellationToken,
    state_topic: &'a str,
    owned: BTreeMap<i32, Owned>,
    lag: Vec<(String, i32, i64)>,
    started: Instant,
    /// Ready (`/readyz` 200) once the first assignment is restored.
    assigned_once: bool,
    /// The last changelog write and the offsets it covers.
    in_flight: Option<InFlight>,
    /// Changes and offsets of the batches applied since that write.
    pending: Pending,
    /// Batches taken since the last tick (none: consumption is idle).
    batches_since_tick: u32,
    /// Paces the recomputation of the incident KPIs against its cost.
    card_pacer: Pacer,
    rejections: RejectionLog,
}

/// A changelog write not acknowledged yet.
struct InFlight {
    write: tokio::task::JoinHandle<bool>,
    /// `(topic, partition, offset)` of the last records whose state it makes durable.
    processed: Vec<(String, i32, i64)>,
    /// The sends to the repartition topic of those records, which must succeed too.
    forwards: Vec<tokio::task::JoinHandle<bool>>,
}

/// Whether every send resolved true (each is awaited, so none is left running).
async fn all_acknowledged(sends: Vec<tokio::task::JoinHandle<bool>>) -> bool {
    let mut all = true;
    for send in sends {
        all &= send.await.unwrap_or(false);
    }
    all
}

impl Owner<'_> {
    /// The loop: rebalances, batches and ticks until cancelled.
    async fn consume(
        &mut self,
        mut control: mpsc::UnboundedReceiver<Control>,
        global: Option<&rdkafka::consumer::StreamConsumer>,
    ) -> Result<(), DaemonError> {
        let mut coverage = match global {
            Some(consumer) => consumer.stream().ready_chunks(MAX_BATCH).left_stream(),
            None => futures::stream::pending().right_stream(),
        };
        let consumer = self.consumer;
        let mut batches = consumer.stream().ready_chunks(MAX_BATCH);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_publish = clock::monotonic();
        let mut last_error_log: Option<Instant> = None;
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Ok(()),
                Some(message) = control.recv() => self.rebalance(message).await,
                Some(batch) = coverage.next() => {
                    // Inventory and telemetry: read whole by every instance, never committed;
                    // they change no changelog state.
                    let records: Vec<Record<'_>> = batch
                        .iter()
                        .flatten()
                        .filter_map(|message| Record::of_message(self.inputs, message))
                        .collect();
                    let applied = self.pipeline.apply_batch(&records, clock::wall());
                    self.rejections.batch(&records, &applied);
                    // None with the native format; any would go with the next write.
                    self.pending.add_changes(applied.changes, clock::monotonic());
                }
                _ = tick.tick() => {
                    let wall = clock::wall();
                    let expired = self.pipeline.expire(wall);
                    self.pending.add_changes(expired, clock::monotonic());
                    // Whatever waits is written at least once a tick.
                    if !self.flush(true).await {
                        return Ok(());
                    }
                    if !self.assigned_once && self.started.elapsed() > READY_WITHOUT_ASSIGNMENT {
                        // No partitions for us (more instances than partitions): nothing to restore.
                        self.assigned_once = true;
                        self.status.set_ready(true);
                    }
                    self.resume_restored();
                    self.lag = consumer::lag(consumer);
                    // Paced like any publish (at a million incidents a recomputation costs over
                    // a second), except once records stop coming: then the first idle tick
                    // brings the incident KPIs up to everything consumed.
                    let idle = std::mem::take(&mut self.batches_since_tick) == 0;
                    self.publish_snapshot(wall, idle && self.pipeline.changed_since_card());
                    last_publish = clock::monotonic();
                }
                batch = batches.next() => {
                    let Some(batch) = batch else { return Ok(()) };
                    self.batches_since_tick += 1;
                    // Rebalances seen while fetching this batch come first.
                    while let Ok(message) = control.try_recv() {
                        self.rebalance(message).await;
                    }
                    let wall = clock::wall();
                    let records = self.owned_records(&batch, &mut last_error_log);
                    if !self.take_batch(&records, wall).await {
                        return Ok(());
                    }
                    if last_publish.elapsed() >= PUBLISH_EVERY {
                        self.publish_snapshot(wall, false);
                        last_publish = clock::monotonic();
                    }
                }
            }
        }
    }

    /// The stop, within the drain deadline: the batch in flight settled (its offsets stored
    /// if the broker acknowledged it in time), the changes not yet written sent to the
    /// changelog, the stored offsets committed, the changelog and dead letters flushed.
    async fn drain(&mut self, tasks: &TaskTracker) {
        let deadline = CancellationToken::new();
        let expire = deadline.clone();
        tasks.spawn(async move {
            tokio::time::sleep(DRAIN_DEADLINE).await;
            expire.cancel();
        });
        tokio::select! {
            _ = self.settle() => {}
            () = deadline.cancelled() => tracing::warn!("drain deadline passed before the changelog acknowledged the last batch"),
        }
        // Everything the engine holds must reach the changelog; the offsets it covers are
        // stored if the broker acknowledges it within the deadline.
        let last = self.pending.take();
        let records = self.pipeline.state_records(&last.changes);
        let written = self.writer.clone().write_durably(records, deadline.clone());
        let forwarded = async {
            tokio::select! {
                all = all_acknowledged(last.forwards) => all,
                () = deadline.cancelled() => false,
            }
        };
        if let (true, true) = tokio::join!(written, forwarded) {
            self.store(&last.offsets);
        }
        deadline.cancel();
        self.status.set_ready(false);
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => tracing::info!("offsets committed"),
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::warn!(%error, "final offset commit failed; records since the last commit will be read again")
            }
        }
        self.writer.flush(Duration::from_secs(10));
        if let Some(out) = self.repartition {
            out.flush(Duration::from_secs(10));
        }
        if let Some(letters) = self.dead_letters {
            letters.flush(Duration::from_secs(10));
        }
    }

    /// The records of a fetched batch that this instance owns and has restored; the rest are
    /// left for whoever owns them, offsets untouched. Consume errors are logged every 10 s.
    fn owned_records<'m>(
        &self,
        batch: &'m [rdkafka::error::KafkaResult<rdkafka::message::BorrowedMessage<'_>>],
        last_error_log: &mut Option<Instant>,
    ) -> Vec<Record<'m>> {
        let mut records = Vec::with_capacity(batch.len());
        for message in batch {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    if last_error_log.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                        tracing::warn!(%error, "kafka consume error");
                        *last_error_log = Some(clock::monotonic());
                    }
                    continue;
                }
            };
            self.status.set_kafka_up(true);
            let partition = message.partition();
            // A topic not keyed by incident holds no state: its records are only forwarded.
            if !self.inputs.keyed(message.topic())
                || self
                    .owned
                    .get(&partition)
                    .is_some_and(|o| o.restored && o.inputs.contains(message.topic()))
            {
                records.extend(Record::of_message(self.inputs, message));
            }
        }
        records
    }

    /// Applies a batch, dead-letters its rejections and forwards its events; its changes and
    /// offsets then wait for the next changelog write, which starts when due. False when
    /// stopping before the batch's letters, forwards or the previous write were acknowledged.
    async fn take_batch(&mut self, records: &[Record<'_>], wall: crate::event::EventTime) -> bool {
        let applied = self.pipeline.apply_batch(records, wall);
        self.rejections.batch(records, &applied);
        let lettered = match self.dead_letters {
            Some(out)
                if applied
                    .outcomes
                    .iter()
                    .any(|o| matches!(o, Outcome::Rejected(_))) =>
            {
                // `/metrics` shows the batch even while a refused letter holds it back.
                self.publish_snapshot(wall, false);
                self.dead_letter(out, records, &applied.outcomes).await
            }
            _ => true,
        };
        if let Some(out) = self.repartition
            && !applied.forwards.is_empty()
        {
            // Queued now, in order; acknowledged while the next batches are applied.
            let send = out.forward(applied.forwards, self.shutdown.clone()).await;
            self.pending.add_forwards(send);
        }
        let now = clock::monotonic();
        if !lettered {
            // Stopping: its offsets are not stored, but its changes are still written by the
            // drain, as everything the engine now holds must be.
            self.pending.add_changes(applied.changes, now);
            return false;
        }
        self.pending
            .add_batch(applied.changes, applied.offsets, records.len(), now);
        self.flush(false).await
    }

    /// Starts the next changelog write when one is due (`force`: whenever anything waits),
    /// settling the write in flight first; a write in flight that has not finished is only
    /// waited for when forced or when too much waits. False when stopping before the write
    /// in flight was acknowledged.
    async fn flush(&mut self, force: bool) -> bool {
        let busy = self
            .in_flight
            .as_ref()
            .is_some_and(|f| !f.write.is_finished());
        let due = force || self.pending.due(clock::monotonic());
        let wait = force || self.pending.full();
        if busy && (self.pending.is_empty() || !(due && wait)) {
            return true;
        }
        // The write in flight, if any, is done or must be waited for: its offsets are stored.
        if !self.settle().await {
            return false;
        }
        if self.pending.is_empty() || !due {
            return true;
        }
        let Taken {
            changes,
            offsets,
            forwards,
        } = self.pending.take();
        let records = self.pipeline.state_records(&changes);
        self.in_flight = Some(InFlight {
            write: tokio::spawn(
                self.writer
                    .clone()
                    .write_durably(records, self.shutdown.clone()),
            ),
            processed: offsets,
            forwards,
        });
        true
    }

    /// Sends every rejected record of a batch to the dead-letter topic and waits for the
    /// broker's acknowledgements (the batch's offsets are stored only after). False when
    /// stopping before every one was acknowledged.
    async fn dead_letter(
        &self,
        out: &DeadLetters,
        records: &[Record<'_>],
        outcomes: &[Outcome],
    ) -> bool {
        let letters = records
            .iter()
            .zip(outcomes)
            .filter_map(|(record, outcome)| match outcome {
                Outcome::Rejected(rejection) => {
                    Some(out.send_acknowledged(record, rejection, self.shutdown))
                }
                _ => None,
            });
        futures::future::join_all(letters)
            .await
            .into_iter()
            .all(|acknowledged| acknowledged)
    }

    fn publish_snapshot(&mut self, wall: crate::event::EventTime, fresh: bool) {
        if fresh || self.card_pacer.due() {
            let pipeline = &mut *self.pipeline;
            self.card_pacer.run(|| pipeline.refresh_incidents(wall));
        }
        let mut snapshot = self.pipeline.snapshot(wall);
        snapshot.lag = self.lag.clone();
        self.publish.send_replace(Arc::new(snapshot));
    }

    /// Waits for the batch whose changelog write is in flight and stores its offsets once
    /// the write is acknowledged. False when the write was abandoned (shutting down).
    async fn settle(&mut self) -> bool {
        let Some(in_flight) = self.in_flight.take() else {
            return true;
        };
        let written = in_flight.write.await.unwrap_or(false);
        if !(all_acknowledged(in_flight.forwards).await && written) {
            return false;
        }
        self.store(&in_flight.processed);
        true
    }

    /// Stores the offsets of records whose state is durable.
    fn store(&self, processed: &[(String, i32, i64)]) {
        if let Err(error) = consumer::store_processed(self.consumer, processed) {
            tracing::warn!(%error, "cannot store offsets (partition revoked?)");
        }
    }
}
