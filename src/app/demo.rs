//! `socmetrics demo`: the daemon's pipeline and exporter fed in process by the simulator:
//! history first (a day by default), so every window has data, then live traffic on the wall
//! clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::{EventTime, Severity};
use crate::export::{Exporter, Status, http};
use crate::pipeline::{Pipeline, TopicRole};
use crate::sim::Simulator;

use super::daemon::DaemonError;

const STEP: Duration = Duration::from_millis(200);
const SUMMARY_EVERY: Duration = Duration::from_secs(15);
/// History records applied between two yields, so signals and scrapes are served meanwhile.
const HISTORY_CHUNK: usize = 10_000;

/// Runs the demo until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    history_length: Duration,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let status = Arc::new(Status::default());
    let mut pipeline = Pipeline::new(&config);
    let mut simulator = Simulator::new(EventTime::now_wall().millis() as u64);

    let (publish, snapshots) =
        watch::channel(Arc::new(pipeline.snapshot(super::wall_clock(), true)));
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
    };
    let server = tokio::spawn(http::serve(listener, exporter, shutdown.clone()));

    let start = super::wall_clock();
    let history = simulator.alerts_between(
        start.saturating_sub_millis(i64::try_from(history_length.as_millis()).unwrap_or(i64::MAX)),
        start,
    );
    tracing::info!(
        records = history.len(),
        "demo: replaying simulated SOC traffic of the past {}",
        humantime::format_duration(history_length)
    );
    for (chunk_index, chunk) in history.chunks(HISTORY_CHUNK).enumerate() {
        if shutdown.is_cancelled() {
            break;
        }
        for (offset, record) in chunk.iter().enumerate() {
            let position = format!("demo/{}", chunk_index * HISTORY_CHUNK + offset);
            pipeline.step(TopicRole::Alerts, Some(record), start, &position);
        }
        tokio::task::yield_now().await;
    }
    publish.send_replace(Arc::new(pipeline.snapshot(start, true)));
    status.set_ready(true);
    tracing::info!("demo: metrics at http://{addr}/metrics (Ctrl-C stops)");

    let mut last = start;
    let mut offset = history.len();
    let mut step = tokio::time::interval(STEP);
    let mut summary = tokio::time::interval(SUMMARY_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = summary.tick() => log_summary(&mut pipeline),
            _ = step.tick() => {
                let wall = super::wall_clock();
                for record in simulator.alerts_between(last, wall) {
                    pipeline.step(TopicRole::Alerts, Some(&record), wall, &format!("demo/{offset}"));
                    offset += 1;
                }
                last = wall;
                pipeline.expire(wall);
                publish.send_replace(Arc::new(pipeline.snapshot(wall, true)));
            }
        }
    }
    match server.await {
        Ok(Err(error)) => Err(DaemonError::Http(error)),
        _ => Ok(()),
    }
}

/// One line on the console: alerts in the shortest window, by severity.
fn log_summary(pipeline: &mut Pipeline) {
    let snapshot = pipeline.snapshot(super::wall_clock(), true);
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
    tracing::info!(
        "demo: alerts in the last {}: {} (rejected so far: {rejected})",
        window.label,
        counts.join(" ")
    );
}
