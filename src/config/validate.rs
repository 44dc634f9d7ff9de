//! `Config::validate`: the checks serde cannot make. One function per section, all pushing into
//! the same list, so every problem is reported at once. Invariant: each message starts with
//! the key at fault (`key `section.key`: …`), and the texts are part of the interface: tests in
//! src/config/tests.rs and tests/cli.rs pin them.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::{
    ComplianceConfig, Config, ConfigError, CostConfig, HttpConfig, KafkaConfig, LimitsConfig,
    LogConfig, PostureConfig, WindowsConfig,
};
use crate::engine::scorecard::Kpi;

impl Config {
    /// Checks the values serde cannot, reporting every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Problems::default();
        kafka(&self.kafka, &mut problems);
        topics(self, &mut problems);
        http(&self.http, &mut problems);
        windows(&self.windows, &mut problems);
        limits(&self.limits, &mut problems);
        cost(&self.cost, &mut problems);
        posture(&self.posture, &mut problems);
        compliance(&self.compliance, &mut problems);
        log(&self.log, &mut problems);
        problems.into_result()
    }
}

/// The problems found so far, each naming its key.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn require(&mut self, ok: bool, key: &str, message: &str) {
        if !ok {
            self.0.push(format!("key `{key}`: {message}"));
        }
    }

    fn into_result(self) -> Result<(), ConfigError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Values(self.0))
        }
    }
}

/// What Kafka accepts as a topic name, checked by [`valid_topic`].
const TOPIC_NAME: &str = "must be a Kafka topic name (1–249 of [a-zA-Z0-9._-])";

fn kafka(kafka: &KafkaConfig, problems: &mut Problems) {
    problems.require(
        !kafka.brokers.trim().is_empty(),
        "kafka.brokers",
        "must name at least one broker",
    );
    problems.require(
        !kafka.group_id.trim().is_empty(),
        "kafka.group_id",
        "must not be empty",
    );
    for (key, value) in &kafka.properties {
        if let Err(error) = super::secrets::resolve(key, value) {
            problems.0.push(error.to_string());
        }
    }
}

/// The input topics, the state topic (set or derived) and the dead-letter topic when set.
/// Takes the whole configuration: the state topic's default comes from `kafka.group_id`.
fn topics(config: &Config, problems: &mut Problems) {
    let topics = &config.topics;
    for (key, topic) in [
        ("topics.alerts", &topics.alerts),
        ("topics.cases", &topics.cases),
        ("topics.inventory", &topics.inventory),
        ("topics.telemetry", &topics.telemetry),
    ] {
        problems.require(valid_topic(topic), key, TOPIC_NAME);
    }
    problems.require(
        valid_topic(&config.state_topic()),
        "topics.state",
        "must be a Kafka topic name (set it, or a kafka.group_id that makes one)",
    );
    problems.require(
        !config.repartitions() || valid_topic(&config.repartition_topic()),
        "topics.repartition",
        "must be a Kafka topic name (set it, or a kafka.group_id that makes one)",
    );
    let mut seen: BTreeSet<&str> = [
        topics.alerts.as_str(),
        topics.cases.as_str(),
        topics.inventory.as_str(),
        topics.telemetry.as_str(),
    ]
    .into();
    let internal = [config.state_topic(), config.repartition_topic()];
    for (n, input) in config.inputs.iter().enumerate() {
        let key = format!("inputs[{n}].topic");
        problems.require(valid_topic(&input.topic), &key, TOPIC_NAME);
        problems.require(
            seen.insert(input.topic.as_str()),
            &key,
            &format!(
                "`{}` is already an input (each topic is read once, in one format)",
                input.topic
            ),
        );
        problems.require(
            !internal.contains(&input.topic),
            &key,
            "must differ from topics.state and topics.repartition",
        );
    }
    if let Some(topic) = topics.dead_letter() {
        problems.require(valid_topic(topic), "topics.dead_letter", TOPIC_NAME);
        problems.require(
            !seen.contains(topic) && !internal.iter().any(|t| t == topic),
            "topics.dead_letter",
            "must differ from the input topics",
        );
    }
}

