//! State measurements that criterion cannot make: memory per open incident, changelog size and
//! restore time (PRODUCT.md §8: "memory per open incident, 1,000,000 open ≤ 256 bytes (peak
//! RSS, measured)", "restore of 1,000,000 incidents from the changelog ≤ 5 s"), and the
//! in-process cost of durability.
//!
//! ```text
//! cargo run --release --example state_bench -- memory [N] [--implicit-ids]
//! cargo run --release --example state_bench -- changelog [N] [PARTITIONS]
//! cargo run --release --example state_bench -- restore TOPIC PARTITIONS [KEY=VALUE...]
//! cargo run --release --example state_bench -- throughput [RECORDS] [PARTITIONS] [RUNS]
//! cargo run --release --example state_bench -- produce-inputs PREFIX [RECORDS] [PARTITIONS] [FORMAT]
//! cargo run --release --example state_bench -- produce-alerts TOPIC RECORDS PARTITIONS [INCIDENTS]
//! ```
//!
//! - `memory` (N = 1,000,000): builds N open incidents through `Engine::apply_case_in`, each
//!   from a `new` case event with a severity and an `acknowledged` one with an assignee out of
//!   50 analysts, ids `INC-00012345` and event ids `INC-00012345/0`, `/1` (`--implicit-ids`:
//!   no event ids). Reports peak RSS (`VmHWM`) and RSS after building (`VmRSS`) above the
//!   baseline taken before building, per incident, and an estimate of where the bytes go
//!   (the incident map's table, the events `Vec`, boxed keys and event ids, glibc chunks),
//!   then the time of one `Engine::incident_card` over them.
//! - `changelog` (N = 1,000,000, 6 partitions): builds N incidents the same way on a durable
//!   engine (`record_changes`), takes the changes, reports changelog bytes per incident
//!   (keys + values / N), produces them with `ChangelogWriter` to a fresh compacted topic on
//!   the broker (`127.0.0.1:9092`, or `$SOCMETRICS_BENCH_BROKERS`), then runs `restore` in a
//!   fresh process of this binary twice: as configured by default, then with librdkafka's
//!   `fetch.queue.backoff.ms=10` (default 1000: the fetcher pauses for a second whenever the
//!   reader is behind by `queued.min.messages`).
//! - `restore`: reads every partition with `changelog::read_partition` and applies it with
//!   `Engine::restore` into a fresh engine, partition after partition as the daemon does;
//!   reports wall time in all and per phase (read vs apply) and peak RSS. `KEY=VALUE`
//!   arguments are librdkafka properties (`kafka.properties`).
//! - `throughput` (500,000 records, 6 partitions, 3 runs): the simulator's alert and case
//!   records, decoded and applied by `Pipeline::step_in` in batches of 2,048 (the daemon's),
//!   in three variants run in turn within each run: `plain` (not durable), `encode`
//!   (`make_durable` + `take_changes` after every batch) and `kafka` (the same plus
//!   `ChangelogWriter::write` of every batch, awaited, to a fresh topic). Reports the median
//!   records/s of each.
//! - `produce-inputs` (500,000 records, 6 partitions): creates `PREFIX.alerts` and
//!   `PREFIX.cases` and produces the same simulator records to them, keyed and partitioned as
//!   in `throughput`, for the daemon's end-to-end run (`deploy/local/bench-durability.sh`).
//!   With a vendor FORMAT (`ecs`, `ocsf`…), the alerts are rendered in it
//!   (`sim::vendor::render_as`) and produced unkeyed to `PREFIX.vendor` instead (malformed
//!   ones stay on `PREFIX.alerts`): the repartition path's end-to-end run.
//! - `produce-alerts` (200,000 incidents): creates TOPIC with PARTITIONS partitions and
//!   produces RECORDS native alerts to it, the workload of issue 12 and
//!   `deploy/local/bench-e2e.sh`: every alert names an incident drawn uniformly from
//!   INCIDENTS (`INC-000000`…) and is keyed by it, partitioned by librdkafka's
//!   `murmur2_random` (where a Java producer puts the key), lz4-compressed. Each alert has a
//!   unique `alert_id`, one of the simulator's six tools (`sim::TOOLS`) as `source` with its
//!   rules and severity mix, `detected_at` (RFC 3339, whole seconds) spread evenly over the
//!   24 h before 2026-12-01T00:00:00Z in record order, `occurred_at` (epoch ms) up to an hour
//!   before it, an `asset`, and `"threat_intel":true` on one alert in ten (absent on the
//!   others); no `tenant`. About 209 bytes of JSON each at 2,000,000. Seeded: the same
//!   arguments give the same records.
//!
//! The broker is `deploy/local/kafka.sh start`. Topics are named `statebench-<pid>-<millis>`.

