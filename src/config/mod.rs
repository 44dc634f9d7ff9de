//! Typed configuration (PRODUCT.md §7): TOML through the `config` crate, every key overridable
//! by `SOCMETRICS__SECTION__KEY`. `Config::default()` is the documented default and equals
//! `config/socmetrics.toml`. Unknown keys and bad values fail at start, naming the key; value
//! checks report every problem at once.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::scorecard::ScorecardSettings;
use crate::engine::sla::SlaPolicy;
use crate::engine::{EngineSettings, Window};
use crate::event::Detection;

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

/// SLA targets (PRODUCT.md §2): per stage, a duration per severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// Detection to acknowledgement.
    pub acknowledge: SeverityTargets,
    /// Detection to resolution.
    pub resolve: SeverityTargets,
}

impl Default for SlaConfig {
    fn default() -> Self {
        let targets = |texts: [&str; 5]| SeverityTargets {
            critical: Span::must(texts[0]),
            high: Span::must(texts[1]),
            medium: Span::must(texts[2]),
            low: Span::must(texts[3]),
            informational: Span::must(texts[4]),
        };
        Self {
            acknowledge: targets(["15m", "1h", "4h", "24h", "72h"]),
            resolve: targets(["4h", "24h", "72h", "7d", "14d"]),
        }
    }
}

/// Scorecard choices (PRODUCT.md §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpisConfig {
    /// `detection` values that count as found by the SOC in `soc_detection_ratio`.
    pub detected_by: Vec<Detection>,
}

impl Default for KpisConfig {
    fn default() -> Self {
        Self {
            detected_by: vec![Detection::Alert, Detection::Hunt],
        }
    }
}

/// The cost model for incidents resolved without a reported `cost`:
/// `hourly_rate × handling hours + base[severity]`, handling hours running from
/// acknowledgement (else detection) to resolution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostConfig {
    /// Analyst cost per hour, in the currency of reported costs.
    pub hourly_rate: f64,
    /// Fixed cost per incident by severity.
    pub base: SeverityAmounts,
}

impl Default for CostConfig {
    fn default() -> Self {
        Self {
            hourly_rate: 60.0,
            base: SeverityAmounts {
                critical: 1000.0,
                high: 400.0,
                medium: 150.0,
                low: 50.0,
                informational: 10.0,
            },
        }
    }
}

/// Which inventory assets count as monitored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoverageConfig {
    /// An asset whose logs were not seen for this long is unmonitored.
    pub max_silence: Span,
}

impl Default for CoverageConfig {
    fn default() -> Self {
        Self {
            max_silence: Span::must("24h"),
        }
    }
}

/// Weights of `soc_posture_score`'s parts (renormalised over the parts that exist).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostureConfig {
    pub detection: f64,
    pub sla_acknowledge: f64,
    pub sla_resolve: f64,
    pub coverage: f64,
    pub false_positive: f64,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            detection: 1.0,
            sla_acknowledge: 1.0,
            sla_resolve: 1.0,
            coverage: 1.0,
            false_positive: 1.0,
        }
    }
}

/// A comparison of a compliance objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
}

impl Comparison {
    pub fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Comparison::Below => value < target,
            Comparison::AtMost => value <= target,
            Comparison::Above => value > target,
            Comparison::AtLeast => value >= target,
        }
    }
}

/// One compliance objective: a KPI series compared with a target (PRODUCT.md §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub framework: String,
    pub control: String,
    /// A gauge name without `soc_` (`sla_compliance_ratio`).
    pub kpi: String,
    /// Labels that pick one series of the gauge.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub op: Comparison,
    pub target: f64,
}

