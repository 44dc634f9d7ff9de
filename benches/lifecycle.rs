//! Case-event throughput on one core (PRODUCT.md §8: "case events applied, one core,
//! ≥ 500,000 /s") and the cost of recomputing the incident KPIs.
//!
//! The set: 100,000 incidents of 5 native case events each (500,000 records, 150–250 bytes),
//! ordered by event time so that incidents interleave as they do on a real topic. Each
//! incident goes `new` (severity, detection, `occurred_at`) → `acknowledged` (assignee, tier 1)
//! → one of `in_progress` / `escalated` (tier 2) / `contained` → `resolved` (disposition,
//! root cause and cost on true positives) → `closed`, every record with an `event_id` and a
//! tenant, `at` as RFC 3339 text. Every benchmark of the `cases` group walks the whole set
//! once per iteration on a fresh pipeline or engine, so `Throughput::Elements` is the set size
//! and criterion's rates are case events per second:
//!
//! - `decode_and_apply`: `Pipeline::apply_batch` in batches of 2,048, the real path;
//! - `decode_and_apply_durable`: the same after `make_durable()`, with the batch's changelog records
//!   every 2,048 records (the daemon's batch): the cost of encoding changelog records, no Kafka;
//! - breakdown rows: `decode` (`guard::check` + `native::decode_case` alone) and `apply`
//!   (`Engine::apply_case` on events decoded beforehand).
//!
//! The `incident_card` group times `Engine::incident_card` (one recomputation of every
//! windowed incident KPI) with 10,000 and 100,000 incidents in memory, each stopped after 1 to
//! 5 of its events (about 60 % still open); its rate is incidents scanned per second.
//!
//! Run with `cargo bench --bench lifecycle`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use socmetrics::config::Config;
use socmetrics::engine::{Effect, Engine};
use socmetrics::event::Event;
use socmetrics::event::EventTime;
use socmetrics::formats::{guard, native};
use socmetrics::pipeline::{Outcome, Pipeline};
use socmetrics::source::{Record, TopicRole};

/// Incidents in the throughput set.
const INCIDENTS: usize = 100_000;
/// Case events per incident.
const EVENTS: usize = 5;
/// Records between two `take_changes` on the durable path: the daemon's batch.
const BATCH: usize = 2048;
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;
const TENANTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const SEVERITY_WEIGHTS: [u32; 5] = [10, 30, 35, 20, 5];
const ROOT_CAUSES: [&str; 6] = [
    "phishing",
    "credential_stuffing",
    "malware",
    "misconfiguration",
    "insider",
    "vulnerable_service",
];

/// One of `values`, by relative `weights`.
fn pick<T: Copy>(rng: &mut SmallRng, values: &[T], weights: &[u32]) -> T {
    let mut draw = rng.random_range(0..weights.iter().sum::<u32>());
    for (&value, &weight) in values.iter().zip(weights) {
        if draw < weight {
            return value;
        }
        draw -= weight;
    }
    values[0]
}

