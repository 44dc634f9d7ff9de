//! `/metrics`, `/healthz`, `/readyz`: the routes (axum). The server that carries them, with
//! its timeouts, cap, TLS and basic auth, is [`Server`].

use super::Exporter;
pub use super::server::Server;
pub use super::web_config::WebConfigError;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// The exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router(exporter: Exporter) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(exporter)
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
