//! The owner task's side of a rebalance: newly assigned partitions are restored from the
//! changelog before they resume (records are applied only to restored state), and revoked
//! ones are dropped with the changes of theirs that were not yet written (their next owner
//! reads those records again: their offsets were not stored).

use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::topic_partition_list::TopicPartitionList;

use super::Owner;
use crate::app::clock;
use crate::source::changelog;
use crate::source::consumer::Control;

impl Owner<'_> {
    /// Applies a rebalance: restores newly assigned partitions before resuming them, drops
    /// revoked ones.
    pub(super) async fn rebalance(&mut self, message: Control) {
        match message {
            Control::Revoked(partitions) => {
                for (topic, partition) in partitions {
                    self.pending.forget_offsets(&topic, partition);
                    if !self.inputs.keyed(&topic) {
                        continue;
                    }
                    let Some(owned) = self.owned.get_mut(&partition) else {
                        continue;
                    };
                    owned.inputs.remove(&topic);
                    if owned.inputs.is_empty() {
                        self.owned.remove(&partition);
                        self.pending.forget_partition(partition);
                        self.pipeline.drop_partition(partition);
                        tracing::info!(partition, "partition state dropped");
                    }
                }
                self.publish_snapshot(clock::wall(), true);
            }
            Control::Assigned(partitions) => {
                self.status.set_ready(false);
                let started = clock::monotonic();
                let mut resume = TopicPartitionList::new();
                for (topic, partition) in &partitions {
                    if self.inputs.keyed(topic) {
                        self.owned
                            .entry(*partition)
                            .or_default()
                            .inputs
                            .insert(topic.clone());
                    }
                    let _ = resume.add_partition(topic, *partition);
                }
                let pending: Vec<i32> = self
                    .owned
                    .iter()
                    .filter(|(_, o)| !o.restored)
                    .map(|(p, _)| *p)
                    .collect();
                for partition in pending {
                    self.restore(partition).await;
                    if let Some(owned) = self.owned.get_mut(&partition) {
                        owned.restored = true;
                    }
                }
                if let Err(error) = self.consumer.resume(&resume) {
                    tracing::error!(%error, "cannot resume restored partitions");
                }
                tracing::info!(
                    partitions = partitions.len(),
                    millis = started.elapsed().as_millis() as u64,
                    "assignment restored"
                );
                self.publish_snapshot(clock::wall(), true);
                self.assigned_once = true;
                self.status.set_ready(true);
            }
        }
    }

    /// Resumes every assigned partition whose state is restored (or that holds no state).
    /// The assignment resumes them once; this, every tick, is the safety net should a pause
    /// made in librdkafka's rebalance callback land after that resume (a partition left
    /// paused would never be read again). Resuming a partition that is not paused changes
    /// nothing.
    pub(super) fn resume_restored(&self) {
        let Ok(assigned) = self.consumer.assignment() else {
            return;
        };
        let mut resume = TopicPartitionList::new();
        for element in assigned.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            let restored =
                !self.inputs.keyed(topic) || self.owned.get(&partition).is_some_and(|o| o.restored);
            if restored {
                let _ = resume.add_partition(topic, partition);
            }
        }
        if resume.count() > 0
            && let Err(error) = self.consumer.resume(&resume)
        {
            tracing::debug!(%error, "cannot resume restored partitions");
        }
    }

    /// Reads one partition's changelog into the state, retrying while Kafka is away.
    async fn restore(&mut self, partition: i32) {
        let started = clock::monotonic();
        let mut delay = Duration::from_millis(200);
        loop {
            let config = self.config.clone();
            let topic = self.state_topic.to_owned();
            let read = tokio::task::spawn_blocking(move || {
                changelog::read_partition(&config, &topic, partition)
            })
            .await;
            match read {
                Ok(Ok(records)) => {
                    let count = records.len();
                    let skipped = self.pipeline.restore(
                        partition,
                        records
                            .iter()
                            .map(|(key, value)| (key.as_str(), value.as_deref())),
                        clock::wall(),
                    );
                    tracing::info!(
                        partition,
                        keys = count,
                        skipped,
                        millis = started.elapsed().as_millis() as u64,
                        "partition state restored"
                    );
                    return;
                }
                Ok(Err(error)) => tracing::warn!(partition, %error, "restore failed; retrying"),
                Err(error) => tracing::error!(partition, %error, "restore task failed; retrying"),
            }
            if self.shutdown.is_cancelled() {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}
