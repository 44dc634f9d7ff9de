//! Decode speed per adapter (issue 11): each format's fixture records that decode to events
//! (tests/fixtures/<format>/*.ndjson), walked once per iteration, so criterion's rates are
//! records per second. Beside each, `serde_json_value` parses the same lines into a
//! `serde_json::Value` and nothing more: the adapter's own cost is the difference.
//!
//! Run with `cargo bench --bench formats`; BENCHMARKS.md records the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use socmetrics::formats::{Format, decode_text, native};

/// The fixture lines of `format` that decode to at least one event.
fn records(format: Format) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format.as_str());
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return lines;
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for file in files {
        let name = file.to_string_lossy().into_owned();
        if !name.ends_with(".ndjson") || name.ends_with(".expected.ndjson") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        lines.extend(
            text.lines()
                .filter(|line| decode(format, line))
                .map(str::to_owned),
        );
    }
    lines
}

fn decode(format: Format, text: &str) -> bool {
    match format {
        Format::Native => native::decode_any(text).is_ok(),
        vendor => decode_text(vendor, text).is_ok_and(|events| !events.is_empty()),
    }
}

fn formats(c: &mut Criterion) {
    for format in Format::ALL {
        let lines = records(format);
        if lines.is_empty() {
            continue;
        }
        let mut group = c.benchmark_group(format!("formats/{format}"));
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_secs(1));
        group.bench_function("decode", |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(decode(format, black_box(line)));
                }
            });
        });
        group.bench_function("serde_json_value", |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(serde_json::from_str::<serde_json::Value>(black_box(line)).is_ok());
                }
            });
        });
        group.finish();
    }
}

criterion_group!(benches, formats);
criterion_main!(benches);
