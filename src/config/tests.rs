//! Config tests: the shipped example and the engine settings against the documented defaults,
//! key-naming errors, the text of every value check, redaction.

use super::*;
use crate::engine::Window;
use crate::engine::incident::Stage;
use crate::event::{Detection, Severity};
use crate::formats::Format;

#[test]
fn shipped_example_equals_the_defaults() {
    let shipped = Config::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/socmetrics.toml"
    )))
    .unwrap();
    assert_eq!(shipped, Config::default());
}

#[test]
fn unknown_keys_are_named() {
    let error = Config::from_toml("[limits]\nmax_recrod_bytes = 5\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("max_recrod_bytes"), "{error}");
    let error = Config::from_toml("[kafkaa]\nbrokers = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("kafkaa"), "{error}");
}

#[test]
fn bad_values_name_their_key() {
    let error = Config::from_toml("[windows]\nalerts = [\"5 parsecs\"]\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("windows.alerts"), "{error}");
    let error = Config::from_toml("[clock]\nmode = \"sundial\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("clock.mode"), "{error}");
    let error = Config::from_toml("[limits]\nmax_record_bytes = \"lots\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("limits.max_record_bytes"), "{error}");
}

#[test]
fn every_value_problem_is_reported_at_once() {
    let error = Config::from_toml("[http]\nlisten = \"nowhere\"\n[limits]\nmax_label_values = 0\n[topics]\nalerts = \"a b\"\n")
        .unwrap_err()
        .to_string();
    for key in ["http.listen", "limits.max_label_values", "topics.alerts"] {
        assert!(error.contains(key), "{key} missing from {error}");
    }
}

#[test]
fn max_clock_ahead_is_a_duration_longer_than_zero() {
    assert_eq!(
        Config::default().limits.max_clock_ahead,
        Span {
            text: "1h".into(),
            millis: 3_600_000
        }
    );
    let config = Config::from_toml("[limits]\nmax_clock_ahead = \"90s\"\n").unwrap();
    assert_eq!(config.limits.max_clock_ahead.millis, 90_000);
    for bad in ["0s", "soon", "-5m"] {
        let error = Config::from_toml(&format!("[limits]\nmax_clock_ahead = \"{bad}\"\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("key `limits.max_clock_ahead`"), "{error}");
    }
    let error = Config::from_toml("[limits]\nmax_clock_ahead = \"0s\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("must be longer than zero"), "{error}");
}

#[test]
fn kafka_properties_keep_dotted_keys() {
    let config = Config::from_toml(
        "[kafka.properties]\n\"security.protocol\" = \"SSL\"\n\"fetch.min.bytes\" = 1\n",
    )
    .unwrap();
    assert_eq!(
        config
            .kafka
            .properties
            .get("security.protocol")
            .map(String::as_str),
        Some("SSL")
    );
    assert_eq!(
        config
            .kafka
            .properties
            .get("fetch.min.bytes")
            .map(String::as_str),
        Some("1")
    );
}

#[test]
fn secrets_are_redacted_when_printed() {
    let config = Config::from_toml(
        "[kafka.properties]\n\"sasl.password\" = \"hunter2\"\n\"sasl.username\" = \"soc\"\n",
    )
    .unwrap();
    let printed = config.to_redacted_toml();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("soc"), "{printed}");
}

#[test]
fn engine_settings_follow_the_windows() {
    let settings = Config::default().engine_settings();
    let labels: Vec<_> = settings
        .alert_windows
        .iter()
        .map(|w| w.label.as_str())
        .collect();
    assert_eq!(labels, ["5m", "1h", "24h"]);
    assert_eq!(settings.alert_windows[2].millis, 86_400_000);
    assert_eq!(settings.retention_millis, 120 * 86_400_000);
}

#[test]
fn compliance_objectives_name_real_gauges_once() {
    let typo = "[[compliance.objectives]]\nframework = \"f\"\ncontrol = \"c\"\nkpi = \"sla_complaince_ratio\"\nop = \">=\"\ntarget = 0.9\n";
    let error = Config::from_toml(typo).unwrap_err().to_string();
    assert!(error.contains("compliance.objectives[0].kpi"), "{error}");
    let twice = format!(
        "{}{}",
        typo.replace("complaince", "compliance"),
        typo.replace("complaince", "compliance")
    );
    let error = Config::from_toml(&twice).unwrap_err().to_string();
    assert!(
        error.contains("compliance.objectives[1]") && error.contains("repeats"),
        "{error}"
    );
    let error = Config::from_toml("[posture]\ndetection = -1.0\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("posture"), "{error}");
    let bad_op = "[[compliance.objectives]]\nframework = \"f\"\ncontrol = \"c\"\nkpi = \"posture_score\"\nop = \"~\"\ntarget = 1\n";
    assert!(Config::from_toml(bad_op).is_err());
}

/// Every value check, each failed once, with its exact text: `validate` reports them all.
#[test]
fn every_value_check_keeps_its_message() {
    let mut config = Config::default();
    config.kafka.brokers = " ".into();
    // A blank group makes the default state topic ` .state`, which is no topic name.
    config.kafka.group_id = " ".into();
    config.topics.alerts = "a b".into();
    config.topics.cases = String::new();
    config.topics.inventory = ".".into();
    config.topics.telemetry = "x".repeat(250);
    config.topics.dead_letter = Some("b c".into());
    config.http.listen = "nowhere".into();
    config.windows.alerts = Vec::new();
    config.windows.kpis = vec![Span::must("1h"), Span::must("1h")];
    config.limits = LimitsConfig {
        max_record_bytes: 0,
        max_depth: 0,
        max_label_values: 0,
        max_label_length: 0,
        max_incidents: 0,
        max_clock_ahead: Span {
            text: "0s".into(),
            millis: 0,
        },
    };
    config.cost.base.low = -1.0;
    config.posture.coverage = f64::NAN;
    // An unknown gauge first, then the same (framework, control) pair again.
    let objective = config.compliance.objectives[0].clone();
    config.compliance.objectives = vec![
        Objective {
            kpi: "nope".into(),
            ..objective.clone()
        },
        objective,
    ];
    config.log.level = "[".into();
    let Err(ConfigError::Values(mut problems)) = config.validate() else {
        panic!("expected value problems");
    };
    problems.sort();
    let topic = "must be a Kafka topic name (1–249 of [a-zA-Z0-9._-])";
    let mut expected = vec![
        "key `kafka.brokers`: must name at least one broker".to_owned(),
        "key `kafka.group_id`: must not be empty".to_owned(),
        format!("key `topics.alerts`: {topic}"),
        format!("key `topics.cases`: {topic}"),
        format!("key `topics.inventory`: {topic}"),
        format!("key `topics.telemetry`: {topic}"),
        "key `topics.state`: must be a Kafka topic name (set it, or a kafka.group_id that makes one)".to_owned(),
        format!("key `topics.dead_letter`: {topic}"),
        "key `http.listen`: must be an address such as 0.0.0.0:9746".to_owned(),
        "key `windows.alerts`: must list at least one window".to_owned(),
        "key `windows.kpis`: lists a window twice".to_owned(),
        "key `limits.max_record_bytes`: must be greater than 0".to_owned(),
        "key `limits.max_depth`: must be greater than 0".to_owned(),
        "key `limits.max_label_values`: must be greater than 0".to_owned(),
        "key `limits.max_label_length`: must be greater than 0".to_owned(),
        "key `limits.max_incidents`: must be greater than 0".to_owned(),
        "key `limits.max_clock_ahead`: must be longer than zero".to_owned(),
        "key `cost`: amounts must be non-negative numbers".to_owned(),
        "key `posture`: weights must be non-negative numbers".to_owned(),
        "key `compliance.objectives[0].kpi`: `nope` is not a gauge of PRODUCT.md §4 (without soc_)".to_owned(),
        "key `compliance.objectives[1]`: repeats a (framework, control) pair".to_owned(),
        "key `log.level`: must be a tracing filter such as info or socmetrics=debug".to_owned(),
    ];
    expected.sort();
    assert_eq!(problems, expected);
    // The only check that cannot fail alongside the topic-name check of the same key.
    let config = Config {
        topics: TopicsConfig {
            dead_letter: Some("soc.cases".into()),
            ..TopicsConfig::default()
        },
        ..Config::default()
    };
    let error = config.validate().unwrap_err().to_string();
    assert!(
        error.contains("key `topics.dead_letter`: must differ from the input topics"),
        "{error}"
    );
}

/// The documented defaults (config/socmetrics.toml, PRODUCT.md), written out by hand: the
/// engine has no defaults of its own, so this is what it runs with unless configured.
#[test]
fn default_engine_settings_are_the_documented_values() {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let settings = Config::default().engine_settings();
    let (acknowledge, resolve) = (Stage::Acknowledge.index(), Stage::Resolve.index());
    for (severity, ack, res) in [
        (Severity::Critical, 15 * MINUTE, 4 * HOUR),
        (Severity::High, HOUR, 24 * HOUR),
        (Severity::Medium, 4 * HOUR, 72 * HOUR),
        (Severity::Low, 24 * HOUR, 7 * DAY),
        (Severity::Informational, 72 * HOUR, 14 * DAY),
    ] {
        let targets = &settings.sla.targets;
        assert_eq!(targets[acknowledge][severity.index()], ack, "{severity}");
        assert_eq!(targets[resolve][severity.index()], res, "{severity}");
    }
    let scorecard = &settings.scorecard;
    assert_eq!(scorecard.hourly_rate, 60.0);
    for (severity, base) in [
        (Severity::Informational, 10.0),
        (Severity::Low, 50.0),
        (Severity::Medium, 150.0),
        (Severity::High, 400.0),
        (Severity::Critical, 1000.0),
    ] {
        assert_eq!(scorecard.base_cost[severity.index()], base, "{severity}");
    }
    for (detection, counted) in [
        (Detection::Alert, true),
        (Detection::Hunt, true),
        (Detection::UserReport, false),
        (Detection::External, false),
    ] {
        assert_eq!(
            scorecard.detected_by[detection.index()],
            counted,
            "{detection}"
        );
    }
    assert_eq!(scorecard.repeat_lookback_millis, 30 * DAY);
    let windows = |written: &[(&str, i64)]| -> Vec<Window> {
        written
            .iter()
            .map(|(label, millis)| Window {
                label: (*label).to_owned(),
                millis: *millis,
            })
            .collect()
    };
    assert_eq!(
        settings.alert_windows,
        windows(&[("5m", 5 * MINUTE), ("1h", HOUR), ("24h", DAY)])
    );
    assert_eq!(
        settings.kpi_windows,
        windows(&[
            ("24h", DAY),
            ("7d", 7 * DAY),
            ("30d", 30 * DAY),
            ("90d", 90 * DAY)
        ])
    );
    // The longest KPI window plus the repeat lookback.
    assert_eq!(settings.retention_millis, 90 * DAY + 30 * DAY);
    assert_eq!(settings.max_label_values, 1000);
    assert_eq!(settings.max_label_length, 128);
    assert_eq!(settings.max_incidents, 2_000_000);
    assert_eq!(settings.max_silence_millis, DAY);
    assert_eq!(settings.posture_weights, [1.0; 5]);
}

#[test]
fn inputs_name_their_format_and_keying_and_each_topic_once() {
    let config = Config::from_toml(
        r#"
        [[inputs]]
        topic = "sentinel.incidents"
        format = "sentinel"

        [[inputs]]
        topic = "edr.alerts"
        format = "ECS"
        keyed_by_incident = true
        "#,
    )
    .unwrap();
    assert_eq!(
        config.inputs,
        vec![
            InputConfig {
                topic: "sentinel.incidents".into(),
                format: Format::Sentinel,
                keyed_by_incident: false,
            },
            InputConfig {
                topic: "edr.alerts".into(),
                format: Format::Ecs,
                keyed_by_incident: true,
            },
        ]
    );
    assert!(config.repartitions());
    assert_eq!(config.repartition_topic(), "socmetrics.repartition");
    let shown = config.to_redacted_toml();
    assert!(
        shown.contains("[[inputs]]\ntopic = \"sentinel.incidents\"\nformat = \"sentinel\"\nkeyed_by_incident = false"),
        "{shown}"
    );

    let error = Config::from_toml("[[inputs]]\ntopic = \"x\"\nformat = \"qradar\"\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid config: key `inputs[0].format`: unknown format `qradar`: expected one of \
         native, ocsf, sentinel, ecs, splunk, thehive, wazuh"
    );
    let error = Config::from_toml(
        "[[inputs]]\ntopic = \"soc.alerts\"\n[[inputs]]\ntopic = \"socmetrics.state\"\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        "invalid config:\n  key `inputs[0].topic`: `soc.alerts` is already an input (each topic \
         is read once, in one format)\n  key `inputs[1].topic`: must differ from topics.state \
         and topics.repartition"
    );
}
