//! The only place that speaks HTTP or Prometheus. It reads the latest [`Snapshot`] published by
//! the pipeline's owner task (the scorecard through its typed series only) and the live
//! [`Status`] flags; it never touches the engine, so a slow scrape cannot slow consumption and
//! a stalled consumer cannot stall a scrape.

mod auth;
mod compliance;
mod connection;
mod help;
pub mod http;
pub mod metrics;
mod server;
mod tls;
pub mod web_config;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use crate::config::Objective;
use crate::pipeline::Snapshot;

/// Flags the HTTP side reads live.
#[derive(Debug, Default)]
pub struct Status {
    kafka_up: AtomicBool,
    ready: AtomicBool,
}

impl Status {
    pub fn set_kafka_up(&self, up: bool) {
        self.kafka_up.store(up, Ordering::Relaxed);
    }

    pub fn kafka_up(&self) -> bool {
        self.kafka_up.load(Ordering::Relaxed)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// What the HTTP handlers share.
#[derive(Clone, Debug)]
pub struct Exporter {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub status: Arc<Status>,
    /// Whether `soc_kafka_up` is exported (not in the demo, which has no Kafka).
    pub kafka: bool,
    /// `[[compliance.objectives]]`, evaluated against the gauges at every scrape.
    pub objectives: Arc<Vec<Objective>>,
}

impl Exporter {
    /// The Prometheus text exposition of the latest snapshot.
    pub fn render(&self) -> String {
        let snapshot = Arc::clone(&self.snapshots.borrow());
        let kafka_up = self.kafka.then(|| self.status.kafka_up());
        metrics::render(&snapshot, kafka_up, &self.objectives)
    }
}
