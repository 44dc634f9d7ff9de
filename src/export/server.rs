//! The HTTP server: an accept loop with a connection cap, each connection under the phase
//! timeouts of [`connection`](super::connection), over TLS when the web config says so, with
//! basic auth and the configured headers on every request (exporter-toolkit's behaviour).
//!
//! Cap (`http.max_connections`): when full, the connection that has waited longest without a
//! request in progress (slow head, idle keep-alive) is closed to admit the new one; if every
//! connection is mid-request (each bounded by `request_timeout`), the new one is closed at
//! once. A scrape is therefore admitted at once however many sockets hang, and it is the
//! last to be evicted, being the newest. Accepting never stops, so the kernel's backlog never
//! holds a scrape behind sockets that will hang. Out of file descriptors, the oldest
//! evictable connection is closed to free one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Exporter;
use super::auth::Authenticator;
use super::connection::{Sequence, Timeouts, Tracked, Tracker};
use super::web_config::{WebConfig, WebConfigError, WebConfigSource};
use crate::config::HttpConfig;

/// Pending connections the kernel queues before accept.
const LISTEN_BACKLOG: i32 = 4096;

/// The HTTP server of `/metrics`, `/healthz` and `/readyz`, configured and ready to serve.
#[derive(Debug)]
pub struct Server {
    max_connections: usize,
    timeouts: Timeouts,
    web: Option<Arc<WebConfigSource>>,
}

impl Server {
    /// Reads `[http]` and its web config file (an invalid one is an error naming its key).
    pub fn new(config: &HttpConfig) -> Result<Self, WebConfigError> {
        let [header, request, idle] = config.timeouts();
        let web = match &config.web_config_file {
            Some(path) => {
                let source = WebConfigSource::open(path)?;
                let users = source.current().map(|c| c.users.len()).unwrap_or(0);
                tracing::info!(
                    path = %path.display(),
                    tls = source.tls(),
                    basic_auth_users = users,
                    "web config read"
                );
                if users > 0 && !source.tls() {
                    tracing::warn!(
                        "basic auth without TLS: passwords cross the network in clear text"
                    );
                }
                Some(Arc::new(source))
            }
            None => None,
        };
        Ok(Self {
            max_connections: config.max_connections.max(1),
            timeouts: Timeouts {
                header,
                request,
                idle,
            },
            web,
        })
    }

    /// Serves until `shutdown` is cancelled, then closes the connections without a request
    /// in progress and lets the others finish theirs (each within `request_timeout`).
    pub async fn serve(
        self,
        listener: TcpListener,
        exporter: Exporter,
        shutdown: CancellationToken,
    ) -> io::Result<()> {
        let shared = Arc::new(Shared {
            router: super::http::router(exporter),
            timeouts: self.timeouts,
            web: self.web,
            auth: Authenticator::new(),
        });
        let sequence = Arc::new(Sequence::default());
        let registry = Arc::new(Registry::new(self.max_connections));
        // std's backlog is 128: a burst of connections while a worker is busy for a few
        // milliseconds overflows it, and the kernel drops SYNs (a scrape's included) for a
        // second. Listening again only resizes the queue; the kernel caps it at somaxconn.
        if let Err(error) = socket2::SockRef::from(&listener).listen(LISTEN_BACKLOG) {
            tracing::warn!("cannot enlarge the listen backlog: {error}");
        }
        let tasks = TaskTracker::new();
        let mut out_of_descriptors = false;
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => {
                    out_of_descriptors = false;
                    stream
                }
                Err(error) if is_fd_exhaustion(&error) => {
                    if !out_of_descriptors {
                        tracing::warn!(
                            "out of file descriptors: closing the oldest idle connection ({error})"
                        );
                        out_of_descriptors = true;
                    }
                    registry.evict_oldest();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                // The client's trouble (reset before accept): nothing to do.
                Err(_) => continue,
            };
            let tracker = Arc::new(Tracker::new(Arc::clone(&sequence)));
            let Some(id) = registry.admit(&tracker) else {
                tracing::debug!("connection cap reached, every connection mid-request: refused");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = Arc::clone(&shared);
            let registry = Arc::clone(&registry);
            let shutdown = shutdown.clone();
            tasks.spawn(async move {
                connection(stream, &tracker, &shared, &shutdown).await;
                registry.remove(id);
            });
        }
        drop(listener);
        tasks.close();
        tasks.wait().await;
        Ok(())
    }
}

/// What every connection shares.
#[derive(Debug)]
struct Shared {
    router: Router,
    timeouts: Timeouts,
    web: Option<Arc<WebConfigSource>>,
    auth: Authenticator,
}

