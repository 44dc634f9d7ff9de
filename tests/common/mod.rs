//! Integration-test fixtures: a real Kafka broker (started through deploy/local/kafka.sh when
//! none answers; `SOCMETRICS_TEST_BROKERS` points elsewhere), unique topic names, a producer,
//! the daemon binary as a child process, and a `/metrics` scraper.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// A small deterministic generator (PCG-style LCG), so scenarios are the same on every run.
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The bootstrap address of the test broker, starting one if needed.
pub fn brokers() -> &'static str {
    static BROKERS: OnceLock<String> = OnceLock::new();
    BROKERS.get_or_init(|| {
        if let Ok(brokers) = std::env::var("SOCMETRICS_TEST_BROKERS") {
            return brokers;
        }
        let default = "127.0.0.1:9092";
        if answers(default) {
            return default.to_owned();
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/local/kafka.sh");
        let output = Command::new(&script)
            .arg("start")
            .stderr(Stdio::inherit())
            .output()
            .expect("run deploy/local/kafka.sh start");
        assert!(
            output.status.success(),
            "deploy/local/kafka.sh start failed"
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .expect("kafka.sh prints the bootstrap address")
            .trim()
            .to_owned()
    })
}

/// The secure listeners of deploy/local/kafka.sh's broker, from `kafka.sh secure-env`.
#[derive(Debug)]
pub struct Secure {
    /// SASL_SSL with SCRAM (`mechanism`, `user`).
    pub sasl_ssl: String,
    /// SSL with a required client certificate.
    pub mtls: String,
    /// The CA the broker's certificate (and the client's) chains to, PEM.
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub scram_mechanism: String,
    pub scram_user: String,
    /// The SCRAM user's password (one line).
    pub scram_password_file: PathBuf,
}

impl Secure {
    pub fn scram_password(&self) -> String {
        std::fs::read_to_string(&self.scram_password_file)
            .expect("read the SCRAM password file")
            .trim_end()
            .to_owned()
    }
}

/// The secure listeners of the script's broker (started, or checked, by `kafka.sh start`,
/// which fails when the running broker predates them). Panics when the test brokers are not
/// that script's.
pub fn secure() -> &'static Secure {
    static SECURE: OnceLock<Secure> = OnceLock::new();
    SECURE.get_or_init(|| {
        let own = format!(
            "127.0.0.1:{}",
            std::env::var("KAFKA_PORT").unwrap_or_else(|_| "9092".to_owned())
        );
        if let Ok(brokers) = std::env::var("SOCMETRICS_TEST_BROKERS") {
            assert_eq!(
                brokers, own,
                "SOCMETRICS_TEST_BROKERS={brokers} is not the broker of deploy/local/kafka.sh \
                 ({own}): the SASL_SSL and mTLS tests need that script's listeners, certificates \
                 and SCRAM user; unset SOCMETRICS_TEST_BROKERS or point it at {own}"
            );
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/local/kafka.sh");
        let run = |command: &str| {
            let output = Command::new(&script)
                .arg(command)
                .stderr(Stdio::inherit())
                .output()
                .expect("run deploy/local/kafka.sh");
            assert!(
                output.status.success(),
                "deploy/local/kafka.sh {command} failed (its stderr above says why); if the \
                 broker was started by an older kafka.sh (no SASL_SSL/mTLS listeners), restart \
                 it: deploy/local/kafka.sh stop && deploy/local/kafka.sh start"
            );
            String::from_utf8(output.stdout).expect("kafka.sh prints UTF-8")
        };
        let bootstrap = run("start");
        assert_eq!(bootstrap.trim(), own, "kafka.sh start's bootstrap address");
        assert_eq!(
            brokers(),
            own,
            "the tests' PLAINTEXT broker must be the script's (set KAFKA_PORT and \
             SOCMETRICS_TEST_BROKERS alike)"
        );
        let env: BTreeMap<String, String> = run("secure-env")
            .lines()
            .map(|line| {
                let (key, value) = line.split_once('=').expect("KEY='value' lines");
                let value = value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .expect("a single-quoted value")
                    .replace("'\\''", "'");
                (key.to_owned(), value)
            })
            .collect();
        let get = |key: &str| {
            env.get(key)
                .unwrap_or_else(|| panic!("kafka.sh secure-env gives no {key}"))
                .clone()
        };
        Secure {
            sasl_ssl: get("KAFKA_SASL_SSL"),
            mtls: get("KAFKA_MTLS"),
            ca: get("KAFKA_CA").into(),
            client_cert: get("KAFKA_CLIENT_CERT").into(),
            client_key: get("KAFKA_CLIENT_KEY").into(),
            scram_mechanism: get("KAFKA_SCRAM_MECHANISM"),
            scram_user: get("KAFKA_SCRAM_USER"),
            scram_password_file: get("KAFKA_SCRAM_PASSWORD_FILE").into(),
        }
    })
}

fn answers(address: &str) -> bool {
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok())
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}.{}.{nanos}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates `topic` with `partitions` partitions and topic-level `settings`.
pub async fn create_topic(topic: &str, partitions: i32, settings: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let mut new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (key, value) in settings {
        new_topic = new_topic.set(key, value);
    }
    let results = admin
        .create_topics(
            &[new_topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .unwrap();
    for result in results {
        result.unwrap();
    }
}

/// One record to produce.
#[derive(Clone, Debug)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
}

impl Record {
    pub fn json(value: serde_json::Value) -> Self {
        Self {
            key: None,
            payload: Some(value.to_string().into_bytes()),
        }
    }

    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            key: None,
            payload: Some(bytes.into()),
        }
    }

    pub fn tombstone(key: &str) -> Self {
        Self {
            key: Some(key.as_bytes().to_vec()),
            payload: None,
        }
    }
}

