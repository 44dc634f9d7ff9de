//! Startup against Kafka: the checks that need the brokers (the input topics, the changelog,
//! the coverage inputs), retried with a growing pause until they pass or the daemon is told to
//! stop. Kafka down at start never ends the daemon (PRODUCT.md §5): `/metrics` serves
//! `soc_kafka_up 0` and `/readyz` says not ready meanwhile, and SIGTERM exits at once, since
//! nothing is consumed yet. What retrying cannot cure (a mispartitioned or uncompacted topic)
//! ends it with the reason.

use std::time::Duration;

use rdkafka::consumer::StreamConsumer;
use tokio_util::sync::CancellationToken;

use super::clock;
use crate::config::Config;
use crate::source::{SourceError, changelog, global, topics};

/// The pause after the first failed attempt; it doubles up to [`LAST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LAST_PAUSE: Duration = Duration::from_secs(30);

/// What startup learnt from the brokers.
pub struct Connected {
    /// Partitions of each input topic (and of the changelog).
    pub partitions: usize,
    /// The coverage consumer, when a coverage topic exists.
    pub global: Option<StreamConsumer>,
}

/// Retries the startup checks until they pass (`Some`), `shutdown` is cancelled (`None`), or
/// one fails in a way retrying cannot cure (`Err`).
pub async fn connect(
    config: &Config,
    shutdown: &CancellationToken,
) -> Result<Option<Connected>, SourceError> {
    let mut pause = FIRST_PAUSE;
    let mut attempts: u64 = 0;
    loop {
        let owned = config.clone();
        // Each call blocks on the brokers; off the runtime's workers, and abandoned on
        // shutdown (the process exits without waiting for it).
        let attempt = tokio::task::spawn_blocking(move || check(&owned));
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            joined = attempt => joined,
        };
        attempts += 1;
        match outcome {
            Ok(Ok(connected)) => {
                if attempts > 1 {
                    tracing::info!(attempts, "Kafka answers; starting");
                }
                return Ok(Some(connected));
            }
            Ok(Err(error)) if error.is_transient() => {
                tracing::warn!(
                    brokers = %config.kafka.brokers,
                    attempts,
                    retry_in = ?pause,
                    "Kafka is not ready, retrying: {error}"
                );
            }
            Ok(Err(error)) => return Err(error),
            Err(panicked) => {
                tracing::error!(attempts, retry_in = ?pause, "startup check failed: {panicked}");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(LAST_PAUSE);
    }
}

/// One attempt, blocking: the input topics, the changelog topic, the coverage consumer.
fn check(config: &Config) -> Result<Connected, SourceError> {
    let partitions = topics::check_inputs(config)?;
    topics::check_declared_inputs(config, partitions)?;
    let state_topic = config.state_topic();
    let runtime = tokio::runtime::Handle::current();
    runtime.block_on(changelog::ensure_topic(config, &state_topic, partitions))?;
    if config.repartitions() {
        runtime.block_on(changelog::ensure_repartition_topic(config, partitions))?;
    }
    let global = global::subscribe(config, clock::wall())?;
    Ok(Connected { partitions, global })
}
