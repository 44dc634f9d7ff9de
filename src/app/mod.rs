//! Wiring: the daemon (`run`), the demo, `convert`, signals and logging. The only place that reads a
//! clock ([`clock`]) and spawns tasks.

pub mod clock;
pub mod convert;
pub mod daemon;
pub mod demo;
pub mod logging;
mod pending;
mod probe;
pub mod rejections;
pub mod signal;
mod startup;
