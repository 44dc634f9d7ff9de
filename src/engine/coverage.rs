//! Coverage (PRODUCT.md §4): the inventory assets that should be monitored, and whether their
//! logs were seen within `coverage.max_silence`. Both inputs are read whole by every instance
//! (Kafka Streams' global tables), so this state needs no changelog: a restart reads the
//! compacted inventory from its beginning and the heartbeats of the last `max_silence`.

use foldhash::HashMap;

use crate::event::{InventoryRecord, Telemetry};

/// Assets and their latest heartbeat.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Asset id → retired.
    assets: HashMap<Box<str>, bool>,
    /// Asset id → latest heartbeat (epoch ms), only within `max_silence` of now.
    heartbeats: HashMap<Box<str>, i64>,
    max_silence: i64,
}

/// Coverage at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoverageCard {
    /// Inventory assets not retired.
    pub inventory: u64,
    /// Of those, with telemetry within `max_silence`.
    pub monitored: u64,
}

impl CoverageCard {
    pub fn unmonitored(&self) -> u64 {
        self.inventory - self.monitored
    }

    /// unmonitored / inventory; `None` without an inventory.
    pub fn gap_ratio(&self) -> Option<f64> {
        (self.inventory > 0).then(|| self.unmonitored() as f64 / self.inventory as f64)
    }
}

impl Coverage {
    pub fn new(max_silence: i64) -> Self {
        Self {
            max_silence,
            ..Self::default()
        }
    }

    pub fn apply_inventory(&mut self, record: &InventoryRecord<'_>) {
        match self.assets.get_mut(&*record.asset_id) {
            Some(retired) => *retired = record.retired,
            None => {
                self.assets
                    .insert(Box::from(&*record.asset_id), record.retired);
            }
        }
    }

    /// A tombstone: the asset is no longer in the inventory.
    pub fn remove_asset(&mut self, asset_id: &str) {
        self.assets.remove(asset_id);
    }

    pub fn apply_telemetry(&mut self, beat: &Telemetry<'_>) {
        let at = beat.at.millis();
        match self.heartbeats.get_mut(&*beat.asset_id) {
            Some(latest) => *latest = (*latest).max(at),
            None => {
                self.heartbeats.insert(Box::from(&*beat.asset_id), at);
            }
        }
    }

    /// Forgets heartbeats too old to make anything monitored.
    pub fn expire(&mut self, now: i64) {
        let oldest = now.saturating_sub(self.max_silence);
        self.heartbeats.retain(|_, at| *at > oldest);
    }

    /// An asset is monitored when its latest heartbeat is in `(now − max_silence, …]`.
    pub fn card(&self, now: i64) -> CoverageCard {
        let oldest = now.saturating_sub(self.max_silence);
        let mut card = CoverageCard::default();
        for (asset, retired) in &self.assets {
            if *retired {
                continue;
            }
            card.inventory += 1;
            if self.heartbeats.get(asset).is_some_and(|at| *at > oldest) {
                card.monitored += 1;
            }
        }
        card
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::native::{decode_inventory, decode_telemetry};

    const HOUR: i64 = 3_600_000;

    fn asset(coverage: &mut Coverage, json: &str) {
        coverage.apply_inventory(&decode_inventory(json).unwrap());
    }

    fn beat(coverage: &mut Coverage, asset: &str, at: i64) {
        let text = format!(r#"{{"asset_id":"{asset}","at":{at}}}"#);
        coverage.apply_telemetry(&decode_telemetry(&text).unwrap());
    }

    #[test]
    fn silent_retired_and_removed_assets() {
        let now = 1_000 * 24 * HOUR;
        let mut coverage = Coverage::new(24 * HOUR);
        for id in ["web", "db", "old", "gone", "quiet"] {
            asset(&mut coverage, &format!(r#"{{"asset_id":"{id}"}}"#));
        }
        asset(&mut coverage, r#"{"asset_id":"old","retired":true}"#);
        coverage.remove_asset("gone");
        beat(&mut coverage, "web", now - HOUR);
        beat(&mut coverage, "db", now - 24 * HOUR + 1);
        // Silent for exactly max_silence: unmonitored.
        beat(&mut coverage, "quiet", now - 24 * HOUR);
        beat(&mut coverage, "old", now);
        // Telemetry of an asset outside the inventory changes nothing.
        beat(&mut coverage, "stranger", now);
        let card = coverage.card(now);
        assert_eq!(
            card,
            CoverageCard {
                inventory: 3,
                monitored: 2
            }
        );
        assert_eq!(card.unmonitored(), 1);
        assert_eq!(card.gap_ratio(), Some(1.0 / 3.0));
        // A day later everything went silent.
        coverage.expire(now + 24 * HOUR);
        assert_eq!(coverage.card(now + 24 * HOUR).monitored, 0);
        assert_eq!(Coverage::new(HOUR).card(now).gap_ratio(), None);
    }
}
