//! `http.web_config_file` against a real Prometheus (Debian's, installed by
//! deploy/local/prometheus.sh when missing): two `socmetrics demo` daemons (no broker needed),
//! one serving HTTPS with basic auth, one HTTPS with `RequireAndVerifyClientCert`, both from a
//! web-config.yml in exporter-toolkit's format, with a CA and certificates made by rcgen and a
//! bcrypt hash made here.
//!
//! Prometheus scrapes them with `scheme: https`, `tls_config.ca_file` and `basic_auth` (or a
//! client certificate), as docs/security.md tells operators to; its HTTP API must show
//! - `up == 1` for the right credentials, and a socmetrics series with the daemon's value;
//! - `up == 0` and a 401 `lastError` for a wrong password;
//! - `up == 1` with the client certificate, `up == 0` without it.
//!
//! And directly, with a rustls client: no credentials → 401 with `WWW-Authenticate: Basic`,
//! plain HTTP to the TLS port gets no HTTP answer, a client without a certificate is refused
//! by the mTLS daemon and one with a certificate of the CA is served.
#![allow(clippy::disallowed_methods)] // tests wait on real processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::{Metrics, free_port, prometheus_tools, unique};
use serde_json::Value;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const USER: &str = "prometheus";
const PASSWORD: &str = "correct horse battery staple";
/// The bcrypt cost of the test's hash: low, the debug build's bcrypt is slow; the format is
/// the same at any cost.
const BCRYPT_COST: u32 = 6;
/// A series the demo sets once, at start (the simulated inventory), so that a direct scrape
/// and Prometheus's last sample can be compared exactly.
const SERIES: &str = "soc_events_consumed_total";
const SERIES_LABEL: (&str, &str) = ("topic", "soc.inventory");

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("socmetrics-metrics-auth"));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test CA, a server certificate for 127.0.0.1 and localhost, and a client certificate,
/// written as ca.pem, server.pem/server.key and client.pem/client.key.
fn make_pki(dir: &TempDir) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "socmetrics metrics_auth test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let server_key = rcgen::KeyPair::generate().unwrap();
    let mut server =
        rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();

    let client_key = rcgen::KeyPair::generate().unwrap();
    let mut client = rcgen::CertificateParams::new(vec!["scraper".into()]).unwrap();
    client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &issuer).unwrap();

    dir.write("ca.pem", &ca_cert.pem());
    dir.write("server.pem", &server_cert.pem());
    dir.write("server.key", &server_key.serialize_pem());
    dir.write("client.pem", &client_cert.pem());
    dir.write("client.key", &client_key.serialize_pem());
}

/// A child process killed on drop, its output in a log file for failure messages.
struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &'static str, program: &Path, args: &[String], dir: &Path) -> Self {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Self { name, child, log }
    }

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
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `socmetrics demo` on a free port with `web_config` as its http.web_config_file.
struct Demo {
    process: Process,
    port: u16,
}

impl Demo {
    fn start(name: &'static str, dir: &TempDir, web_config: &Path) -> Self {
        let port = free_port();
        let config = dir.write(
            &format!("{name}.toml"),
            &format!(
                "[http]\nlisten = \"127.0.0.1:{port}\"\nweb_config_file = \"{}\"\n",
                web_config.display()
            ),
        );
        let process = Process::spawn(
            name,
            Path::new(env!("CARGO_BIN_EXE_socmetrics")),
            &[
                "demo".to_owned(),
                "--config".to_owned(),
                config.display().to_string(),
                "--history".to_owned(),
                "0s".to_owned(),
            ],
            dir.path(),
        );
        Self { process, port }
    }

