//! The shipped alerting and dashboards against the real thing: Debian's `prometheus`,
//! `promtool`, `alertmanager` and `amtool` (packages `prometheus` and
//! `prometheus-alertmanager`; deploy/local/prometheus.sh installs them when missing).
//!
//! - `promtool check rules` / `test rules` and `amtool check-config` pass on deploy/, and every
//!   alert has promtool cases where it fires and where it stays quiet.
//! - A critical incident past its acknowledge SLA, produced to a real broker and consumed by the
//!   daemon on the wall clock, reaches Alertmanager as `SocSlaBreached` routed to the pager.
//! - The example Alertmanager config inhibits what it says it inhibits.
//! - Every PromQL expression of the rules and of the Grafana dashboard is accepted by Prometheus
//!   and returns data from `socmetrics demo` (or, for Kafka's own metrics, from the daemon), but
//!   for the families of a later issue, listed here.
//!
//! Prometheus and Alertmanager run as child processes on free loopback ports with their own
//! temporary directories, so a system service on 9090/9093 neither helps nor hurts.
#![allow(clippy::disallowed_methods)] // tests wait on real brokers and processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    Daemon, Record, block_on, create_topic, free_port, produce, prometheus_tools, unique,
};
use serde_json::{Value, json};

/// The nine alerts of issue 6; each must have promtool cases that fire and that stay quiet.
const ALERTS: [&str; 9] = [
    "SocSlaBreached",
    "SocSlaComplianceLow",
    "SocAlertVolumeSpike",
    "SocAlertVolumeDrop",
    "SocIngestionStalled",
    "SocRecordsRejected",
    "SocConsumerLagHigh",
    "SocCoverageGap",
    "SocExporterDown",
];

/// Series only a daemon connected to Kafka exports (`demo` has no Kafka): checked against the
/// daemon in the end-to-end test instead of the demo.
const KAFKA_ONLY: [&str; 3] = [
    "soc_kafka_up",
    "soc_kafka_consumer_lag",
    "job_instance_topic:soc_kafka_consumer_lag:sum",
];

/// History the demo replays before it goes live: two hours, so that every KPI family has a
/// population in the 24h window whatever the simulator's seed (with one hour, now and then no
/// incident had been contained yet, and the MTTC and dwell-time families were absent).
const DEMO_HISTORY: &str = "2h";

/// Alerting rules whose condition, even with its comparisons made non-filtering, is empty
/// while things are healthy: `unless` keeps only instances that lack a series.
const EMPTY_WHEN_HEALTHY: [(&str, &str); 1] = [("SocIngestionStalled", "nothing_consumed")];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules_file() -> PathBuf {
    repo().join("deploy/prometheus/rules/socmetrics.rules.yml")
}

