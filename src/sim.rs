//! The demo's SOC traffic, rendered as native JSON records so they take the same path as
//! Kafka's:
//!
//! - **alerts** from several detection sources, each with its own rate and severity mix,
//!   bursts (an attack, a noisy rule), a few duplicate deliveries and a few malformed records;
//! - **case events**: some alerts (more of the severe ones) open an incident, and the incident's
//!   case lifecycle is scheduled at once — `new`, `acknowledged`, sometimes `in_progress`,
//!   `escalated` and `contained`, `resolved` with a disposition, `closed`, and now and then a
//!   `reopened` round — at times drawn around the default SLA targets (about one stage in ten
//!   breached). Threat hunts, user reports and external notifications open incidents without
//!   alerts. Each case event becomes a record when its time comes;
//! - **the estate**, for coverage: an inventory of ~400 workstations (the `host-NNN` the alerts
//!   name) and a few servers and cloud accounts with their criticality, sent at the start as
//!   compacted-topic records keyed by asset id, a few of them retired; during the run one asset
//!   is retired and two are removed by tombstones (empty value, keyed by asset id);
//! - **telemetry**: a heartbeat per asset every five minutes or so from its log source
//!   (winlogbeat, syslog, osquery, cloudtrail…). About 4 % of the assets have been silent for
//!   more than a day when the run starts (their last heartbeat comes first, as read from the
//!   topic's backlog), and a few go silent during the run, for a day or more, then come back:
//!   the coverage gap stays around 0.03–0.05.
//!
//! Time is generated in whole steps from the first `from` asked for, so the traffic does not
//! depend on how a caller slices time: a day asked for at once and the same day asked for in
//! 200 ms ticks are the same records, in the same order.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::event::{Detection, Disposition, EventTime, Severity, Status};
use crate::pipeline::TopicRole;

/// One detection tool of the simulated SOC.
#[derive(Clone, Copy, Debug)]
struct Tool {
    name: &'static str,
    /// Alerts per second outside bursts.
    rate: f64,
    /// Relative weights of informational, low, medium, high, critical.
    mix: [u32; 5],
    rules: &'static [&'static str],
}

const TOOLS: [Tool; 6] = [
    Tool {
        name: "splunk",
        rate: 1.2,
        mix: [30, 35, 20, 12, 3],
        rules: &["brute_force", "impossible_travel", "dns_tunnel"],
    },
    Tool {
        name: "sentinel",
        rate: 0.9,
        mix: [25, 35, 25, 12, 3],
        rules: &["mfa_fatigue", "mass_download", "risky_signin"],
    },
    Tool {
        name: "crowdstrike",
        rate: 0.6,
        mix: [5, 20, 35, 28, 12],
        rules: &["credential_dumping", "ransomware_behavior", "lolbin"],
    },
    Tool {
        name: "defender",
        rate: 0.7,
        mix: [20, 35, 25, 15, 5],
        rules: &["malicious_macro", "suspicious_powershell"],
    },
    Tool {
        name: "suricata",
        rate: 1.5,
        mix: [50, 30, 15, 4, 1],
        rules: &["et_scan", "c2_beacon", "exploit_attempt"],
    },
    Tool {
        name: "guardduty",
        rate: 0.3,
        mix: [10, 30, 35, 20, 5],
        rules: &["crypto_mining", "iam_anomaly"],
    },
];

/// Time is generated in steps of this many milliseconds.
const STEP_MILLIS: i64 = 1_000;

/// Share of alerts deliberately malformed, and of alerts delivered twice.
const MALFORMED_SHARE: f64 = 0.002;
const DUPLICATE_SHARE: f64 = 0.01;
/// Share of case events followed by a malformed case record, and delivered twice.
const MALFORMED_CASE_SHARE: f64 = 0.002;
const DUPLICATE_CASE_SHARE: f64 = 0.01;

/// Chance that an alert opens an incident, by severity (informational … critical). With the
/// tools' mixes this is about 0.032 incidents a second, ~2,800 a day.
const OPENS_INCIDENT: [f64; 5] = [0.0005, 0.002, 0.006, 0.02, 0.04];
/// Chance that an alert which opens nothing joins an incident still being worked.
const JOINS_INCIDENT: f64 = 0.002;
/// Incidents under investigation that later alerts may join.
const MAX_JOINABLE: usize = 256;
/// Chance that a burst is an attack (one incident the burst's alerts join), not a noisy rule.
const ATTACK_SHARE: f64 = 0.3;
const JOINS_ATTACK: f64 = 0.1;
/// Incidents a second opened by threat hunts, user reports and external parties (~220 a day).
const WITHOUT_ALERT_RATE: f64 = 0.0025;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The default SLA targets (PRODUCT.md §2), by severity: acknowledge, then resolve.
const ACKNOWLEDGE_TARGET: [i64; 5] = [72 * HOUR, 24 * HOUR, 4 * HOUR, HOUR, 15 * MINUTE];
const RESOLVE_TARGET: [i64; 5] = [14 * DAY, 7 * DAY, 72 * HOUR, 24 * HOUR, 4 * HOUR];
/// Share of incidents that miss each stage's target.
const BREACH_SHARE: f64 = 0.1;
/// Chance of an escalation (tier 2 or 3), by severity.
const ESCALATES: [f64; 5] = [0.02, 0.05, 0.12, 0.25, 0.4];
/// Relative weights of true_positive, false_positive, benign_positive, undetermined.
const VERDICTS_OF_ALERTS: [u32; 4] = [30, 45, 15, 10];
const VERDICTS_OF_HUNTS: [u32; 4] = [55, 20, 15, 10];
/// True positives with an explicit `contained` event; the rest rely on contained = resolved.
const CONTAINED_EVENT: f64 = 0.75;
/// Resolved incidents reopened after they were closed.
const REOPENS: f64 = 0.03;
/// Typical cost of a true positive, by severity, in currency units.
const TRUE_POSITIVE_COST: [f64; 5] = [100.0, 400.0, 1_500.0, 6_000.0, 25_000.0];

/// The analysts on shift; the last three are tier 2/3 (escalations go to them).
const ANALYSTS: [&str; 8] = [
    "a.garcia", "b.chen", "c.okafor", "d.novak", "e.silva", "f.ahmed", "g.muller", "h.tanaka",
];
const SENIOR_ANALYSTS: usize = 3;
const ROOT_CAUSES: [&str; 7] = [
    "phishing",
    "credential_stuffing",
    "unpatched_vulnerability",
    "misconfiguration",
    "malware_download",
    "weak_password",
    "insider",
];