#![allow(clippy::disallowed_methods)] // a benchmark measures elapsed time

use std::borrow::Cow;
use std::fmt::Write as _;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use socmetrics::config::{ClockMode, Config};
use socmetrics::engine::Change;
use socmetrics::engine::incident::{EventKey, Incident};
use socmetrics::engine::key::IncidentKey;
use socmetrics::engine::state::StateRecord;
use socmetrics::engine::{Engine, id_hash};
use socmetrics::event::Event;
use socmetrics::event::{CaseEvent, Detection, EventTime, Severity, Status};
use socmetrics::formats::Format;
use socmetrics::pipeline::Pipeline;
use socmetrics::sim::{self, Simulator};
use socmetrics::source::changelog::{self, ChangelogWriter};
use socmetrics::source::{Record, TopicRole};

/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;
/// The daemon's batch: records between two `take_changes`.
const BATCH: usize = 2048;
/// Records per `ChangelogWriter::write` when loading the changelog.
const WRITE_CHUNK: usize = 100_000;
/// 2026-12-01T00:00:00Z: `produce-alerts`' alerts are detected in the day before.
const ALERTS_END: i64 = 1_796_083_200_000;
const DAY: i64 = 86_400_000;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| -> Result<usize> {
        args.get(i)
            .filter(|a| !a.starts_with("--"))
            .map_or(Ok(default), |a| {
                a.replace('_', "").parse().context("not a count")
            })
    };
    match args.first().map(String::as_str) {
        Some("memory") => memory(
            arg(1, 1_000_000)?,
            args.iter().any(|a| a == "--implicit-ids"),
        ),
        Some("changelog") => changelog_mode(arg(1, 1_000_000)?, arg(2, 6)?),
        Some("restore") => {
            let topic = args.get(1).context("restore TOPIC PARTITIONS")?;
            restore(topic, arg(2, 6)?, args.get(3..).unwrap_or_default())
        }
        Some("throughput") => throughput(arg(1, 500_000)?, arg(2, 6)?, arg(3, 3)?),
        Some("produce-inputs") => {
            let prefix = args.get(1).context("produce-inputs PREFIX")?;
            let format = match args.get(4) {
                Some(name) => Some(Format::parse(name).context("no such format")?),
                None => None,
            };
            produce_inputs(prefix, arg(2, 500_000)?, arg(3, 6)?, format)
        }
        Some("produce-alerts") => {
            let usage = "produce-alerts TOPIC RECORDS PARTITIONS [INCIDENTS]";
            let topic = args.get(1).context(usage)?;
            ensure!(args.len() >= 4, "usage: state_bench {usage}");
            produce_alerts(topic, arg(2, 0)?, arg(3, 0)?, arg(4, 200_000)?)
        }
        _ => bail!(
            "usage: state_bench memory [N] [--implicit-ids] | changelog [N] [PARTITIONS] | \
             restore TOPIC PARTITIONS [KEY=VALUE...] | throughput [RECORDS] [PARTITIONS] [RUNS] \
             | produce-inputs PREFIX [RECORDS] [PARTITIONS] [FORMAT] \
             | produce-alerts TOPIC RECORDS PARTITIONS [INCIDENTS]"
        ),
    }
}