/// The case events of `incidents` incidents, the first `events` of each lifecycle, as
/// `(at, record)` sorted by `at`. Deterministic.
fn lifecycles(incidents: usize, events: usize) -> Vec<(i64, Vec<u8>)> {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut records = Vec::with_capacity(incidents * events);
    for n in 0..incidents {
        let id = format!("INC-{n:08}");
        let tenant = TENANTS[n % TENANTS.len()];
        // An incident opened every 25 s: 100,000 span 29 days, inside every KPI window but 24h.
        let opened = START + n as i64 * 25_000 + rng.random_range(0..25_000);
        let severity = pick(&mut rng, &SEVERITIES, &SEVERITY_WEIGHTS);
        let assignee = format!("analyst{:02}", rng.random_range(0..50));
        let acknowledged = opened + rng.random_range(MINUTE..90 * MINUTE);
        let working = acknowledged + rng.random_range(MINUTE..4 * 60 * MINUTE);
        let resolved = working + rng.random_range(10 * MINUTE..48 * 60 * MINUTE);
        let closed = resolved + rng.random_range(MINUTE..24 * 60 * MINUTE);
        let at = |millis: i64| EventTime(millis).to_string();
        let head = |k: usize, when: i64, status: &str| {
            format!(
                r#"{{"incident_id":"{id}","event_id":"{id}/{k}","at":"{}","status":"{status}","tenant":"{tenant}""#,
                at(when)
            )
        };
        let mut lifecycle = Vec::with_capacity(EVENTS);
        let detection = pick(
            &mut rng,
            &["alert", "hunt", "user_report", "external"],
            &[80, 8, 10, 2],
        );
        lifecycle.push((
            opened,
            format!(
                r#"{},"severity":"{severity}","detection":"{detection}","occurred_at":{},"threat_intel":{}}}"#,
                head(0, opened, "new"),
                opened - rng.random_range(0..120 * MINUTE),
                rng.random_bool(0.1),
            ),
        ));
        lifecycle.push((
            acknowledged,
            format!(
                r#"{},"severity":"{severity}","assignee":"{assignee}","tier":1}}"#,
                head(1, acknowledged, "acknowledged")
            ),
        ));
        let third = match rng.random_range(0..3) {
            0 => format!(
                r#"{},"assignee":"{assignee}"}}"#,
                head(2, working, "in_progress")
            ),
            1 => format!(
                r#"{},"severity":"{severity}","assignee":"analyst{:02}","tier":2}}"#,
                head(2, working, "escalated"),
                rng.random_range(0..50)
            ),
            _ => format!(
                r#"{},"assignee":"{assignee}","severity":"{severity}"}}"#,
                head(2, working, "contained")
            ),
        };
        lifecycle.push((working, third));
        let disposition = pick(
            &mut rng,
            &[
                "true_positive",
                "false_positive",
                "benign_positive",
                "undetermined",
            ],
            &[20, 60, 15, 5],
        );
        let extra = if disposition == "true_positive" {
            format!(
                r#","root_cause":"{}","cost":{}.5"#,
                ROOT_CAUSES[rng.random_range(0..ROOT_CAUSES.len())],
                rng.random_range(100..50_000)
            )
        } else {
            String::new()
        };
        lifecycle.push((
            resolved,
            format!(
                r#"{},"assignee":"{assignee}","disposition":"{disposition}"{extra}}}"#,
                head(3, resolved, "resolved")
            ),
        ));
        lifecycle.push((
            closed,
            format!(
                r#"{},"disposition":"{disposition}"}}"#,
                head(4, closed, "closed")
            ),
        ));
        records.extend(
            lifecycle
                .into_iter()
                .take(events)
                .map(|(at, text)| (at, text.into_bytes())),
        );
    }
    records.sort_by_key(|(at, _)| *at);
    records
}

/// An engine holding `incidents` incidents, each stopped after 1 to 5 of its events (about
/// 60 % still open).
fn engine_with(config: &Config, incidents: usize) -> (Engine, EventTime) {
    let mut engine = Engine::new(config.engine_settings());
    let mut rng = SmallRng::seed_from_u64(11);
    let records = lifecycles(incidents, EVENTS);
    let now = EventTime(records.last().map_or(START, |(at, _)| *at));
    let mut kept = std::collections::HashMap::new();
    for (_, record) in &records {
        let case =
            native::decode_case(std::str::from_utf8(record).expect("UTF-8")).expect("decodes");
        // Each incident stops after 1 to 5 events: open ones are `new`..`contained`.
        let stop = *kept
            .entry(case.incident_id.to_string())
            .or_insert_with(|| rng.random_range(1..=EVENTS));
        let sequence: usize = case
            .event_id
            .as_deref()
            .and_then(|id| id.rsplit_once('/'))
            .and_then(|(_, k)| k.parse().ok())
            .expect("event ids end in a sequence number");
        if sequence < stop {
            engine.apply(0, &Event::Case(case), now);
        }
    }
    (engine, now)
}