    /// Polls `/readyz` through `client` until it answers 200.
    fn wait_ready(&mut self, client: &TlsClient, authorization: Option<&str>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.process.assert_running();
            if client
                .get(self.port, "/readyz", authorization)
                .is_ok_and(|r| r.status == 200)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready within 60 s\n{}",
                self.process.name,
                self.process.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// An HTTP/1.0 answer (HTTP/1.0: no chunked body to decode).
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn parse(raw: &[u8]) -> Result<Self, String> {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.")
            .and_then(|rest| rest.get(2..5))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(Self {
            status,
            headers,
            body: body.to_owned(),
        })
    }
}

/// A blocking rustls client trusting the test CA, with or without the client certificate.
struct TlsClient(Arc<rustls::ClientConfig>);

impl TlsClient {
    fn new(dir: &TempDir, with_certificate: bool) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(dir.path().join("ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let config = if with_certificate {
            let certs = CertificateDer::pem_file_iter(dir.path().join("client.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_file(dir.path().join("client.key")).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        } else {
            builder.with_no_client_auth()
        };
        Self(Arc::new(config))
    }

    /// `GET path` over TLS to 127.0.0.1:`port` (the certificate is checked for that IP).
    fn get(&self, port: u16, path: &str, authorization: Option<&str>) -> Result<Answer, String> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let connection =
            rustls::ClientConnection::new(self.0.clone(), name).map_err(|e| e.to_string())?;
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        let authorization = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        stream
            .write_all(
                format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{authorization}\r\n")
                    .as_bytes(),
            )
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        // The server closes after an HTTP/1.0 answer, perhaps without close_notify.
        let read = stream.read_to_end(&mut raw);
        if raw.is_empty() {
            return Err(format!("no answer: {read:?}"));
        }
        Answer::parse(&raw)
    }
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Prometheus on a free loopback port with `config`, storage in `dir`.
struct Prometheus {
    process: Process,
    port: u16,
}

impl Prometheus {
    fn start(dir: &TempDir, config: &str) -> Self {
        let port = free_port();
        let config_path = dir.write("prometheus.yml", config);
        let mut process = Process::spawn(
            "prometheus",
            &prometheus_tools().prometheus,
            &[
                format!("--config.file={}", config_path.display()),
                format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("prometheus").display()
                ),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ],
            dir.path(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            process.assert_running();
            let ready = http()
                .get(format!("http://127.0.0.1:{port}/-/ready"))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus not ready within 30 s\n{}",
                process.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Self { process, port }
    }

    fn api(&mut self, path: &str, params: &[(&str, &str)]) -> Value {
        self.process.assert_running();
        let url = reqwest::Url::parse_with_params(
            &format!("http://127.0.0.1:{}{path}", self.port),
            params,
        )
        .unwrap();
        let body = http().get(url.clone()).send().unwrap().text().unwrap();
        let answer: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"));
        assert_eq!(answer["status"], "success", "GET {url}: {answer}");
        answer["data"].clone()
    }

    /// The value of the first sample of an instant query, if any.
    fn value(&mut self, expr: &str) -> Option<f64> {
        let data = self.api("/api/v1/query", &[("query", expr)]);
        let sample = data["result"].as_array()?.first()?.clone();
        sample["value"][1].as_str()?.parse().ok()
    }

    /// Polls until `expr` has the value `wanted`.
    fn wait_value(&mut self, expr: &str, wanted: f64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.value(expr);
            if value == Some(wanted) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{expr}` is {value:?}, not {wanted}, after {timeout:?}\ntargets: {}\n{}",
                self.api("/api/v1/targets", &[]),
                self.process.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The last sample (unix seconds, value) of a range selector's first series.
    fn last_sample(&mut self, selector: &str) -> Option<(f64, f64)> {
        let data = self.api("/api/v1/query", &[("query", &format!("{selector}[1m]"))]);
        let series = data["result"].as_array()?.first()?.clone();
        let last = series["values"].as_array()?.last()?.clone();
        Some((last[0].as_f64()?, last[1].as_str()?.parse().ok()?))
    }

    /// The active target of `job`, as /api/v1/targets shows it.
    fn target(&mut self, job: &str) -> Value {
        let data = self.api("/api/v1/targets", &[("state", "active")]);
        data["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["labels"]["job"] == job)
            .cloned()
            .unwrap_or_else(|| panic!("no active target of job {job}: {data}"))
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn prometheus_scrapes_over_tls_with_basic_auth_and_client_certificates() {
    let dir = TempDir::new();
    make_pki(&dir);
    let hash = bcrypt::hash(PASSWORD, BCRYPT_COST).unwrap();
    let auth_web = dir.write(
        "web-auth.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
             basic_auth_users:\n  {USER}: '{hash}'\n"
        ),
    );
    let mtls_web = dir.write(
        "web-mtls.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
    );
    let mut auth = Demo::start("socmetrics-auth", &dir, &auth_web);
    let mut mtls = Demo::start("socmetrics-mtls", &dir, &mtls_web);
    let client = TlsClient::new(&dir, false);
    let client_with_cert = TlsClient::new(&dir, true);
    let right = basic(USER, PASSWORD);
    auth.wait_ready(&client, Some(&right));
    mtls.wait_ready(&client_with_cert, None);

    // Directly: credentials are required on every path, with the challenge of RFC 7617.
    for path in ["/metrics", "/healthz", "/readyz"] {
        let refused = client.get(auth.port, path, None).unwrap();
        assert_eq!(
            refused.status, 401,
            "{path} without credentials: {refused:?}"
        );
        assert_eq!(
            refused.header("WWW-Authenticate"),
            Some("Basic"),
            "{path}: {refused:?}"
        );
        assert!(!refused.body.contains("soc_"), "{path}: {refused:?}");
    }
    let wrong = client
        .get(auth.port, "/metrics", Some(&basic(USER, "wrong")))
        .unwrap();
    assert_eq!(wrong.status, 401, "wrong password: {wrong:?}");
    let served = client.get(auth.port, "/metrics", Some(&right)).unwrap();
    assert_eq!(served.status, 200, "{served:?}");
    assert!(served.body.contains("soc_build_info"), "{}", served.body);

    // Plain HTTP to a TLS port gets no HTTP answer.
    for port in [auth.port, mtls.port] {
        let plain = http()
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .header("Authorization", &right)
            .send();
        assert!(
            plain.is_err(),
            "plain HTTP to the TLS port {port} got an answer: {plain:?}"
        );
    }

    // RequireAndVerifyClientCert: no certificate, no answer (TLS 1.3: the server's alert may
    // come with the first read rather than the handshake); the CA's client is served.
    let refused = client.get(mtls.port, "/metrics", None);
    assert!(
        refused.is_err(),
        "a client without certificate got an answer: {refused:?}"
    );
    let served = client_with_cert.get(mtls.port, "/metrics", None).unwrap();
    assert_eq!(served.status, 200, "{served:?}");
    assert!(served.body.contains("soc_build_info"));

    // A real Prometheus, configured as docs/security.md says.
    dir.write("password", PASSWORD);
    dir.write("wrong-password", "not the password");
    let ca = dir.path().join("ca.pem");
    let scrape = |job: &str, port: u16, extra: &str| {
        format!(
            "  - job_name: {job}\n    scheme: https\n    tls_config:\n      ca_file: {ca}\n{extra}\
             \x20   static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n",
            ca = ca.display()
        )
    };
    let dir_path = dir.path().display().to_string();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}{}",
        scrape(
            "socmetrics",
            auth.port,
            &format!(
                "    basic_auth:\n      username: {USER}\n      password_file: {dir_path}/password\n"
            )
        ),
        scrape(
            "socmetrics-wrong-password",
            auth.port,
            &format!(
                "    basic_auth:\n      username: {USER}\n      password_file: {dir_path}/wrong-password\n"
            )
        ),
        // `tls_config` continues: the client certificate.
        scrape(
            "socmetrics-mtls",
            mtls.port,
            &format!(
                "      cert_file: {dir_path}/client.pem\n      key_file: {dir_path}/client.key\n"
            )
        ),
        scrape("socmetrics-mtls-no-cert", mtls.port, ""),
    );
    let mut prometheus = Prometheus::start(&dir, &config);
    let timeout = Duration::from_secs(30);
    prometheus.wait_value(r#"up{job="socmetrics"}"#, 1.0, timeout);
    prometheus.wait_value(r#"up{job="socmetrics-mtls"}"#, 1.0, timeout);
    prometheus.wait_value(r#"up{job="socmetrics-wrong-password"}"#, 0.0, timeout);
    prometheus.wait_value(r#"up{job="socmetrics-mtls-no-cert"}"#, 0.0, timeout);
    prometheus.wait_value(
        &format!(
            r#"soc_build_info{{job="socmetrics",version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        ),
        1.0,
        timeout,
    );

    // A socmetrics series as Prometheus stored it is what the daemon exports: a direct scrape
    // before and after one of Prometheus's, equal, bracket its sample.
    let selector = format!(
        r#"{SERIES}{{job="socmetrics",{}="{}"}}"#,
        SERIES_LABEL.0, SERIES_LABEL.1
    );
    let direct = || {
        let answer = client.get(auth.port, "/metrics", Some(&right)).unwrap();
        assert_eq!(answer.status, 200);
        Metrics::parse(&answer.body)
            .get(SERIES, &[SERIES_LABEL])
            .unwrap_or_else(|| panic!("{SERIES} missing:\n{}", answer.body))
    };
    let deadline = Instant::now() + timeout;
    loop {
        let before = direct();
        let asked = now_seconds();
        let sample = loop {
            match prometheus.last_sample(&selector) {
                Some((at, value)) if at > asked => break value,
                _ => {
                    assert!(
                        Instant::now() < deadline,
                        "no sample of {selector} after {asked}"
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        };
        let after = direct();
        if before == after {
            assert_eq!(sample, before, "{selector} in Prometheus vs the daemon");
            assert!(sample > 0.0, "the demo loads its inventory: {sample}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{SERIES} kept changing between scrapes"
        );
    }

    // The wrong password: Prometheus saw the 401, and so does its target page.
    let target = prometheus.target("socmetrics-wrong-password");
    assert_eq!(target["health"], "down", "{target}");
    let error = target["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("401"), "lastError: {error:?}\n{target}");
    let target = prometheus.target("socmetrics");
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(
        target["scrapeUrl"].as_str().unwrap_or_default().get(..8),
        Some("https://")
    );
    let target = prometheus.target("socmetrics-mtls-no-cert");
    assert_eq!(target["health"], "down", "{target}");
    // Go's words for the server's TLS alert: "remote error: tls: certificate required".
    let error = target["lastError"].as_str().unwrap_or_default();
    assert!(
        error.contains("certificate"),
        "lastError: {error:?}\n{target}"
    );

    auth.process.assert_running();
    mtls.process.assert_running();
}