/// `[[compliance.objectives]]`; the defaults are NIST CSF 2.0 and ISO/IEC 27001:2022 sets,
/// documented control by control in docs/kpis.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    pub objectives: Vec<Objective>,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        let objective =
            |framework: &str, control: &str, kpi: &str, labels: &[(&str, &str)], op, target| {
                Objective {
                    framework: framework.into(),
                    control: control.into(),
                    kpi: kpi.into(),
                    labels: labels
                        .iter()
                        .map(|(k, v)| ((*k).into(), (*v).into()))
                        .collect(),
                    op,
                    target,
                }
            };
        let month = [("window", "30d"), ("severity", "all")];
        let ack = [
            ("window", "30d"),
            ("severity", "all"),
            ("stage", "acknowledge"),
        ];
        let resolve = [("window", "30d"), ("severity", "all"), ("stage", "resolve")];
        let critical = [("window", "30d"), ("severity", "critical")];
        let repeats = [("window", "30d")];
        use Comparison::*;
        Self {
            objectives: vec![
                objective(
                    "nist_csf_2.0",
                    "DE.CM-01",
                    "coverage_gap_ratio",
                    &[],
                    AtMost,
                    0.05,
                ),
                objective(
                    "nist_csf_2.0",
                    "DE.AE-02",
                    "mean_time_to_detect_seconds",
                    &month,
                    AtMost,
                    86_400.0,
                ),
                objective(
                    "nist_csf_2.0",
                    "RS.MA-02",
                    "sla_compliance_ratio",
                    &ack,
                    AtLeast,
                    0.9,
                ),
                objective(
                    "nist_csf_2.0",
                    "RS.MI-01",
                    "mean_time_to_contain_seconds",
                    &critical,
                    AtMost,
                    14_400.0,
                ),
                objective(
                    "nist_csf_2.0",
                    "RS.MI-02",
                    "sla_compliance_ratio",
                    &resolve,
                    AtLeast,
                    0.9,
                ),
                objective(
                    "nist_csf_2.0",
                    "ID.IM-03",
                    "repeat_incident_ratio",
                    &repeats,
                    AtMost,
                    0.1,
                ),
                objective(
                    "iso_27001_2022",
                    "A.8.16",
                    "coverage_gap_ratio",
                    &[],
                    AtMost,
                    0.05,
                ),
                objective(
                    "iso_27001_2022",
                    "A.5.25",
                    "sla_compliance_ratio",
                    &ack,
                    AtLeast,
                    0.9,
                ),
                objective(
                    "iso_27001_2022",
                    "A.5.26",
                    "sla_compliance_ratio",
                    &resolve,
                    AtLeast,
                    0.9,
                ),
                objective(
                    "iso_27001_2022",
                    "A.5.24",
                    "mean_time_to_resolve_seconds",
                    &critical,
                    AtMost,
                    14_400.0,
                ),
                objective(
                    "iso_27001_2022",
                    "A.5.27",
                    "repeat_incident_ratio",
                    &repeats,
                    AtMost,
                    0.1,
                ),
            ],
        }
    }
}

/// One amount per severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityAmounts {
    pub critical: f64,
    pub high: f64,
    pub medium: f64,
    pub low: f64,
    pub informational: f64,
}

/// One duration per severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityTargets {
    pub critical: Span,
    pub high: Span,
    pub medium: Span,
    pub low: Span,
    pub informational: Span,
}

impl SeverityTargets {
    /// Milliseconds, indexed by [`crate::event::Severity::index`].
    fn millis(&self) -> [i64; 5] {
        [
            self.informational.millis,
            self.low.millis,
            self.medium.millis,
            self.high.millis,
            self.critical.millis,
        ]
    }
}

/// How to reach Kafka.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    /// Consumer group; instances sharing it share the partitions.
    pub group_id: String,
    /// Passed to librdkafka as is (TLS, SASL, tuning). Values of keys that look secret
    /// (`password`, `secret`, `key`) are never printed.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            group_id: "socmetrics".into(),
            properties: BTreeMap::new(),
        }
    }
}

/// Topic names per role (PRODUCT.md §1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    pub alerts: String,
    pub cases: String,
    pub inventory: String,
    pub telemetry: String,
    /// Where rejected records are copied with their reason; none when unset or empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<String>,
    /// The compacted changelog of the state; `<kafka.group_id>.state` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        Self {
            alerts: "soc.alerts".into(),
            cases: "soc.cases".into(),
            inventory: "soc.inventory".into(),
            telemetry: "soc.telemetry".into(),
            dead_letter: None,
            state: None,
        }
    }
}

