//! (tenant, incident id) is a pair (PRODUCT.md §5; issue 10, finding 3): no value of either
//! makes two incidents one, neither in memory nor through the changelog. The records are
//! written as a producer would send them, the 0x1F byte as the JSON escape `\u001f`.

#![allow(clippy::unwrap_used)]

use socmetrics::config::Config;
use socmetrics::engine::Engine;
use socmetrics::engine::card::IncidentCard;
use socmetrics::engine::scorecard::Kind;
use socmetrics::engine::state::StateRecord;
use socmetrics::event::{Event, EventTime, Severity, Status};
use socmetrics::formats::native::{decode_alert, decode_case};
use socmetrics::pipeline::{Outcome, Pipeline};
use socmetrics::source::{Record, TopicRole};

const MINUTE: i64 = 60_000;
/// The wall clock of every test: 2026-12-01T20:34:12.561Z.
const WALL: EventTime = EventTime(1_796_157_252_561);
/// Two hours before the wall clock: when the scenarios start.
const T: i64 = WALL.0 - 120 * MINUTE;

/// acme's INC-1, then records without a tenant naming `acme\u001fINC-1`: the old key
/// `tenant 0x1f id` made them acme's incident.
fn forged_id() -> Vec<(TopicRole, String)> {
    vec![
        (
            TopicRole::Cases,
            format!(
                r#"{{"incident_id":"INC-1","tenant":"acme","at":{T},"status":"new","severity":"high"}}"#
            ),
        ),
        (
            TopicRole::Alerts,
            format!(
                r#"{{"alert_id":"a1","incident_id":"INC-1","tenant":"acme","detected_at":{},"source":"edr","severity":"high"}}"#,
                T + MINUTE
            ),
        ),
        (
            TopicRole::Alerts,
            format!(
                r#"{{"alert_id":"a2","incident_id":"acme\u001fINC-1","detected_at":{},"source":"edr","severity":"low"}}"#,
                T + 2 * MINUTE
            ),
        ),
        (
            TopicRole::Cases,
            format!(
                r#"{{"incident_id":"acme\u001fINC-1","at":{},"status":"resolved","severity":"low","disposition":"false_positive"}}"#,
                T + 10 * MINUTE
            ),
        ),
    ]
}

/// Tenant `acme\u001fINC` id `1` against tenant `acme` id `INC\u001f1`: one old key.
fn forged_tenant() -> Vec<(TopicRole, String)> {
    vec![
        (
            TopicRole::Cases,
            format!(
                r#"{{"incident_id":"1","tenant":"acme\u001fINC","at":{T},"status":"new","severity":"critical"}}"#
            ),
        ),
        (
            TopicRole::Cases,
            format!(
                r#"{{"incident_id":"INC\u001f1","tenant":"acme","at":{},"status":"acknowledged","severity":"medium"}}"#,
                T + MINUTE
            ),
        ),
    ]
}

/// No tenant and `tenant: ""` are one tenant, `""`.
fn empty_tenant() -> Vec<(TopicRole, String)> {
    vec![
        (
            TopicRole::Cases,
            format!(
                r#"{{"incident_id":"INC-9","tenant":"","at":{T},"status":"new","severity":"low"}}"#
            ),
        ),
        (
            TopicRole::Alerts,
            format!(
                r#"{{"alert_id":"a9","incident_id":"INC-9","detected_at":{},"source":"edr","severity":"high"}}"#,
                T + MINUTE
            ),
        ),
        (
            TopicRole::Alerts,
            format!(
                r#"{{"alert_id":"a10","incident_id":"INC-9","tenant":"","detected_at":{},"source":"edr","severity":"high"}}"#,
                T + 2 * MINUTE
            ),
        ),
    ]
}

/// Feeds the records through a durable pipeline on the wall clock, one batch: every outcome
/// must be counted; returns the incident card and the changelog records.
fn run(records: &[(TopicRole, String)]) -> (IncidentCard, Vec<StateRecord>) {
    let mut pipeline = Pipeline::new(&Config::default());
    pipeline.make_durable();
    let views: Vec<Record<'_>> = records
        .iter()
        .enumerate()
        .map(|(n, (role, text))| Record::new("topic", *role, n as i64, Some(text.as_bytes())))
        .collect();
    let batch = pipeline.apply_batch(&views, WALL);
    for (outcome, (_, text)) in batch.outcomes.iter().zip(records) {
        assert!(
            matches!(outcome, Outcome::Applied(_)),
            "{text}: {outcome:?}"
        );
    }
    let card = (*pipeline.fresh_snapshot(WALL).scorecard.incidents).clone();
    (card, pipeline.state_records(&batch.changes))
}

/// The changelog keys of the incidents written.
fn incident_keys(changes: &[StateRecord]) -> Vec<String> {
    let mut keys: Vec<String> = changes
        .iter()
        .filter(|r| r.key.starts_with('i'))
        .map(|r| r.key.clone())
        .collect();
    keys.sort();
    keys
}

