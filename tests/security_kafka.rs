//! The daemon against the secure listeners of deploy/local/kafka.sh's broker: SASL_SSL with
//! SCRAM-SHA-512 and TLS with a required client certificate (mTLS). Records of a known mix are
//! produced (over PLAINTEXT), the daemon consumes them through the secure listener, and
//! `/metrics` must show exactly the counts of that mix. A wrong SCRAM password must leave the
//! daemon serving with `soc_kafka_up 0`, saying why, and never showing the password.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Daemon, Lcg, Record, Secure, block_on, create_topic, produce, secure, unique};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::json;

/// 2026-03-01T12:00:00Z: the latest detection, event-clock "now".
const NOW: i64 = 1_772_366_400_000;
const HOUR: i64 = 3_600_000;

/// `count` alerts of a fixed mix (the latest first), and their independent count per
/// (source, lower-case severity).
fn alerts(seed: u64, count: usize) -> (Vec<Record>, BTreeMap<(String, String), u64>) {
    let sources = ["splunk", "sentinel", "crowdstrike"];
    let severities = ["informational", "Low", "MEDIUM", "high", "Critical"];
    let mut random = Lcg(seed);
    let mut records = Vec::new();
    let mut expected = BTreeMap::new();
    for i in 0..count {
        let source = sources[random.below(3) as usize];
        let severity = severities[random.below(5) as usize];
        // Within a day of NOW: none is late, whatever the order.
        let at = if i == 0 {
            NOW
        } else {
            NOW - random.below(24 * HOUR as u64) as i64
        };
        records.push(Record::json(json!({
            "alert_id": format!("sec-{seed}-{i}"),
            "detected_at": at,
            "source": source,
            "severity": severity,
        })));
        *expected
            .entry((source.to_owned(), severity.to_lowercase()))
            .or_default() += 1;
    }
    (records, expected)
}

/// A TOML string (quoted and escaped).
fn toml_str(value: impl AsRef<str>) -> String {
    toml::Value::String(value.as_ref().to_owned()).to_string()
}

fn path_str(path: &Path) -> String {
    toml_str(path.to_str().expect("UTF-8 path"))
}

fn config(brokers: &str, topic: &str, properties: &[(&str, String)]) -> String {
    let mut config = format!(
        "[kafka]\nbrokers = {}\ngroup_id = {}\n\n[kafka.properties]\n",
        toml_str(brokers),
        toml_str(unique("group-sec")),
    );
    for (key, value) in properties {
        config.push_str(&format!("{} = {value}\n", toml_str(key)));
    }
    config.push_str(&format!(
        "\n[topics]\nalerts = {}\n\n[clock]\nmode = \"event\"\n",
        toml_str(topic)
    ));
    config
}

/// librdkafka's properties for SASL_SSL with SCRAM; `password` is the TOML value as written.
fn scram_properties(secure: &Secure, password: String) -> Vec<(&'static str, String)> {
    vec![
        ("security.protocol", toml_str("SASL_SSL")),
        ("sasl.mechanism", toml_str(&secure.scram_mechanism)),
        ("sasl.username", toml_str(&secure.scram_user)),
        ("sasl.password", password),
        ("ssl.ca.location", path_str(&secure.ca)),
    ]
}

fn mtls_properties(secure: &Secure) -> Vec<(&'static str, String)> {
    vec![
        ("security.protocol", toml_str("SSL")),
        ("ssl.ca.location", path_str(&secure.ca)),
        ("ssl.certificate.location", path_str(&secure.client_cert)),
        ("ssl.key.location", path_str(&secure.client_key)),
    ]
}

/// Produces a known mix to a new topic, runs the daemon on `brokers` with `properties` (and
/// `env`), and asserts the exact counts it exports and that it reports Kafka up.
fn consumes_exactly(seed: u64, brokers: &str, properties: &[(&str, String)], env: &[(&str, &str)]) {
    let topic = unique("alerts-sec");
    block_on(create_topic(&topic, 1, &[]));
    let (records, expected) = alerts(seed, 120);
    block_on(produce(&topic, &records));
    assert_eq!(expected.values().sum::<u64>(), 120);

    let daemon = Daemon::spawn(
        &config(brokers, &topic, properties),
        env,
        Stdio::null(),
        Stdio::inherit(),
    );
    daemon.wait_ready(Duration::from_secs(60));
    let consumed = records.len() as f64;
    let metrics = daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get("soc_events_consumed_total", &[("topic", &topic)]) == Some(consumed)
            && m.get("soc_kafka_up", &[]) == Some(1.0)
    });
    assert_eq!(
        metrics.series("soc_alerts_total").len(),
        expected.len(),
        "{}",
        metrics.text
    );
    for ((source, severity), count) in &expected {
        assert_eq!(
            metrics.get(
                "soc_alerts_total",
                &[("source", source.as_str()), ("severity", severity.as_str())]
            ),
            Some(*count as f64),
            "soc_alerts_total {source}/{severity}"
        );
    }
    assert_eq!(
        metrics.get("soc_events_rejected_total", &[("topic", &topic)]),
        None,
        "{}",
        metrics.text
    );
    assert_eq!(metrics.get("soc_kafka_up", &[]), Some(1.0));
    let status = daemon.terminate();
    assert!(status.success(), "exit status {status:?}");
}

