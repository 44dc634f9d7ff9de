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

use crate::config::{Config, InputConfig};
use crate::event::{EventTime, Severity};
use crate::export::{Exporter, Status, http};
use crate::formats::Format;
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
    mut config: Config,
    history_length: Duration,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    add_vendor_inputs(&mut config);
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
    let mut feed = Feed::new(&pipeline);
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
        vendor_alerts = feed.offsets[TopicRole::ALL.len()..].iter().sum::<u64>(),
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

/// With no `[[inputs]]` configured, the demo reads its vendor streams ([`sim::vendor`]) as a
/// user would configure them: one unkeyed input per format, through the repartition path.
fn add_vendor_inputs(config: &mut Config) {
    if config.inputs.is_empty() {
        config.inputs = sim::vendor::FORMATS
            .iter()
            .copied()
            .map(|format| InputConfig {
                topic: sim::vendor::topic(format),
                format,
                keyed_by_incident: false,
            })
            .collect();
    }
}

/// The simulator's records into the pipeline, each on its topic, numbered per topic. A share
/// of the alerts goes to the vendor topics, when the pipeline reads them.
#[derive(Debug)]
struct Feed {
    /// Topic names, by input slot.
    topics: Vec<String>,
    /// The slot of each vendor format's demo topic, when configured.
    vendor_slots: Vec<(Format, u16)>,
    /// Records applied so far, by input slot.
    offsets: Vec<u64>,
    rejections: RejectionLog,
}

impl Feed {
    fn new(pipeline: &Pipeline) -> Self {
        let inputs = pipeline.inputs();
        let topics: Vec<String> = inputs.iter().map(|input| input.topic.clone()).collect();
        let vendor_slots = sim::vendor::FORMATS
            .iter()
            .copied()
            .filter_map(|format| Some((format, inputs.slot(&sim::vendor::topic(format))?)))
            .collect();
        Self {
            offsets: vec![0; topics.len()],
            topics,
            vendor_slots,
            rejections: RejectionLog::default(),
        }
    }

    /// Applies generated records as one batch with `wall` as the wall clock, each with its
    /// key (an inventory tombstone is a keyed record without a value).
    fn apply(&mut self, pipeline: &mut Pipeline, generated: &[sim::Record], wall: EventTime) {
        let vendored: Vec<Option<(u16, Vec<u8>)>> = generated
            .iter()
            .map(|record| self.vendored(record))
            .collect();
        let records: Vec<Record<'_>> = generated
            .iter()
            .zip(&vendored)
            .map(|(generated, vendored)| {
                let slot = vendored
                    .as_ref()
                    .map_or(generated.role.index(), |v| usize::from(v.0));
                let offset = self.offsets[slot] as i64;
                self.offsets[slot] += 1;
                match vendored {
                    // Vendor exports are unkeyed.
                    Some((input, payload)) => {
                        Record::of_input(&self.topics[slot], *input, offset, Some(payload))
                    }
                    None => generated.as_record(&self.topics[slot], offset),
                }
            })
            .collect();
        let batch = pipeline.apply_local(&records, wall);
        self.rejections.batch(&records, &batch);
    }

    /// The vendor slot and record an alert goes to instead of the native topic, if any.
    fn vendored(&self, record: &sim::Record) -> Option<(u16, Vec<u8>)> {
        if record.role != TopicRole::Alerts || self.vendor_slots.is_empty() {
            return None;
        }
        let (format, payload) = sim::vendor::render(&record.payload)?;
        let slot = self.vendor_slots.iter().find(|(f, _)| *f == format)?.1;
        Some((slot, payload))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Three hours of simulated traffic through a pipeline: what it counted, and its
    /// per-topic health.
    /// (source, severity, `soc_alerts_total`) per series.
    type Counted = Vec<(String, Severity, u64)>;
    /// (topic, consumed, rejected) per input.
    type Health = Vec<(String, u64, u64)>;

    fn run_history(config: &Config) -> (Counted, Health) {
        let mut pipeline = Pipeline::new(config);
        let mut simulator = Simulator::new(5);
        let mut feed = Feed::new(&pipeline);
        let start = EventTime(1_764_000_000_000);
        let end = start.saturating_add_millis(3 * 3_600_000);
        let mut from = start;
        while from < end {
            let to = from.saturating_add_millis(HISTORY_SLICE_MILLIS);
            for record in simulator.records_between(from, to) {
                let at = record.at;
                feed.apply(&mut pipeline, &[record], at);
            }
            from = to;
        }
        let snapshot = pipeline.fresh_snapshot(end);
        let mut by_source: Vec<(String, Severity, u64)> = snapshot
            .scorecard
            .alerts
            .iter()
            .map(|series| (series.source.to_string(), series.severity, series.total))
            .collect();
        by_source.sort();
        let health = snapshot
            .topics
            .iter()
            .map(|t| (t.topic.clone(), t.consumed, t.rejected.iter().sum()))
            .collect();
        (by_source, health)
    }

    /// Every vendor topic is read with no rejection, and the vendor share loses and doubles
    /// nothing: as many alerts are counted as when every alert stays native.
    #[test]
    fn every_adapter_runs_in_the_demo_and_the_alert_count_is_unchanged() {
        let native_only = Config::default();
        let mut with_vendors = Config::default();
        add_vendor_inputs(&mut with_vendors);
        assert_eq!(with_vendors.inputs.len(), 6);

        let (native_alerts, native_health) = run_history(&native_only);
        let (vendor_alerts, vendor_health) = run_history(&with_vendors);
        let total = |alerts: &[(String, Severity, u64)]| alerts.iter().map(|a| a.2).sum::<u64>();
        assert!(total(&native_alerts) > 1_000, "{native_alerts:?}");
        assert_eq!(total(&vendor_alerts), total(&native_alerts));

        for &format in sim::vendor::FORMATS {
            let topic = sim::vendor::topic(format);
            let Some((_, consumed, rejected)) = vendor_health.iter().find(|h| h.0 == topic) else {
                panic!("{topic} not read: {vendor_health:?}");
            };
            assert!(*consumed > 0, "{topic} consumed nothing");
            assert_eq!(*rejected, 0, "{topic} rejected records");
        }
        // The native alerts topic lost exactly what the vendor topics took, and rejected as
        // many malformed records as before.
        let alerts_topic = |health: &[(String, u64, u64)]| {
            health
                .iter()
                .find(|h| h.0 == TopicRole::Alerts.topic(&native_only))
                .map(|h| (h.1, h.2))
        };
        let (native_read, native_rejected) = alerts_topic(&native_health).unwrap_or_default();
        let (vendor_read, vendor_rejected) = alerts_topic(&vendor_health).unwrap_or_default();
        let vendored: u64 = vendor_health
            .iter()
            .filter(|h| h.0.starts_with("demo."))
            .map(|h| h.1)
            .sum();
        assert_eq!(vendor_read + vendored, native_read);
        assert_eq!(vendor_rejected, native_rejected);
        assert!(
            native_rejected > 0,
            "the simulator writes a few malformed alerts"
        );
    }
}