fn alertmanager_config() -> PathBuf {
    repo().join("deploy/alertmanager/alertmanager.yml")
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed on drop, its output kept in a log file for failure messages.
struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &'static str, program: &Path, args: &[String], log: PathBuf) -> Self {
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Self { name, child, log }
    }

    /// The last lines the process wrote, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.name)
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{} exited ({status})\n{}", self.name, self.log_tail());
        }
    }

    /// Polls `url` until it answers 200, or fails with the process's log.
    fn wait_http_ok(&mut self, url: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            self.assert_running();
            if http()
                .get(url)
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{url} not ready within {timeout:?}\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn get_json(url: &str) -> Value {
    let body = http()
        .get(url)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .text()
        .unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// Alertmanager on a free port with `config`, clustering off, storage in `dir`.
struct Alertmanager {
    process: Process,
    port: u16,
}

impl Alertmanager {
    fn start(dir: &Path, config: &Path) -> Self {
        let port = free_port();
        let storage = dir.join("alertmanager");
        std::fs::create_dir_all(&storage).unwrap();
        let mut process = Process::spawn(
            "alertmanager",
            &prometheus_tools().alertmanager,
            &[
                format!("--config.file={}", config.display()),
                format!("--storage.path={}", storage.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--cluster.listen-address=".to_owned(),
            ],
            dir.join("alertmanager.log"),
        );
        process.wait_http_ok(
            &format!("http://127.0.0.1:{port}/-/ready"),
            Duration::from_secs(30),
        );
        Self { process, port }
    }

    fn alerts(&mut self) -> Vec<Value> {
        self.process.assert_running();
        let alerts = get_json(&format!("http://127.0.0.1:{}/api/v2/alerts", self.port));
        alerts.as_array().cloned().unwrap_or_default()
    }

    fn post(&self, alerts: &Value) {
        let response = http()
            .post(format!("http://127.0.0.1:{}/api/v2/alerts", self.port))
            .header("Content-Type", "application/json")
            .body(alerts.to_string())
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "posting alerts: {}",
            response.text().unwrap_or_default()
        );
    }
}

/// Prometheus on a free port scraping `target` every second as job `socmetrics`, evaluating the
/// shipped rules every second, sending alerts to `alertmanager` if given.
struct Prometheus {
    process: Process,
    port: u16,
}

impl Prometheus {
    fn start(dir: &Path, target: &str, alertmanager: Option<u16>) -> Self {
        let port = free_port();
        let alerting = alertmanager.map_or(String::new(), |am| {
            format!(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{am}\"]\n"
            )
        });
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules}\n{alerting}\
             scrape_configs:\n  - job_name: socmetrics\n    static_configs:\n      - targets: [\"{target}\"]\n",
            rules = rules_file().display()
        );
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let storage = dir.join("prometheus");
        let mut process = Process::spawn(
            "prometheus",
            &prometheus_tools().prometheus,
            &[
                format!("--config.file={}", config_path.display()),
                format!("--storage.tsdb.path={}", storage.display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ],
            dir.join("prometheus.log"),
        );
        process.wait_http_ok(
            &format!("http://127.0.0.1:{port}/-/ready"),
            Duration::from_secs(30),
        );
        Self { process, port }
    }

    fn api(&mut self, path: &str, params: &[(&str, &str)]) -> Value {
        self.process.assert_running();
        let url = reqwest::Url::parse_with_params(
            &format!("http://127.0.0.1:{}{path}", self.port),
            params,
        )
        .unwrap();
        get_json(url.as_str())
    }

    /// An instant query: `Ok(result)` or `Err(error)` as Prometheus reports it.
    fn query(&mut self, expr: &str) -> Result<Vec<Value>, String> {
        let answer = self.api("/api/v1/query", &[("query", expr)]);
        if answer["status"] == "success" {
            Ok(answer["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default())
        } else {
            Err(format!("{}: {}", answer["errorType"], answer["error"]))
        }
    }

    /// Polls until `expr` returns a sample, with the value of the first one.
    fn wait_for(&mut self, expr: &str, timeout: Duration) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            let first = self.query(expr).ok().and_then(|r| r.into_iter().next());
            if let Some(sample) = first {
                return sample["value"][1].as_str().unwrap().parse().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "`{expr}` returned nothing within {timeout:?}\n{}",
                self.process.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The loaded rules, as Prometheus parsed them.
    fn rules(&mut self) -> Vec<Value> {
        let answer = self.api("/api/v1/rules", &[]);
        answer["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

/// A PromQL expression and where it comes from.
#[derive(Debug, Clone)]
struct Expression {
    origin: String,
    expr: String,
}

impl Expression {
    /// Metric and recorded-series names the expression reads.
    fn names(&self) -> BTreeSet<&str> {
        self.expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .filter(|word| word.starts_with("soc_") || word.contains(':'))
            .collect()
    }

    fn reads_any(&self, names: &[&str]) -> bool {
        self.names().iter().any(|name| names.contains(name))
    }
}

/// The rules' expressions (alerts by name and `cause`, recordings also by the recorded name).
fn rule_expressions(rules: &[Value]) -> Vec<Expression> {
    let mut expressions = Vec::new();
    for rule in rules {
        let name = rule["name"].as_str().unwrap();
        let query = rule["query"].as_str().unwrap().to_owned();
        match rule["type"].as_str().unwrap() {
            "alerting" => {
                let cause = rule["labels"]["cause"].as_str().unwrap_or("");
                let severity = rule["labels"]["severity"].as_str().unwrap_or("");
                expressions.push(Expression {
                    origin: format!("alert {name} (severity={severity} cause={cause})"),
                    expr: query,
                });
            }
            _ => {
                expressions.push(Expression {
                    origin: format!("recording rule {name}"),
                    expr: query,
                });
                expressions.push(Expression {
                    origin: format!("recorded series {name}"),
                    expr: name.to_owned(),
                });
            }
        }
    }
    expressions
}

/// Every `expr` of the dashboard's panels (rows' panels included) and every query variable's
/// selector (`label_values(selector, label)`), with the template variables still in.
fn dashboard_expressions() -> Vec<Expression> {
    let path = repo().join("deploy/grafana/dashboards/socmetrics.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut expressions = Vec::new();
    for panel in panels(&dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel {:?} has a target without expr", panel["title"]));
            expressions.push(Expression {
                origin: format!("panel {:?} target {}", panel["title"], target["refId"]),
                expr: expr.to_owned(),
            });
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["query"].as_str().unwrap();
        let selector = query
            .strip_prefix("label_values(")
            .and_then(|rest| rest.rsplit_once(','))
            .map(|(selector, _)| selector)
            .unwrap_or_else(|| panic!("variable query {query:?} is not label_values(…, label)"));
        expressions.push(Expression {
            origin: format!("variable {}", variable["name"]),
            expr: selector.to_owned(),
        });
    }
    expressions
}

fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The dashboard's variables replaced by concrete values, as Grafana would send the query.
fn substitute(expr: &str, instance: &str) -> String {
    let substituted = expr
        .replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$__interval", "15s")
        .replace("$alert_window", "1h")
        .replace("$window", "24h")
        .replace("$severity", "all")
        .replace("$instance", &regex_escape(instance))
        .replace("$job", "socmetrics");
    assert!(
        !substituted.contains('$'),
        "a variable is left in {substituted:?}"
    );
    substituted
}

fn regex_escape(text: &str) -> String {
    text.replace('.', "\\\\.")
}

/// `expr` with every comparison in its `bool` form: an alert's condition is usually false, but
/// its operands must exist for it ever to fire. Label matchers and strings are left alone.
fn without_filtering(expr: &str) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len() + 32);
    let mut braces = 0usize;
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(open) = quote {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == open {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' => braces += 1,
            '}' => braces = braces.saturating_sub(1),
            _ => {}
        }
        let two = chars.get(i + 1) == Some(&'=');
        let comparison = braces == 0
            && match c {
                '>' | '<' => true,
                '=' | '!' => two,
                _ => false,
            };
        if !comparison {
            out.push(c);
            i += 1;
            continue;
        }
        let length = if two { 2 } else { 1 };
        out.extend(&chars[i..i + length]);
        i += length;
        let rest: String = chars[i..].iter().collect();
        if !rest.trim_start().starts_with("bool") {
            out.push_str(" bool");
        }
    }
    out
}

/// GitHub's anchor of a Markdown heading (lower case, spaces to dashes, punctuation dropped).
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn runbook_anchors() -> BTreeSet<String> {
    std::fs::read_to_string(repo().join("docs/runbooks.md"))
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .map(anchor)
        .collect()
}

fn now_millis() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn shipped_rules_and_alertmanager_config_pass_promtool_and_amtool() {
    let promtool = prometheus_tools().promtool.clone();
    let amtool = prometheus_tools().amtool.clone();

    // check rules: valid, and every rule of the file counted.
    let rules_text = std::fs::read_to_string(rules_file()).unwrap();
    let declared = rules_text
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            line.starts_with("- alert:") || line.starts_with("- record:")
        })
        .count();
    let check = run(
        &promtool,
        &["check", "rules", rules_file().to_str().unwrap()],
    );
    assert!(
        check.status.success(),
        "promtool check rules failed:\n{}",
        text(&check)
    );
    assert!(
        text(&check).contains(&format!("SUCCESS: {declared} rules found")),
        "promtool should count the {declared} rules of the file:\n{}",
        text(&check)
    );
    for alert in ALERTS {
        assert!(
            rules_text.contains(&format!("- alert: {alert}\n")),
            "{alert} missing from the rules"
        );
    }

    // test rules: every file passes.
    let tests_dir = repo().join("deploy/prometheus/tests");
    let mut test_files: Vec<PathBuf> = std::fs::read_dir(&tests_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    test_files.sort();
    assert!(!test_files.is_empty(), "no promtool tests in {tests_dir:?}");
    let mut args = vec!["test".to_owned(), "rules".to_owned()];
    args.extend(test_files.iter().map(|p| p.to_str().unwrap().to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let tested = run(&promtool, &args);
    let output = text(&tested);
    assert!(
        tested.status.success(),
        "promtool test rules failed:\n{output}"
    );
    assert_eq!(
        output.matches("Unit Testing:").count(),
        test_files.len(),
        "{output}"
    );
    assert_eq!(
        output.matches("  SUCCESS").count(),
        test_files.len(),
        "{output}"
    );
    assert!(!output.contains("FAILED"), "{output}");

    // Each alert has a case where it fires and one where it stays quiet.
    let mut cases: BTreeMap<&str, (usize, usize)> = ALERTS.iter().map(|a| (*a, (0, 0))).collect();
    for file in &test_files {
        let content = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = content.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(name) = line.strip_prefix("alertname: ") else {
                continue;
            };
            let Some(entry) = cases.get_mut(name) else {
                panic!("{file:?} tests an unknown alert {name}");
            };
            match lines.get(i + 1).copied() {
                Some("exp_alerts: []") => entry.1 += 1,
                Some("exp_alerts:") => entry.0 += 1,
                other => panic!("{file:?}: alertname {name} followed by {other:?}"),
            }
        }
    }
    for (alert, (firing, quiet)) in &cases {
        assert!(
            *firing > 0 && *quiet > 0,
            "{alert}: {firing} firing and {quiet} quiet promtool cases; each alert needs both"
        );
    }

    // The Alertmanager example is valid and routes by severity.
    let config = alertmanager_config();
    let config = config.to_str().unwrap();
    let checked = run(&amtool, &["check-config", config]);
    assert!(
        checked.status.success() && text(&checked).contains("SUCCESS"),
        "amtool check-config failed:\n{}",
        text(&checked)
    );
    for (labels, receiver) in [
        (["severity=page", "alertname=SocSlaBreached"], "soc-page"),
        (
            ["severity=ticket", "alertname=SocSlaBreached"],
            "soc-ticket",
        ),
        (["severity=page", "alertname=SocExporterDown"], "soc-page"),
        (
            ["severity=ticket", "alertname=SocCoverageGap"],
            "soc-ticket",
        ),
    ] {
        let config_flag = format!("--config.file={config}");
        let routed = run(
            &amtool,
            &[
                "config",
                "routes",
                "test",
                &config_flag,
                labels[0],
                labels[1],
            ],
        );
        assert!(routed.status.success(), "{}", text(&routed));
        assert_eq!(
            String::from_utf8_lossy(&routed.stdout).trim(),
            receiver,
            "{labels:?}"
        );
    }
}

#[test]
fn critical_incident_past_its_acknowledge_sla_pages_through_alertmanager() {
    prometheus_tools(); // installed first when missing
    let dir = TempDir::new("alerting-e2e");
    let alerts_topic = unique("alerting.alerts");
    let cases_topic = unique("alerting.cases");
    block_on(create_topic(&alerts_topic, 1, &[]));
    block_on(create_topic(&cases_topic, 1, &[]));
    // Detected 20 minutes ago, never acknowledged: the critical target is 15 minutes.
    let new = json!({
        "incident_id": "INC-PAGE-1",
        "at": now_millis() - 20 * 60_000,
        "status": "new",
        "severity": "critical",
    });
    block_on(produce(
        &cases_topic,
        &[Record {
            key: Some(b"INC-PAGE-1".to_vec()),
            payload: Some(new.to_string().into_bytes()),
        }],
    ));

    let daemon = Daemon::start(&format!(
        "[kafka]\nbrokers = \"{}\"\ngroup_id = \"{}\"\n[topics]\nalerts = \"{alerts_topic}\"\ncases = \"{cases_topic}\"\n",
        common::brokers(),
        unique("alerting-group")
    ));
    daemon.scrape_until(Duration::from_secs(60), |m| {
        m.get(
            "soc_sla_breached_open_incidents",
            &[("severity", "critical"), ("stage", "acknowledge")],
        ) == Some(1.0)
    });

    let started = Instant::now();
    let mut alertmanager = Alertmanager::start(dir.path(), &alertmanager_config());
    let target = format!("127.0.0.1:{}", daemon.port);
    let mut prometheus = Prometheus::start(dir.path(), &target, Some(alertmanager.port));

    let deadline = Instant::now() + Duration::from_secs(90);
    let breached = loop {
        let breached: Vec<Value> = alertmanager
            .alerts()
            .into_iter()
            .filter(|a| a["labels"]["alertname"] == "SocSlaBreached")
            .collect();
        if !breached.is_empty() {
            break breached;
        }
        assert!(
            Instant::now() < deadline,
            "SocSlaBreached did not reach Alertmanager within 90 s\n{}\n{}\nPrometheus alerts: {}",
            prometheus.process.log_tail(),
            alertmanager.process.log_tail(),
            prometheus.api("/api/v1/alerts", &[])
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!(
        "SocSlaBreached in Alertmanager {:.1} s after Alertmanager and Prometheus started",
        started.elapsed().as_secs_f64()
    );

    assert_eq!(breached.len(), 1, "{breached:#?}");
    let alert = &breached[0];
    let labels: BTreeMap<String, String> = serde_json::from_value(alert["labels"].clone()).unwrap();
    let expected: BTreeMap<String, String> = [
        ("alertname", "SocSlaBreached"),
        ("severity", "page"),
        ("incident_severity", "critical"),
        ("stage", "acknowledge"),
        ("job", "socmetrics"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(labels, expected);
    assert_eq!(
        alert["annotations"]["summary"],
        "1 open critical incident(s) past their acknowledge SLA"
    );
    assert_eq!(
        alert["annotations"]["runbook_url"],
        "https://socmetrics.example/docs/runbooks.md#socslabreached"
    );
    assert_eq!(alert["status"]["state"], "active", "{alert:#?}");
    let receivers: Vec<&str> = alert["receivers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(receivers, ["soc-page"]);

    // Kafka's own series, which the demo cannot show: every expression on them returns data
    // from the daemon.
    let mut kafka_expressions: Vec<Expression> = rule_expressions(&prometheus.rules());
    kafka_expressions.extend(dashboard_expressions());
    kafka_expressions.retain(|e| e.reads_any(&KAFKA_ONLY));
    assert!(kafka_expressions.len() >= 4, "{kafka_expressions:#?}");
    prometheus.wait_for(
        "job_instance_topic:soc_kafka_consumer_lag:sum",
        Duration::from_secs(30),
    );
    for expression in &kafka_expressions {
        let expr = without_filtering(&substitute(&expression.expr, &target));
        let result = prometheus
            .query(&expr)
            .unwrap_or_else(|e| panic!("{}: `{expr}` rejected: {e}", expression.origin));
        assert!(
            !result.is_empty(),
            "{}: `{expr}` returned nothing from the daemon",
            expression.origin
        );
    }
}

#[test]
fn alertmanager_example_inhibits_volume_drop_while_ingestion_is_stalled() {
    prometheus_tools(); // installed first when missing
    let dir = TempDir::new("alerting-inhibit");
    let mut alertmanager = Alertmanager::start(dir.path(), &alertmanager_config());
    let alert = |labels: Value| json!({"labels": labels, "annotations": {"summary": "test"}});
    alertmanager.post(&json!([
        alert(json!({"alertname": "SocIngestionStalled", "job": "socmetrics", "instance": "a:9746", "cause": "no_records", "severity": "page"})),
        alert(json!({"alertname": "SocAlertVolumeDrop", "job": "socmetrics", "source": "edr", "severity": "page"})),
        alert(json!({"alertname": "SocAlertVolumeDrop", "job": "socmetrics-eu", "source": "edr", "severity": "page"})),
        alert(json!({"alertname": "SocExporterDown", "job": "socmetrics-eu", "instance": "b:9746", "severity": "page"})),
        alert(json!({"alertname": "SocSlaComplianceLow", "job": "socmetrics-eu", "instance": "b:9746", "stage": "acknowledge", "window": "24h", "severity": "ticket"})),
        alert(json!({"alertname": "SocSlaComplianceLow", "job": "socmetrics-eu", "instance": "c:9746", "stage": "acknowledge", "window": "24h", "severity": "ticket"})),
    ]));
    // (alertname, job, instance or source) → expected state and receiver.
    let expected: BTreeMap<(&str, &str, &str), (&str, &str)> = [
        (
            ("SocIngestionStalled", "socmetrics", "a:9746"),
            ("active", "soc-page"),
        ),
        (
            ("SocAlertVolumeDrop", "socmetrics", "edr"),
            ("suppressed", "soc-page"),
        ),
        // The other job's drop: its exporter is down, which inhibits drops of its job.
        (
            ("SocAlertVolumeDrop", "socmetrics-eu", "edr"),
            ("suppressed", "soc-page"),
        ),
        (
            ("SocExporterDown", "socmetrics-eu", "b:9746"),
            ("active", "soc-page"),
        ),
        (
            ("SocSlaComplianceLow", "socmetrics-eu", "b:9746"),
            ("suppressed", "soc-ticket"),
        ),
        (
            ("SocSlaComplianceLow", "socmetrics-eu", "c:9746"),
            ("active", "soc-ticket"),
        ),
    ]
    .into_iter()
    .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let alerts = alertmanager.alerts();
        let seen: BTreeMap<(String, String, String), (String, String)> = alerts
            .iter()
            .map(|a| {
                let l = &a["labels"];
                let which = l["instance"].as_str().or(l["source"].as_str()).unwrap();
                (
                    (
                        l["alertname"].as_str().unwrap().to_owned(),
                        l["job"].as_str().unwrap().to_owned(),
                        which.to_owned(),
                    ),
                    (
                        a["status"]["state"].as_str().unwrap().to_owned(),
                        a["receivers"][0]["name"].as_str().unwrap().to_owned(),
                    ),
                )
            })
            .collect();
        let matches = seen.len() == expected.len()
            && expected.iter().all(|((n, j, w), (s, r))| {
                seen.get(&((*n).to_owned(), (*j).to_owned(), (*w).to_owned()))
                    == Some(&((*s).to_owned(), (*r).to_owned()))
            });
        if matches {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "inhibition and routing not as expected within 20 s:\nexpected {expected:#?}\nseen {seen:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn every_dashboard_and_rule_expression_is_accepted_and_returns_demo_data() {
    prometheus_tools(); // installed first when missing
    let dir = TempDir::new("alerting-demo");
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    let mut demo = Process::spawn(
        "socmetrics demo",
        Path::new(env!("CARGO_BIN_EXE_socmetrics")),
        &[
            "demo".to_owned(),
            "--listen".to_owned(),
            target.clone(),
            "--history".to_owned(),
            DEMO_HISTORY.to_owned(),
        ],
        dir.path().join("demo.log"),
    );
    demo.wait_http_ok(&format!("http://{target}/readyz"), Duration::from_secs(120));
    let mut prometheus = Prometheus::start(dir.path(), &target, None);
    // A few seconds of 1 s scrapes, and the recording rules evaluated over them.
    prometheus.wait_for(
        r#"count_over_time(up{job="socmetrics"}[1m]) >= 5"#,
        Duration::from_secs(30),
    );
    prometheus.wait_for(
        "count_over_time(job_source:soc_alerts:rate5m[1m]) >= 2",
        Duration::from_secs(30),
    );

    let rules = prometheus.rules();
    let anchors = runbook_anchors();
    for rule in &rules {
        let name = rule["name"].as_str().unwrap();
        assert_eq!(rule["health"], "ok", "{name}: {rule:#?}");
        if rule["type"] != "alerting" {
            continue;
        }
        let severity = rule["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["page", "ticket"].contains(&severity),
            "{name}: severity label {severity:?}, expected page or ticket"
        );
        let url = rule["annotations"]["runbook_url"].as_str().unwrap_or("");
        let (_, fragment) = url
            .split_once("/docs/runbooks.md#")
            .unwrap_or_else(|| panic!("{name}: runbook_url {url:?} is not into docs/runbooks.md"));
        assert_eq!(fragment, name.to_lowercase(), "{name}: runbook anchor");
        assert!(
            anchors.contains(fragment),
            "{name}: docs/runbooks.md has no heading for #{fragment}"
        );
        for annotation in ["summary", "description"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{name}: no {annotation}"
            );
        }
    }
    let alert_names: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r["type"] == "alerting")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(alert_names, ALERTS.into_iter().collect());

    let mut expressions = rule_expressions(&rules);
    let from_rules = expressions.len();
    expressions.extend(dashboard_expressions());
    assert!(
        expressions.len() > from_rules + 50,
        "the dashboard should have more than 50 expressions"
    );

    let mut empty = Vec::new();
    let mut rejected = Vec::new();
    let mut not_yet = 0;
    for expression in &expressions {
        let expr = if expression.origin.starts_with("panel")
            || expression.origin.starts_with("variable")
        {
            substitute(&expression.expr, &target)
        } else {
            expression.expr.clone()
        };
        if let Err(error) = prometheus.query(&expr) {
            rejected.push(format!("{}: `{expr}`: {error}", expression.origin));
            continue;
        }
        let probe = without_filtering(&expr);
        let result = match prometheus.query(&probe) {
            Ok(result) => result,
            Err(error) => {
                rejected.push(format!(
                    "{} (bool form): `{probe}`: {error}",
                    expression.origin
                ));
                continue;
            }
        };
        let allowed_empty = expression.reads_any(&KAFKA_ONLY)
            || EMPTY_WHEN_HEALTHY.iter().any(|(alert, cause)| {
                expression.origin.starts_with(&format!("alert {alert} "))
                    && expression.origin.contains(&format!("cause={cause})"))
            });
        if allowed_empty {
            not_yet += 1;
        } else if result.is_empty() {
            empty.push(format!("{}: `{probe}`", expression.origin));
        }
    }
    eprintln!(
        "{} expressions checked ({} from the rules), {not_yet} allowed to be empty on the demo",
        expressions.len(),
        from_rules
    );
    assert!(
        rejected.is_empty() && empty.is_empty(),
        "expressions Prometheus rejects:\n{}\n\nexpressions returning nothing from the demo \
         (a wrong metric or label name?):\n{}",
        rejected.join("\n"),
        empty.join("\n")
    );
    demo.assert_running();
}

#[test]
fn dashboard_panels_use_the_templated_datasource_known_units_and_descriptions() {
    let path = repo().join("deploy/grafana/dashboards/socmetrics.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 39);
    assert_eq!(dashboard["uid"], "socmetrics");

    let variables: BTreeMap<&str, &Value> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    for name in [
        "datasource",
        "job",
        "instance",
        "window",
        "alert_window",
        "severity",
    ] {
        assert!(variables.contains_key(name), "no ${name} variable");
    }
    assert_eq!(variables["datasource"]["type"], "datasource");
    assert_eq!(variables["datasource"]["query"], "prometheus");
    for name in ["job", "instance"] {
        let variable = variables[name];
        assert_eq!(variable["multi"], true, "{name}");
        assert_eq!(variable["allValue"], ".+", "{name}");
    }
    for variable in variables.values().filter(|v| v["type"] == "query") {
        assert_eq!(variable["datasource"]["uid"], "$datasource");
        assert_eq!(
            variable["refresh"], 2,
            "{}: reload on time range change",
            variable["name"]
        );
    }

    let units = ["s", "percentunit", "percent", "short", "none", "cps", "cpm"];
    let mut scorecard_row = false;
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or("");
        if panel["type"] == "row" {
            if title == "Scorecard (as it lands)" {
                scorecard_row = true;
                assert_eq!(panel["collapsed"], true, "the scorecard row is collapsed");
            }
            continue;
        }
        assert!(!title.is_empty(), "a panel without title");
        assert!(
            panel["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{title}: no description"
        );
        assert_eq!(panel["datasource"]["uid"], "$datasource", "{title}");
        let unit = panel["fieldConfig"]["defaults"]["unit"]
            .as_str()
            .unwrap_or("");
        assert!(units.contains(&unit), "{title}: unit {unit:?}");
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            assert_eq!(target["datasource"]["uid"], "$datasource", "{title}");
            assert!(
                expr.contains(r#"job=~"$job""#) && expr.contains(r#"instance=~"$instance""#),
                "{title}: `{expr}` should select job=~\"$job\" and instance=~\"$instance\""
            );
            assert!(
                !expr.contains("rate(") || expr.contains("[$__rate_interval]"),
                "{title}: `{expr}` should use $__rate_interval"
            );
        }
    }
    assert!(scorecard_row, "no \"Scorecard (as it lands)\" row");
}

#[test]
fn bool_form_keeps_matchers_and_strings() {
    assert_eq!(
        without_filtering(r#"a{x!="1",y=~"2"} > 0 and b >= bool 3 or c == 1 unless d != 2"#),
        r#"a{x!="1",y=~"2"} > bool 0 and b >= bool 3 or c == bool 1 unless d != bool 2"#
    );
    assert_eq!(
        without_filtering(r#"label_replace(x < 0.9, "a", "$1", "b", "(=>.*)")"#),
        r#"label_replace(x < bool 0.9, "a", "$1", "b", "(=>.*)")"#
    );
}
