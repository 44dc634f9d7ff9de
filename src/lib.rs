//! socmetrics: a SOC's alert and case streams in, Prometheus KPIs out.
//!
//! One record path, whatever the input:
//!
//! ```text
//! Kafka consumer ─┐
//! files (to come) ┼─▶ source::Record ──formats::decode──▶ event::Event … ──▶ engine::apply ──▶ Applied
//! simulator ──────┘   (topic, partition,    (guard, then one   │ or Rejection       (effect, skew,
//!                      offset, key, bytes)   file per format)  │ (counted, logged,   state changes)
//!                                                              │  dead-lettered)
//!                     pipeline::apply_batch ───────────────────┘──▶ Batch (outcomes, offsets,
//!                                                                          changelog records)
//! engine ──▶ Scorecard ──series()──▶ typed series (Kpi, labels, value) ──▶ export (/metrics)
//! ```
//!
//! Modules, outermost first; dependencies point inward:
//! - `app`: wiring (the daemon's owner task, the demo, signals, logging) and the one place that
//!   reads a clock (`app::clock`; `clippy.toml` bans clock reads elsewhere);
//! - `pipeline`: the batch protocol every input uses, the clock mode, pipeline health;
//! - `export`: HTTP and the Prometheus rendering of a snapshot; sees only the scorecard's series;
//! - `source`: the input edge: `Record`, the Kafka consumer, offsets, changelog, dead letters;
//!   knows bytes and offsets, never KPIs;
//! - `formats`: records → events or a typed `Rejection`;
//! - `engine`: the functional core (incidents, windows, the scorecard); no I/O, no clock;
//! - `event`: the native event model;
//! - `config`: typed configuration, the one place defaults are written;
//! - `sim`: the demo's traffic generator, feeding the same pipeline.

pub mod app;
pub mod config;
pub mod engine;
pub mod event;
pub mod export;
pub mod formats;
pub mod pipeline;
pub mod sim;
pub mod source;