impl TopicsConfig {
    /// The dead-letter topic, if one is configured.
    pub fn dead_letter(&self) -> Option<&str> {
        self.dead_letter.as_deref().filter(|t| !t.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:9746".into(),
        }
    }
}

/// What "now" is (PRODUCT.md §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    /// The wall clock: live operation.
    #[default]
    Wall,
    /// The largest event time seen on any topic: replays, backfills, tests.
    Event,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockConfig {
    pub mode: ClockMode,
}

/// Rolling windows ending at now (PRODUCT.md §3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowsConfig {
    /// Windows of `soc_alert_volume`.
    pub alerts: Vec<Span>,
    /// Windows of the incident KPIs.
    pub kpis: Vec<Span>,
    /// How far back a repeat incident is looked for; with the longest KPI window it sets how
    /// long state is kept and when a record is late.
    pub repeat_lookback: Span,
}

impl Default for WindowsConfig {
    fn default() -> Self {
        let spans = |texts: &[&str]| texts.iter().map(|t| Span::must(t)).collect();
        Self {
            alerts: spans(&["5m", "1h", "24h"]),
            kpis: spans(&["24h", "7d", "30d", "90d"]),
            repeat_lookback: Span::must("30d"),
        }
    }
}

/// Limits that protect the daemon from its input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Records larger than this are rejected unread (`too_large`).
    pub max_record_bytes: usize,
    /// Records nesting objects/arrays deeper than this are rejected (`too_deep`).
    pub max_depth: usize,
    /// Distinct values per untrusted label (source, rule, analyst, tenant); past it, `other`.
    pub max_label_values: usize,
    /// Untrusted label values are cut to this many characters.
    pub max_label_length: usize,
    /// Incidents kept in memory at most; past it the oldest closed ones are let go first.
    pub max_incidents: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_record_bytes: 1024 * 1024,
            max_depth: 32,
            max_label_values: 1000,
            max_label_length: 128,
            max_incidents: 2_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter (`info`, `socmetrics=debug,rdkafka=warn`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

/// A duration written the human way (`5m`, `24h`, `7d`), kept with its text, which is also the
/// `window` label value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub millis: i64,
}

