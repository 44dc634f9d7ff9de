//! The sections that say how the daemon runs: `[kafka]`, `[topics]`, `[http]`, `[clock]`,
//! `[windows]`, `[limits]` and `[log]`. Each section's `Default` is the one place its documented
//! defaults are written (`config/socmetrics.toml` must equal them); their doc comments are the
//! user documentation of the keys.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Span;

/// How to reach Kafka.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    /// Consumer group; instances sharing it share the partitions.
    pub group_id: String,
    /// Passed to librdkafka (TLS, SASL, tuning). A value may be `${env:NAME}` or
    /// `${file:PATH}`. Only the values of keys known to be harmless are ever printed; every
    /// other value is redacted from `check-config`, logs and errors.
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
    /// Where events of inputs not keyed by incident are re-keyed by incident id (PRODUCT.md §1);
    /// `<kafka.group_id>.repartition` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repartition: Option<String>,
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
            repartition: None,
        }
    }
}

impl TopicsConfig {
    /// The dead-letter topic, if one is configured.
    pub fn dead_letter(&self) -> Option<&str> {
        self.dead_letter.as_deref().filter(|t| !t.is_empty())
    }
}

/// One `[[inputs]]` topic (PRODUCT.md §7): its format, and whether its producers key it by
/// incident id so it can skip the repartition topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    pub topic: String,
    #[serde(default)]
    pub format: crate::formats::Format,
    /// True only if every record is keyed by its incident id and the topic is partitioned like
    /// `topics.alerts` (checked at start); false sends its events through the repartition topic.
    #[serde(default)]
    pub keyed_by_incident: bool,
}

/// The HTTP endpoint, and how it protects itself (PRODUCT.md §5: idle and slow clients are
/// timed out and connections are capped, so `/metrics` answers while a thousand sockets hang).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub listen: String,
    /// A Prometheus exporter-toolkit web configuration file (`web-config.yml`: TLS, basic auth,
    /// response headers), as node_exporter's `--web.config.file`. Unset: plain HTTP, no auth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_config_file: Option<PathBuf>,
    /// Connections served at once. When full, a new connection takes the place of the one
    /// that has waited longest without a request in progress (a slow or idle client); when
    /// every connection is mid-request, the new one is closed at once.
    pub max_connections: usize,
    /// From the connection (or the first byte of a keep-alive request) to a complete request
    /// head, TLS handshake included.
    pub header_timeout: Span,
    /// From a complete request head to the last byte of its response handed to the socket.
    pub request_timeout: Span,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Span,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:9746".into(),
            web_config_file: None,
            max_connections: 256,
            header_timeout: Span::must("5s"),
            request_timeout: Span::must("10s"),
            idle_timeout: Span::must("90s"),
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

impl fmt::Display for ClockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClockMode::Wall => "wall",
            ClockMode::Event => "event",
        })
    }
}

/// The clock that decides window membership and SLA breaches.
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

impl WindowsConfig {
    /// How long state is kept (PRODUCT.md §3): the longest KPI window plus the repeat lookback.
    pub(super) fn retention_millis(&self) -> i64 {
        let longest_kpi = self.kpis.iter().map(|s| s.millis).max().unwrap_or(0);
        longest_kpi.saturating_add(self.repeat_lookback.millis)
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
    /// A record with any event time later than the wall clock plus this is rejected
    /// (`clock_ahead`), in either clock mode, so no record moves the event clock (or an
    /// incident, or a heartbeat) into the future.
    pub max_clock_ahead: Span,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_record_bytes: 1024 * 1024,
            max_depth: 32,
            max_label_values: 1000,
            max_label_length: 128,
            max_incidents: 2_000_000,
            max_clock_ahead: Span::must("1h"),
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Logging, to stderr.
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
            format: LogFormat::default(),
            level: "info".into(),
        }
    }
}

impl HttpConfig {
    /// `header_timeout`, `request_timeout` and `idle_timeout` as durations.
    pub fn timeouts(&self) -> [std::time::Duration; 3] {
        [
            &self.header_timeout,
            &self.request_timeout,
            &self.idle_timeout,
        ]
        .map(|span| std::time::Duration::from_millis(span.millis.unsigned_abs()))
    }
}