/// A `/proc/self/status` field in bytes (`VmHWM`, `VmRSS`).
fn proc_status(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .with_context(|| format!("no {field} in /proc/self/status"))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A config for the local broker with a group id of its own.
fn bench_config(name: &str) -> Config {
    let mut config = Config::default();
    if let Ok(brokers) = std::env::var("SOCMETRICS_BENCH_BROKERS") {
        config.kafka.brokers = brokers;
    }
    config.kafka.group_id = name.to_owned();
    config
}

/// A name no earlier run used.
fn unique_name() -> String {
    let millis = socmetrics::app::clock::wall().millis();
    format!("statebench-{}-{millis}", std::process::id())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Applies `n` open incidents: `new` with a severity, then `acknowledged` with an assignee.
/// Incident `i` belongs to partition `i % partitions`. `batch` is called after every
/// [`BATCH`] case events and at the end.
fn build_open_incidents(
    engine: &mut Engine,
    n: usize,
    partitions: usize,
    event_ids: bool,
    mut batch: impl FnMut(&mut Engine, &mut Vec<Change>),
) {
    let mut pending = Vec::new();
    let mut rng = SmallRng::seed_from_u64(3);
    let analysts: Vec<String> = (0..50).map(|a| format!("analyst{a:02}")).collect();
    let (mut id, mut new_id, mut ack_id) = (String::new(), String::new(), String::new());
    let mut now = EventTime(START);
    for i in 0..n {
        id.clear();
        let _ = write!(id, "INC-{i:08}");
        new_id.clear();
        let _ = write!(new_id, "{id}/0");
        ack_id.clear();
        let _ = write!(ack_id, "{id}/1");
        let partition = (i % partitions) as i32;
        // One incident every 2 s: 1,000,000 span 23 days, inside retention.
        let opened = START + i as i64 * 2_000;
        let severity = Severity::ALL[match rng.random_range(0..100) {
            0..10 => 0,
            10..40 => 1,
            40..75 => 2,
            75..95 => 3,
            _ => 4,
        }];
        let new = CaseEvent {
            incident_id: Cow::Borrowed(&id),
            at: EventTime(opened),
            status: Status::New,
            event_id: event_ids.then_some(Cow::Borrowed(new_id.as_str())),
            severity: Some(severity),
            tier: None,
            assignee: None,
            disposition: None,
            detection: Some(Detection::Alert),
            occurred_at: Some(EventTime(opened - rng.random_range(0..60 * MINUTE))),
            root_cause: None,
            cost: None,
            threat_intel: None,
            tenant: None,
        };
        now = now.max(new.at);
        pending.extend(
            engine
                .apply(partition, &Event::Case(new.clone()), now)
                .changes,
        );
        let acknowledged = CaseEvent {
            at: EventTime(opened + rng.random_range(MINUTE..30 * MINUTE)),
            status: Status::Acknowledged,
            event_id: event_ids.then_some(Cow::Borrowed(ack_id.as_str())),
            severity: Some(severity),
            tier: Some(1),
            assignee: Some(Cow::Borrowed(
                analysts[rng.random_range(0..analysts.len())].as_str(),
            )),
            detection: None,
            occurred_at: None,
            ..new
        };
        now = now.max(acknowledged.at);
        pending.extend(
            engine
                .apply(partition, &Event::Case(acknowledged), now)
                .changes,
        );
        if (i + 1) % (BATCH / 2) == 0 {
            batch(engine, &mut pending);
        }
    }
    batch(engine, &mut pending);
}

/// What glibc malloc takes for a request of `size` bytes on x86-64 (header, 16-byte
/// alignment, 32-byte minimum); 0 for no allocation.
fn malloc_chunk(size: usize) -> usize {
    if size == 0 {
        0
    } else {
        ((size + 8 + 15) & !15).max(32)
    }
}

/// hashbrown's bucket count for `items` items (7/8 load, powers of two).
fn buckets(items: usize) -> usize {
    if items < 8 {
        if items < 4 { 4 } else { 8 }
    } else {
        (items * 8 / 7).next_power_of_two()
    }
}

fn memory(n: usize, implicit_ids: bool) -> Result<()> {
    ensure!(n > 0, "N must be positive");
    let config = Config::default();
    let mut engine = Engine::new(config.engine_settings());
    let (hwm_before, rss_before) = (proc_status("VmHWM")?, proc_status("VmRSS")?);
    let started = Instant::now();
    build_open_incidents(&mut engine, n, 1, !implicit_ids, |_, pending| {
        pending.clear()
    });
    let elapsed = started.elapsed();
    let (hwm, rss) = (proc_status("VmHWM")?, proc_status("VmRSS")?);
    let open = engine
        .lifecycle()
        .incidents()
        .filter(|(_, i)| i.is_open())
        .count();
    ensure!(open == n, "{open} of {n} incidents open");
    println!(
        "memory: {n} open incidents ({} event ids) built in {:.2} s ({:.0} incidents/s)",
        if implicit_ids { "implicit" } else { "explicit" },
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
    );
    println!(
        "  baseline  VmHWM {:.1} MiB, VmRSS {:.1} MiB",
        mib(hwm_before),
        mib(rss_before)
    );
    println!(
        "  built     VmHWM {:.1} MiB, VmRSS {:.1} MiB",
        mib(hwm),
        mib(rss)
    );
    println!(
        "  per open incident: peak {} bytes (VmHWM − baseline), resident after building {} \
         bytes (VmRSS − baseline); target ≤ 256",
        (hwm - hwm_before) / n as u64,
        (rss.saturating_sub(rss_before)) / n as u64,
    );

    // Where the bytes go.
    let entry = std::mem::size_of::<(IncidentKey, Incident)>();
    let table_buckets = buckets(n);
    let table = table_buckets * (entry + 1);
    let previous_table = (table_buckets / 2) * (entry + 1);
    let (mut keys, mut events_heap, mut ids_heap, mut event_capacity) = (0, 0, 0, 0);
    for (key, incident) in engine.lifecycle().incidents() {
        keys += malloc_chunk(key.encoded().len());
        event_capacity += incident.events.capacity();
        events_heap += malloc_chunk(incident.events.capacity() * std::mem::size_of::<EventKey>());
        for key in &incident.events {
            if let EventKey::Explicit(text) = key {
                ids_heap += malloc_chunk(text.len());
            }
        }
    }
    let per = |bytes: usize| bytes as f64 / n as f64;
    println!(
        "  sizes: Incident {} B, EventKey {} B, map entry (IncidentKey, Incident) {} B, \
         events capacity {:.1} per incident",
        std::mem::size_of::<Incident>(),
        std::mem::size_of::<EventKey>(),
        entry,
        event_capacity as f64 / n as f64,
    );
    println!("  estimate per incident (glibc chunks):");
    println!(
        "    map table, {table_buckets} buckets × {} B (load {:.0} %)  {:>7.1}",
        entry + 1,
        100.0 * n as f64 / table_buckets as f64,
        per(table)
    );
    println!(
        "    events Vec<EventKey> heap                      {:>7.1}",
        per(events_heap)
    );
    println!(
        "    event id Box<str>s                             {:>7.1}",
        per(ids_heap)
    );
    println!(
        "    map key IncidentKey (Box<str>)                 {:>7.1}",
        per(keys)
    );
    let steady = table + events_heap + ids_heap + keys;
    println!(
        "    sum (resident estimate)                        {:>7.1}",
        per(steady)
    );
    println!(
        "    + previous table alive while the map grows     {:>7.1}  → peak estimate {:.1}",
        per(previous_table),
        per(steady + previous_table)
    );

    // What the daemon's 500 ms tick asks for (after the RSS figures: it allocates).
    let now = EventTime(START + n as i64 * 2_000 + 30 * MINUTE);
    let mut cards: Vec<f64> = (0..3)
        .map(|_| {
            let at = Instant::now();
            black_box(engine.incident_card(now));
            at.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!(
        "  incident_card with {n} incidents: median of 3 {:.0} ms",
        median(&mut cards)
    );
    Ok(())
}

fn changelog_mode(n: usize, partitions: usize) -> Result<()> {
    ensure!(n > 0 && partitions > 0, "N and PARTITIONS must be positive");
    let name = unique_name();
    let config = bench_config(&name);
    let topic = format!("{name}.state");

    // All of it in one take_changes, as after a long stall.
    let mut engine = Engine::new(config.engine_settings());
    engine.record_changes();
    let started = Instant::now();
    let mut all = Vec::new();
    build_open_incidents(&mut engine, n, partitions, true, |_, pending| {
        all.append(pending)
    });
    let built = started.elapsed();
    let started = Instant::now();
    let once = engine.state_records(&all);
    let taken = started.elapsed();
    drop(engine);
    println!(
        "changelog: {n} incidents on {partitions} partitions; durable build {:.2} s, then one \
         take_changes of {} records {:.2} s ({:.0} records/s)",
        built.as_secs_f64(),
        once.len(),
        taken.as_secs_f64(),
        once.len() as f64 / taken.as_secs_f64(),
    );
    drop(once);

    // As the daemon does: take_changes after every batch of 2,048 case events.
    let mut engine = Engine::new(config.engine_settings());
    engine.record_changes();
    let mut records: Vec<StateRecord> = Vec::with_capacity(n + n / 100);
    let mut taking = Duration::ZERO;
    let started = Instant::now();
    build_open_incidents(&mut engine, n, partitions, true, |engine, pending| {
        let at = Instant::now();
        records.extend(engine.state_records(pending));
        pending.clear();
        taking += at.elapsed();
    });
    let built = started.elapsed();
    drop(engine);
    let (mut key_bytes, mut value_bytes, mut incidents) = (0usize, 0usize, 0usize);
    for record in &records {
        if record.key.starts_with('i') {
            incidents += 1;
            key_bytes += record.key.len();
            value_bytes += record.value.as_ref().map_or(0, Vec::len);
        }
    }
    let other = records.len() - incidents;
    println!(
        "  per batch of {BATCH}: durable build {:.2} s, of which take_changes {:.2} s; {} \
         records: {incidents} incident records + {other} clock records",
        built.as_secs_f64(),
        taking.as_secs_f64(),
        records.len(),
    );
    println!(
        "  incident records: keys {:.1} MB + values {:.1} MB; per incident {:.1} bytes ({:.1} \
         key + {:.1} value)",
        key_bytes as f64 / 1e6,
        value_bytes as f64 / 1e6,
        (key_bytes + value_bytes) as f64 / n as f64,
        key_bytes as f64 / n as f64,
        value_bytes as f64 / n as f64,
    );

    let runtime = runtime()?;
    runtime.block_on(changelog::ensure_topic(&config, &topic, partitions))?;
    let writer = ChangelogWriter::new(&config, &topic)?;
    let count = records.len();
    let started = Instant::now();
    let mut records = records.into_iter();
    loop {
        let chunk: Vec<StateRecord> = records.by_ref().take(WRITE_CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        runtime.block_on(writer.write(chunk))?;
    }
    let produced = started.elapsed();
    println!(
        "  produced to {topic} in {:.2} s ({:.0} records/s, {WRITE_CHUNK} per write)",
        produced.as_secs_f64(),
        count as f64 / produced.as_secs_f64(),
    );
    drop(writer);
    drop(runtime);

    for properties in [&[][..], &["fetch.queue.backoff.ms=10"][..]] {
        let status = Command::new(std::env::current_exe()?)
            .args(["restore", &topic, &partitions.to_string()])
            .args(properties)
            .status()?;
        ensure!(status.success(), "restore failed: {status}");
    }
    Ok(())
}

fn restore(topic: &str, partitions: usize, properties: &[String]) -> Result<()> {
    let mut config = bench_config(&unique_name());
    for property in properties {
        let (key, value) = property
            .split_once('=')
            .with_context(|| format!("{property}: not KEY=VALUE"))?;
        config
            .kafka
            .properties
            .insert(key.to_owned(), value.to_owned());
    }
    let mut engine = Engine::new(config.engine_settings());
    let (hwm_before, rss_before) = (proc_status("VmHWM")?, proc_status("VmRSS")?);
    let (mut read, mut apply, mut keys) = (Duration::ZERO, Duration::ZERO, 0);
    let started = Instant::now();
    for partition in 0..partitions as i32 {
        let at = Instant::now();
        let records = changelog::read_partition(&config, topic, partition)?;
        let read_partition = at.elapsed();
        read += read_partition;
        let at = Instant::now();
        let wall = socmetrics::app::clock::wall();
        let (_, errors) = engine.restore(
            partition,
            records.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
            wall,
            wall.saturating_add_millis(config.limits.max_clock_ahead.millis),
        );
        let applied = at.elapsed();
        apply += applied;
        ensure!(errors.is_empty(), "{} records unreadable", errors.len());
        println!(
            "  partition {partition}: {} keys, read {:.2} s, apply {:.2} s",
            records.len(),
            read_partition.as_secs_f64(),
            applied.as_secs_f64(),
        );
        keys += records.len();
    }
    let total = started.elapsed();
    let restored = engine.lifecycle().len();
    let (hwm, rss) = (proc_status("VmHWM")?, proc_status("VmRSS")?);
    println!(
        "restore{}: {restored} incidents ({keys} keys) from {partitions} partitions of \
         {topic} in {:.2} s: read {:.2} s, apply {:.2} s ({:.0} keys/s overall)",
        if properties.is_empty() {
            String::new()
        } else {
            format!(" with {}", properties.join(" "))
        },
        total.as_secs_f64(),
        read.as_secs_f64(),
        apply.as_secs_f64(),
        keys as f64 / total.as_secs_f64(),
    );
    println!(
        "  VmHWM {:.1} MiB ({:.1} above baseline, {} bytes per incident), VmRSS {:.1} MiB \
         ({} bytes per incident above baseline)",
        mib(hwm),
        mib(hwm - hwm_before),
        (hwm - hwm_before) / restored.max(1) as u64,
        mib(rss),
        rss.saturating_sub(rss_before) / restored.max(1) as u64,
    );
    Ok(())
}

/// One simulator record placed on an input partition.
#[derive(Debug)]
struct Input {
    role: TopicRole,
    partition: i32,
    /// The incident id, else the alert id: what the inputs are keyed by.
    key: String,
    payload: Vec<u8>,
}

/// The simulator's records from 2026-01-01 on: a record naming an incident goes to that
/// incident's partition (inputs keyed by incident id), any other to its alert id's.
fn simulated(wanted: usize, partitions: usize) -> Vec<Input> {
    let mut sim = Simulator::new(42);
    let mut records = Vec::with_capacity(wanted);
    let mut from = START;
    while records.len() < wanted {
        let to = from + 3_600_000;
        for record in sim.records_between(EventTime(from), EventTime(to)) {
            let fields: serde_json::Value =
                serde_json::from_slice(&record.payload).unwrap_or_default();
            let key = fields
                .get("incident_id")
                .or_else(|| fields.get("alert_id"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            records.push(Input {
                role: record.role,
                partition: (id_hash(&key) % partitions as u64) as i32,
                key,
                payload: record.payload,
            });
        }
        from = to;
    }
    records.truncate(wanted);
    records
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Plain,
    Encode,
    Kafka,
}

/// What one pass measured.
#[derive(Debug)]
struct Pass {
    records_per_second: f64,
    changelog_records: usize,
    /// Keys + values.
    changelog_bytes: usize,
    /// Median time of one batch's `ChangelogWriter::write` (the `kafka` variant).
    write: Option<Duration>,
}

/// One pass over `records` on a fresh pipeline.
fn run_variant(
    variant: Variant,
    records: &[Input],
    partitions: usize,
    runtime: &tokio::runtime::Runtime,
) -> Result<Pass> {
    let name = unique_name();
    let mut config = bench_config(&name);
    config.clock.mode = ClockMode::Event;
    let writer = if variant == Variant::Kafka {
        let topic = format!("{name}.state");
        runtime.block_on(changelog::ensure_topic(&config, &topic, partitions))?;
        Some(ChangelogWriter::new(&config, &topic)?)
    } else {
        None
    };
    let mut pipeline = Pipeline::new(&config);
    if variant != Variant::Plain {
        pipeline.make_durable();
    }
    let wall = socmetrics::app::clock::wall();
    let (mut changelog_records, mut changelog_bytes) = (0, 0);
    let mut writes = Vec::new();
    let started = Instant::now();
    for batch in records.chunks(BATCH) {
        let views: Vec<Record<'_>> = batch
            .iter()
            .enumerate()
            .map(|(offset, input)| {
                Record::new("bench", input.role, offset as i64, Some(&input.payload))
                    .in_partition(input.partition)
            })
            .collect();
        let applied = black_box(pipeline.apply_batch(&views, wall));
        if variant != Variant::Plain {
            let changes = pipeline.state_records(&applied.changes);
            changelog_records += changes.len();
            changelog_bytes += changes
                .iter()
                .map(|c| c.key.len() + c.value.as_ref().map_or(0, Vec::len))
                .sum::<usize>();
            match &writer {
                Some(writer) => {
                    let at = Instant::now();
                    runtime.block_on(writer.write(changes))?;
                    writes.push(at.elapsed());
                }
                None => drop(black_box(changes)),
            }
        }
    }
    let elapsed = started.elapsed();
    writes.sort();
    Ok(Pass {
        records_per_second: records.len() as f64 / elapsed.as_secs_f64(),
        changelog_records,
        changelog_bytes,
        write: writes.get(writes.len() / 2).copied(),
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn throughput(wanted: usize, partitions: usize, runs: usize) -> Result<()> {
    ensure!(
        wanted > 0 && partitions > 0 && runs > 0,
        "counts must be positive"
    );
    let records = simulated(wanted, partitions);
    let cases = records
        .iter()
        .filter(|r| r.role == TopicRole::Cases)
        .count();
    let bytes: usize = records.iter().map(|r| r.payload.len()).sum();
    println!(
        "throughput: {} simulator records ({} alerts, {cases} case events, {} bytes on \
         average) on {partitions} partitions, batches of {BATCH}, {runs} runs",
        records.len(),
        records.len() - cases,
        bytes / records.len(),
    );
    let runtime = runtime()?;
    let variants = [Variant::Plain, Variant::Encode, Variant::Kafka];
    let mut rates = vec![Vec::new(); variants.len()];
    let mut written = vec![(0, 0); variants.len()];
    let mut writes = Vec::new();
    for run in 0..runs {
        for (v, &variant) in variants.iter().enumerate() {
            let pass = run_variant(variant, &records, partitions, &runtime)?;
            println!(
                "  run {run} {variant:?}: {:.0} records/s, {} changelog records{}",
                pass.records_per_second,
                pass.changelog_records,
                pass.write.map_or(String::new(), |w| format!(
                    ", median write of a batch {:.1} ms",
                    w.as_secs_f64() * 1e3
                )),
            );
            rates[v].push(pass.records_per_second);
            written[v] = (pass.changelog_records, pass.changelog_bytes);
            writes.extend(pass.write.map(|w| w.as_secs_f64() * 1e3));
        }
    }
    let plain = median(&mut rates[0].clone());
    for (v, variant) in variants.iter().enumerate() {
        let rate = median(&mut rates[v]);
        let (changes, bytes) = written[v];
        println!(
            "  {variant:?}: median {rate:.0} records/s ({:.0} % of plain), {changes} changelog \
             records ({:.1} MB) per pass",
            100.0 * rate / plain,
            bytes as f64 / 1e6,
        );
    }
    if !writes.is_empty() {
        println!(
            "  median of the runs' median batch write: {:.1} ms",
            median(&mut writes)
        );
    }
    Ok(())
}

fn produce_inputs(
    prefix: &str,
    wanted: usize,
    partitions: usize,
    format: Option<Format>,
) -> Result<()> {
    ensure!(wanted > 0 && partitions > 0, "counts must be positive");
    let records = simulated(wanted, partitions);
    let config = bench_config(prefix);
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.kafka.brokers);
    let (alerts, cases) = (format!("{prefix}.alerts"), format!("{prefix}.cases"));
    let vendor = format!("{prefix}.vendor");
    let runtime = runtime()?;
    create_topics(&client, &runtime, &[&alerts, &cases, &vendor], partitions)?;
    let producer = bench_producer(&client)?;
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(records.len());
    let mut vendored = 0usize;
    for input in &records {
        let rendered = format
            .filter(|_| input.role == TopicRole::Alerts)
            .and_then(|format| sim::vendor::render_as(format, &input.payload));
        let record = match &rendered {
            // A vendor export: unkeyed, spread by librdkafka's partitioner.
            Some(payload) => {
                vendored += 1;
                FutureRecord::to(&vendor).payload(payload.as_slice())
            }
            None => {
                let record = FutureRecord::to(if input.role == TopicRole::Cases {
                    &cases
                } else {
                    &alerts
                })
                .key(input.key.as_str())
                .payload(input.payload.as_slice());
                // Beside a repartitioned input, native records are partitioned as the
                // repartition topic is (murmur2 of the key), so an incident's alerts and case
                // events meet in one partition.
                if format.is_some() {
                    record
                } else {
                    record.partition(input.partition)
                }
            }
        };
        deliveries.push(send_retrying(&producer, record)?);
    }
    await_deliveries(&runtime, deliveries)?;
    let cases_count = records
        .iter()
        .filter(|r| r.role == TopicRole::Cases)
        .count();
    println!(
        "produced {} records ({} to {alerts}, {cases_count} to {cases}, {vendored} to {vendor}) \
         in {:.2} s",
        records.len(),
        records.len() - cases_count - vendored,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// Creates `topics` with `partitions` partitions each (replication 1); an existing one is an
/// error.
fn create_topics(
    client: &ClientConfig,
    runtime: &tokio::runtime::Runtime,
    topics: &[&str],
    partitions: usize,
) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client.create()?;
    let count = i32::try_from(partitions)?;
    let topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, count, TopicReplication::Fixed(1)))
        .collect();
    for result in runtime.block_on(admin.create_topics(&topics, &AdminOptions::new()))? {
        if let Err((topic, code)) = result {
            bail!("cannot create {topic}: {code}");
        }
    }
    Ok(())
}

/// The producer of the inputs: lz4, 20 ms linger, keys partitioned as a Java client does.
fn bench_producer(client: &ClientConfig) -> Result<FutureProducer> {
    Ok(client
        .clone()
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .set("partitioner", "murmur2_random")
        .set("queue.buffering.max.messages", "1000000")
        .create()?)
}

/// Enqueues `record`, waiting while librdkafka's queue is full.
fn send_retrying(
    producer: &FutureProducer,
    mut record: FutureRecord<'_, str, [u8]>,
) -> Result<DeliveryFuture> {
    loop {
        match producer.send_result(record) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((error, _)) => return Err(error.into()),
        }
    }
}

/// Waits for every delivery report; the first failed delivery is the error.
fn await_deliveries(
    runtime: &tokio::runtime::Runtime,
    deliveries: Vec<DeliveryFuture>,
) -> Result<()> {
    for delivery in deliveries {
        if let Err((error, _)) = runtime.block_on(delivery)? {
            return Err(error.into());
        }
    }
    Ok(())
}

/// Appends one native alert of `produce-alerts` to `payload` and its incident id (the record
/// key) to `key`: alert `index` of `wanted`, naming one of `incidents` incidents.
fn native_alert(
    rng: &mut SmallRng,
    index: usize,
    wanted: usize,
    incidents: usize,
    key: &mut String,
    payload: &mut String,
) {
    let tool = sim::TOOLS[rng.random_range(0..sim::TOOLS.len())];
    let (source, rules) = (tool.name(), tool.rules());
    let rule = rules[rng.random_range(0..rules.len())];
    let severity = tool.severity(rng);
    // In record order, evenly over the day before ALERTS_END.
    let detected_at = ALERTS_END - DAY + (index as i64 * DAY / wanted as i64) / 1000 * 1000;
    let occurred_at = detected_at - rng.random_range(0..60 * MINUTE);
    let _ = write!(key, "INC-{:06}", rng.random_range(0..incidents));
    let detected = chrono::DateTime::from_timestamp_millis(detected_at)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ");
    let _ = write!(
        payload,
        "{{\"alert_id\":\"{source}-{index}\",\"detected_at\":\"{detected}\",\
         \"occurred_at\":{occurred_at},\"source\":\"{source}\",\"rule\":\"{rule}\",\
         \"severity\":\"{}\",\"incident_id\":\"{key}\",\"asset\":\"host-{:03}\"",
        severity.as_str(),
        rng.random_range(1..400),
    );
    payload.push_str(if rng.random_bool(0.1) {
        ",\"threat_intel\":true}"
    } else {
        "}"
    });
}

fn produce_alerts(topic: &str, wanted: usize, partitions: usize, incidents: usize) -> Result<()> {
    ensure!(
        wanted > 0 && partitions > 0 && incidents > 0,
        "RECORDS, PARTITIONS and INCIDENTS must be positive"
    );
    let config = bench_config(topic);
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.kafka.brokers);
    let runtime = runtime()?;
    create_topics(&client, &runtime, &[topic], partitions)?;
    let producer = bench_producer(&client)?;
    let mut rng = SmallRng::seed_from_u64(12);
    let (mut key, mut payload) = (String::new(), String::new());
    let (mut key_bytes, mut payload_bytes) = (0usize, 0usize);
    let mut deliveries = Vec::with_capacity(wanted);
    let started = Instant::now();
    for index in 0..wanted {
        key.clear();
        payload.clear();
        native_alert(&mut rng, index, wanted, incidents, &mut key, &mut payload);
        key_bytes += key.len();
        payload_bytes += payload.len();
        // librdkafka copies key and payload: the buffers are reused at once.
        let record = FutureRecord::to(topic)
            .key(key.as_str())
            .payload(payload.as_bytes());
        deliveries.push(send_retrying(&producer, record)?);
    }
    await_deliveries(&runtime, deliveries)?;
    let elapsed = started.elapsed();
    println!(
        "produced {wanted} native alerts naming {incidents} incidents to {topic} ({partitions} \
         partitions, lz4, keyed by incident id, murmur2_random) in {:.2} s ({:.0} records/s); \
         {:.1} bytes/record average JSON payload (+ {:.1} key)",
        elapsed.as_secs_f64(),
        wanted as f64 / elapsed.as_secs_f64(),
        payload_bytes as f64 / wanted as f64,
        key_bytes as f64 / wanted as f64,
    );
    Ok(())
}