#[test]
fn an_id_holding_the_separator_does_not_reach_another_tenants_incident() {
    let (card, changes) = run(&forged_id());
    let (high, low) = (Severity::High.index(), Severity::Low.index());
    assert_eq!(card.in_memory, 2);
    assert_eq!(card.counters.opened[high], 1);
    assert_eq!(card.counters.opened[low], 1);
    assert_eq!(card.counters.opened.iter().sum::<u64>(), 2);
    // acme's INC-1 is untouched: open, new, high.
    assert_eq!(card.open[high][Status::New.index()], 1);
    assert_eq!(card.open.iter().flatten().sum::<u64>(), 1);
    // The other incident, detected by a2 at T+2m and resolved at T+10m as a false positive.
    let false_positive = 1;
    assert_eq!(card.counters.resolved[low][false_positive], 1);
    assert_eq!(card.counters.resolved.iter().flatten().sum::<u64>(), 1);
    let day = &card.per_window[0];
    assert_eq!(card.windows[0].label, "24h");
    let all = 6;
    assert_eq!(
        (day.incidents[high], day.incidents[low], day.incidents[all]),
        (1, 1, 2)
    );
    let resolve = day.spans[socmetrics::engine::incident::Span::Resolve.index()][all];
    assert_eq!(
        (resolve.count, resolve.sum_millis),
        (1, i128::from(8 * MINUTE))
    );
    assert_eq!(
        incident_keys(&changes),
        ["i2\u{1f}0:acme\u{1f}INC-1", "i2\u{1f}4:acmeINC-1"]
    );
}

#[test]
fn a_tenant_holding_the_separator_does_not_collide() {
    let (card, changes) = run(&forged_tenant());
    assert_eq!(card.in_memory, 2);
    assert_eq!(
        card.open[Severity::Critical.index()][Status::New.index()],
        1
    );
    assert_eq!(
        card.open[Severity::Medium.index()][Status::Acknowledged.index()],
        1
    );
    assert_eq!(card.open.iter().flatten().sum::<u64>(), 2);
    assert_eq!(
        incident_keys(&changes),
        ["i2\u{1f}4:acmeINC\u{1f}1", "i2\u{1f}8:acme\u{1f}INC1"]
    );
}

#[test]
fn no_tenant_and_an_empty_tenant_are_one_tenant() {
    let (card, changes) = run(&empty_tenant());
    assert_eq!(card.in_memory, 1);
    // The case event's severity (low) wins over its alerts' (high).
    assert_eq!(card.open[Severity::Low.index()][Status::New.index()], 1);
    assert_eq!(card.counters.opened.iter().sum::<u64>(), 1);
    assert_eq!(incident_keys(&changes), ["i2\u{1f}0:INC-9"]);
}

/// The records through a durable engine; what it wrote.
fn durable_engine(records: &[(TopicRole, String)]) -> (Engine, Vec<StateRecord>) {
    let mut engine = Engine::new(Config::default().engine_settings());
    engine.record_changes();
    let mut changes = Vec::new();
    for (role, text) in records {
        let event = match role {
            TopicRole::Alerts => Event::Alert(decode_alert(text).unwrap()),
            _ => Event::Case(decode_case(text).unwrap()),
        };
        changes.extend(engine.apply(0, &event, WALL).changes);
    }
    let written = engine.state_records(&changes);
    (engine, written)
}

fn every_scenario() -> Vec<(TopicRole, String)> {
    [forged_id(), forged_tenant(), empty_tenant()].concat()
}

