//! The server in process on 127.0.0.1:0 with short timeouts: silent and idle clients closed
//! when their phase's limit passes, the cap making room for a new client, basic auth and
//! headers, and TLS with client certificates.
#![allow(clippy::disallowed_methods)] // timeouts are measured on the real clock

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::rustls;

use super::*;
use crate::config::{Config, HttpConfig, Span};
use crate::event::EventTime;
use crate::export::web_config::tests::{Pki, hash};
use crate::export::{Exporter, Status};
use crate::pipeline::Pipeline;

struct Running {
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
    served: tokio::task::JoinHandle<io::Result<()>>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.served)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

fn http_config(edit: impl FnOnce(&mut HttpConfig)) -> HttpConfig {
    let mut config = HttpConfig {
        header_timeout: Span::parse("300ms").unwrap(),
        request_timeout: Span::parse("2s").unwrap(),
        idle_timeout: Span::parse("1s").unwrap(),
        ..HttpConfig::default()
    };
    edit(&mut config);
    config
}

async fn start(config: &HttpConfig) -> Running {
    let mut pipeline = Pipeline::new(&Config::default());
    let (_publish, snapshots) = watch::channel(Arc::new(pipeline.fresh_snapshot(EventTime(0))));
    let status = Arc::new(Status::default());
    status.set_ready(true);
    let exporter = Exporter {
        snapshots,
        status,
        kafka: false,
        objectives: Arc::new(Vec::new()),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = Server::new(config).unwrap();
    let served = tokio::spawn(server.serve(listener, exporter, shutdown.clone()));
    Running {
        addr,
        shutdown,
        served,
    }
}

/// A response as read off the wire: status, lower-cased headers, body.
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
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends a GET on `stream` (kept alive) and reads one response.
async fn get<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, path: &str, extra: &str) -> Answer {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    while buffer.len() < head_end + length {
        let mut chunk = [0; 65536];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed mid-body");
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(buffer[head_end..head_end + length].to_vec()).unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

/// How long until the server closes `stream` (reads to EOF or reset), at most `limit`.
async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0; 1024];
    let read = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    read.await.ok().map(|()| started.elapsed())
}