/// The address, the cap, and the web config file, read and checked whole (with the PEM files
/// it names) so that `check-config` and the start report its problems; its format belongs to
/// the exporter, which reads it (`export::web_config`).
fn http(http: &HttpConfig, problems: &mut Problems) {
    problems.require(
        http.listen.parse::<SocketAddr>().is_ok(),
        "http.listen",
        "must be an address such as 0.0.0.0:9746",
    );
    problems.require(
        http.max_connections > 0,
        "http.max_connections",
        "must be greater than 0",
    );
    if let Some(path) = &http.web_config_file
        && let Err(error) = crate::export::web_config::WebConfig::load(path)
    {
        for problem in error.problems {
            problems.require(
                false,
                "http.web_config_file",
                &format!("{}: {problem}", path.display()),
            );
        }
    }
}

fn windows(windows: &WindowsConfig, problems: &mut Problems) {
    for (key, spans) in [
        ("windows.alerts", &windows.alerts),
        ("windows.kpis", &windows.kpis),
    ] {
        problems.require(!spans.is_empty(), key, "must list at least one window");
        // Labels must be unique, else two series would share one `window` value.
        let labels: BTreeSet<_> = spans.iter().map(|s| &s.text).collect();
        problems.require(labels.len() == spans.len(), key, "lists a window twice");
    }
}

/// Every limit: 0 would reject or drop everything. A `Span` read from text is never 0 (its
/// parser says so, naming the key); one built in code is checked here.
fn limits(limits: &LimitsConfig, problems: &mut Problems) {
    for (key, limit) in [
        ("limits.max_record_bytes", limits.max_record_bytes),
        ("limits.max_depth", limits.max_depth),
        ("limits.max_label_values", limits.max_label_values),
        ("limits.max_label_length", limits.max_label_length),
        ("limits.max_incidents", limits.max_incidents),
    ] {
        problems.require(limit > 0, key, "must be greater than 0");
    }
    problems.require(
        limits.max_clock_ahead.millis > 0,
        "limits.max_clock_ahead",
        "must be longer than zero",
    );
}

fn cost(cost: &CostConfig, problems: &mut Problems) {
    problems.require(
        non_negative(&[cost.hourly_rate]) && non_negative(&cost.base.by_index()),
        "cost",
        "amounts must be non-negative numbers",
    );
}

fn posture(posture: &PostureConfig, problems: &mut Problems) {
    problems.require(
        non_negative(&posture.weights()),
        "posture",
        "weights must be non-negative numbers",
    );
}

/// Each objective names a known gauge, and each (framework, control) pair comes once.
fn compliance(compliance: &ComplianceConfig, problems: &mut Problems) {
    let mut seen = BTreeSet::new();
    for (n, objective) in compliance.objectives.iter().enumerate() {
        problems.require(
            Kpi::from_name(&objective.kpi)
                .is_some_and(|kpi| Kpi::objective_gauges().any(|g| g == kpi)),
            &format!("compliance.objectives[{n}].kpi"),
            &format!(
                "`{}` is not a gauge of PRODUCT.md §4 (without soc_)",
                objective.kpi
            ),
        );
        problems.require(
            seen.insert((&objective.framework, &objective.control)),
            &format!("compliance.objectives[{n}]"),
            "repeats a (framework, control) pair",
        );
    }
}

fn log(log: &LogConfig, problems: &mut Problems) {
    problems.require(
        tracing_subscriber::EnvFilter::try_new(&log.level).is_ok(),
        "log.level",
        "must be a tracing filter such as info or socmetrics=debug",
    );
}

/// Finite and not below zero (NaN is neither).
fn non_negative(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite() && *v >= 0.0)
}

/// Kafka's own rule for topic names.
fn valid_topic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
