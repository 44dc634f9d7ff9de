//! `/metrics`, `/healthz`, `/readyz` over HTTP (axum).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Exporter;

/// The exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router(exporter: Exporter) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(exporter)
}

/// Serves until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    exporter: Exporter,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(exporter))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn metrics(State(exporter): State<Exporter>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], exporter.render())
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: consuming with its state in place (503 while starting or restoring).
async fn readyz(State(exporter): State<Exporter>) -> impl IntoResponse {
    if exporter.status.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
