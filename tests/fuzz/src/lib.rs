//! What the fuzz targets share: the text language of the `pipeline` target's inputs and the
//! byte framing of the `changelog` target's, so that seeds can be written (and read) by hand,
//! and the limits and wall clock every target decodes with.
//!
//! A `pipeline` input is lines. `A:`, `C:`, `I:`, `T:` start a record of the alerts, cases,
//! inventory or telemetry topic (`I:` alone: a tombstone); a bare line is a record of the topic
//! its fields suggest (fixture lines are seeds as they are). `P:n` sets the partition and
//! `K:key` the key of the records that follow, `W:millis` the wall clock, `M:wall` the clock
//! mode (event otherwise), `---` ends a batch and `X:millis` expires at a wall clock.
//!
//! A `changelog` input is records, each `partition: u8`, `key_len: u8`, the key, then either
//! `0` (a tombstone) or `1`, `value_len: u16` (little-endian) and the value.

use socmetrics::config::ClockMode;
use socmetrics::event::EventTime;
use socmetrics::formats::guard::Limits;
use socmetrics::source::TopicRole;

/// Loose enough for every fixture, tight enough that a run does not spend its time on huge
/// records (libFuzzer's inputs are at most `-max_len`, 4096 by default).
pub const LIMITS: Limits = Limits {
    max_record_bytes: 1 << 16,
    max_depth: 32,
};

/// 2026-12-01T20:34:12.561Z: later than every fixture's event times.
pub const WALL: EventTime = EventTime(1_796_157_252_561);

/// The topics' names in `Config::default()`.
pub const TOPICS: [&str; 4] = ["soc.alerts", "soc.cases", "soc.inventory", "soc.telemetry"];

/// One step of a `pipeline` input.
#[derive(Debug)]
pub enum Step<'a> {
    Record {
        role: TopicRole,
        partition: i32,
        key: Option<&'a [u8]>,
        payload: Option<&'a [u8]>,
    },
    Wall(EventTime),
    EndBatch,
    Expire(EventTime),
}

/// A parsed `pipeline` input: its clock mode and steps.
#[derive(Debug)]
pub struct Script<'a> {
    pub mode: ClockMode,
    pub steps: Vec<Step<'a>>,
}

/// Reads a `pipeline` input; bytes that are not UTF-8 stay in the payloads as they are.
pub fn script(data: &[u8]) -> Script<'_> {
    let mut mode = ClockMode::Event;
    let mut steps = Vec::new();
    let (mut partition, mut key) = (0, None);
    for line in data.split(|&b| b == b'\n') {
        let number = |rest: &[u8]| {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|t| t.trim().parse::<i64>().ok())
        };
        let (role, payload) = match line {
            [] => continue,
            b"---" => {
                steps.push(Step::EndBatch);
                continue;
            }
            b"M:wall" => {
                mode = ClockMode::Wall;
                continue;
            }
            [b'W', b':', rest @ ..] => {
                if let Some(at) = number(rest) {
                    steps.push(Step::Wall(EventTime(at)));
                }
                continue;
            }
            [b'X', b':', rest @ ..] => {
                if let Some(at) = number(rest) {
                    steps.push(Step::Expire(EventTime(at)));
                }
                continue;
            }
            [b'P', b':', rest @ ..] => {
                partition = number(rest).map_or(0, |p| p.rem_euclid(8) as i32);
                continue;
            }
            [b'K', b':', rest @ ..] => {
                key = Some(rest);
                continue;
            }
            [b'A', b':', rest @ ..] => (TopicRole::Alerts, Some(rest)),
            [b'C', b':', rest @ ..] => (TopicRole::Cases, Some(rest)),
            [b'I', b':'] => (TopicRole::Inventory, None),
            [b'I', b':', rest @ ..] => (TopicRole::Inventory, Some(rest)),
            [b'T', b':', rest @ ..] => (TopicRole::Telemetry, Some(rest)),
            bare => (role_of(bare), Some(bare)),
        };
        steps.push(Step::Record {
            role,
            partition,
            key: key.take(),
            payload,
        });
    }
    Script { mode, steps }
}

/// The topic a bare record most likely belongs to, by the fields it names.
fn role_of(line: &[u8]) -> TopicRole {
    let has = |field: &[u8]| line.windows(field.len()).any(|w| w == field);
    if has(b"\"alert_id\"") {
        TopicRole::Alerts
    } else if has(b"\"incident_id\"") {
        TopicRole::Cases
    } else if has(b"\"asset_id\"") && has(b"\"at\"") {
        TopicRole::Telemetry
    } else if has(b"\"asset_id\"") {
        TopicRole::Inventory
    } else {
        TopicRole::Alerts
    }
}

/// One changelog record of a `changelog` input.
#[derive(Debug, PartialEq, Eq)]
pub struct StateRecord {
    pub partition: i32,
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// Reads the records of a `changelog` input; a truncated last record is dropped.
pub fn state_records(mut data: &[u8]) -> Vec<StateRecord> {
    let mut out = Vec::new();
    while let [partition, key_len, rest @ ..] = data {
        let Some((key, rest)) = rest.split_at_checked(usize::from(*key_len)) else {
            break;
        };
        let (value, rest) = match rest {
            [0, rest @ ..] => (None, rest),
            [_, lo, hi, rest @ ..] => {
                let len = usize::from(u16::from_le_bytes([*lo, *hi]));
                let Some((value, rest)) = rest.split_at_checked(len) else {
                    break;
                };
                (Some(value.to_vec()), rest)
            }
            _ => break,
        };
        out.push(StateRecord {
            partition: i32::from(*partition % 4),
            key: String::from_utf8_lossy(key).into_owned(),
            value,
        });
        data = rest;
    }
    out
}

/// The framing of [`state_records`]: how seeds are written.
pub fn frame(records: &[StateRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        let key = &record.key.as_bytes()[..record.key.len().min(255)];
        out.push(record.partition.rem_euclid(256) as u8);
        out.push(key.len() as u8);
        out.extend_from_slice(key);
        match &record.value {
            None => out.push(0),
            Some(value) => {
                let value = &value[..value.len().min(usize::from(u16::MAX))];
                out.push(1);
                out.extend_from_slice(&(value.len() as u16).to_le_bytes());
                out.extend_from_slice(value);
            }
        }
    }
    out
}