impl Span {
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let duration = humantime::parse_duration(trimmed)
            .map_err(|e| format!("`{text}` is not a duration such as 5m, 24h or 7d ({e})"))?;
        let millis = i64::try_from(duration.as_millis())
            .map_err(|_| format!("`{text}` is too long a duration"))?;
        if millis <= 0 {
            return Err(format!("`{text}` must be longer than zero"));
        }
        Ok(Self {
            text: trimmed.to_owned(),
            millis,
        })
    }

    /// For literals in defaults, which are known to parse.
    fn must(text: &str) -> Self {
        Self::parse(text).unwrap_or_else(|_| Self {
            text: text.to_owned(),
            millis: 1,
        })
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
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
        let layered = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(environment())
            .build()
            .map_err(|e| ConfigError::Read(e.to_string()))?;
        Self::from_layers(layered)
    }

    /// The defaults with environment overrides: `demo` without `--config`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let layered = config::Config::builder()
            .add_source(environment())
            .build()
            .map_err(|e| ConfigError::Read(e.to_string()))?;
        Self::from_layers(layered)
    }

    /// Parses TOML text (tests, examples).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let layered = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .map_err(|e| ConfigError::Read(e.to_string()))?;
        Self::from_layers(layered)
    }

    fn from_layers(layered: config::Config) -> Result<Self, ConfigError> {
        let parsed: Config = serde_path_to_error::deserialize(layered).map_err(|e| {
            let key = e.path().to_string();
            let message = e.into_inner().to_string();
            match key.as_str() {
                "." | "" => ConfigError::Invalid(message),
                _ => ConfigError::Invalid(format!("key `{key}`: {message}")),
            }
        })?;
        parsed.validate()?;
        Ok(parsed)
    }

    /// Checks the values serde cannot, reporting every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut require = |ok: bool, key: &str, message: &str| {
            if !ok {
                problems.push(format!("key `{key}`: {message}"));
            }
        };
        require(
            !self.kafka.brokers.trim().is_empty(),
            "kafka.brokers",
            "must name at least one broker",
        );
        require(
            !self.kafka.group_id.trim().is_empty(),
            "kafka.group_id",
            "must not be empty",
        );
        for (key, topic) in [
            ("topics.alerts", &self.topics.alerts),
            ("topics.cases", &self.topics.cases),
            ("topics.inventory", &self.topics.inventory),
            ("topics.telemetry", &self.topics.telemetry),
        ] {
            require(
                valid_topic(topic),
                key,
                "must be a Kafka topic name (1–249 of [a-zA-Z0-9._-])",
            );
        }
        require(
            valid_topic(&self.state_topic()),
            "topics.state",
            "must be a Kafka topic name (set it, or a kafka.group_id that makes one)",
        );
        if let Some(topic) = self.topics.dead_letter() {
            require(
                valid_topic(topic),
                "topics.dead_letter",
                "must be a Kafka topic name (1–249 of [a-zA-Z0-9._-])",
            );
            require(
                topic != self.topics.alerts && topic != self.topics.cases,
                "topics.dead_letter",
                "must differ from the input topics",
            );
        }
        require(
            self.http.listen.parse::<SocketAddr>().is_ok(),
            "http.listen",
            "must be an address such as 0.0.0.0:9746",
        );
        require(
            !self.windows.alerts.is_empty(),
            "windows.alerts",
            "must list at least one window",
        );
        require(
            !self.windows.kpis.is_empty(),
            "windows.kpis",
            "must list at least one window",
        );
        for (key, spans) in [
            ("windows.alerts", &self.windows.alerts),
            ("windows.kpis", &self.windows.kpis),
        ] {
            let mut labels: Vec<_> = spans.iter().map(|s| &s.text).collect();
            labels.sort();
            labels.dedup();
            require(labels.len() == spans.len(), key, "lists a window twice");
        }
        require(
            self.limits.max_record_bytes > 0,
            "limits.max_record_bytes",
            "must be greater than 0",
        );
        require(
            self.limits.max_depth > 0,
            "limits.max_depth",
            "must be greater than 0",
        );
        require(
            self.limits.max_label_values > 0,
            "limits.max_label_values",
            "must be greater than 0",
        );
        require(
            self.limits.max_label_length > 0,
            "limits.max_label_length",
            "must be greater than 0",
        );
        let amounts = [
            self.cost.hourly_rate,
            self.cost.base.critical,
            self.cost.base.high,
            self.cost.base.medium,
            self.cost.base.low,
            self.cost.base.informational,
        ];
        require(
            amounts.iter().all(|a| a.is_finite() && *a >= 0.0),
            "cost",
            "amounts must be non-negative numbers",
        );
        let p = &self.posture;
        require(
            [
                p.detection,
                p.sla_acknowledge,
                p.sla_resolve,
                p.coverage,
                p.false_positive,
            ]
            .iter()
            .all(|w| w.is_finite() && *w >= 0.0),
            "posture",
            "weights must be non-negative numbers",
        );
        let mut seen = std::collections::BTreeSet::new();
        for (n, objective) in self.compliance.objectives.iter().enumerate() {
            require(
                COMPLIANCE_KPIS.contains(&objective.kpi.as_str()),
                &format!("compliance.objectives[{n}].kpi"),
                &format!(
                    "`{}` is not a gauge of PRODUCT.md §4 (without soc_)",
                    objective.kpi
                ),
            );
            require(
                seen.insert((&objective.framework, &objective.control)),
                &format!("compliance.objectives[{n}]"),
                "repeats a (framework, control) pair",
            );
        }
        require(
            self.limits.max_incidents > 0,
            "limits.max_incidents",
            "must be greater than 0",
        );
        require(
            tracing_subscriber::EnvFilter::try_new(&self.log.level).is_ok(),
            "log.level",
            "must be a tracing filter such as info or socmetrics=debug",
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Values(problems))
        }
    }

    /// The changelog topic: `topics.state`, else `<kafka.group_id>.state`.
    pub fn state_topic(&self) -> String {
        match self.topics.state.as_deref().filter(|t| !t.is_empty()) {
            Some(topic) => topic.to_owned(),
            None => format!("{}.state", self.kafka.group_id),
        }
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
        let windows = |spans: &[Span]| {
            spans
                .iter()
                .map(|s| Window {
                    label: s.text.clone(),
                    millis: s.millis,
                })
                .collect::<Vec<_>>()
        };
        let longest_kpi = self
            .windows
            .kpis
            .iter()
            .map(|s| s.millis)
            .max()
            .unwrap_or(0);
        EngineSettings {
            alert_windows: windows(&self.windows.alerts),
            retention_millis: longest_kpi.saturating_add(self.windows.repeat_lookback.millis),
            max_label_values: self.limits.max_label_values,
            max_label_length: self.limits.max_label_length,
            kpi_windows: windows(&self.windows.kpis),
            sla: SlaPolicy {
                targets: [self.sla.acknowledge.millis(), self.sla.resolve.millis()],
            },
            max_incidents: self.limits.max_incidents,
            max_silence_millis: self.coverage.max_silence.millis,
            posture_weights: [
                self.posture.detection,
                self.posture.sla_acknowledge,
                self.posture.sla_resolve,
                self.posture.coverage,
                self.posture.false_positive,
            ],
            scorecard: ScorecardSettings {
                detected_by: [
                    Detection::Alert,
                    Detection::Hunt,
                    Detection::UserReport,
                    Detection::External,
                ]
                .map(|d| self.kpis.detected_by.contains(&d)),
                repeat_lookback_millis: self.windows.repeat_lookback.millis,
                hourly_rate: self.cost.hourly_rate,
                base_cost: {
                    let b = &self.cost.base;
                    [b.informational, b.low, b.medium, b.high, b.critical]
                },
            },
        }
    }

    /// The effective configuration as TOML, secrets redacted: `check-config`'s output.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        for (key, value) in shown.kafka.properties.iter_mut() {
            if looks_secret(key) {
                *value = "<redacted>".into();
            }
        }
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot print config: {e}\n"))
    }
}

