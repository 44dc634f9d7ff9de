//! Instructions per record on the real record path (`Pipeline::apply_batch`, batches of
//! 2,048, a fresh pipeline per pass), for comparing two builds where the machine is too noisy
//! for timings. Instruction counts are deterministic: run under callgrind (this VM has no PMU
//! for `perf stat`) with PASSES passes and with 0, and divide the difference by PASSES ×
//! records. Alerts are the simulator's (seed 42, byte-identical across builds), case events a
//! fixed five-event lifecycle per incident.
//!
//! ```sh
//! cargo build --release --example path_cost
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/path_cost cases 2 20     # and `cases 0 20`, `alerts 2 4`, `alerts 0 4`
//! ```
//!
//! Usage: `path_cost alerts|cases PASSES [HOURS]` (alerts: hours of simulated traffic; cases:
//! thousands of incidents).

use std::hint::black_box;

use socmetrics::config::Config;
use socmetrics::event::EventTime;
use socmetrics::pipeline::{Outcome, Pipeline};
use socmetrics::sim::Simulator;
use socmetrics::source::{Record, TopicRole};

/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600_000;
const HOURS: i64 = 4;
const BATCH: usize = 2048;

/// `incidents` incidents of five case events each (new, acknowledged, in_progress, resolved,
/// closed), JSON as a case tool writes it, in time order. Deterministic.
fn case_records(incidents: i64) -> Vec<(EventTime, Vec<u8>)> {
    let mut records = Vec::new();
    for n in 0..incidents {
        let opened = START + n * 25_000;
        let steps = [
            (0, "new", r#","severity":"high","detection":"alert""#),
            (
                600_000,
                "acknowledged",
                r#","assignee":"analyst07","tier":1"#,
            ),
            (1_800_000, "in_progress", r#","assignee":"analyst07""#),
            (
                7_200_000,
                "resolved",
                r#","disposition":"true_positive","root_cause":"phishing""#,
            ),
            (9_000_000, "closed", ""),
        ];
        for (k, (offset, status, extra)) in steps.iter().enumerate() {
            let at = opened + offset;
            records.push((
                EventTime(at),
                format!(
                    r#"{{"incident_id":"INC-{n:08}","event_id":"INC-{n:08}/{k}","at":{at},"status":"{status}","tenant":"acme"{extra}}}"#
                )
                .into_bytes(),
            ));
        }
    }
    records.sort_by_key(|(at, _)| *at);
    records
}

fn main() {
    let mut args = std::env::args().skip(1);
    let role = match args.next().as_deref() {
        Some("cases") => TopicRole::Cases,
        _ => TopicRole::Alerts,
    };
    let passes: usize = args.next().and_then(|p| p.parse().ok()).unwrap_or(1);
    let hours: i64 = args.next().and_then(|h| h.parse().ok()).unwrap_or(HOURS);
    let generated: Vec<(EventTime, Vec<u8>)> = if role == TopicRole::Cases {
        case_records(hours * 1_000)
    } else {
        let mut sim = Simulator::new(42);
        sim.records_between(EventTime(START), EventTime(START + hours * 3_600_000))
            .into_iter()
            .filter(|r| r.role == role)
            .map(|r| (r.at, r.payload))
            .collect()
    };
    let wall = generated.iter().map(|r| r.0).max().unwrap_or_default();
    let config = Config::default();
    let mut counted = 0;
    for _ in 0..passes {
        let mut pipeline = Pipeline::new(&config);
        let records: Vec<Record<'_>> = generated
            .iter()
            .enumerate()
            .map(|(offset, (_, payload))| Record::new("bench", role, offset as i64, Some(payload)))
            .collect();
        for batch in records.chunks(BATCH) {
            let batch = pipeline.apply_batch(batch, wall);
            counted += batch
                .outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Applied(socmetrics::engine::Effect::Counted)))
                .count();
            black_box(batch);
        }
    }
    eprintln!(
        "{} records, {} counted over {passes} passes",
        generated.len(),
        counted
    );
}
