//! The native event model of PRODUCT.md §1: what every format adapter produces and the
//! engine consumes. Types here are plain values with no I/O; parsing of the wire forms
//! (timestamps, severities) lives beside the types so every adapter shares one definition.

mod alert;
mod asset;
mod case;
mod severity;
mod time;

pub use alert::Alert;
pub use asset::{InventoryRecord, Telemetry};
pub use case::{CaseEvent, Detection, Disposition, Status};
pub use severity::Severity;
pub use time::EventTime;
