//! The log of rejected records: at most one line per second per reason, with how many were
//! held back, so a poison stream cannot flood the log. The counts are the pipeline's; this is
//! only what a person reads.

use std::time::{Duration, Instant};

use crate::formats::{RejectReason, Rejection};
use crate::pipeline::{Batch, Outcome};
use crate::source::Record;

/// Rate-limited rejection log lines.
#[derive(Debug, Default)]
pub struct RejectionLog {
    last: [Option<Instant>; RejectReason::ALL.len()],
    held_back: [u64; RejectReason::ALL.len()],
}

impl RejectionLog {
    /// Logs the rejections of a batch of `records`.
    pub fn batch(&mut self, records: &[Record<'_>], batch: &Batch) {
        for (record, outcome) in records.iter().zip(&batch.outcomes) {
            if let Outcome::Rejected(rejection) = outcome {
                self.log(record, rejection);
            }
        }
    }

    /// Logs one rejection unless its reason was logged less than a second ago.
    pub fn log(&mut self, record: &Record<'_>, rejection: &Rejection) {
        let slot = rejection.reason.index();
        let now = super::clock::monotonic();
        if self.last[slot].is_some_and(|at| now.duration_since(at) < Duration::from_secs(1)) {
            self.held_back[slot] += 1;
            return;
        }
        tracing::warn!(
            topic = record.topic,
            position = %format_args!("{}/{}", record.partition, record.offset),
            reason = %rejection.reason,
            detail = %rejection.detail,
            suppressed = self.held_back[slot],
            "record rejected"
        );
        self.last[slot] = Some(now);
        self.held_back[slot] = 0;
    }
}
