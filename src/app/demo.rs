//! `socmetrics demo`: the daemon's pipeline and exporter fed in process by the simulator:
//! history first (a day by default: alerts and the case events of the incidents they opened,
//! the asset inventory and its log sources' heartbeats, in time order), so every window has
//! data, there are open, breached and resolved incidents and a few unmonitored assets, then
//! live traffic on the wall clock — including the later case events of incidents detected
//! during the history.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::{EventTime, Severity};
use crate::export::{Exporter, Status, http};
use crate::pipeline::Pipeline;
use crate::sim::{self, Simulator};
use crate::source::{Record, TopicRole};

use super::clock;
use super::rejections::RejectionLog;

use super::daemon::DaemonError;

const STEP: Duration = Duration::from_millis(200);
const SUMMARY_EVERY: Duration = Duration::from_secs(15);
/// History is generated and applied a slice at a time, with a yield between two slices so
/// signals and scrapes are served meanwhile (and the whole history is never held at once).
const HISTORY_SLICE_MILLIS: i64 = 5 * 60_000;

/// Runs the demo until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    history_length: Duration,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let status = Arc::new(Status::default());
    let mut pipeline = Pipeline::new(&config);
    let mut simulator = Simulator::new(clock::wall().millis() as u64);

    let start = clock::wall();
    let history_start =
        start.saturating_sub_millis(i64::try_from(history_length.as_millis()).unwrap_or(i64::MAX));
    // The pipeline's wall clock never goes backwards: it starts where the history does.
    let (publish, snapshots) = watch::channel(Arc::new(pipeline.fresh_snapshot(history_start)));
    let listener = TcpListener::bind(&config.http.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: config.http.listen.clone(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_or(config.http.listen.clone(), |a| a.to_string());
    let exporter = Exporter {
        snapshots,
        status: Arc::clone(&status),
        kafka: false,
        objectives: Arc::new(config.compliance.objectives.clone()),
    };
    let server = http::Server::new(&config.http)?;
    let server = tokio::spawn(server.serve(listener, exporter, shutdown.clone()));

    tracing::info!(
        "demo: replaying simulated SOC traffic of the past {}",
        humantime::format_duration(history_length)
    );
    let mut feed = Feed::new(&config);
    let mut from = history_start;
    while from < start && !shutdown.is_cancelled() {
        let to = EventTime(
            from.millis()
                .saturating_add(HISTORY_SLICE_MILLIS)
                .min(start.millis()),
        );
        // History is applied as if it were live: each record at its own time, deadlines
        // passing between slices, so breaches are counted when they happened and not because
        // a stage's event was still further down the replay.
        for record in simulator.records_between(from, to) {
            let at = record.at;
            feed.apply(&mut pipeline, &[record], at);
        }
        // The demo keeps no changelog: expiry changes nothing durable.
        let _ = pipeline.expire(to);
        from = to;
        tokio::task::yield_now().await;
    }
    publish.send_replace(Arc::new(pipeline.fresh_snapshot(start)));
    status.set_ready(true);
    tracing::info!(
        alerts = feed.offsets[TopicRole::Alerts.index()],
        case_events = feed.offsets[TopicRole::Cases.index()],
        inventory = feed.offsets[TopicRole::Inventory.index()],
        heartbeats = feed.offsets[TopicRole::Telemetry.index()],
        "demo: history replayed; metrics at http://{addr}/metrics (Ctrl-C stops)"
    );

    let mut last = start;
    let mut step = tokio::time::interval(STEP);
    let mut summary = tokio::time::interval(SUMMARY_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = summary.tick() => log_summary(&mut pipeline),
            _ = step.tick() => {
                let wall = clock::wall();
                feed.apply(&mut pipeline, &simulator.records_between(last, wall), wall);
                last = last.max(wall);
                let _ = pipeline.expire(wall);
                publish.send_replace(Arc::new(pipeline.fresh_snapshot(wall)));
            }
        }
    }
    match server.await {
        Ok(Err(error)) => Err(DaemonError::Http(error)),
        _ => Ok(()),
    }
}

/// The simulator's records into the pipeline, each on its topic, numbered per topic.
#[derive(Debug)]
struct Feed {
    topics: [String; TopicRole::ALL.len()],
    /// Records applied so far, per topic (by [`TopicRole::index`]).
    offsets: [u64; TopicRole::ALL.len()],
    rejections: RejectionLog,
}

impl Feed {
    fn new(config: &Config) -> Self {
        Self {
            topics: TopicRole::ALL.map(|role| role.topic(config).to_owned()),
            offsets: [0; TopicRole::ALL.len()],
            rejections: RejectionLog::default(),
        }
    }

    /// Applies generated records as one batch with `wall` as the wall clock, each with its
    /// key (an inventory tombstone is a keyed record without a value).
    fn apply(&mut self, pipeline: &mut Pipeline, generated: &[sim::Record], wall: EventTime) {
        let records: Vec<Record<'_>> = generated
            .iter()
            .map(|generated| {
                let slot = generated.role.index();
                let offset = self.offsets[slot];
                self.offsets[slot] += 1;
                generated.as_record(&self.topics[slot], offset as i64)
            })
            .collect();
        let batch = pipeline.apply_local(&records, wall);
        self.rejections.batch(&records, &batch);
    }
}

/// One line on the console: alerts in the shortest window by severity, and open incidents.
fn log_summary(pipeline: &mut Pipeline) {
    let snapshot = pipeline.fresh_snapshot(clock::wall());
    let card = &snapshot.scorecard;
    let Some(window) = card.alert_windows.first() else {
        return;
    };
    let mut by_severity = [0u64; 5];
    for series in &card.alerts {
        by_severity[series.severity.index()] += series.volume.first().copied().unwrap_or(0);
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|s| format!("{}={}", s, by_severity[s.index()]))
        .collect();
    let rejected: u64 = snapshot.topics.iter().flat_map(|t| t.rejected).sum();
    let incidents = &card.incidents;
    let open: u64 = incidents.open.iter().flatten().sum();
    let breached: u64 = incidents.breached_open.iter().flatten().sum();
    let coverage = card.coverage;
    tracing::info!(
        "demo: alerts in the last {}: {}; open incidents: {open} ({breached} SLA stages \
         breached); assets unmonitored: {} of {}; rejected so far: {rejected}",
        window.label,
        counts.join(" "),
        coverage.unmonitored(),
        coverage.inventory
    );
}