/// (tenant, id) of every incident in memory, sorted.
fn pairs(engine: &Engine) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = engine
        .lifecycle()
        .incidents()
        .map(|(key, _)| (key.tenant().to_owned(), key.id().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// Every gauge at the wall clock, as text lines (counters restart with a process).
fn gauges(engine: &mut Engine) -> Vec<String> {
    let card = std::sync::Arc::new(engine.incident_card(WALL));
    let scorecard = engine.scorecard(WALL, card);
    let mut lines: Vec<String> = scorecard
        .series()
        .iter()
        .filter(|s| s.kpi.kind() == Kind::Gauge)
        .map(|s| {
            let labels: Vec<String> = s
                .labels
                .iter()
                .map(|l| format!("{}={}", l.name(), l.value()))
                .collect();
            format!("{} {{{}}} {:?}", s.kpi.name(), labels.join(","), s.value)
        })
        .collect();
    lines.sort();
    lines
}

fn restored(records: &[StateRecord]) -> (Engine, usize) {
    let mut engine = Engine::new(Config::default().engine_settings());
    engine.record_changes();
    let (_, errors) = engine.restore(
        0,
        records.iter().map(|r| (r.key.as_str(), r.value.as_deref())),
        WALL,
        WALL,
    );
    (engine, errors.len())
}

/// Every pair of the scenarios, sorted (0x1F sorts before `-`).
const PAIRS: [(&str, &str); 5] = [
    ("", "INC-9"),
    ("", "acme\u{1f}INC-1"),
    ("acme", "INC\u{1f}1"),
    ("acme", "INC-1"),
    ("acme\u{1f}INC", "1"),
];

#[test]
fn the_changelog_gives_back_exactly_the_same_pairs() {
    let (mut original, records) = durable_engine(&every_scenario());
    let expected: Vec<(String, String)> = PAIRS
        .iter()
        .map(|(t, i)| ((*t).to_owned(), (*i).to_owned()))
        .collect();
    assert_eq!(pairs(&original), expected);
    let (mut copy, errors) = restored(&records);
    assert_eq!(errors, 0);
    assert_eq!(pairs(&copy), expected);
    assert_eq!(gauges(&mut copy), gauges(&mut original));
    // The restored incidents dedupe as the originals do: acme's INC-1 still has alert a1.
    let again = forged_id()[1].1.clone();
    let applied = copy.apply(0, &Event::Alert(decode_alert(&again).unwrap()), WALL);
    assert_eq!(applied.effect, socmetrics::engine::Effect::Duplicate);
}

/// The changelog as a version before the pair key wrote it: `i` 0x1f tenant 0x1f id, or
/// `i` 0x1f id without a tenant (the value format is unchanged).
fn legacy(records: &[StateRecord]) -> Vec<StateRecord> {
    records
        .iter()
        .map(|record| {
            let Some(encoded) = record.key.strip_prefix("i2\u{1f}") else {
                return record.clone();
            };
            let key = socmetrics::engine::key::KeyRef::parse(encoded).unwrap();
            let legacy = match key.tenant() {
                "" => format!("i\u{1f}{}", key.id()),
                tenant => format!("i\u{1f}{tenant}\u{1f}{}", key.id()),
            };
            StateRecord {
                key: legacy,
                ..record.clone()
            }
        })
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(t, i)| ((*t).to_owned(), (*i).to_owned()))
        .collect()
}

#[test]
fn legacy_keys_are_read_as_they_were_written_and_migrated() {
    // acme's INC-1 and INC-9 without a tenant, as the old version keyed them.
    let (_, records) = durable_engine(&[&forged_id()[..2], &empty_tenant()[..]].concat());
    let old = legacy(&records);
    let legacy_keys: Vec<&str> = old
        .iter()
        .filter(|r| r.key.starts_with("i\u{1f}"))
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(legacy_keys, ["i\u{1f}INC-9", "i\u{1f}acme\u{1f}INC-1"]);
    let (mut copy, errors) = restored(&old);
    assert_eq!(errors, 0);
    assert_eq!(pairs(&copy), owned(&[("", "INC-9"), ("acme", "INC-1")]));
    // The next expiry tombstones each legacy key and writes the incident under its pair key.
    let expired = copy.expire(WALL).changes;
    let migration = copy.state_records(&expired);
    let written: Vec<(&str, bool)> = migration
        .iter()
        .filter(|r| r.key.starts_with('i'))
        .map(|r| (r.key.as_str(), r.value.is_some()))
        .collect();
    assert_eq!(
        written,
        [
            ("i\u{1f}INC-9", false),
            ("i\u{1f}acme\u{1f}INC-1", false),
            ("i2\u{1f}0:INC-9", true),
            ("i2\u{1f}4:acmeINC-1", true),
        ]
    );
    assert!(copy.expire(WALL).changes.is_empty(), "migrated once");
    // The legacy history then the migration, in either order (compaction not yet run): the
    // same incidents, and nothing left to migrate.
    for reversed in [false, true] {
        let mut appended = migration.clone();
        if reversed {
            appended.reverse();
        }
        let history = [old.clone(), appended].concat();
        let (mut again, errors) = restored(&history);
        assert_eq!(errors, 0);
        assert_eq!(pairs(&again), pairs(&copy));
        assert_eq!(gauges(&mut again), gauges(&mut copy));
        assert!(
            again.expire(WALL).changes.is_empty(),
            "reversed: {reversed}"
        );
    }
    // A legacy tombstone after its value (the old version let the incident go) removes it,
    // and leaves nothing to migrate for it.
    let mut gone = old.clone();
    gone.push(StateRecord {
        partition: 0,
        key: "i\u{1f}INC-9".into(),
        value: None,
    });
    let (mut after, errors) = restored(&gone);
    assert_eq!(errors, 0);
    assert_eq!(pairs(&after), owned(&[("acme", "INC-1")]));
    let expired = after.expire(WALL).changes;
    let migration = after.state_records(&expired);
    let written: Vec<&str> = migration
        .iter()
        .filter(|r| r.key.starts_with('i'))
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(written, ["i\u{1f}acme\u{1f}INC-1", "i2\u{1f}4:acmeINC-1"]);
}

#[test]
fn a_legacy_changelog_with_forged_keys_restores_as_the_old_version_read_it() {
    // The old keys of the forged pairs are those of acme's: to the old version they were
    // one incident each, and that is what a restore finds (the later record wins).
    let (_, records) = durable_engine(&every_scenario());
    let (whole, errors) = restored(&legacy(&records));
    assert_eq!(errors, 0);
    assert_eq!(
        pairs(&whole),
        owned(&[("", "INC-9"), ("acme", "INC-1"), ("acme\u{1f}INC", "1")])
    );
}
