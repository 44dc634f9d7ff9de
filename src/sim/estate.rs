//! The estate, for coverage: the asset inventory (workstations, servers, cloud accounts) and
//! each asset's telemetry heartbeats.
//!
//! The first step sends the whole inventory, keyed by asset id as on a compacted topic, and
//! the telemetry backlog (the last heartbeat of each asset silent since before the run).
//! Later steps send the inventory's few changes (a retirement, two tombstones) and a
//! heartbeat per asset every five minutes or so, except while the asset is quiet.
//!
//! Invariants: the estate is drawn once, at the first step, before any heartbeat; an asset
//! retired or removed sends nothing after the change; a quiet period `[from, until)` with
//! `until == i64::MAX` never ends.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::vec;

use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value};

use super::{DAY, HOUR, MINUTE, Simulator, pick};
use crate::event::EventTime;
use crate::source::TopicRole;

/// Workstations `host-001` … `host-399`, the assets the alerts name.
pub(super) const HOSTS: u32 = 399;
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
    /// When the asset's quiet period around `at` ends, if it is quiet at `at`.
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
pub(super) struct Estate {
    assets: Vec<Asset>,
    /// Next heartbeat of each asset that still sends: (time, index into `assets`).
    beats: BinaryHeap<Reverse<(i64, usize)>>,
    /// Inventory changes during the run, by time; `next_change` is the first still to come.
    changes: Vec<(i64, usize, InventoryChange)>,
    next_change: usize,
}

impl Simulator {
    /// The estate's records of `[start, end)`: the inventory and the backlog at the first
    /// step, then inventory changes and heartbeats as their time comes.
    pub(super) fn estate_records(&mut self, start: i64, end: i64) {
        let mut estate = match self.estate.take() {
            Some(estate) => estate,
            None => self.set_up_estate(start),
        };
        self.inventory_changes(&mut estate, end);
        self.heartbeats(&mut estate, end);
        self.estate = Some(estate);
    }