/// Workstations `host-001` … `host-399`, the assets the alerts name.
const HOSTS: u32 = 399;
/// Their log sources and relative weights.
const HOST_SOURCES: [&str; 3] = ["winlogbeat", "syslog", "osquery"];
const HOST_SOURCE_WEIGHTS: [u32; 3] = [70, 20, 10];
/// Their criticality and relative weights.
const HOST_CRITICALITIES: [&str; 2] = ["low", "medium"];
const HOST_CRITICALITY_WEIGHTS: [u32; 2] = [75, 25];
/// Servers and cloud accounts: id, criticality, log source.
const SERVERS: [(&str, &str, &str); 15] = [
    ("srv-dc-01", "critical", "winlogbeat"),
    ("srv-dc-02", "critical", "winlogbeat"),
    ("srv-db-01", "critical", "syslog"),
    ("srv-db-02", "high", "syslog"),
    ("srv-web-01", "high", "syslog"),
    ("srv-web-02", "high", "syslog"),
    ("srv-mail-01", "high", "winlogbeat"),
    ("srv-file-01", "medium", "winlogbeat"),
    ("srv-vpn-01", "critical", "syslog"),
    ("fw-edge-01", "critical", "syslog"),
    ("aws-prod", "critical", "cloudtrail"),
    ("aws-dev", "medium", "cloudtrail"),
    ("azure-corp", "high", "azure_activity"),
    ("m365-corp", "high", "o365_audit"),
    ("gcp-analytics", "medium", "gcp_audit"),
];
/// The cloud account whose log export broke before the run started.
const SILENT_SERVER: &str = "gcp-analytics";
/// Workstations already retired when the run starts (in the inventory, `retired: true`).
const RETIRED_HOSTS: usize = 6;
/// Workstations silent for more than a day when the run starts (with the silent server, ~4 %
/// of the inventory).
const SILENT_HOSTS: usize = 14;
/// Workstations that go silent during the run, for a day or more, then come back.
const FLAKY_HOSTS: usize = 4;
/// Heartbeats come this often per asset, give or take [`HEARTBEAT_JITTER`].
const HEARTBEAT_EVERY: i64 = 5 * MINUTE;
const HEARTBEAT_JITTER: i64 = 15_000;
/// Share of heartbeats a broken log shipper sends without their time.
const MALFORMED_HEARTBEAT_SHARE: f64 = 0.0005;

/// One record of the simulated SOC, as a consumer would read it off a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The topic the record is on.
    pub role: TopicRole,
    /// When it is delivered: the alert's `detected_at`, the case event's `at`, the
    /// heartbeat's `at` (later for a redelivered duplicate), the start of the run for the
    /// inventory and the backlog of silent assets' last heartbeats.
    pub at: EventTime,
    /// The record key: the incident id (alerts naming one, case events), the asset id
    /// (inventory, telemetry); `None` for unkeyed records.
    pub key: Option<String>,
    /// The native JSON (or, rarely, something malformed). Empty for an inventory tombstone.
    pub payload: Vec<u8>,
}

impl Record {
    /// An inventory tombstone: the asset named by the key is removed.
    pub fn is_tombstone(&self) -> bool {
        self.role == TopicRole::Inventory && self.payload.is_empty()
    }
}

/// A record generated but not yet due; ordered by delivery time, then generation order.
#[derive(Debug)]
struct Scheduled {
    at: i64,
    seq: u64,
    role: TopicRole,
    key: Option<String>,
    payload: Vec<u8>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A running burst: one tool at many times its rate until `until`.
#[derive(Clone, Copy, Debug)]
struct Burst {
    tool: usize,
    factor: f64,
    until: i64,
    /// An attack rather than a noisy rule: its first alert opens an incident.
    attack: bool,
    /// The attack's incident, once opened.
    incident: Option<u64>,
}

/// An incident later alerts may join: detected, not yet resolved.
#[derive(Clone, Copy, Debug)]
struct Joinable {
    number: u64,
    asset: u32,
    resolved_at: i64,
}

/// What opened an incident.
#[derive(Clone, Copy, Debug)]
struct Opening {
    detected_at: i64,
    occurred_at: i64,
    severity: Severity,
    detection: Detection,
    asset: u32,
}

/// The case fields of one change of an incident, as they are on the case topic.
#[derive(Clone, Copy, Debug)]
struct Change {
    at: i64,
    status: Status,
    severity: Severity,
    tier: Option<u8>,
    assignee: Option<&'static str>,
    disposition: Option<Disposition>,
    detection: Option<Detection>,
    occurred_at: Option<i64>,
    root_cause: Option<&'static str>,
    cost: Option<f64>,
    threat_intel: Option<bool>,
}

impl Change {
    fn new(at: i64, status: Status, severity: Severity) -> Self {
        Self {
            at,
            status,
            severity,
            tier: None,
            assignee: None,
            disposition: None,
            detection: None,
            occurred_at: None,
            root_cause: None,
            cost: None,
            threat_intel: None,
        }
    }
}

/// One asset of the simulated estate.
#[derive(Clone, Debug)]
struct Asset {
    id: String,
    criticality: &'static str,
    source: &'static str,
    retired: bool,
    /// No heartbeats in `[from, until)`; `until` is `i64::MAX` for a silence that lasts.
    quiet: Option<(i64, i64)>,
}

impl Asset {
    fn quiet_at(&self, at: i64) -> Option<i64> {
        self.quiet
            .filter(|&(from, until)| from <= at && at < until)
            .map(|(_, until)| until)
    }
}

/// A change of the inventory during the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InventoryChange {
    /// The asset is marked retired.
    Retire,
    /// The asset is removed: a tombstone.
    Remove,
}

/// The assets, their heartbeats still to come and the inventory's changes; set up by the
/// first step.
#[derive(Debug, Default)]
struct Estate {
    assets: Vec<Asset>,
    /// Next heartbeat of each asset that still sends: (time, index into `assets`).
    beats: BinaryHeap<Reverse<(i64, usize)>>,
    /// Inventory changes during the run, by time; `next_change` is the first still to come.
    changes: Vec<(i64, usize, InventoryChange)>,
    next_change: usize,
}

/// The traffic generator.
#[derive(Debug)]
pub struct Simulator {
    rng: SmallRng,
    next_alert: u64,
    next_incident: u64,
    burst: Option<Burst>,
    /// Everything before this time has been generated.
    generated_until: Option<i64>,
    /// Generated records not yet returned, earliest first.
    due: BinaryHeap<Reverse<Scheduled>>,
    next_seq: u64,
    joinable: Vec<Joinable>,
    /// `None` until the first step.
    estate: Option<Estate>,
}

