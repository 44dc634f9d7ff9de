//! `soc_kafka_up`: the brokers asked every few seconds whether they answer, off the owner task.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::export::Status;
use crate::source::consumer::{self, InputConsumer};

/// How often the brokers are asked whether they answer.
const PROBE_EVERY: Duration = Duration::from_secs(5);

/// Asks the brokers every few seconds whether they answer: `soc_kafka_up`.
pub async fn probe_brokers(
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