    /// The inventory changes due before `end`; the asset's heartbeats stop either way.
    fn inventory_changes(&mut self, estate: &mut Estate, end: i64) {
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
            asset.quiet = Some((at, i64::MAX));
            let key = asset.id.clone();
            self.schedule(TopicRole::Inventory, at, Some(key), payload);
        }
    }

    /// The heartbeats due before `end`, each asset's next one queued as it is sent; a quiet
    /// asset's next heartbeat comes a little after its silence ends, or never.
    fn heartbeats(&mut self, estate: &mut Estate, end: i64) {
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
    }

    /// The estate as the run starts at `start`: every asset's inventory record, the last
    /// heartbeat of those silent since before the start, the first heartbeat of the others
    /// and the inventory's changes to come.
    fn set_up_estate(&mut self, start: i64) -> Estate {
        let mut assets = self.assets();
        // Which workstations are retired, silent, flaky or changed is drawn from one
        // shuffle, so no workstation plays two parts.
        let mut hosts: Vec<usize> = (0..HOSTS as usize).collect();
        hosts.shuffle(&mut self.rng);
        let mut hosts = hosts.into_iter();
        let silent = self.quiet_periods(&mut assets, &mut hosts, start);
        let changes = self.changes_to_come(start, silent[0], &mut hosts);
        for asset in &assets {
            let key = Some(asset.id.clone());
            self.schedule(TopicRole::Inventory, start, key, render_asset(asset));
        }
        let beats = self.first_heartbeats(&assets, start);
        Estate {
            assets,
            beats,
            changes,
            next_change: 0,
        }
    }

    /// The workstations, each with a drawn criticality and log source, then the servers.
    fn assets(&mut self) -> Vec<Asset> {
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
        assets
    }

    /// Retires, silences and makes flaky the next workstations of the shuffled `hosts`;
    /// returns the assets silent since before `start` (the silent server last).
    fn quiet_periods(
        &mut self,
        assets: &mut [Asset],
        hosts: &mut vec::IntoIter<usize>,
        start: i64,
    ) -> Vec<usize> {
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
        silent
    }

    /// The inventory's changes during the run, by time.
    fn changes_to_come(
        &mut self,
        start: i64,
        first_silent: usize,
        hosts: &mut vec::IntoIter<usize>,
    ) -> Vec<(i64, usize, InventoryChange)> {
        let mut changes = vec![
            // A silent workstation is finally taken out of the inventory, a healthy one
            // decommissioned later, and another one retired.
            (
                start + self.rng.random_range(15 * MINUTE..45 * MINUTE),
                first_silent,
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
        changes
    }

    /// The telemetry backlog of the assets silent since before `start`, sent at `start`, and
    /// the first heartbeat of each asset that sends, within one interval of `start`.
    fn first_heartbeats(
        &mut self,
        assets: &[Asset],
        start: i64,
    ) -> BinaryHeap<Reverse<(i64, usize)>> {
        let mut beats = BinaryHeap::new();
        for (index, asset) in assets.iter().enumerate() {
            match asset.quiet {
                // The backlog of the telemetry topic: when a silent asset was last seen.
                Some((since, i64::MAX)) if since > i64::MIN => {
                    let key = Some(asset.id.clone());
                    let payload = render_heartbeat(asset, since);
                    self.schedule(TopicRole::Telemetry, start, key, payload);
                }
                Some((_, i64::MAX)) => {}
                _ => beats.push(Reverse((
                    start + self.rng.random_range(0..HEARTBEAT_EVERY),
                    index,
                ))),
            }
        }
        beats
    }
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

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::engine::coverage::Coverage;
    use crate::formats::native::{decode_alert, decode_case, decode_inventory, decode_telemetry};
    use crate::sim::Record;
    use crate::sim::fixtures::{START, text};

    /// What a coverage reader makes of a run's estate records.
    #[derive(Default)]
    struct Seen {
        /// Inventory records sent at the start, and of those the retired ones.
        at_start: usize,
        retired: usize,
        criticalities: HashSet<String>,
        tombstones: Vec<i64>,
        /// Heartbeats by asset, their log sources, and heartbeats without a time.
        beats: HashMap<String, usize>,
        sources: HashSet<String>,
        malformed: usize,
    }

    /// Reads `records` into `coverage`, checking every record's key.
    fn read_estate(records: &[Record], coverage: &mut Coverage) -> Seen {
        let mut seen = Seen::default();
        for record in records {
            let key = record.key.as_deref();
            match record.role {
                TopicRole::Inventory if record.is_tombstone() => {
                    seen.tombstones.push(record.at.millis());
                    coverage.remove_asset(key.unwrap());
                }
                TopicRole::Inventory => {
                    let asset = decode_inventory(text(record)).unwrap();
                    assert_eq!(Some(&*asset.asset_id), key);
                    seen.at_start += usize::from(record.at.millis() == START);
                    seen.retired += usize::from(asset.retired);
                    let criticality = asset.criticality.as_deref().unwrap().to_owned();
                    seen.criticalities.insert(criticality);
                    coverage.apply_inventory(&asset);
                }
                TopicRole::Telemetry => {
                    let Ok(beat) = decode_telemetry(text(record)) else {
                        seen.malformed += 1;
                        continue;
                    };
                    assert_eq!(Some(&*beat.asset_id), key);
                    assert!(beat.at <= record.at);
                    *seen.beats.entry(beat.asset_id.to_string()).or_default() += 1;
                    seen.sources
                        .insert(beat.source.as_deref().unwrap().to_owned());
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
        seen
    }

    /// Silent assets went quiet more than a day before the start; a few more go silent
    /// during the run, for more than a day, and come back: the gap stays under 6 %.
    fn assert_quiet_periods(estate: &Estate, inventory: u64) {
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
        let worst = (silent + flaky) as f64 / inventory as f64;
        assert!(worst < 0.06, "{worst}");
        assert!(
            estate
                .changes
                .iter()
                .all(|&(at, _, _)| at < START + 12 * HOUR)
        );
    }

    #[test]
    fn the_estate_is_inventoried_at_the_start_and_a_few_assets_go_unmonitored() {
        let mut sim = Simulator::new(5);
        let end = START + 2 * HOUR;
        let records = sim.records_between(EventTime(START), EventTime(end));
        let mut coverage = Coverage::new(DAY);
        let seen = read_estate(&records, &mut coverage);
        // The whole inventory comes first, a few assets already retired.
        let assets = HOSTS as usize + SERVERS.len();
        assert_eq!(seen.at_start, assets);
        assert_eq!(seen.retired, RETIRED_HOSTS);
        assert!(seen.criticalities.contains("critical") && seen.criticalities.contains("low"));
        // A silent workstation is removed within the first hour.
        assert_eq!(seen.tombstones.len(), 1);
        assert!((START + 15 * MINUTE..START + 45 * MINUTE).contains(&seen.tombstones[0]));
        // A heartbeat every five minutes from each asset that still sends, from every kind of
        // log source, and a few broken ones.
        for count in seen.beats.values().filter(|&&count| count > 1) {
            assert!((22..=26).contains(count), "{count}");
        }
        for source in [
            "winlogbeat",
            "syslog",
            "osquery",
            "cloudtrail",
            "o365_audit",
        ] {
            assert!(seen.sources.contains(source), "{source}");
        }
        assert!(seen.malformed < 20, "{}", seen.malformed);
        let card = coverage.card(end);
        assert_eq!(card.inventory as usize, assets - RETIRED_HOSTS - 1);
        assert!(card.unmonitored() > 0);
        let gap = card.gap_ratio().unwrap();
        assert!((0.03..0.06).contains(&gap), "{gap}");
        assert_quiet_periods(sim.estate.as_ref().unwrap(), card.inventory);
    }
}
