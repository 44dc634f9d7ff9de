//! Native alert throughput on one core (PRODUCT.md §8: "native alerts decoded and applied,
//! ≥ 1,000,000 /s, and at least half the speed of bare serde_json parsing of the same records").
//!
//! Every benchmark walks the same set of realistic records once per iteration, so
//! `Throughput::Elements` is the set size and criterion's rates are records per second:
//!
//! - `serde_json_value`: bare `serde_json::from_slice::<Value>`, the baseline of the target;
//! - `decode`: `formats::guard::check` + `formats::native::decode_alert`;
//! - `decode_and_apply`: `Pipeline::apply_batch` in batches of 2,048 on a fresh pipeline per
//!   iteration (the real path:
//!   every record is a new alert, counted, none a duplicate or late);
//! - breakdown rows: `serde_json_ignored` (syntax only, no tree), `guard`,
//!   `decode_without_depth_count` (guard minus its bracket count), `bracket_count` (that count
//!   alone), `decode_epoch_millis` (`detected_at` as an integer instead of RFC 3339 text),
//!   `apply` (engine only, on alerts decoded beforehand, fresh engine per iteration).
//!
//! Run with `cargo bench --bench alerts`; BENCHMARKS.md records the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value};
use socmetrics::config::Config;
use socmetrics::engine::{Effect, Engine};
use socmetrics::event::Event;
use socmetrics::event::EventTime;
use socmetrics::formats::{guard, native};
use socmetrics::pipeline::{Outcome, Pipeline};
use socmetrics::sim::Simulator;
use socmetrics::source::{Record, TopicRole};

/// Records per batch, as the daemon takes them.
const BATCH: usize = 2048;
/// Records in the set.
const RECORDS: usize = 100_000;
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600_000;
const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];

/// The simulator's traffic (6 sources with their own rates and severity mixes, bursts, RFC 3339
/// `detected_at`, integer `occurred_at`), keeping only well-formed first deliveries, with the two
/// fields the simulator leaves out (`incident_id` on about a third, `tenant` on all) added so
/// every field of the format is decoded. Returns the records and their largest `detected_at`.
fn records() -> (Vec<Vec<u8>>, EventTime) {
    let mut sim = Simulator::new(42);
    let mut seen = std::collections::HashSet::new();
    let mut records = Vec::with_capacity(RECORDS);
    let mut latest = EventTime(START);
    let mut from = START;
    while records.len() < RECORDS {
        let to = from + 3_600_000;
        for raw in sim.alerts_between(EventTime(from), EventTime(to)) {
            let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&raw) else {
                continue;
            };
            let Some(Value::String(id)) = fields.get("alert_id") else {
                continue;
            };
            if !seen.insert(id.clone()) || records.len() == RECORDS {
                continue;
            }
            let n = records.len();
            enrich(&mut fields, n);
            let record = Value::Object(fields).to_string().into_bytes();
            let text = std::str::from_utf8(&record).expect("serde_json writes UTF-8");
            let Ok(alert) = native::decode_alert(text) else {
                continue;
            };
            latest = latest.max(alert.detected_at);
            records.push(record);
        }
        from = to;
    }
    (records, latest)
}

fn enrich(fields: &mut Map<String, Value>, n: usize) {
    if n % 3 == 0 {
        fields.insert("incident_id".into(), format!("INC-{:06}", n / 7).into());
    }
    fields.insert("tenant".into(), TENANTS[n % TENANTS.len()].into());
}

/// The same records with `detected_at` as integer epoch milliseconds instead of RFC 3339 text.
fn with_epoch_millis(records: &[Vec<u8>]) -> Vec<Vec<u8>> {
    records
        .iter()
        .map(|record| {
            let mut value: Value = serde_json::from_slice(record).expect("valid JSON");
            let text = value["detected_at"].as_str().expect("RFC 3339 text");
            let at = EventTime::parse_rfc3339(text).expect("RFC 3339");
            value["detected_at"] = at.millis().into();
            value.to_string().into_bytes()
        })
        .collect()
}

fn alerts(c: &mut Criterion) {
    let (records, wall) = records();
    let config = Config::default();
    let limits = guard::Limits {
        max_record_bytes: config.limits.max_record_bytes,
        max_depth: config.limits.max_depth,
    };
    let bytes: usize = records.iter().map(Vec::len).sum();
    eprintln!(
        "{} records, {} bytes on average, {:.1} MB in all; e.g. {}",
        records.len(),
        bytes / records.len(),
        bytes as f64 / 1e6,
        String::from_utf8_lossy(&records[0]),
    );
    // Every record is a new alert on the real path.
    let mut check = Pipeline::new(&config);
    let views = views(&records);
    assert!(
        views
            .iter()
            .all(|r| { check.step(r, wall) == Outcome::Applied(Effect::Counted) })
    );

    let mut group = c.benchmark_group("alerts");
    group
        .throughput(Throughput::Elements(records.len() as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));

    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            for record in &records {
                let value: Value = serde_json::from_slice(record).expect("valid JSON");
                black_box(value);
            }
        })
    });
    group.bench_function("serde_json_ignored", |b| {
        b.iter(|| {
            for record in &records {
                let ignored: serde::de::IgnoredAny =
                    serde_json::from_slice(record).expect("valid JSON");
                black_box(ignored);
            }
        })
    });
    group.bench_function("guard", |b| {
        b.iter(|| {
            for record in &records {
                black_box(guard::check(Some(record), limits).expect("passes the guard"));
            }
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            for record in &records {
                let alert = guard::check(Some(record), limits).and_then(native::decode_alert);
                black_box(alert.expect("decodes"));
            }
        })
    });
    group.bench_function("decode_without_depth_count", |b| {
        b.iter(|| {
            for record in &records {
                // The guard's size and UTF-8 checks, without its bracket count.
                assert!(record.len() <= limits.max_record_bytes);
                let text = std::str::from_utf8(record).expect("UTF-8");
                black_box(native::decode_alert(text).expect("decodes"));
            }
        })
    });
    group.bench_function("bracket_count", |b| {
        b.iter(|| {
            for record in &records {
                // The guard's depth pre-count, as written in `guard::check`.
                let openers = record.iter().filter(|&&b| b == b'{' || b == b'[').count();
                black_box(openers);
            }
        })
    });
    let epoch_millis = with_epoch_millis(&records);
    group.bench_function("decode_epoch_millis", |b| {
        b.iter(|| {
            for record in &epoch_millis {
                let alert = guard::check(Some(record), limits).and_then(native::decode_alert);
                black_box(alert.expect("decodes"));
            }
        })
    });
    let decoded: Vec<_> = records
        .iter()
        .map(|r| native::decode_alert(std::str::from_utf8(r).expect("UTF-8")).expect("decodes"))
        .map(Event::Alert)
        .collect();
    group.bench_function("apply", |b| {
        b.iter_batched(
            || Engine::new(config.engine_settings()),
            |mut engine| {
                for alert in &decoded {
                    black_box(engine.apply(0, alert, wall));
                }
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("decode_and_apply", |b| {
        b.iter_batched(
            || Pipeline::new(&config),
            |mut pipeline| {
                for batch in views.chunks(BATCH) {
                    black_box(pipeline.apply_batch(batch, wall));
                }
                pipeline
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, alerts);
criterion_main!(benches);

/// The records as the pipeline takes them: views of the bytes on `soc.alerts`, one partition.
fn views(records: &[Vec<u8>]) -> Vec<Record<'_>> {
    records
        .iter()
        .enumerate()
        .map(|(offset, r)| Record::new("soc.alerts", TopicRole::Alerts, offset as i64, Some(r)))
        .collect()
}