impl fmt::Display for ClockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClockMode::Wall => "wall",
            ClockMode::Event => "event",
        })
    }
}

/// Gauges a compliance objective may name (without `soc_`).
const COMPLIANCE_KPIS: [&str; 32] = [
    "alert_volume",
    "incidents_open",
    "incidents",
    "mean_time_to_detect_seconds",
    "mean_time_to_acknowledge_seconds",
    "mean_time_to_contain_seconds",
    "mean_time_to_resolve_seconds",
    "mean_dwell_time_seconds",
    "time_to_detect_quantile_seconds",
    "time_to_acknowledge_quantile_seconds",
    "time_to_contain_quantile_seconds",
    "time_to_resolve_quantile_seconds",
    "dwell_time_quantile_seconds",
    "false_positive_ratio",
    "alert_false_positive_ratio",
    "detection_ratio",
    "escalation_ratio",
    "sla_compliance_ratio",
    "sla_breached_open_incidents",
    "repeat_incidents",
    "repeat_incident_ratio",
    "threat_intel_incidents",
    "threat_intel_ratio",
    "incident_cost",
    "analyst_open_incidents",
    "analyst_resolved_incidents",
    "analyst_alerts",
    "analyst_busy_ratio",
    "assets_monitored",
    "assets_unmonitored",
    "coverage_gap_ratio",
    "posture_score",
];

fn environment() -> config::Environment {
    config::Environment::with_prefix("SOCMETRICS")
        .prefix_separator("__")
        .separator("__")
        .list_separator(",")
        .with_list_parse_key("windows.alerts")
        .with_list_parse_key("windows.kpis")
        .try_parsing(true)
}

fn valid_topic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// librdkafka properties whose values must never be printed or logged.
pub fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "key", "token", "jaas"]
        .iter()
        .any(|word| key.contains(word))
}

#[cfg(test)]
mod tests;