/// The connections open, for the cap.
#[derive(Debug)]
struct Registry {
    max: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Arc<Tracker>>,
}

impl Registry {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a connection, evicting the oldest evictable one when full; `None` when full of
    /// connections mid-request.
    fn admit(&self, tracker: &Arc<Tracker>) -> Option<u64> {
        let mut open = self.lock();
        if open.connections.len() >= self.max && !Self::evict_oldest_of(&mut open) {
            return None;
        }
        let id = open.next_id;
        open.next_id += 1;
        open.connections.insert(id, Arc::clone(tracker));
        Some(id)
    }

    fn evict_oldest(&self) {
        Self::evict_oldest_of(&mut self.lock());
    }

    fn evict_oldest_of(open: &mut Open) -> bool {
        let oldest = open
            .connections
            .iter()
            .filter(|(_, t)| t.phase().evictable())
            .min_by_key(|(_, t)| t.since())
            .map(|(id, _)| *id);
        match oldest.and_then(|id| open.connections.remove(&id)) {
            Some(tracker) => {
                tracker.evict();
                true
            }
            None => false,
        }
    }

    fn remove(&self, id: u64) {
        self.lock().connections.remove(&id);
    }
}

fn is_fd_exhaustion(error: &io::Error) -> bool {
    // EMFILE (24) and ENFILE (23) on Linux.
    matches!(error.raw_os_error(), Some(23 | 24))
}

/// One connection: TLS handshake if configured, then HTTP/1.1 under the phase timeouts.
async fn connection(
    stream: TcpStream,
    tracker: &Arc<Tracker>,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
) {
    // The header timeout covers the handshake and the first request head together.
    let mut limit = Box::pin(tokio::time::sleep(shared.timeouts.header));
    let tls = match &shared.web {
        Some(web) if web.tls() => match web.current() {
            Ok(config) => config.tls.clone(),
            // Invalid web config: fail closed (logged once by the source).
            Err(_) => return,
        },
        _ => None,
    };
    match tls {
        None => drive(stream, tracker, shared, shutdown, limit).await,
        Some(config) => {
            let handshake = TlsAcceptor::from(config).accept(stream);
            let stream = tokio::select! {
                done = handshake => match done {
                    Ok(stream) => stream,
                    Err(error) => {
                        tracing::debug!("TLS handshake failed: {error}");
                        return;
                    }
                },
                () = &mut limit => return,
                () = tracker.evicted() => return,
                () = shutdown.cancelled() => return,
            };
            drive(stream, tracker, shared, shutdown, limit).await;
        }
    }
}

/// Serves HTTP/1.1 on `io` until the client leaves, a phase times out, the connection is
/// evicted, or shutdown ends it after its request in progress.
async fn drive<IO>(
    io: IO,
    tracker: &Arc<Tracker>,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
    mut limit: std::pin::Pin<Box<tokio::time::Sleep>>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = {
        let tracker = Arc::clone(tracker);
        let shared = Arc::clone(shared);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let tracker = Arc::clone(&tracker);
            let shared = Arc::clone(&shared);
            async move {
                tracker.request_started();
                let response = respond(&shared, request).await;
                tracker.response_ready();
                Ok::<_, Infallible>(response)
            }
        })
    };
    let io = TokioIo::new(Tracked::new(io, Arc::clone(tracker)));
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our phase limits replace hyper's header timer, which would also end keep-alive waits.
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = &mut limit => {
                tracing::debug!(phase = ?tracker.phase(), "connection timed out");
                return;
            }
            () = tracker.evicted() => return,
            () = tracker.changed() => {
                limit.set(tokio::time::sleep(shared.timeouts.of(tracker.phase())));
            }
            () = shutdown.cancelled(), if !stopping => {
                // Nothing in progress to finish: close now. Mid-request: finish, then close.
                if tracker.phase().evictable() {
                    return;
                }
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// One request: the web config's headers on every response, basic auth on every path.
async fn respond(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let web = match shared.web.as_ref().map(|web| web.current()) {
        None => None,
        Some(Ok(config)) => Some(config),
        Some(Err(_)) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "web config invalid\n"),
    };
    let Some(web) = web else {
        return route(shared, request).await;
    };
    let allowed = shared
        .auth
        .allows(&web.users, request.headers().get(header::AUTHORIZATION))
        .await;
    let mut response = if allowed {
        route(shared, request).await
    } else {
        let mut response = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic"),
        );
        response
    };
    add_headers(&web, &mut response);
    response
}

async fn route(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    match TowerToHyperService::new(shared.router.clone())
        .call(request)
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn add_headers(web: &WebConfig, response: &mut Response<Body>) {
    for (name, value) in &web.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests;
