//! Startup checks of the input topics: what must hold before consuming can start.

use super::SourceError;
use super::changelog;
use crate::config::Config;

/// The alerts and cases topics must be partitioned alike: an incident's alerts and case
/// events are keyed by its id and must meet in one instance. Returns the partition count.
pub fn check_inputs(config: &Config) -> Result<usize, SourceError> {
    let (alerts, cases) = (&config.topics.alerts, &config.topics.cases);
    let counts = changelog::partition_counts(config, &[alerts, cases])?;
    let count = |topic: &str| {
        counts
            .iter()
            .find(|(t, _)| t == topic)
            .and_then(|(_, c)| *c)
    };
    match (count(alerts), count(cases)) {
        (None, _) => Err(SourceError::MissingTopic(format!(
            "topics.alerts = {alerts} does not exist: create it (records keyed by incident id) \
             with the same partition count as topics.cases = {cases}"
        ))),
        (Some(a), Some(c)) if a != c => Err(SourceError::Topics(format!(
            "topics.alerts = {alerts} has {a} partitions but topics.cases = {cases} has {c}: \
             records are keyed by incident id, and an incident's alerts and case events meet in \
             one instance only if both topics have the same partition count"
        ))),
        (Some(a), None) => {
            tracing::warn!(
                "topics.cases = {cases} does not exist yet; when it is created it must have {a} partitions like {alerts}"
            );
            Ok(a)
        }
        (Some(a), Some(_)) => Ok(a),
    }
}

/// The `[[inputs]]` topics: each must exist, and one keyed by incident must be partitioned
/// like `topics.alerts` (`partitions`), or its incidents would not meet their other events.
pub fn check_declared_inputs(config: &Config, partitions: usize) -> Result<(), SourceError> {
    if config.inputs.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = config.inputs.iter().map(|i| i.topic.as_str()).collect();
    let counts = changelog::partition_counts(config, &names)?;
    for (n, (input, (_, count))) in config.inputs.iter().zip(&counts).enumerate() {
        match count {
            None => {
                return Err(SourceError::MissingTopic(format!(
                    "inputs[{n}].topic = {} does not exist (yet)",
                    input.topic
                )));
            }
            Some(count) if input.keyed_by_incident && *count != partitions => {
                return Err(SourceError::Topics(format!(
                    "inputs[{n}].topic = {} is declared keyed_by_incident but has {count} \
                     partitions and topics.alerts = {} has {partitions}: its incidents would not \
                     meet their other events. Set keyed_by_incident = false (its events then go \
                     through the repartition topic) or repartition it like topics.alerts",
                    input.topic, config.topics.alerts
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
