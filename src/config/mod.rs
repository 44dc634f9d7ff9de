//! Typed configuration (PRODUCT.md §7): TOML through the `config` crate, every key overridable
//! by `SOCMETRICS__SECTION__KEY`. `Config::default()` is the documented default and equals
//! `config/socmetrics.toml`. Unknown keys and bad values fail at start, naming the key; value
//! checks report every problem at once.
//!
//! This file holds the whole (`Config`), how it is read and printed, and what the engine takes
//! from it. The sections live by role: `runtime` (how the daemon runs), `scoring` (how incidents
//! are scored), `compliance` (objectives), `span` (durations); the value checks in `validate`.
//! Invariant: every documented default is written once, in its section's `Default`; the engine
//! has no defaults of its own.

mod compliance;
mod runtime;
mod scoring;
pub mod secrets;
mod span;
mod validate;

use std::net::SocketAddr;
use std::path::Path;

use config::builder::{ConfigBuilder, DefaultState};
use serde::{Deserialize, Serialize};

pub use compliance::{Comparison, ComplianceConfig, Objective};
pub use runtime::{
    ClockConfig, ClockMode, HttpConfig, InputConfig, KafkaConfig, LimitsConfig, LogConfig,
    LogFormat, TopicsConfig, WindowsConfig,
};
pub use scoring::{
    CostConfig, CoverageConfig, KpisConfig, PostureConfig, SeverityAmounts, SeverityTargets,
    SlaConfig,
};
pub use secrets::Secrets;
pub use span::Span;

use crate::engine::EngineSettings;
use crate::engine::scorecard::ScorecardSettings;
use crate::engine::sla::SlaPolicy;

/// Why the configuration cannot be used. Each message names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config: {0}")]
    Read(String),
    #[error("invalid config: {0}")]
    Invalid(String),
    #[error("invalid config:\n  {}", .0.join("\n  "))]
    Values(Vec<String>),
}

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub topics: TopicsConfig,
    /// Topics in any format beside the native `topics.alerts` and `topics.cases`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputConfig>,
    pub http: HttpConfig,
    pub clock: ClockConfig,
    pub windows: WindowsConfig,
    pub sla: SlaConfig,
    pub kpis: KpisConfig,
    pub cost: CostConfig,
    pub coverage: CoverageConfig,
    pub posture: PostureConfig,
    pub compliance: ComplianceConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
}

impl Config {
    /// Reads `path` (TOML) with `SOCMETRICS__SECTION__KEY` environment overrides, then checks
    /// every value.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        if !path.is_file() {
            return Err(ConfigError::Read(format!(
                "{} is not a readable file",
                path.display()
            )));
        }
        Self::from_layers(
            config::Config::builder()
                .add_source(config::File::from(path).format(config::FileFormat::Toml))
                .add_source(environment()),
        )
    }

    /// The defaults with environment overrides: `demo` without `--config`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_layers(config::Config::builder().add_source(environment()))
    }

    /// Parses TOML text (tests, examples).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_layers(
            config::Config::builder()
                .add_source(config::File::from_str(text, config::FileFormat::Toml)),
        )
    }

    /// Merges the layers over the defaults, naming the key of a value that does not fit, then
    /// checks every value.
    fn from_layers(layers: ConfigBuilder<DefaultState>) -> Result<Self, ConfigError> {
        let layered = layers
            .build()
            .map_err(|e| ConfigError::Read(e.to_string()))?;
        let parsed: Config = serde_path_to_error::deserialize(layered).map_err(|e| {
            let key = e.path().to_string();
            let mut message = e.into_inner().to_string();
            // The `config` crate appends its own spelling of the key (`inputs[0]format`).
            if let Some(at) = message.rfind(" for key `") {
                message.truncate(at);
            }
            match key.as_str() {
                "." | "" => ConfigError::Invalid(message),
                _ => ConfigError::Invalid(format!("key `{key}`: {message}")),
            }
        })?;
        parsed.validate()?;
        Ok(parsed)
    }

    /// The changelog topic: `topics.state`, else `<kafka.group_id>.state`.
    pub fn state_topic(&self) -> String {
        match self.topics.state.as_deref().filter(|t| !t.is_empty()) {
            Some(topic) => topic.to_owned(),
            None => format!("{}.state", self.kafka.group_id),
        }
    }

    /// The repartition topic: `topics.repartition`, else `<kafka.group_id>.repartition`.
    pub fn repartition_topic(&self) -> String {
        match self.topics.repartition.as_deref().filter(|t| !t.is_empty()) {
            Some(topic) => topic.to_owned(),
            None => format!("{}.repartition", self.kafka.group_id),
        }
    }

    /// Whether any input goes through the repartition topic.
    pub fn repartitions(&self) -> bool {
        self.inputs.iter().any(|input| !input.keyed_by_incident)
    }

    /// The HTTP address (validated).
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.http.listen.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "key `http.listen`: `{}` is not an address",
                self.http.listen
            ))
        })
    }

    /// What the engine takes from this configuration.
    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            alert_windows: self.windows.alerts.iter().map(Span::window).collect(),
            retention_millis: self.windows.retention_millis(),
            max_label_values: self.limits.max_label_values,
            max_label_length: self.limits.max_label_length,
            kpi_windows: self.windows.kpis.iter().map(Span::window).collect(),
            sla: SlaPolicy {
                targets: self.sla.millis(),
            },
            max_incidents: self.limits.max_incidents,
            max_silence_millis: self.coverage.max_silence.millis,
            posture_weights: self.posture.weights(),
            scorecard: ScorecardSettings {
                detected_by: self.kpis.detected_by_index(),
                repeat_lookback_millis: self.windows.repeat_lookback.millis,
                hourly_rate: self.cost.hourly_rate,
                base_cost: self.cost.base.by_index(),
            },
        }
    }

    /// The secret values of this configuration, to scrub from logs and errors.
    pub fn secrets(&self) -> Secrets {
        Secrets::of(&self.kafka.properties)
    }

    /// The effective configuration as TOML, every value not known to be harmless redacted:
    /// `check-config`'s output.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        for (key, value) in shown.kafka.properties.iter_mut() {
            *value = secrets::shown(key, value);
        }
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot print config: {e}\n"))
    }
}

/// The `SOCMETRICS__SECTION__KEY` overrides; the window lists take `5m,1h` text.
fn environment() -> config::Environment {
    config::Environment::with_prefix("SOCMETRICS")
        .prefix_separator("__")
        .separator("__")
        .list_separator(",")
        .with_list_parse_key("windows.alerts")
        .with_list_parse_key("windows.kpis")
        .try_parsing(true)
}

#[cfg(test)]
mod tests;
