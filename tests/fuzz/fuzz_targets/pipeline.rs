//! Records through the record path as the daemon drives it: `Pipeline::apply_batch` on a
//! durable pipeline, expiry, snapshots and their series, in either clock mode, with wall clocks
//! the input picks (language in `src/lib.rs`). Then the changelog the batches wrote is restored
//! into a fresh pipeline, which must read every record of it back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socmetrics::config::Config;
use socmetrics::event::EventTime;
use socmetrics::pipeline::Pipeline;
use socmetrics::source::Record;
use socmetrics_fuzz::{Step, TOPICS, WALL, script};

fuzz_target!(|data: &[u8]| {
    let script = script(data);
    let mut config = Config::default();
    config.clock.mode = script.mode;
    let mut pipeline = Pipeline::new(&config);
    pipeline.make_durable();
    let mut wall = WALL;
    let mut changes = Vec::new();
    let mut batch: Vec<Record<'_>> = Vec::new();
    let mut offset = 0;
    let flush =
        |pipeline: &mut Pipeline, batch: &mut Vec<Record<'_>>, wall, changes: &mut Vec<_>| {
            let done = pipeline.apply_batch(batch, wall);
            assert_eq!(done.outcomes.len(), batch.len());
            changes.extend(pipeline.state_records(&done.changes));
            batch.clear();
        };
    for step in script.steps {
        match step {
            Step::Record {
                role,
                partition,
                key,
                payload,
            } => {
                offset += 1;
                let record = Record::new(TOPICS[role.index()], role, offset, payload)
                    .with_key(key)
                    .in_partition(partition);
                batch.push(record);
            }
            Step::Wall(at) => wall = at,
            Step::EndBatch => flush(&mut pipeline, &mut batch, wall, &mut changes),
            Step::Expire(at) => {
                flush(&mut pipeline, &mut batch, wall, &mut changes);
                let expired = pipeline.expire(at);
                changes.extend(pipeline.state_records(&expired));
            }
        }
    }
    flush(&mut pipeline, &mut batch, wall, &mut changes);
    let _ = pipeline.fresh_snapshot(wall).scorecard.series();
    let expired = pipeline.expire(wall);
    changes.extend(pipeline.state_records(&expired));
    let _ = pipeline
        .snapshot(wall.saturating_add_millis(400 * 86_400_000))
        .scorecard
        .series();

    // What was made durable reads back, partition by partition, at the same wall clock.
    let mut restored = Pipeline::new(&config);
    let mut partitions: Vec<i32> = changes.iter().map(|r| r.partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    for partition in partitions {
        let records = changes
            .iter()
            .filter(|r| r.partition == partition)
            .map(|r| (r.key.as_str(), r.value.as_deref()));
        let unread = restored.restore(partition, records, max_wall(wall));
        assert_eq!(
            unread, 0,
            "partition {partition}: a record the pipeline wrote is unreadable"
        );
    }
    let _ = restored.fresh_snapshot(wall).scorecard.series();
});

/// A wall clock no stored event clock is ahead of: a restore must not ignore one.
fn max_wall(_wall: EventTime) -> EventTime {
    EventTime(i64::MAX)
}
