//! One client connection's life, as a state machine the server's timeouts and cap act on:
//!
//! ```text
//! Opening ──request head──▶ Busy ──response flushed──▶ Idle ──first byte──▶ ReadingHead
//!  (TLS handshake,           (request_timeout)          (idle_timeout)        (header_timeout)
//!   header_timeout)            ▲                                                  │
//!                              └───────────────────request head───────────────────┘
//! ```
//!
//! Each phase has its own time limit, restarted when the phase is entered; past it the
//! connection is closed. Every phase but `Busy` is *evictable*: when the cap is reached, the
//! connection that entered an evictable phase longest ago makes room for the new one, so a
//! thousand sockets that never finish a request head cannot keep a scrape out.
//!
//! [`Tracked`] wraps the connection's I/O (above TLS) to see the first byte of a request and
//! the flush that ends a response; the server's service marks the request head.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Accepted: TLS handshake and first request head.
    Opening = 0,
    /// A keep-alive request's head is arriving.
    ReadingHead = 1,
    /// A request is being answered.
    Busy = 2,
    /// Keep-alive, waiting for the next request.
    Idle = 3,
}

impl Phase {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Opening,
            1 => Self::ReadingHead,
            2 => Self::Busy,
            _ => Self::Idle,
        }
    }

    /// Whether the cap may close a connection in this phase to admit a new one.
    pub fn evictable(self) -> bool {
        self != Self::Busy
    }
}

/// The time limit of each phase.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub header: Duration,
    pub request: Duration,
    pub idle: Duration,
}

impl Timeouts {
    pub fn of(self, phase: Phase) -> Duration {
        match phase {
            Phase::Opening | Phase::ReadingHead => self.header,
            Phase::Busy => self.request,
            Phase::Idle => self.idle,
        }
    }
}

/// Orders phase changes across connections (no clock needed to find the oldest).
#[derive(Debug, Default)]
pub struct Sequence(AtomicU64);

impl Sequence {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// A connection's state, shared by its task, its I/O, its service and the server's registry.
#[derive(Debug)]
pub struct Tracker {
    phase: AtomicU8,
    /// When (in [`Sequence`] order) the current phase was entered.
    since: AtomicU64,
    /// The response of the request in progress is written into the I/O: its next successful
    /// flush ends the request.
    responded: AtomicBool,
    changed: Notify,
    evicted: CancellationToken,
    sequence: Arc<Sequence>,
}

impl Tracker {
    pub fn new(sequence: Arc<Sequence>) -> Self {
        Self {
            phase: AtomicU8::new(Phase::Opening as u8),
            since: AtomicU64::new(sequence.next()),
            responded: AtomicBool::new(false),
            changed: Notify::new(),
            evicted: CancellationToken::new(),
            sequence,
        }
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// When the current phase began, in [`Sequence`] order.
    pub fn since(&self) -> u64 {
        self.since.load(Ordering::Acquire)
    }

    fn enter(&self, phase: Phase) {
        self.since.store(self.sequence.next(), Ordering::Release);
        self.phase.store(phase as u8, Ordering::Release);
        self.changed.notify_one();
    }

    /// A request head was read: the request timeout starts.
    pub fn request_started(&self) {
        self.responded.store(false, Ordering::Release);
        self.enter(Phase::Busy);
    }

    /// The service produced its response: the flush that follows ends the request.
    pub fn response_ready(&self) {
        self.responded.store(true, Ordering::Release);
    }

    /// Resolves when the phase changes (the time limit restarts).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Closes the connection to make room for another.
    pub fn evict(&self) {
        self.evicted.cancel();
    }

    pub async fn evicted(&self) {
        self.evicted.cancelled().await;
    }

    pub(super) fn on_read(&self, bytes: usize) {
        if bytes > 0 && self.phase() == Phase::Idle {
            self.enter(Phase::ReadingHead);
        }
    }

    pub(super) fn on_flushed(&self) {
        if self.phase() == Phase::Busy && self.responded.swap(false, Ordering::AcqRel) {
            self.enter(Phase::Idle);
        }
    }
}

/// A connection's I/O, reporting to its [`Tracker`].
#[derive(Debug)]
pub struct Tracked<IO> {
    io: IO,
    tracker: Arc<Tracker>,
}

impl<IO> Tracked<IO> {
    pub fn new(io: IO, tracker: Arc<Tracker>) -> Self {
        Self { io, tracker }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.tracker.on_read(buf.filled().len() - before);
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = polled {
            self.tracker.on_flushed();
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_moves_through_busy_to_idle_and_back() {
        let tracker = Tracker::new(Arc::default());
        assert_eq!(tracker.phase(), Phase::Opening);
        let opened = tracker.since();
        tracker.request_started();
        assert_eq!(tracker.phase(), Phase::Busy);
        assert!(!tracker.phase().evictable());
        // A flush before the response is ready (hyper flushes as it goes) ends nothing.
        tracker.on_flushed();
        assert_eq!(tracker.phase(), Phase::Busy);
        tracker.response_ready();
        tracker.on_flushed();
        assert_eq!(tracker.phase(), Phase::Idle);
        assert!(tracker.since() > opened);
        tracker.on_read(0);
        assert_eq!(tracker.phase(), Phase::Idle);
        tracker.on_read(3);
        assert_eq!(tracker.phase(), Phase::ReadingHead);
        // Bytes read mid-request (a pipelined request) do not change the phase.
        tracker.request_started();
        tracker.on_read(10);
        assert_eq!(tracker.phase(), Phase::Busy);
    }

    #[test]
    fn each_phase_has_its_limit() {
        let timeouts = Timeouts {
            header: Duration::from_secs(5),
            request: Duration::from_secs(10),
            idle: Duration::from_secs(90),
        };
        assert_eq!(timeouts.of(Phase::Opening), Duration::from_secs(5));
        assert_eq!(timeouts.of(Phase::ReadingHead), Duration::from_secs(5));
        assert_eq!(timeouts.of(Phase::Busy), Duration::from_secs(10));
        assert_eq!(timeouts.of(Phase::Idle), Duration::from_secs(90));
    }
}
