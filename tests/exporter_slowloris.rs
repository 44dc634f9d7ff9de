//! The exporter cannot be starved (PRODUCT.md §5): `socmetrics demo` limited to 1,024 file
//! descriptors (`prlimit`, as systemd's default soft limit), 1,100 sockets that send
//! `GET /metrics HTTP/1.1\r\nHost: x\r\n` and nothing more, and `/metrics` must still answer
//! with real content within a few seconds while they hang; the server must close every one of
//! them by itself (the cap's eviction, then `http.header_timeout`).
//!
//! Before the accept loop of src/export/server.rs, the 1,100 sockets took every descriptor
//! and the scrape waited in the kernel's backlog until they left.
#![allow(clippy::disallowed_methods)] // tests wait on real processes: real time
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Metrics, free_port};

const HANGING: usize = 1_100;
const CHILD_FILES: u64 = 1_024;
/// `http.header_timeout`'s default.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// The (soft, hard) open-file limits of a process, from /proc.
fn open_file_limits(pid: &str) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// Raises this test process's soft limit so that it can hold the sockets (util-linux
/// `prlimit` on our own pid; raising the soft limit up to the hard one needs no privilege).
fn raise_own_file_limit(wanted: u64) {
    let pid = std::process::id().to_string();
    let (soft, hard) = open_file_limits(&pid);
    assert!(
        hard >= wanted,
        "this test holds {HANGING} sockets: it needs a hard open-file limit of at least \
         {wanted}, the machine allows {hard} (raise it with `ulimit -Hn` as root)"
    );
    if soft < wanted {
        let status = Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={wanted}:")])
            .status()
            .expect("util-linux prlimit is needed to raise the test's open-file limit");
        assert!(status.success());
    }
    assert!(open_file_limits(&pid).0 >= wanted);
}

struct Demo {
    child: Child,
    port: u16,
}

impl Demo {
    /// `socmetrics demo` with at most `files` descriptors (soft and hard).
    fn start(files: u64) -> Self {
        let port = free_port();
        let child = Command::new("prlimit")
            .arg(format!("--nofile={files}:{files}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_socmetrics"))
            .args([
                "demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--history",
                "0s",
            ])
            .env("RUST_LOG", "socmetrics=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run prlimit (util-linux)");
        let demo = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while scrape(port, "/readyz", Duration::from_secs(1)).map(|(s, _)| s) != Some(200) {
            assert!(Instant::now() < deadline, "demo not ready within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        demo
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn open_descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One GET on a fresh connection: (status, body), or None if no full answer came in `limit`.
fn scrape(port: u16, path: &str, limit: Duration) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), limit).ok()?;
    stream.set_read_timeout(Some(limit)).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

#[test]
fn metrics_answer_while_1100_sockets_hang_on_a_1024_descriptor_limit() {
    assert!(Path::new("/proc/self/limits").exists(), "needs Linux /proc");
    raise_own_file_limit(HANGING as u64 + 500);
    let demo = Demo::start(CHILD_FILES);
    assert_eq!(
        open_file_limits(&demo.pid()),
        (CHILD_FILES, CHILD_FILES),
        "the daemon runs with a 1,024-descriptor limit"
    );

    let opened = Instant::now();
    let mut hanging: Vec<(TcpStream, Instant)> = (0..HANGING)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", demo.port)).unwrap();
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            (stream, Instant::now())
        })
        .collect();
    eprintln!(
        "{HANGING} sockets opened in {:.0} ms, each with a request head never finished",
        opened.elapsed().as_secs_f64() * 1e3
    );

    // Scrapes while they hang, well within the header timeout.
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let answer = scrape(demo.port, "/metrics", Duration::from_secs(5));
        let took = started.elapsed();
        let (status, body) = answer.unwrap_or_else(|| {
            panic!(
                "/metrics did not answer within 5 s while {HANGING} sockets hang \
                 (the daemon holds {} descriptors)",
                demo.open_descriptors()
            )
        });
        assert_eq!(status, 200);
        let metrics = Metrics::parse(&body);
        assert_eq!(
            metrics.get("soc_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
            Some(1.0)
        );
        // A whole scrape: the incident families are there (the demo's traffic may not have begun
        // when the machine is loaded, so the values are not asserted).
        assert!(
            metrics
                .get("soc_incidents_opened_total", &[("severity", "critical")])
                .is_some(),
            "a whole exposition:\n{body}"
        );
        latencies.push(took);
        std::thread::sleep(Duration::from_millis(300));
    }
    let descriptors = demo.open_descriptors();
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    eprintln!(
        "/metrics answered 200 in {:?} (slowest {slowest:?}) while {HANGING} sockets hang; the \
         daemon holds {descriptors} descriptors of {CHILD_FILES}",
        latencies
    );
    assert!(
        slowest < Duration::from_secs(2),
        "slowest scrape {slowest:?}"
    );
    assert!(
        descriptors < 512,
        "the cap (256) keeps descriptors well under the limit, found {descriptors}"
    );

    // Every hanging socket is closed by the server: the evicted ones at once, the rest when
    // the header timeout passes, counted from their accept.
    for (stream, connected) in &mut hanging {
        let deadline = *connected + HEADER_TIMEOUT + Duration::from_secs(3);
        let left = deadline.saturating_duration_since(Instant::now());
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let mut buffer = [0; 512];
        let closed = loop {
            match stream.read(&mut buffer) {
                Ok(0) => break true,
                Ok(_) => {}
                Err(e) => {
                    break !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                }
            }
        };
        assert!(
            closed,
            "a hanging socket still open {:?} after it connected (header_timeout 5s)",
            connected.elapsed()
        );
    }
    eprintln!(
        "all {HANGING} hanging sockets closed by the server {:.1} s after they connected",
        opened.elapsed().as_secs_f64()
    );
    assert_eq!(
        scrape(demo.port, "/healthz", Duration::from_secs(5)),
        Some((200, "ok\n".to_owned()))
    );
}
