//! socmetrics: a SOC's alert and case streams in, Prometheus KPIs out.
//!
//! ```text
//! Kafka records ──▶ source (consumer, offsets, dead letters)
//!                     │ bytes
//!                     ▼
//!                  formats (guard → native decoder) ──▶ Rejection ──▶ counted, logged, dead-lettered
//!                     │ Event
//!                     ▼
//!                  engine (dedupe, labels, windows) ──▶ Applied
//!                     │ Scorecard (at now)
//!                     ▼
//!                  export (Prometheus collector, HTTP /metrics /healthz /readyz)
//! ```
//!
//! `pipeline` drives one record through decode → apply → outcome; `app` wires the tasks
//! (consumer loop, HTTP, signals, clock); `sim` is the demo's traffic generator feeding the
//! same pipeline.

pub mod app;
pub mod config;
pub mod engine;
pub mod event;
pub mod export;
pub mod formats;
pub mod pipeline;
pub mod sim;
pub mod source;
