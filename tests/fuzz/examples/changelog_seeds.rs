//! Writes the `changelog` target's seeds: the changelog records a durable pipeline writes for
//! the native fixtures and for an incident through its whole lifecycle, framed as the target
//! reads them. Run from the repository root (docs/fuzzing.md):
//! `cargo run --manifest-path tests/fuzz/Cargo.toml --example changelog_seeds`.

use std::fs;

use socmetrics::config::Config;
use socmetrics::pipeline::Pipeline;
use socmetrics_fuzz::{StateRecord, Step, TOPICS, WALL, frame, script};

fn main() -> std::io::Result<()> {
    let out = std::path::Path::new("tests/fuzz/seeds/changelog");
    fs::create_dir_all(out)?;
    for name in ["basic.ndjson", "lifecycle.txt", "tenants.txt"] {
        let path = match name {
            "basic.ndjson" => "tests/fixtures/native/basic.ndjson".to_owned(),
            _ => format!("tests/fuzz/seeds/pipeline/{name}"),
        };
        let input = fs::read(&path)?;
        let mut pipeline = Pipeline::new(&Config::default());
        pipeline.make_durable();
        let records: Vec<_> = script(&input)
            .steps
            .into_iter()
            .filter_map(|step| match step {
                Step::Record {
                    role,
                    partition,
                    key,
                    payload,
                } => Some(
                    socmetrics::source::Record::new(TOPICS[role.index()], role, 0, payload)
                        .with_key(key)
                        .in_partition(partition),
                ),
                _ => None,
            })
            .collect();
        let applied = pipeline.apply_batch(&records, WALL);
        let changes: Vec<StateRecord> = pipeline
            .state_records(&applied.changes)
            .into_iter()
            .map(|r| StateRecord {
                partition: r.partition,
                key: r.key,
                value: r.value,
            })
            .collect();
        let stem = name.split('.').next().unwrap_or(name);
        fs::write(out.join(format!("{stem}.bin")), frame(&changes))?;
        println!("{stem}: {} records", changes.len());
    }
    Ok(())
}
