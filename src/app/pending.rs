//! What the owner task has applied but not yet made durable: the state changes of the batches
//! since the last changelog write and the input offsets those batches cover (the commit
//! interval of Kafka Streams' record cache). Changes name state, not its value, so an incident
//! that many batches touched is encoded and written once per write, as it is then; the
//! offsets are stored only once that write is acknowledged.
//!
//! Invariant: an offset is here only if every record up to it was applied, its dead letters
//! acknowledged, its forwarded events acknowledged or among the sends here, and its changes
//! here or already durable.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::engine::Change;

/// A write is due once this long has passed since the first change waiting...
pub const COMMIT_EVERY: Duration = Duration::from_millis(500);
/// ... or once this many records wait, whichever comes first.
const COMMIT_RECORDS: usize = 200_000;
/// Past this many records waiting, the owner waits for the write in flight before taking
/// more (the changelog sets the pace while the broker is slow).
pub const MAX_WAITING_RECORDS: usize = 1_000_000;

/// Changes and offsets waiting for the next changelog write.
#[derive(Debug, Default)]
pub struct Pending {
    changes: Vec<Change>,
    /// `(topic, partition, last offset applied)`.
    offsets: Vec<(String, i32, i64)>,
    /// Records applied since the last write.
    records: usize,
    /// When the oldest waiting change or offset came.
    since: Option<Instant>,
    /// Sends to the repartition topic of the batches here, not yet awaited: the offsets are
    /// stored only once every one resolved true.
    forwards: Vec<JoinHandle<bool>>,
}

/// One changelog write's worth of waiting work.
#[derive(Debug, Default)]
pub struct Taken {
    pub changes: Vec<Change>,
    /// `(topic, partition, last offset)`, to store once the write and the forwards are
    /// acknowledged.
    pub offsets: Vec<(String, i32, i64)>,
    pub forwards: Vec<JoinHandle<bool>>,
}

impl Pending {
    /// A batch fully applied: its changes, and the offsets it covers.
    pub fn add_batch(
        &mut self,
        changes: Vec<Change>,
        offsets: Vec<(String, i32, i64)>,
        records: usize,
        at: Instant,
    ) {
        self.add_changes(changes, at);
        for (topic, partition, offset) in offsets {
            match self
                .offsets
                .iter_mut()
                .find(|(t, p, _)| *p == partition && *t == topic)
            {
                Some(last) => last.2 = last.2.max(offset),
                None => self.offsets.push((topic, partition, offset)),
            }
        }
        self.records += records;
        self.since.get_or_insert(at);
    }

    /// Changes that cover no offset (expiry at a tick, a batch cut short by shutdown).
    pub fn add_changes(&mut self, mut changes: Vec<Change>, at: Instant) {
        if changes.is_empty() {
            return;
        }
        if self.changes.is_empty() {
            self.changes = changes;
        } else {
            self.changes.append(&mut changes);
        }
        self.since.get_or_insert(at);
    }

    /// A batch's send to the repartition topic, which its offsets (added with the batch)
    /// wait for.
    pub fn add_forwards(&mut self, send: JoinHandle<bool>) {
        self.forwards.push(send);
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.offsets.is_empty() && self.forwards.is_empty()
    }

    /// Whether a write is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.records >= COMMIT_RECORDS
            || self
                .since
                .is_some_and(|since| now.saturating_duration_since(since) >= COMMIT_EVERY)
    }

    /// Whether the owner should wait for the write in flight before taking more records.
    pub fn full(&self) -> bool {
        self.records >= MAX_WAITING_RECORDS
    }

    /// Everything waiting, for one write.
    pub fn take(&mut self) -> Taken {
        self.records = 0;
        self.since = None;
        let mut offsets = std::mem::take(&mut self.offsets);
        offsets.sort_unstable();
        Taken {
            changes: std::mem::take(&mut self.changes),
            offsets,
            forwards: std::mem::take(&mut self.forwards),
        }
    }

    /// A state partition dropped (revoked): its changes are not written, since its next owner
    /// restores without them and reads their records again, and may already write newer
    /// values of the same keys.
    pub fn forget_partition(&mut self, partition: i32) {
        self.changes
            .retain(|change| change.partition() != partition);
        self.offsets.retain(|(_, p, _)| *p != partition);
    }

    /// An input partition revoked while its state stays: its offsets can no longer be stored.
    pub fn forget_offsets(&mut self, topic: &str, partition: i32) {
        self.offsets
            .retain(|(t, p, _)| !(*p == partition && t == topic));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::key::IncidentKey;

    fn incident(partition: i32, id: &str) -> Change {
        Change::Incident {
            partition,
            key: IncidentKey::new("", id),
        }
    }

    #[test]
    fn offsets_keep_the_last_per_partition_and_forget_what_was_revoked() {
        let t0 = crate::app::clock::monotonic();
        let mut pending = Pending::default();
        pending.add_batch(
            vec![incident(0, "a"), incident(1, "b")],
            vec![("alerts".into(), 0, 10), ("alerts".into(), 1, 4)],
            2,
            t0,
        );
        pending.add_batch(
            vec![incident(0, "a")],
            vec![("alerts".into(), 0, 12), ("cases".into(), 1, 7)],
            2,
            t0,
        );
        assert!(!pending.due(t0));
        assert!(pending.due(t0 + COMMIT_EVERY));
        pending.forget_offsets("cases", 1);
        let Taken {
            changes, offsets, ..
        } = pending.take();
        assert_eq!(changes.len(), 3);
        assert_eq!(
            offsets,
            vec![("alerts".to_owned(), 0, 12), ("alerts".to_owned(), 1, 4)]
        );
        assert!(pending.is_empty());
        assert!(!pending.due(t0 + COMMIT_EVERY * 10));

        pending.add_batch(
            vec![incident(0, "a"), incident(1, "b")],
            vec![("alerts".into(), 0, 20), ("alerts".into(), 1, 9)],
            2,
            t0,
        );
        pending.forget_partition(1);
        let Taken {
            changes, offsets, ..
        } = pending.take();
        assert_eq!(changes, vec![incident(0, "a")]);
        assert_eq!(offsets, vec![("alerts".to_owned(), 0, 20)]);
    }

    #[test]
    fn a_write_is_due_by_records_as_well_as_by_time() {
        let t0 = crate::app::clock::monotonic();
        let mut pending = Pending::default();
        pending.add_batch(Vec::new(), vec![("a".into(), 0, 1)], COMMIT_RECORDS, t0);
        assert!(pending.due(t0));
        assert!(!pending.full());
        pending.add_batch(Vec::new(), Vec::new(), MAX_WAITING_RECORDS, t0);
        assert!(pending.full());
    }
}