/// Produces `records` in order to partition 0 of `topic`, waiting for every acknowledgement.
pub async fn produce(topic: &str, records: &[Record]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.max.bytes", "10485760")
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    for record in records {
        let mut future =
            FutureRecord::<[u8], [u8]>::to(topic)
                .partition(0)
                .headers(OwnedHeaders::new().insert(Header {
                    key: "producer",
                    value: Some("test"),
                }));
        if let Some(key) = &record.key {
            future = future.key(key);
        }
        if let Some(payload) = &record.payload {
            future = future.payload(payload);
        }
        producer
            .send(future, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// Produces `records` in order, each to the partition its key hashes to (unkeyed: any), as
/// producers keyed by incident id do.
pub async fn produce_keyed(topic: &str, records: &[Record]) {
    produce_to(brokers(), topic, records, None).await;
}

/// Produces `records` to `brokers`, to `partition` or by key.
pub async fn produce_to(brokers: &str, topic: &str, records: &[Record], partition: Option<i32>) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut deliveries = Vec::new();
    for record in records {
        let mut future = FutureRecord::<[u8], [u8]>::to(topic);
        if let Some(partition) = partition {
            future = future.partition(partition);
        }
        if let Some(key) = &record.key {
            future = future.key(key);
        }
        if let Some(payload) = &record.payload {
            future = future.payload(payload);
        }
        deliveries.push(producer.send_result(future).map_err(|(e, _)| e).unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
}

/// Reads `count` records of partition 0 of `topic` from the start (dead letters).
pub fn read_topic(topic: &str, count: usize, timeout: Duration) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .set("fetch.message.max.bytes", "10485760")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + timeout;
    let mut read = Vec::new();
    while read.len() < count && Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            read.push(message.detach());
        }
    }
    read
}

/// A header's value as text.
pub fn header(message: &OwnedMessage, key: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// A free loopback port for the daemon's HTTP server.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The socmetrics binary running as a child process.
pub struct Daemon {
    child: Child,
    pub port: u16,
    config_path: PathBuf,
}

impl Daemon {
    /// Starts `socmetrics run` with `config` (TOML, without `[http]`, which the fixture sets).
    pub fn start(config: &str) -> Self {
        let daemon = Self::spawn(config, &[], Stdio::null(), Stdio::inherit());
        daemon.wait_ready(Duration::from_secs(60));
        daemon
    }

    /// Like [`Daemon::start`] without waiting for readiness: with `env` added to its
    /// environment, its output to `stdout`/`stderr`.
    pub fn spawn(config: &str, env: &[(&str, &str)], stdout: Stdio, stderr: Stdio) -> Self {
        let port = free_port();
        let config_path = std::env::temp_dir().join(format!("{}.toml", unique("socmetrics-test")));
        std::fs::write(
            &config_path,
            format!("{config}\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_socmetrics"))
            .args(["run", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", "socmetrics=info,librdkafka=warn")
            .envs(env.iter().copied())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        Self {
            child,
            port,
            config_path,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if http_status(&self.url("/readyz")) == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("daemon not ready within {timeout:?}");
    }

    /// The current `/metrics`.
    pub fn scrape(&self) -> Metrics {
        let body = http_get(&self.url("/metrics")).expect("/metrics answers");
        Metrics::parse(&body)
    }

    /// The current `/metrics`, if it answers.
    pub fn try_scrape(&self) -> Option<Metrics> {
        http_get(&self.url("/metrics")).map(|body| Metrics::parse(&body))
    }

    pub fn healthz(&self) -> Option<u16> {
        http_status(&self.url("/healthz"))
    }

    /// Scrapes until `done` holds (or panics after `timeout`), returning that scrape.
    pub fn scrape_until(&self, timeout: Duration, done: impl Fn(&Metrics) -> bool) -> Metrics {
        let deadline = Instant::now() + timeout;
        loop {
            let metrics = self.scrape();
            if done(&metrics) {
                return metrics;
            }
            assert!(
                Instant::now() < deadline,
                "condition not reached within {timeout:?}; last scrape:\n{}",
                metrics.text
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no draining, no commit, no flush.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config_path);
    }
}

fn http_get(url: &str) -> Option<String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    client.get(url).send().ok()?.text().ok()
}

fn http_status(url: &str) -> Option<u16> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    Some(client.get(url).send().ok()?.status().as_u16())
}

/// Runs a future to completion (the tests are synchronous; rdkafka's futures need no runtime
/// of their own, the daemon runs in its own process).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A parsed `/metrics` page.
#[derive(Debug)]
pub struct Metrics {
    pub text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Metrics {
    pub fn parse(text: &str) -> Self {
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        let mut samples = Vec::new();
        for sample in scrape.samples {
            let labels: BTreeMap<String, String> = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => samples.push((sample.metric, labels, v)),
                // Buckets come back grouped: spread them out as `_bucket{le}` series.
                prometheus_parse::Value::Histogram(buckets) => {
                    for bucket in buckets {
                        let mut labels = labels.clone();
                        let le = if bucket.less_than.is_infinite() {
                            "+Inf".to_owned()
                        } else {
                            bucket.less_than.to_string()
                        };
                        labels.insert("le".to_owned(), le);
                        samples.push((format!("{}_bucket", sample.metric), labels, bucket.count));
                    }
                }
                other => panic!("unexpected sample {other:?}"),
            }
        }
        Self {
            text: text.to_owned(),
            samples,
        }
    }

    /// The value of the series with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|(metric, labels, _)| metric == name && *labels == wanted)
            .map(|(_, _, value)| *value)
    }

    /// Every series of `name`, as (labels, value).
    pub fn series(&self, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.samples
            .iter()
            .filter(|(metric, _, _)| metric == name)
            .map(|(_, labels, value)| (labels.clone(), *value))
            .collect()
    }

    /// Every series of the families in `names`, keyed by name and labels.
    pub fn families(&self, names: &[&str]) -> BTreeMap<String, f64> {
        self.samples
            .iter()
            .filter(|(metric, _, _)| names.contains(&metric.as_str()))
            .map(|(metric, labels, value)| (format!("{metric}{labels:?}"), *value))
            .collect()
    }

    /// Sum of every series of `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.series(name).iter().map(|(_, v)| v).sum()
    }
}

/// Where Debian's Prometheus, promtool, Alertmanager and amtool are.
#[derive(Clone, Debug)]
pub struct PrometheusTools {
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
    pub alertmanager: PathBuf,
    pub amtool: PathBuf,
}

/// The Prometheus tools, installed first by deploy/local/prometheus.sh when missing (Debian's
/// packages `prometheus` and `prometheus-alertmanager`, through sudo when not root), so that
/// `cargo test` alone works on a fresh machine. Found at once when already installed.
pub fn prometheus_tools() -> &'static PrometheusTools {
    static TOOLS: OnceLock<PrometheusTools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/local/prometheus.sh");
        let output = Command::new(&script)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "deploy/local/prometheus.sh failed (its message is above): Prometheus and \
             Alertmanager are needed; install Debian's packages `prometheus` and \
             `prometheus-alertmanager`"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let path = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    panic!("deploy/local/prometheus.sh printed no {name}=:\n{stdout}")
                })
        };
        PrometheusTools {
            prometheus: path("prometheus"),
            promtool: path("promtool"),
            alertmanager: path("alertmanager"),
            amtool: path("amtool"),
        }
    })
}

/// The daemon's config for an alerts topic with a dead-letter topic, in event-clock mode.
pub fn alerts_config(topic: &str, dead_letter: &str, group: &str) -> String {
    format!(
        r#"
[kafka]
brokers = "{brokers}"
group_id = "{group}"

[topics]
alerts = "{topic}"
dead_letter = "{dead_letter}"

[clock]
mode = "event"
"#,
        brokers = brokers()
    )
}