/// The password by reference (`${file:PATH}`, resolved by the daemon): the config holds no
/// secret.
#[test]
fn sasl_ssl_scram_sha_512_with_the_password_from_a_file() {
    let secure = secure();
    let password = toml_str(format!(
        "${{file:{}}}",
        secure.scram_password_file.to_str().expect("UTF-8 path")
    ));
    consumes_exactly(
        11,
        &secure.sasl_ssl,
        &scram_properties(secure, password),
        &[],
    );
}

/// The password by reference (`${env:NAME}`, resolved by the daemon).
#[test]
fn sasl_ssl_scram_sha_512_with_the_password_from_the_environment() {
    let secure = secure();
    let password = secure.scram_password();
    consumes_exactly(
        14,
        &secure.sasl_ssl,
        &scram_properties(secure, toml_str("${env:SOCMETRICS_TEST_SCRAM_PASSWORD}")),
        &[("SOCMETRICS_TEST_SCRAM_PASSWORD", &password)],
    );
}

#[test]
fn sasl_ssl_scram_sha_512_with_the_password_in_the_config() {
    let secure = secure();
    let password = toml_str(secure.scram_password());
    consumes_exactly(
        12,
        &secure.sasl_ssl,
        &scram_properties(secure, password),
        &[],
    );
}

#[test]
fn mtls_with_a_client_certificate() {
    let secure = secure();
    // The listener really requires the certificate: without one, no metadata.
    let without: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &secure.mtls)
        .set("security.protocol", "SSL")
        .set("ssl.ca.location", secure.ca.to_str().unwrap())
        .set("log_level", "0")
        .create()
        .unwrap();
    assert!(
        without
            .fetch_metadata(None, Duration::from_secs(5))
            .is_err(),
        "the mTLS listener {} answered a client without a certificate",
        secure.mtls
    );
    consumes_exactly(13, &secure.mtls, &mtls_properties(secure), &[]);
}

/// How long the daemon must keep serving without the brokers: past the 30 s of librdkafka's
/// metadata timeout at startup, so an instance that gives up after one attempt fails here.
const KEEPS_SERVING: Duration = Duration::from_secs(35);

/// A wrong SCRAM password: the daemon keeps serving `/metrics` with `soc_kafka_up 0`, logs
/// an authentication error, never shows the password, and SIGTERM still stops it cleanly.
#[test]
fn sasl_ssl_wrong_password_keeps_serving_with_kafka_down_and_never_shows_it() {
    let secure = secure();
    let topic = unique("alerts-sec-wrong");
    block_on(create_topic(&topic, 1, &[]));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let wrong = format!("Wr0ngS3cret-{nanos:x}");
    assert_ne!(wrong, secure.scram_password());

    let logs = std::env::temp_dir().join(unique("socmetrics-sec-logs"));
    std::fs::create_dir_all(&logs).unwrap();
    let (stdout_path, stderr_path) = (logs.join("stdout"), logs.join("stderr"));
    let started = Instant::now();
    let mut daemon = Daemon::spawn(
        &config(
            &secure.sasl_ssl,
            &topic,
            &scram_properties(secure, toml_str(&wrong)),
        ),
        &[],
        Stdio::from(std::fs::File::create(&stdout_path).unwrap()),
        Stdio::from(std::fs::File::create(&stderr_path).unwrap()),
    );
    let stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();

    // Serving from the start, and all along.
    let mut scrapes = 0;
    while started.elapsed() < KEEPS_SERVING {
        assert!(
            daemon.is_running(),
            "the daemon exited {:?} after start with a wrong password; it must keep serving \
             and retrying. stderr:\n{}",
            started.elapsed(),
            stderr()
        );
        if let Some(metrics) = daemon.try_scrape() {
            scrapes += 1;
            assert_eq!(
                metrics.get("soc_kafka_up", &[]),
                Some(0.0),
                "{}",
                metrics.text
            );
            assert!(
                !metrics.text.contains(&wrong),
                "the password is in /metrics:\n{}",
                metrics.text
            );
        } else {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "/metrics does not answer {:?} after start",
                started.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(scrapes > 20, "only {scrapes} scrapes answered");

    let status = {
        let asked = Instant::now();
        let status = daemon.terminate();
        assert!(
            asked.elapsed() <= Duration::from_secs(10),
            "SIGTERM took {:?}",
            asked.elapsed()
        );
        status
    };
    assert!(
        status.success(),
        "exit status {status:?}; stderr:\n{}",
        stderr()
    );

    let stderr = stderr();
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    assert!(
        stderr.to_lowercase().contains("authentication"),
        "no authentication error in stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains(&wrong),
        "the password is in stderr:\n{stderr}"
    );
    assert!(
        !stdout.contains(&wrong),
        "the password is in stdout:\n{stdout}"
    );
    let _ = std::fs::remove_dir_all(&logs);
}