impl Simulator {
    /// A simulator whose traffic is fully determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
            next_alert: 0,
            next_incident: 0,
            burst: None,
            generated_until: None,
            due: BinaryHeap::new(),
            next_seq: 0,
            joinable: Vec::new(),
            estate: None,
        }
    }

    /// The records delivered in `[from, to)`, in delivery order. Case events
    /// of incidents opened here may fall due later: they come with the call that covers their
    /// time. Calls are meant to be contiguous; a part of `[from, to)` generated by an earlier
    /// call is not generated again, and a gap is skipped (what fell due in it comes now).
    pub fn records_between(&mut self, from: EventTime, to: EventTime) -> Vec<Record> {
        let (from, to) = (from.millis(), to.millis());
        let mut cursor = match self.generated_until {
            Some(until) if until >= from => until,
            _ => from,
        };
        let mut records = Vec::new();
        while cursor < to {
            let end = cursor + STEP_MILLIS;
            self.generate(cursor, end);
            cursor = end;
            // Whatever is generated from now on is at `cursor` or later.
            self.release(cursor.min(to), &mut records);
        }
        self.generated_until = Some(cursor);
        self.release(to, &mut records);
        records
    }

    /// The alert records of [`Simulator::records_between`], case events dropped (for
    /// benchmarks of the alert path).
    pub fn alerts_between(&mut self, from: EventTime, to: EventTime) -> Vec<Vec<u8>> {
        self.records_between(from, to)
            .into_iter()
            .filter(|record| record.role == TopicRole::Alerts)
            .map(|record| record.payload)
            .collect()
    }

    /// Moves the records due before `until` to `records`, in order.
    fn release(&mut self, until: i64, records: &mut Vec<Record>) {
        while let Some(next) = self.due.peek_mut() {
            if next.0.at >= until {
                break;
            }
            let Reverse(next) = PeekMut::pop(next);
            records.push(Record {
                role: next.role,
                at: EventTime(next.at),
                key: next.key,
                payload: next.payload,
            });
        }
    }

    fn schedule(&mut self, role: TopicRole, at: i64, key: Option<String>, payload: Vec<u8>) {
        self.next_seq += 1;
        self.due.push(Reverse(Scheduled {
            at,
            seq: self.next_seq,
            role,
            key,
            payload,
        }));
    }

    /// One step of traffic, `[start, end)`.
    fn generate(&mut self, start: i64, end: i64) {
        let span = (end - start) as f64 / 1_000.0;
        self.maybe_burst(start, span);
        for (index, tool) in TOOLS.iter().enumerate() {
            let burst = self
                .burst
                .filter(|burst| burst.tool == index && burst.until > start);
            let factor = burst.map_or(1.0, |burst| burst.factor);
            for _ in 0..self.poisson(tool.rate * factor * span) {
                let at = self.rng.random_range(start..end);
                self.alert(index, at, factor);
            }
        }
        for _ in 0..self.poisson(WITHOUT_ALERT_RATE * span) {
            let at = self.rng.random_range(start..end);
            self.incident_without_alert(at);
        }
        self.coverage(start, end);
    }

    /// The estate's records of `[start, end)`: the inventory and the backlog at the first
    /// step, then inventory changes and heartbeats as their time comes.
    fn coverage(&mut self, start: i64, end: i64) {
        let mut estate = match self.estate.take() {
            Some(estate) => estate,
            None => self.estate(start),
        };
        while let Some(&(at, index, change)) = estate.changes.get(estate.next_change) {
            if at >= end {
                break;
            }
            estate.next_change += 1;
            let asset = &mut estate.assets[index];
            let payload = match change {
                InventoryChange::Retire => {
                    asset.retired = true;
                    render_asset(asset)
                }
                InventoryChange::Remove => Vec::new(),
            };
            // Either way its heartbeats stop.
            asset.quiet = Some((at, i64::MAX));
            let key = asset.id.clone();
            self.schedule(TopicRole::Inventory, at, Some(key), payload);
        }
        while let Some(&Reverse((at, index))) = estate.beats.peek() {
            if at >= end {
                break;
            }
            estate.beats.pop();
            let asset = &estate.assets[index];
            let next = match asset.quiet_at(at) {
                Some(i64::MAX) => continue,
                Some(until) => until + self.rng.random_range(0..HEARTBEAT_EVERY),
                None => {
                    let payload = if self.rng.random_bool(MALFORMED_HEARTBEAT_SHARE) {
                        format!(
                            r#"{{"asset_id":"{}","source":"{}"}}"#,
                            asset.id, asset.source
                        )
                        .into_bytes()
                    } else {
                        render_heartbeat(asset, at)
                    };
                    let key = asset.id.clone();
                    self.schedule(TopicRole::Telemetry, at, Some(key), payload);
                    at + HEARTBEAT_EVERY
                        + self.rng.random_range(-HEARTBEAT_JITTER..=HEARTBEAT_JITTER)
                }
            };
            estate.beats.push(Reverse((next, index)));
        }
        self.estate = Some(estate);
    }

    /// The estate as the run starts at `start`: every asset's inventory record, the last
    /// heartbeat of those silent since before the start, the first heartbeat of the others
    /// and the inventory's changes to come.
    fn estate(&mut self, start: i64) -> Estate {
        let mut assets: Vec<Asset> = (1..=HOSTS)
            .map(|number| Asset {
                id: format!("host-{number:03}"),
                criticality: pick(
                    &mut self.rng,
                    &HOST_CRITICALITIES,
                    &HOST_CRITICALITY_WEIGHTS,
                ),
                source: pick(&mut self.rng, &HOST_SOURCES, &HOST_SOURCE_WEIGHTS),
                retired: false,
                quiet: None,
            })
            .collect();
        assets.extend(SERVERS.iter().map(|&(id, criticality, source)| Asset {
            id: id.to_owned(),
            criticality,
            source,
            retired: false,
            quiet: None,
        }));
        let mut hosts: Vec<usize> = (0..HOSTS as usize).collect();
        hosts.shuffle(&mut self.rng);
        let mut hosts = hosts.into_iter();
        for index in hosts.by_ref().take(RETIRED_HOSTS) {
            assets[index].retired = true;
            assets[index].quiet = Some((i64::MIN, i64::MAX));
        }
        let mut silent: Vec<usize> = hosts.by_ref().take(SILENT_HOSTS).collect();
        silent.extend(assets.iter().position(|a| a.id == SILENT_SERVER));
        for &index in &silent {
            let since = start - self.rng.random_range(25 * HOUR..7 * DAY);
            assets[index].quiet = Some((since, i64::MAX));
        }
        for index in hosts.by_ref().take(FLAKY_HOSTS) {
            let from = start + self.rng.random_range(HOUR..20 * HOUR);
            let until = from + self.rng.random_range(26 * HOUR..40 * HOUR);
            assets[index].quiet = Some((from, until));
        }
        let mut changes = vec![
            // A silent workstation is finally taken out of the inventory, a healthy one
            // decommissioned later, and another one retired.
            (
                start + self.rng.random_range(15 * MINUTE..45 * MINUTE),
                silent[0],
                InventoryChange::Remove,
            ),
            (
                start + self.rng.random_range(3 * HOUR..9 * HOUR),
                hosts.next().unwrap_or(0),
                InventoryChange::Remove,
            ),
            (
                start + self.rng.random_range(HOUR..12 * HOUR),
                hosts.next().unwrap_or(0),
                InventoryChange::Retire,
            ),
        ];
        changes.sort_unstable_by_key(|&(at, index, _)| (at, index));

        let mut beats = BinaryHeap::new();
        for asset in &assets {
            let key = Some(asset.id.clone());
            self.schedule(TopicRole::Inventory, start, key, render_asset(asset));
        }
        for (index, asset) in assets.iter().enumerate() {
            match asset.quiet {
                // The backlog of the telemetry topic: when a silent asset was last seen.
                Some((since, i64::MAX)) if since > i64::MIN => {
                    let key = Some(asset.id.clone());
                    self.schedule(
                        TopicRole::Telemetry,
                        start,
                        key,
                        render_heartbeat(asset, since),
                    );
                }
                Some((_, i64::MAX)) => {}
                _ => beats.push(Reverse((
                    start + self.rng.random_range(0..HEARTBEAT_EVERY),
                    index,
                ))),
            }
        }
        Estate {
            assets,
            beats,
            changes,
            next_change: 0,
        }
    }

    fn maybe_burst(&mut self, now: i64, span: f64) {
        if self.burst.is_some_and(|b| b.until > now) {
            return;
        }
        // About one burst every ten minutes, lasting half a minute to two.
        if self.rng.random_bool((span / 600.0).min(1.0)) {
            self.burst = Some(Burst {
                tool: self.rng.random_range(0..TOOLS.len()),
                factor: self.rng.random_range(8.0..25.0),
                until: now + self.rng.random_range(30_000..120_000),
                attack: self.rng.random_bool(ATTACK_SHARE),
                incident: None,
            });
        }
    }

    /// Knuth's method; rates here are small.
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut product = self.rng.random::<f64>();
        let mut count = 0;
        while product > limit && count < 10_000 {
            product *= self.rng.random::<f64>();
            count += 1;
        }
        count
    }

    /// One alert of `TOOLS[tool_index]` detected at `detected_at`; `factor` is the tool's burst
    /// factor (1 outside bursts), which thins out the incidents a noisy rule opens.
    fn alert(&mut self, tool_index: usize, detected_at: i64, factor: f64) {
        let tool = TOOLS[tool_index];
        if self.rng.random_bool(MALFORMED_SHARE) {
            let payload = self.malformed_alert(&tool, detected_at);
            self.schedule(TopicRole::Alerts, detected_at, None, payload);
            return;
        }
        self.next_alert += 1;
        let id = self.next_alert;
        let severity = pick(&mut self.rng, &Severity::ALL, &tool.mix);
        let rule = tool.rules[self.rng.random_range(0..tool.rules.len())];
        let mut asset = self.rng.random_range(1..400);
        let occurred_at = detected_at - self.rng.random_range(0..HOUR);
        let in_attack = self
            .burst
            .filter(|b| b.attack && b.tool == tool_index && b.until > detected_at);
        let incident = match in_attack {
            Some(Burst {
                incident: Some(number),
                ..
            }) => self.rng.random_bool(JOINS_ATTACK).then_some(number),
            Some(_) => {
                // The attack's first alert opens its incident, high or critical.
                let number = self.open_incident(Opening {
                    detected_at,
                    occurred_at,
                    severity: severity.max(Severity::High),
                    detection: Detection::Alert,
                    asset,
                });
                if let Some(burst) = &mut self.burst {
                    burst.incident = Some(number);
                }
                Some(number)
            }
            None if self
                .rng
                .random_bool(OPENS_INCIDENT[severity.index()] / factor) =>
            {
                Some(self.open_incident(Opening {
                    detected_at,
                    occurred_at,
                    severity,
                    detection: Detection::Alert,
                    asset,
                }))
            }
            None => self.join(detected_at).map(|joined| {
                asset = joined.asset;
                joined.number
            }),
        };
        let mut fields = Map::new();
        fields.insert("alert_id".into(), format!("{}-{id}", tool.name).into());
        fields.insert(
            "detected_at".into(),
            EventTime(detected_at).to_string().into(),
        );
        fields.insert("occurred_at".into(), occurred_at.into());
        fields.insert("source".into(), tool.name.into());
        fields.insert("rule".into(), rule.into());
        fields.insert("severity".into(), severity.as_str().into());
        // Alerts are keyed by their incident's id when they name one.
        let key = incident.map(incident_id);
        if let Some(id) = &key {
            fields.insert("incident_id".into(), id.as_str().into());
        }
        fields.insert("asset".into(), format!("host-{asset:03}").into());
        fields.insert("threat_intel".into(), self.rng.random_bool(0.1).into());
        let payload = Value::Object(fields).to_string().into_bytes();
        if self.rng.random_bool(DUPLICATE_SHARE) {
            // Redelivered a little later, byte for byte.
            let again = detected_at + self.rng.random_range(0..5_000);
            self.schedule(TopicRole::Alerts, again, key.clone(), payload.clone());
        }
        self.schedule(TopicRole::Alerts, detected_at, key, payload);
    }

    /// An incident still being worked at `at`, for an alert to join.
    fn join(&mut self, at: i64) -> Option<Joinable> {
        if !self.rng.random_bool(JOINS_INCIDENT) {
            return None;
        }
        self.joinable.retain(|incident| incident.resolved_at > at);
        if self.joinable.is_empty() {
            return None;
        }
        Some(self.joinable[self.rng.random_range(0..self.joinable.len())])
    }

    /// A threat hunt, a user's report or an outside party's notice: an incident no alert names.
    fn incident_without_alert(&mut self, detected_at: i64) {
        let detection = pick(
            &mut self.rng,
            &[Detection::Hunt, Detection::UserReport, Detection::External],
            &[50, 35, 15],
        );
        // Hunts and outside parties find activity that has gone on for a while.
        let lead = match detection {
            Detection::UserReport => self.rng.random_range(10 * MINUTE..3 * DAY),
            _ => self.rng.random_range(6 * HOUR..14 * DAY),
        };
        let severity = pick(&mut self.rng, &Severity::ALL, &[2, 10, 40, 35, 13]);
        let asset = self.rng.random_range(1..400);
        self.open_incident(Opening {
            detected_at,
            occurred_at: detected_at - lead,
            severity,
            detection,
            asset,
        });
    }

    /// Opens an incident and schedules its whole case lifecycle; returns its number.
    fn open_incident(&mut self, opening: Opening) -> u64 {
        self.next_incident += 1;
        let number = self.next_incident;
        let changes = self.lifecycle(&opening);
        if opening.detection == Detection::Alert
            && let Some(resolved) = changes.iter().find(|c| c.status.resolves())
        {
            if self.joinable.len() >= MAX_JOINABLE {
                self.joinable.remove(0);
            }
            self.joinable.push(Joinable {
                number,
                asset: opening.asset,
                resolved_at: resolved.at,
            });
        }
        let id = incident_id(number);
        for (sequence, change) in changes.iter().enumerate() {
            let payload = render_change(&id, sequence + 1, change);
            if self.rng.random_bool(MALFORMED_CASE_SHARE) {
                let broken = self.malformed_case(&id, change.at, &payload);
                self.schedule(TopicRole::Cases, change.at, Some(id.clone()), broken);
            }
            if self.rng.random_bool(DUPLICATE_CASE_SHARE) {
                let again = change.at + self.rng.random_range(1_000..120_000);
                self.schedule(TopicRole::Cases, again, Some(id.clone()), payload.clone());
            }
            self.schedule(TopicRole::Cases, change.at, Some(id.clone()), payload);
        }
        number
    }

    /// A stage's delay after detection: mostly within `target` (skewed early by `skew`), one
    /// in ten past it.
    fn stage_delay(&mut self, target: i64, skew: f64, quick: f64) -> i64 {
        let share = if self.rng.random_bool(BREACH_SHARE) {
            self.rng.random_range(1.05..3.0)
        } else {
            (0.02 + 0.93 * self.rng.random::<f64>().powf(skew)) * quick
        };
        (target as f64 * share) as i64
    }

    /// The case events of one incident, in time order.
    fn lifecycle(&mut self, opening: &Opening) -> Vec<Change> {
        let detected = opening.detected_at;
        let mut severity = opening.severity;
        let level = severity.index();
        let verdicts = if opening.detection == Detection::Alert {
            &VERDICTS_OF_ALERTS
        } else {
            &VERDICTS_OF_HUNTS
        };
        let disposition = pick(&mut self.rng, Disposition::ALL, verdicts);
        let true_positive = disposition == Disposition::TruePositive;

        // The case tool records an alert's incident a few seconds after the alert.
        let new_at = match opening.detection {
            Detection::Alert => detected + self.rng.random_range(2_000..30_000),
            _ => detected,
        };
        let acknowledged_at = (detected + self.stage_delay(ACKNOWLEDGE_TARGET[level], 1.5, 1.0))
            .max(new_at + self.rng.random_range(5_000..60_000));
        // Noise is closed faster than real incidents.
        let quick = if true_positive { 1.0 } else { 0.6 };
        let resolved_at = (detected + self.stage_delay(RESOLVE_TARGET[level], 2.0, quick))
            .max(acknowledged_at + self.rng.random_range(5 * MINUTE..30 * MINUTE));
        let worked = (resolved_at - acknowledged_at) as f64;
        let within = |rng: &mut SmallRng, from: f64, to: f64| {
            acknowledged_at + (worked * rng.random_range(from..to)) as i64
        };

        let mut assignee = ANALYSTS[self.rng.random_range(0..ANALYSTS.len())];
        let mut tier = 1;
        let threat_intel = self.rng.random_bool(0.08).then_some(true);
        let mut changes = Vec::with_capacity(8);

        let mut new = Change::new(new_at, Status::New, severity);
        new.detection = Some(opening.detection);
        new.occurred_at = Some(opening.occurred_at);
        changes.push(new);

        let mut acknowledged = Change::new(acknowledged_at, Status::Acknowledged, severity);
        acknowledged.assignee = Some(assignee);
        acknowledged.tier = Some(tier);
        acknowledged.threat_intel = threat_intel;
        changes.push(acknowledged);

        if self.rng.random_bool(0.85) {
            let at = within(&mut self.rng, 0.02, 0.15);
            // Now and then the investigation shows it is worse than it looked.
            if self.rng.random_bool(0.03) {
                severity = raise(severity);
            }
            let mut in_progress = Change::new(at, Status::InProgress, severity);
            in_progress.assignee = Some(assignee);
            in_progress.tier = Some(tier);
            changes.push(in_progress);
        }
        if self.rng.random_bool(ESCALATES[level]) {
            let at = within(&mut self.rng, 0.15, 0.35);
            tier = if self.rng.random_bool(0.3) { 3 } else { 2 };
            assignee = ANALYSTS[ANALYSTS.len() - 1 - self.rng.random_range(0..SENIOR_ANALYSTS)];
            if self.rng.random_bool(0.25) {
                severity = raise(severity);
            }
            let mut escalated = Change::new(at, Status::Escalated, severity);
            escalated.assignee = Some(assignee);
            escalated.tier = Some(tier);
            changes.push(escalated);
        }
        if true_positive && self.rng.random_bool(CONTAINED_EVENT) {
            let at = within(&mut self.rng, 0.35, 0.8);
            let mut contained = Change::new(at, Status::Contained, severity);
            contained.assignee = Some(assignee);
            contained.tier = Some(tier);
            changes.push(contained);
        }

        let mut resolved = self.resolution(resolved_at, severity, disposition, opening);
        resolved.assignee = Some(assignee);
        resolved.tier = Some(tier);
        changes.push(resolved);
        if !self.rng.random_bool(0.95) {
            return changes;
        }
        let closed_at = resolved_at + self.rng.random_range(10 * MINUTE..DAY);
        changes.push(Change {
            assignee: Some(assignee),
            ..Change::new(closed_at, Status::Closed, severity)
        });
        if !self.rng.random_bool(REOPENS) {
            return changes;
        }

        // Reopened: a second look, sometimes a different verdict, resolved and closed again.
        let reopened_at = closed_at + self.rng.random_range(10 * MINUTE..12 * HOUR);
        changes.push(Change {
            assignee: Some(assignee),
            ..Change::new(reopened_at, Status::Reopened, severity)
        });
        let working_at = reopened_at + self.rng.random_range(5 * MINUTE..2 * HOUR);
        changes.push(Change {
            assignee: Some(assignee),
            ..Change::new(working_at, Status::InProgress, severity)
        });
        let verdict = if !true_positive && self.rng.random_bool(0.4) {
            Disposition::TruePositive
        } else {
            disposition
        };
        let again_at = working_at + self.rng.random_range(30 * MINUTE..DAY);
        let mut resolved_again = self.resolution(again_at, severity, verdict, opening);
        resolved_again.assignee = Some(assignee);
        changes.push(resolved_again);
        let closed_again = again_at + self.rng.random_range(10 * MINUTE..12 * HOUR);
        changes.push(Change {
            assignee: Some(assignee),
            ..Change::new(closed_again, Status::Closed, severity)
        });
        changes
    }

    /// A `resolved` event with its verdict, and what the investigation found.
    fn resolution(
        &mut self,
        at: i64,
        severity: Severity,
        disposition: Disposition,
        opening: &Opening,
    ) -> Change {
        let mut resolved = Change::new(at, Status::Resolved, severity);
        resolved.disposition = Some(disposition);
        resolved.detection = Some(opening.detection);
        let true_positive = disposition == Disposition::TruePositive;
        if true_positive
            || (disposition == Disposition::BenignPositive && self.rng.random_bool(0.5))
        {
            resolved.root_cause = Some(ROOT_CAUSES[self.rng.random_range(0..ROOT_CAUSES.len())]);
        }
        // The investigation often dates the first malicious activity earlier than the alert.
        if true_positive && self.rng.random_bool(0.4) {
            resolved.occurred_at = Some(opening.occurred_at - self.rng.random_range(HOUR..3 * DAY));
        }
        let cost = if true_positive && self.rng.random_bool(0.7) {
            Some(TRUE_POSITIVE_COST[severity.index()] * self.rng.random_range(0.5..3.0))
        } else if !true_positive && self.rng.random_bool(0.1) {
            // Analyst time on noise.
            Some(self.rng.random_range(25.0..150.0))
        } else {
            None
        };
        resolved.cost = cost.map(|amount| (amount * 100.0).round() / 100.0);
        resolved
    }

    fn malformed_alert(&mut self, tool: &Tool, detected_at: i64) -> Vec<u8> {
        match self.rng.random_range(0..3) {
            0 => format!(
                r#"{{"detected_at":{detected_at},"source":"{}","severity":"high"}}"#,
                tool.name
            ),
            1 => format!(
                r#"{{"alert_id":"x","detected_at":{detected_at},"source":"{}","severity":"sev0"}}"#,
                tool.name
            ),
            _ => format!("<alert source={}>not json</alert>", tool.name),
        }
        .into_bytes()
    }

    /// A broken case record next to a good one: what a misconfigured SOAR webhook sends.
    fn malformed_case(&mut self, incident_id: &str, at: i64, good: &[u8]) -> Vec<u8> {
        match self.rng.random_range(0..5) {
            0 => format!(r#"{{"at":{at},"status":"new"}}"#).into_bytes(),
            1 => format!(r#"{{"incident_id":"{incident_id}","at":{at},"status":"done"}}"#)
                .into_bytes(),
            2 => format!(
                r#"{{"incident_id":"{incident_id}","at":{at},"status":"escalated","tier":4}}"#
            )
            .into_bytes(),
            3 => format!(
                r#"{{"incident_id":"{incident_id}","at":{at},"status":"resolved","cost":-120}}"#
            )
            .into_bytes(),
            _ => good[..good.len() / 2].to_vec(),
        }
    }
}

/// The case tool's id of incident `number`.
fn incident_id(number: u64) -> String {
    format!("INC-{number}")
}

/// One level more severe, critical staying critical.
fn raise(severity: Severity) -> Severity {
    Severity::ALL[(severity.index() + 1).min(Severity::ALL.len() - 1)]
}

/// One of `values`, by relative `weights`.
fn pick<T: Copy>(rng: &mut SmallRng, values: &[T], weights: &[u32]) -> T {
    let total: u32 = weights.iter().sum();
    let mut draw = rng.random_range(0..total.max(1));
    for (&value, &weight) in values.iter().zip(weights) {
        if draw < weight {
            return value;
        }
        draw -= weight;
    }
    values[0]
}

/// The native inventory record of an asset.
fn render_asset(asset: &Asset) -> Vec<u8> {
    let mut fields = Map::new();
    fields.insert("asset_id".into(), asset.id.as_str().into());
    fields.insert("criticality".into(), asset.criticality.into());
    fields.insert("retired".into(), asset.retired.into());
    Value::Object(fields).to_string().into_bytes()
}

/// The native telemetry record of a heartbeat of `asset` at `at`.
fn render_heartbeat(asset: &Asset, at: i64) -> Vec<u8> {
    let mut fields = Map::new();
    fields.insert("asset_id".into(), asset.id.as_str().into());
    fields.insert("source".into(), asset.source.into());
    fields.insert("at".into(), EventTime(at).to_string().into());
    Value::Object(fields).to_string().into_bytes()
}

/// The native case record of one change; `sequence` numbers the incident's events.
fn render_change(incident_id: &str, sequence: usize, change: &Change) -> Vec<u8> {
    let mut fields = Map::new();
    fields.insert("incident_id".into(), incident_id.into());
    fields.insert(
        "event_id".into(),
        format!("{incident_id}/{sequence}").into(),
    );
    fields.insert("at".into(), EventTime(change.at).to_string().into());
    fields.insert("status".into(), change.status.as_str().into());
    fields.insert("severity".into(), change.severity.as_str().into());
    if let Some(tier) = change.tier {
        fields.insert("tier".into(), tier.into());
    }
    if let Some(assignee) = change.assignee {
        fields.insert("assignee".into(), assignee.into());
    }
    if let Some(disposition) = change.disposition {
        fields.insert("disposition".into(), disposition.as_str().into());
    }
    if let Some(detection) = change.detection {
        fields.insert("detection".into(), detection.as_str().into());
    }
    if let Some(occurred_at) = change.occurred_at {
        fields.insert("occurred_at".into(), occurred_at.into());
    }
    if let Some(root_cause) = change.root_cause {
        fields.insert("root_cause".into(), root_cause.into());
    }
    if let Some(cost) = change.cost {
        fields.insert("cost".into(), cost.into());
    }
    if let Some(threat_intel) = change.threat_intel {
        fields.insert("threat_intel".into(), threat_intel.into());
    }
    Value::Object(fields).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::engine::coverage::Coverage;
    use crate::event::CaseEvent;
    use crate::formats::native::{decode_alert, decode_case, decode_inventory, decode_telemetry};

    /// 2026-01-01T00:00:00Z.
    const START: i64 = 1_767_225_600_000;

    fn text(record: &Record) -> &str {
        std::str::from_utf8(&record.payload).unwrap()
    }

    /// Every case event still scheduled, as if time ran on with no further alerts.
    fn drain(sim: &mut Simulator) -> Vec<Record> {
        let mut records = Vec::new();
        sim.release(i64::MAX, &mut records);
        records
    }

    #[test]
    fn an_hour_of_traffic_is_mostly_valid_time_ordered_alerts_from_every_tool() {
        let mut sim = Simulator::new(7);
        let end = START + HOUR;
        let records = sim.records_between(EventTime(START), EventTime(end));
        assert!(records.windows(2).all(|pair| pair[0].at <= pair[1].at));
        assert!(
            records
                .iter()
                .all(|r| r.at.millis() >= START && r.at.millis() < end)
        );
        let alerts: Vec<_> = records
            .iter()
            .filter(|r| r.role == TopicRole::Alerts)
            .collect();
        let decoded: Vec<_> = alerts
            .iter()
            .filter_map(|r| decode_alert(text(r)).ok())
            .collect();
        // 5.2 alerts/s on average, more in bursts.
        assert!(alerts.len() > 15_000, "{}", alerts.len());
        assert!(decoded.len() as f64 > alerts.len() as f64 * 0.99);
        assert!(decoded.len() < alerts.len());
        for tool in TOOLS {
            assert!(
                decoded.iter().any(|a| a.source == tool.name),
                "{}",
                tool.name
            );
        }
        assert!(
            decoded
                .iter()
                .all(|a| a.detected_at.millis() >= START && a.detected_at.millis() < end)
        );
        // Some alerts open incidents, whose first case events fall within the hour.
        assert!(decoded.iter().any(|a| a.incident_id.is_some()));
        assert!(records.iter().any(|r| r.role == TopicRole::Cases));
    }

    #[test]
    fn traffic_does_not_depend_on_how_time_is_sliced() {
        let end = START + 40 * MINUTE;
        let whole = Simulator::new(3).records_between(EventTime(START), EventTime(end));
        let mut sliced = Simulator::new(3);
        let mut pieces = Vec::new();
        let mut from = START;
        for width in [200, 7_300, 13 * MINUTE + 1, 1, 999].into_iter().cycle() {
            if from >= end {
                break;
            }
            let to = (from + width).min(end);
            pieces.extend(sliced.records_between(EventTime(from), EventTime(to)));
            from = to;
        }
        assert_eq!(pieces.len(), whole.len());
        assert!(pieces == whole);
    }

    #[test]
    fn six_hours_of_incidents_follow_the_case_lifecycle() {
        let mut sim = Simulator::new(11);
        let end = START + 6 * HOUR;
        let mut records = sim.records_between(EventTime(START), EventTime(end));
        let live = records.len();
        records.extend(drain(&mut sim));
        assert!(records[live..].iter().all(|r| r.role == TopicRole::Cases));

        let mut valid = 0;
        // Per incident: the earliest alert naming it, and its case events.
        let mut first_alert: HashMap<String, EventTime> = HashMap::new();
        let mut alerts_of: HashMap<String, HashSet<String>> = HashMap::new();
        let mut cases: HashMap<String, Vec<CaseEvent<'_>>> = HashMap::new();
        let mut by_event_id: HashMap<String, &[u8]> = HashMap::new();
        let mut case_records = 0;
        let mut duplicates = 0;
        for record in &records {
            match record.role {
                TopicRole::Alerts => {
                    let Ok(alert) = decode_alert(text(record)) else {
                        continue;
                    };
                    valid += 1;
                    if let Some(id) = &alert.incident_id {
                        let first = first_alert
                            .entry(id.to_string())
                            .or_insert(alert.detected_at);
                        *first = (*first).min(alert.detected_at);
                        alerts_of
                            .entry(id.to_string())
                            .or_default()
                            .insert(alert.alert_id.to_string());
                    }
                }
                TopicRole::Cases => {
                    case_records += 1;
                    let Ok(case) = decode_case(text(record)) else {
                        continue;
                    };
                    valid += 1;
                    // A redelivery is the same record byte for byte.
                    let event_id = case.event_id.as_deref().unwrap().to_owned();
                    if let Some(earlier) = by_event_id.insert(event_id, &record.payload) {
                        assert_eq!(earlier, &record.payload[..]);
                        duplicates += 1;
                        continue;
                    }
                    cases
                        .entry(case.incident_id.to_string())
                        .or_default()
                        .push(case);
                }
                TopicRole::Inventory | TopicRole::Telemetry => {}
            }
        }
        let incident_records = records
            .iter()
            .filter(|r| matches!(r.role, TopicRole::Alerts | TopicRole::Cases))
            .count();
        assert!(valid as f64 > incident_records as f64 * 0.99);
        assert!(valid < incident_records);
        assert!(duplicates > 0 && duplicates * 50 < case_records);
        // ~0.036 incidents a second.
        let incidents = cases.len();
        assert!((500..1_300).contains(&incidents), "{incidents}");
        assert_eq!(incidents as u64, sim.next_incident);

        let mut reopened = 0;
        let mut contained_by_resolution = 0;
        let mut contained_events = 0;
        let mut escalated = 0;
        let mut raised = 0;
        let mut breached = [0; 2];
        let mut without_alerts = [0; 4];
        // Alerts that joined an incident another alert had opened.
        let joined = alerts_of.values().filter(|ids| ids.len() > 1).count();
        for (id, events) in &mut cases {
            events.sort_by_key(|e| e.at);
            let new = &events[0];
            assert_eq!(new.status, Status::New, "{id}");
            let detection = new.detection.unwrap();
            match first_alert.get(id) {
                Some(_) => assert_eq!(detection, Detection::Alert, "{id}"),
                None => {
                    assert_ne!(detection, Detection::Alert, "{id} is named by no alert");
                    without_alerts[detection.index()] += 1;
                }
            }
            let detected = first_alert.get(id).map_or(new.at, |&a| a.min(new.at));
            assert!(new.occurred_at.unwrap() <= detected, "{id}");
            let stage = |reached: fn(Status) -> bool| {
                events
                    .iter()
                    .filter(|e| reached(e.status))
                    .map(|e| e.at)
                    .min()
                    .unwrap()
            };
            let acknowledged = stage(Status::acknowledges);
            let resolved = stage(Status::resolves);
            assert!(acknowledged > detected && resolved > acknowledged, "{id}");
            let severity = events[0].severity.unwrap();
            let latest = events.last().unwrap().severity.unwrap();
            assert!(latest >= severity, "{id}");
            raised += usize::from(latest > severity);
            for (stage, at, targets) in [
                (0, acknowledged, &ACKNOWLEDGE_TARGET),
                (1, resolved, &RESOLVE_TARGET),
            ] {
                let took = at.millis() - detected.millis();
                breached[stage] += usize::from(took > targets[latest.index()]);
            }
            let disposition = events.iter().rev().find_map(|e| e.disposition).unwrap();
            let contained = events.iter().any(|e| e.status == Status::Contained);
            contained_events += usize::from(contained);
            if disposition == Disposition::TruePositive && !contained {
                contained_by_resolution += 1;
            }
            assert!(!contained || disposition == Disposition::TruePositive);
            reopened += usize::from(events.iter().any(|e| e.status == Status::Reopened));
            escalated += usize::from(events.iter().any(|e| e.status == Status::Escalated));
            // Resolved or closed last.
            assert!(events.last().unwrap().status.resolves(), "{id}");
        }
        assert!(reopened > 0, "{reopened}");
        assert!(contained_by_resolution > 0 && contained_events > 0);
        assert!(escalated > 0 && raised > 0);
        assert!(without_alerts[Detection::Hunt.index()] > 0);
        assert!(without_alerts[Detection::UserReport.index()] > 0);
        assert!(joined > 0);
        // About one in ten per stage, a few more from raised severities.
        for count in breached {
            let share = count as f64 / incidents as f64;
            assert!((0.05..0.2).contains(&share), "{share}");
        }
    }

    #[test]
    fn the_estate_is_inventoried_at_the_start_and_a_few_assets_go_unmonitored() {
        let mut sim = Simulator::new(5);
        let end = START + 2 * HOUR;
        let records = sim.records_between(EventTime(START), EventTime(end));
        let mut coverage = Coverage::new(DAY);
        let mut at_start = 0;
        let mut retired = 0;
        let mut criticalities = HashSet::new();
        let mut tombstones = Vec::new();
        let mut beats: HashMap<String, usize> = HashMap::new();
        let mut sources = HashSet::new();
        let mut malformed = 0;
        for record in &records {
            let key = record.key.as_deref();
            match record.role {
                TopicRole::Inventory if record.is_tombstone() => {
                    tombstones.push(record.at.millis());
                    coverage.remove_asset(key.unwrap());
                }
                TopicRole::Inventory => {
                    let asset = decode_inventory(text(record)).unwrap();
                    assert_eq!(Some(&*asset.asset_id), key);
                    at_start += usize::from(record.at.millis() == START);
                    retired += usize::from(asset.retired);
                    criticalities.insert(asset.criticality.as_deref().unwrap().to_owned());
                    coverage.apply_inventory(&asset);
                }
                TopicRole::Telemetry => {
                    let Ok(beat) = decode_telemetry(text(record)) else {
                        malformed += 1;
                        continue;
                    };
                    assert_eq!(Some(&*beat.asset_id), key);
                    assert!(beat.at <= record.at);
                    *beats.entry(beat.asset_id.to_string()).or_default() += 1;
                    sources.insert(beat.source.as_deref().unwrap().to_owned());
                    coverage.apply_telemetry(&beat);
                }
                TopicRole::Alerts => {
                    if let Ok(alert) = decode_alert(text(record)) {
                        assert_eq!(alert.incident_id.as_deref(), key);
                    }
                }
                TopicRole::Cases => {
                    if let Ok(case) = decode_case(text(record)) {
                        assert_eq!(Some(&*case.incident_id), key);
                    }
                }
            }
        }
        // The whole inventory comes first, a few assets already retired.
        let assets = HOSTS as usize + SERVERS.len();
        assert_eq!(at_start, assets);
        assert_eq!(retired, RETIRED_HOSTS);
        assert!(criticalities.contains("critical") && criticalities.contains("low"));
        // A silent workstation is removed within the first hour.
        assert_eq!(tombstones.len(), 1);
        assert!((START + 15 * MINUTE..START + 45 * MINUTE).contains(&tombstones[0]));
        // A heartbeat every five minutes from each asset that still sends, from every kind of
        // log source, and a few broken ones.
        for count in beats.values().filter(|&&count| count > 1) {
            assert!((22..=26).contains(count), "{count}");
        }
        for source in [
            "winlogbeat",
            "syslog",
            "osquery",
            "cloudtrail",
            "o365_audit",
        ] {
            assert!(sources.contains(source), "{source}");
        }
        assert!(malformed < 20, "{malformed}");
        let card = coverage.card(end);
        assert_eq!(card.inventory as usize, assets - RETIRED_HOSTS - 1);
        assert!(card.unmonitored() > 0);
        let gap = card.gap_ratio().unwrap();
        assert!((0.03..0.06).contains(&gap), "{gap}");

        // Silent assets went quiet more than a day before the start; a few more go silent
        // during the run, for more than a day, and come back: the gap stays under 6 %.
        let estate = sim.estate.as_ref().unwrap();
        let quiet: Vec<_> = estate
            .assets
            .iter()
            .filter(|a| !a.retired)
            .filter_map(|a| a.quiet)
            .collect();
        let silent = quiet
            .iter()
            .filter(|&&(from, until)| from < START - DAY && until == i64::MAX)
            .count();
        assert_eq!(silent, SILENT_HOSTS);
        let flaky = quiet
            .iter()
            .filter(|&&(from, until)| from > START && until < i64::MAX && until - from > DAY)
            .count();
        assert_eq!(flaky, FLAKY_HOSTS);
        let worst = (silent + flaky) as f64 / card.inventory as f64;
        assert!(worst < 0.06, "{worst}");
        assert!(
            estate
                .changes
                .iter()
                .all(|&(at, _, _)| at < START + 12 * HOUR)
        );
    }
}
