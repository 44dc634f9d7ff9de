//! The command line as a user meets it: check-config, exit codes, and the demo serving
//! alert metrics without Kafka.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

fn socmetrics() -> Command {
    Command::new(env!("CARGO_BIN_EXE_socmetrics"))
}

fn write_config(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}.toml", common::unique("cli")));
    std::fs::write(&path, text).unwrap();
    path
}

/// `socmetrics demo` on a free port, ready (`/readyz` 200 within a minute).
struct Demo {
    child: std::process::Child,
    url: String,
    client: reqwest::blocking::Client,
}

impl Demo {
    fn start(history: &str) -> Self {
        let port = common::free_port();
        let child = socmetrics()
            .args([
                "demo",
                "--history",
                history,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let demo = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while demo
            .client
            .get(format!("{}/readyz", demo.url))
            .send()
            .map(|r| r.status().as_u16())
            .ok()
            != Some(200)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "demo not ready within a minute"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        demo
    }

    fn scrape(&self) -> common::Metrics {
        common::Metrics::parse(
            &self
                .client
                .get(format!("{}/metrics", self.url))
                .send()
                .unwrap()
                .text()
                .unwrap(),
        )
    }

    /// SIGTERM; the demo must exit 0.
    fn terminate(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_redacted() {
    let path = write_config(
        "[kafka]\nbrokers = \"k1:9092\"\n[kafka.properties]\n\"sasl.password\" = \"hunter2\"\n",
    );
    let output = socmetrics()
        .args(["check-config", "--config"])
        .arg(&path)
        .env("SOCMETRICS__HTTP__LISTEN", "127.0.0.1:9999")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(printed.contains("brokers = \"k1:9092\""), "{printed}");
    assert!(
        printed.contains("listen = \"127.0.0.1:9999\""),
        "environment override applies: {printed}"
    );
    assert!(
        printed.contains("<redacted>") && !printed.contains("hunter2"),
        "{printed}"
    );
    assert!(
        printed.contains("alerts = [\"5m\", \"1h\", \"24h\"]"),
        "{printed}"
    );
    assert!(printed.contains("max_clock_ahead = \"1h\""), "{printed}");
}

#[test]
fn bad_config_exits_64_naming_the_key() {
    for (text, key) in [
        ("[limits]\nmax_record_byte = 10\n", "max_record_byte"),
        ("[windows]\nkpis = [\"1 fortnight\"]\n", "windows.kpis"),
        ("[http]\nlisten = \"everywhere\"\n", "http.listen"),
        (
            "[limits]\nmax_clock_ahead = \"0s\"\n",
            "key `limits.max_clock_ahead`",
        ),
    ] {
        let path = write_config(text);
        let output = socmetrics()
            .args(["check-config", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "{text}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(error.contains(key), "{key} not named in: {error}");
    }
    let output = socmetrics()
        .args(["run", "--config", "/nonexistent/socmetrics.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
}

#[test]
fn environment_overrides_are_checked_like_the_file() {
    let path = write_config("");
    let output = socmetrics()
        .args(["check-config", "--config"])
        .arg(&path)
        .env("SOCMETRICS__CLOCK__MODE", "sundial")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("clock.mode")
    );
}

#[test]
fn demo_serves_alert_metrics_without_kafka_and_stops_on_sigterm() {
    let demo = Demo::start("1h");
    let metrics = demo.scrape();
    let sources: std::collections::BTreeSet<_> = metrics
        .series("soc_alerts_total")
        .into_iter()
        .map(|(labels, _)| labels["source"].clone())
        .collect();
    // The six simulated tools, and the sources two vendor adapters fix for the demo's vendor
    // streams (`elastic` for ECS alerts, `wazuh`; docs/formats.md).
    let expected = [
        "crowdstrike",
        "defender",
        "elastic",
        "guardduty",
        "sentinel",
        "splunk",
        "suricata",
        "wazuh",
    ];
    assert_eq!(sources, expected.map(str::to_owned).into(), "{sources:?}");
    // An hour of history at about 5 alerts a second, all inside the 1h and 24h windows.
    let total = metrics.sum("soc_alerts_total");
    assert!(total > 10_000.0, "{total}");
    let day: f64 = metrics
        .series("soc_alert_volume")
        .iter()
        .filter(|(labels, _)| labels["window"] == "24h")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(day, total);
    assert_eq!(
        metrics.get("soc_kafka_up", &[]),
        None,
        "no Kafka in the demo"
    );
    demo.terminate();
}

/// Every metric family of PRODUCT.md §4 the daemon exports without Kafka (all but
/// `soc_kafka_up` and `soc_kafka_consumer_lag`).
const SPEC_FAMILIES: &[&str] = &[
    "soc_alerts_total",
    "soc_alert_volume",
    "soc_incidents_opened_total",
    "soc_incidents_resolved_total",
    "soc_incidents_reopened_total",
    "soc_incidents_open",
    "soc_incidents",
    "soc_time_to_detect_seconds",
    "soc_time_to_acknowledge_seconds",
    "soc_time_to_contain_seconds",
    "soc_time_to_resolve_seconds",
    "soc_dwell_time_seconds",
    "soc_mean_time_to_detect_seconds",
    "soc_mean_time_to_acknowledge_seconds",
    "soc_mean_time_to_contain_seconds",
    "soc_mean_time_to_resolve_seconds",
    "soc_mean_dwell_time_seconds",
    "soc_time_to_detect_quantile_seconds",
    "soc_time_to_acknowledge_quantile_seconds",
    "soc_time_to_contain_quantile_seconds",
    "soc_time_to_resolve_quantile_seconds",
    "soc_dwell_time_quantile_seconds",
    "soc_false_positive_ratio",
    "soc_alert_false_positive_ratio",
    "soc_detection_ratio",
    "soc_escalation_ratio",
    "soc_sla_compliance_ratio",
    "soc_sla_breached_open_incidents",
    "soc_sla_breaches_total",
    "soc_repeat_incidents",
    "soc_repeat_incident_ratio",
    "soc_threat_intel_incidents",
    "soc_threat_intel_ratio",
    "soc_incident_cost",
    "soc_analyst_open_incidents",
    "soc_analyst_resolved_incidents",
    "soc_analyst_alerts",
    "soc_analyst_busy_ratio",
    "soc_assets_monitored",
    "soc_assets_unmonitored",
    "soc_coverage_gap_ratio",
    "soc_posture_score",
    "soc_compliance_score",
    "soc_compliance_objective_met",
    "soc_events_consumed_total",
    "soc_events_rejected_total",
    "soc_events_duplicate_total",
    "soc_events_late_total",
    "soc_last_event_timestamp_seconds",
    "soc_incidents_in_memory",
    "soc_label_overflow_total",
    "soc_build_info",
];

#[test]
fn demo_exports_every_metric_family_of_the_spec_within_a_minute() {
    // Six hours of history: every family has data (an hour does too, but with fewer incidents
    // to spare), and the debug build replays it in a fraction of the day's time.
    let started = std::time::Instant::now();
    let demo = Demo::start("6h");
    let ready = started.elapsed();
    let metrics = demo.scrape();
    // Histograms come back from the parser as `<name>_bucket` (and `_count`, `_sum`).
    let missing: Vec<&str> = SPEC_FAMILIES
        .iter()
        .copied()
        .filter(|name| {
            [String::new(), "_bucket".into(), "_count".into()]
                .iter()
                .all(|suffix| metrics.series(&format!("{name}{suffix}")).is_empty())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "families without a sample {ready:?} after start: {missing:?}"
    );
    // The simulated estate: a few percent of the inventory silent for more than a day.
    let unmonitored = metrics.get("soc_assets_unmonitored", &[]).unwrap();
    let gap = metrics.get("soc_coverage_gap_ratio", &[]).unwrap();
    assert!(unmonitored > 0.0, "{unmonitored}");
    assert!((0.02..0.07).contains(&gap), "{gap}");
    assert!(metrics.series("soc_kafka_up").is_empty());
    assert!(metrics.series("soc_kafka_consumer_lag").is_empty());
    demo.terminate();
    eprintln!("demo ready after {ready:?}; every family exported");
}

/// Issue 10, finding 6: a value is redacted whatever its key is called, and a property
/// librdkafka refuses is a config error (64) naming the key, never its value.
#[test]
fn secrets_never_reach_the_output_whatever_the_property_is_called() {
    // Keys librdkafka takes, none of them named like a secret: redacted by value.
    let path = write_config(
        "[kafka]\nbrokers = \"k1:9092\"\n[kafka.properties]\n\
         \"ssl.certificate.pem\" = \"Tr0ub4dor-one\"\n\
         \"ssl.key.pem\" = \"Tr0ub4dor-two\"\n\
         \"sasl.username\" = \"soc-reader\"\n\
         \"sasl.password\" = \"${env:SOCMETRICS_TEST_PASSWORD}\"\n",
    );
    let output = socmetrics()
        .args(["check-config", "--config"])
        .arg(&path)
        .env("SOCMETRICS_TEST_PASSWORD", "Tr0ub4dor-three")
        .output()
        .unwrap();
    let printed = String::from_utf8(output.stdout).unwrap();
    let errors = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{errors}");
    assert_eq!(printed.matches("<redacted>").count(), 2, "{printed}");
    assert!(!printed.contains("Tr0ub4dor"), "{printed}");
    assert!(
        printed.contains("\"sasl.username\" = \"soc-reader\""),
        "{printed}"
    );
    assert!(
        printed.contains("\"sasl.password\" = \"${env:SOCMETRICS_TEST_PASSWORD}\""),
        "a reference is shown as written: {printed}"
    );

    // A misspelt key, a refused value: exit 64, the key named, the value nowhere.
    for (key, value) in [
        ("sasl.passwd", "S3cr3t-misspelt"),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required password=\"S3cr3t-jaas\";",
        ),
        ("client.dns.lookup", "S3cr3t-enum"),
    ] {
        let text = format!(
            "[kafka]\nbrokers = \"127.0.0.1:1\"\n[kafka.properties]\n{key:?} = {}\n",
            toml_string(value)
        );
        let path = write_config(&text);
        for command in ["check-config", "run"] {
            let output = socmetrics()
                .args([command, "--config"])
                .arg(&path)
                .env(
                    "SOCMETRICS__HTTP__LISTEN",
                    format!("127.0.0.1:{}", common::free_port()),
                )
                .output()
                .unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(output.status.code(), Some(64), "{command} {key}: {all}");
            assert!(all.contains(&format!("kafka.properties.{key}")), "{all}");
            assert!(
                !all.contains("S3cr3t"),
                "{command} {key} shows the value: {all}"
            );
        }
    }

    // A reference that cannot be resolved names the key and the variable.
    let path = write_config(
        "[kafka]\n[kafka.properties]\n\"sasl.password\" = \"${env:SOCMETRICS_TEST_UNSET_VAR}\"\n",
    );
    let output = socmetrics()
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("SOCMETRICS_TEST_UNSET_VAR")
        .output()
        .unwrap();
    let errors = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(64), "{errors}");
    assert!(
        errors.contains("kafka.properties.sasl.password")
            && errors.contains("SOCMETRICS_TEST_UNSET_VAR"),
        "{errors}"
    );
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// Issue 10, finding 1: with no broker to reach, `run` keeps serving `soc_kafka_up 0` (not
/// ready), retries, and SIGTERM ends it with 0 well within the drain deadline.
#[test]
fn an_unreachable_broker_at_start_keeps_it_serving_and_sigterm_exits_0() {
    let port = common::free_port();
    let path = write_config(&format!(
        "[kafka]\nbrokers = \"127.0.0.1:1\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n"
    ));
    let mut child = socmetrics()
        .args(["run", "--config"])
        .arg(&path)
        .env("RUST_LOG", "socmetrics=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::blocking::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    // Past two failed attempts (5 s each, 1 s and 2 s apart) and the old 30 s exit.
    let started = std::time::Instant::now();
    let mut metrics = None;
    while started.elapsed() < Duration::from_secs(35) {
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            child.try_wait().unwrap().is_none(),
            "exited while Kafka was down"
        );
        if let Ok(response) = client.get(format!("{url}/metrics")).send() {
            metrics = Some(common::Metrics::parse(&response.text().unwrap()));
        }
    }
    let metrics = metrics.expect("/metrics answered");
    assert_eq!(metrics.get("soc_kafka_up", &[]), Some(0.0));
    let ready = client.get(format!("{url}/readyz")).send().unwrap().status();
    assert_eq!(ready.as_u16(), 503);
    let healthy = client
        .get(format!("{url}/healthz"))
        .send()
        .unwrap()
        .status();
    assert_eq!(healthy.as_u16(), 200);

    let signalled = std::time::Instant::now();
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "SIGTERM not honoured within the drain deadline"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(
        errors.matches("Kafka is not ready, retrying").count() >= 3,
        "retries are logged: {errors}"
    );
}
