//! Changelog records, arbitrary keys and values (framing in `src/lib.rs`), through
//! `Pipeline::restore`, as a restart reads a compacted state topic that an older version, a
//! bug or a stranger wrote. A record that cannot be read is counted, never a panic; the state
//! restored must then take records, expire and be scored like any other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socmetrics::config::Config;
use socmetrics::pipeline::Pipeline;
use socmetrics::source::{Record, TopicRole};
use socmetrics_fuzz::{WALL, state_records};

fuzz_target!(|data: &[u8]| {
    let records = state_records(data);
    let mut pipeline = Pipeline::new(&Config::default());
    pipeline.make_durable();
    for partition in 0..4 {
        let of_partition = records
            .iter()
            .filter(|r| r.partition == partition)
            .map(|r| (r.key.as_str(), r.value.as_deref()));
        let unread = pipeline.restore(partition, of_partition, WALL);
        assert!(unread <= records.len());
    }
    let _ = pipeline.fresh_snapshot(WALL).scorecard.series();
    let alert = br#"{"alert_id":"a","incident_id":"INC-1","detected_at":1796150000000,"source":"edr","severity":"high"}"#;
    let case = br#"{"incident_id":"INC-1","at":1796153000000,"status":"resolved","disposition":"true_positive"}"#;
    let batch = [
        Record::new("soc.alerts", TopicRole::Alerts, 0, Some(alert)),
        Record::new("soc.cases", TopicRole::Cases, 0, Some(case)),
    ];
    let _ = pipeline.apply_batch(&batch, WALL);
    let _ = pipeline.expire(WALL);
    let _ = pipeline.expire(WALL.saturating_add_millis(400 * 86_400_000));
    let _ = pipeline.fresh_snapshot(WALL).scorecard.series();
});