fn cases(c: &mut Criterion) {
    let records: Vec<Vec<u8>> = lifecycles(INCIDENTS, EVENTS)
        .into_iter()
        .map(|(_, record)| record)
        .collect();
    let config = Config::default();
    let limits = guard::Limits {
        max_record_bytes: config.limits.max_record_bytes,
        max_depth: config.limits.max_depth,
    };
    let texts: Vec<&str> = records
        .iter()
        .map(|r| std::str::from_utf8(r).expect("UTF-8"))
        .collect();
    let decoded: Vec<_> = texts
        .iter()
        .map(|t| native::decode_case(t).expect("decodes"))
        .map(Event::Case)
        .collect();
    let wall = decoded
        .iter()
        .filter_map(Event::time)
        .max()
        .unwrap_or_default();
    let bytes: usize = records.iter().map(Vec::len).sum();
    let (shortest, longest) = records.iter().fold((usize::MAX, 0), |(lo, hi), r| {
        (lo.min(r.len()), hi.max(r.len()))
    });
    eprintln!(
        "{} case events of {INCIDENTS} incidents, {} bytes on average ({shortest}–{longest}), \
         {:.1} MB in all; e.g. {}",
        records.len(),
        bytes / records.len(),
        bytes as f64 / 1e6,
        texts[records.len() / 2],
    );
    let borrowed = decoded
        .iter()
        .filter(|e| matches!(e, Event::Case(c) if matches!(c.incident_id, std::borrow::Cow::Borrowed(_))))
        .count();
    eprintln!(
        "decoded incident ids borrowed from the record: {borrowed} of {}",
        decoded.len()
    );
    // Every record is a new event on the real path: none late, none a duplicate.
    let mut check = Pipeline::new(&config);
    let views = views(&records);
    assert!(
        views
            .iter()
            .all(|r| { check.step(r, wall) == Outcome::Applied(Effect::Counted) })
    );
    drop(check);

    let mut group = c.benchmark_group("cases");
    group
        .throughput(Throughput::Elements(records.len() as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));

    group.bench_function("decode", |b| {
        b.iter(|| {
            for record in &records {
                let case = guard::check(Some(record), limits).and_then(native::decode_case);
                black_box(case.expect("decodes"));
            }
        })
    });
    group.bench_function("apply", |b| {
        b.iter_batched(
            || Engine::new(config.engine_settings()),
            |mut engine| {
                for case in &decoded {
                    black_box(engine.apply(0, case, wall));
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
    group.bench_function("decode_and_apply_durable", |b| {
        b.iter_batched(
            || {
                let mut pipeline = Pipeline::new(&config);
                pipeline.make_durable();
                pipeline
            },
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

    // What the durable path writes, for the report.
    let mut durable = Pipeline::new(&config);
    durable.make_durable();
    let (mut changes, mut change_bytes) = (0usize, 0usize);
    for batch in views.chunks(BATCH) {
        let applied = durable.apply_batch(batch, wall);
        for change in durable.state_records(&applied.changes) {
            changes += 1;
            change_bytes += change.key.len() + change.value.map_or(0, |v| v.len());
        }
    }
    eprintln!(
        "durable path: {changes} changelog records per pass ({:.2} per case event), \
         {:.1} MB, {} bytes per changelog record on average",
        changes as f64 / records.len() as f64,
        change_bytes as f64 / 1e6,
        change_bytes / changes.max(1),
    );
}

fn incident_card(c: &mut Criterion) {
    let config = Config::default();
    let mut group = c.benchmark_group("incident_card");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for incidents in [10_000, 100_000] {
        let (mut engine, now) = engine_with(&config, incidents);
        let card = engine.incident_card(now);
        let open: u64 = card.open.iter().flatten().sum();
        eprintln!(
            "incident_card/{incidents}: {} in memory, {open} open",
            card.in_memory
        );
        group.throughput(Throughput::Elements(incidents as u64));
        group.bench_with_input(BenchmarkId::from_parameter(incidents), &now, |b, &now| {
            b.iter(|| black_box(engine.incident_card(now)))
        });
    }
    group.finish();
}

criterion_group!(benches, cases, incident_card);
criterion_main!(benches);

/// The records as the pipeline takes them: views of the bytes on `soc.cases`, one partition.
fn views(records: &[Vec<u8>]) -> Vec<Record<'_>> {
    records
        .iter()
        .enumerate()
        .map(|(offset, r)| Record::new("soc.cases", TopicRole::Cases, offset as i64, Some(r)))
        .collect()
}