async fn slow_client(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_head_is_closed_after_the_header_timeout() {
    let running = start(&http_config(|_| {})).await;
    let mut slow = slow_client(running.addr).await;
    let closed = closed_within(&mut slow, Duration::from_secs(5))
        .await
        .expect("closed by the server");
    assert!(
        closed >= Duration::from_millis(250) && closed < Duration::from_millis(1500),
        "closed after {closed:?}, header_timeout is 300ms"
    );
    // A silent one (not a byte sent) too.
    let mut silent = TcpStream::connect(running.addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5))
            .await
            .is_some()
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_waits_the_idle_timeout_between_requests() {
    let running = start(&http_config(|_| {})).await;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    let first = get(&mut stream, "/healthz", "").await;
    assert_eq!((first.status, first.body.as_str()), (200, "ok\n"));
    // Longer than header_timeout (300ms), shorter than idle_timeout (1s).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let second = get(&mut stream, "/readyz", "").await;
    assert_eq!((second.status, second.body.as_str()), (200, "ready\n"));
    let closed = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("closed when idle");
    assert!(
        closed >= Duration::from_millis(900) && closed < Duration::from_millis(2500),
        "idle connection closed after {closed:?}, idle_timeout is 1s"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_full_the_longest_waiting_slow_client_makes_room_for_a_scrape() {
    let running = start(&http_config(|c| {
        c.max_connections = 2;
        c.header_timeout = Span::parse("30s").unwrap();
    }))
    .await;
    let mut oldest = slow_client(running.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut newer = slow_client(running.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut scrape = TcpStream::connect(running.addr).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(2), get(&mut scrape, "/metrics", ""))
        .await
        .expect("the scrape is answered at once");
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .body
            .contains("soc_build_info{version=\"0.1.0\"} 1\n"),
        "{}",
        answer.body
    );
    assert!(
        closed_within(&mut oldest, Duration::from_secs(1))
            .await
            .is_some(),
        "the oldest slow client was evicted"
    );
    assert!(
        closed_within(&mut newer, Duration::from_millis(300))
            .await
            .is_none(),
        "the newer slow client is still open"
    );
    running.stop().await;
}

#[test]
fn the_cap_never_evicts_a_connection_mid_request() {
    let sequence = Arc::new(Sequence::default());
    let registry = Registry::new(2);
    let first = Arc::new(Tracker::new(Arc::clone(&sequence)));
    let second = Arc::new(Tracker::new(Arc::clone(&sequence)));
    registry.admit(&first).unwrap();
    registry.admit(&second).unwrap();
    first.request_started();
    // Full: the one not mid-request goes, although it is the newer.
    let third = Arc::new(Tracker::new(Arc::clone(&sequence)));
    registry.admit(&third).unwrap();
    assert_eq!(registry.lock().connections.len(), 2);
    third.request_started();
    // Full of requests in progress: refused.
    let fourth = Arc::new(Tracker::new(Arc::clone(&sequence)));
    assert_eq!(registry.admit(&fourth), None);
    // An idle keep-alive connection can go again.
    first.response_ready();
    first.on_flushed();
    assert!(registry.admit(&fourth).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_guards_every_path_and_headers_are_added() {
    let pki = Pki::new("server-auth");
    let web = pki.write(
        "web.yml",
        &format!(
            "basic_auth_users:\n  prometheus: '{}'\nhttp_server_config:\n  headers:\n    \
             X-Content-Type-Options: nosniff\n",
            hash("s3cret")
        ),
    );
    let running = start(&http_config(|c| c.web_config_file = Some(web))).await;
    let mut stream = TcpStream::connect(running.addr).await.unwrap();
    for path in ["/metrics", "/healthz", "/readyz"] {
        let refused = get(&mut stream, path, "").await;
        assert_eq!(refused.status, 401, "{path}");
        assert_eq!(refused.header("www-authenticate"), Some("Basic"));
        assert_eq!(refused.header("x-content-type-options"), Some("nosniff"));
    }
    // base64("prometheus:wrong"), then base64("prometheus:s3cret").
    let wrong = get(
        &mut stream,
        "/healthz",
        "Authorization: Basic cHJvbWV0aGV1czp3cm9uZw==\r\n",
    )
    .await;
    assert_eq!(wrong.status, 401);
    let right = get(
        &mut stream,
        "/healthz",
        "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n",
    )
    .await;
    assert_eq!((right.status, right.body.as_str()), (200, "ok\n"));
    assert_eq!(right.header("x-content-type-options"), Some("nosniff"));
    running.stop().await;
}

fn client_tls(pki: &Pki, with_cert: bool) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(pki.dir.join("ca.pem")).unwrap();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = if with_cert {
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(pki.dir.join("client.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_file(pki.dir.join("client.key")).unwrap();
        builder.with_client_auth_cert(certs, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

use tokio_rustls::rustls::pki_types::pem::PemObject;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_required_client_certificates_admits_only_signed_clients() {
    let pki = Pki::new("server-tls");
    let web = pki.write(
        "web.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
    );
    let running = start(&http_config(|c| c.web_config_file = Some(web))).await;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();

    let tcp = TcpStream::connect(running.addr).await.unwrap();
    let mut signed = client_tls(&pki, true)
        .connect(name.clone(), tcp)
        .await
        .unwrap();
    let answer = get(&mut signed, "/healthz", "").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok\n"));

    // Without a certificate: the TLS 1.3 handshake completes on the client's side, and the
    // server's alert arrives with the first read.
    let tcp = TcpStream::connect(running.addr).await.unwrap();
    let refused = match client_tls(&pki, false).connect(name.clone(), tcp).await {
        Err(_) => true,
        Ok(mut stream) => {
            let _ = stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .await;
            let mut buffer = [0; 64];
            !matches!(stream.read(&mut buffer).await, Ok(n) if n > 0)
        }
    };
    assert!(refused, "a client without certificate got an answer");

    // Plain HTTP to the TLS port: no HTTP answer.
    let mut plain = TcpStream::connect(running.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), plain.read_to_end(&mut buffer)).await;
    assert!(!String::from_utf8_lossy(&buffer).contains("200 OK"));
    running.stop().await;
}
