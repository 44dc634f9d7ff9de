//! Config tests: the shipped example, key-naming errors, environment overrides.

use super::*;

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
