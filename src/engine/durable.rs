//! The engine's side of durability: the [`Change`]s that applying events and expiring state
//! report, turned into changelog records ([`Engine::state_records`]), and a partition rebuilt
//! from those records ([`Engine::restore`]). Changes name what changed, not its value: an
//! incident changed ten times in a batch is encoded once, as it is at the end of the batch.
//!
//! Incidents stored under the legacy key (`i` 0x1f tenant 0x1f id, which a tenant or an id
//! containing 0x1f could forge) are read with the rule the versions that wrote them used, and
//! migrated: rewritten under their [`IncidentKey`] and tombstoned under the legacy key, with
//! the next [`Engine::expire`].

use std::collections::{BTreeMap, HashMap, HashSet};

use super::key::IncidentKey;
use super::state::{self, StateKey, StateRecord};
use super::{Engine, EventTime};
use crate::event::Severity;

/// One piece of state the changelog must record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// An incident changed (or left memory: then it is tombstoned).
    Incident { partition: i32, key: IncidentKey },
    /// An incident was read under its legacy key (the text after `i` 0x1f): tombstone it.
    LegacyIncident { partition: i32, key: Box<str> },
    /// An alert was kept for the volume windows.
    Alert {
        partition: i32,
        hash: u64,
        source: u32,
        severity: Severity,
        detected_at: i64,
    },
    /// An alert left the longest alert window.
    AlertGone { partition: i32, hash: u64 },
    /// A (source, severity) alert series was first seen in the partition.
    Series {
        partition: i32,
        source: u32,
        severity: Severity,
    },
    /// The partition's event clock moved.
    Clock { partition: i32, at: i64 },
}

impl Change {
    /// The state partition the change belongs to.
    pub fn partition(&self) -> i32 {
        match self {
            Change::Incident { partition, .. }
            | Change::LegacyIncident { partition, .. }
            | Change::Alert { partition, .. }
            | Change::AlertGone { partition, .. }
            | Change::Series { partition, .. }
            | Change::Clock { partition, .. } => *partition,
        }
    }
}

impl Engine {
    /// The changelog records of `changes`: tombstones of legacy incident keys, each incident
    /// once (as it is now, or a tombstone when it left memory or its partition), then kept
    /// alerts, alerts gone and new series in the order they happened, then each partition's
    /// clock once (its latest).
    pub fn state_records(&self, changes: &[Change]) -> Vec<StateRecord> {
        let mut incidents: Vec<(i32, &IncidentKey)> = Vec::new();
        let mut legacy = Vec::new();
        let mut clocks: std::collections::BTreeMap<i32, i64> = Default::default();
        // By kind, each in the order it happened: kept alerts, gone alerts, series.
        let (mut kept, mut gone, mut series) = (Vec::new(), Vec::new(), Vec::new());
        for change in changes {
            match change {
                Change::Incident { partition, key } => incidents.push((*partition, key)),
                Change::LegacyIncident { partition, key } => legacy.push(StateRecord {
                    partition: *partition,
                    key: state::legacy_incident_key(key),
                    value: None,
                }),
                Change::Alert {
                    partition,
                    hash,
                    source,
                    severity,
                    detected_at,
                } => kept.push(StateRecord {
                    partition: *partition,
                    key: state::alert_key(*hash),
                    value: Some(state::encode_alert(
                        self.sources.value(*source),
                        *severity,
                        *detected_at,
                    )),
                }),
                Change::AlertGone { partition, hash } => gone.push(StateRecord {
                    partition: *partition,
                    key: state::alert_key(*hash),
                    value: None,
                }),
                Change::Series {
                    partition,
                    source,
                    severity,
                } => series.push(StateRecord {
                    partition: *partition,
                    key: state::series_key(*severity, self.sources.value(*source)),
                    value: Some(Vec::new()),
                }),
                Change::Clock { partition, at } => {
                    let clock = clocks.entry(*partition).or_insert(*at);
                    *clock = (*clock).max(*at);
                }
            }
        }
        incidents.sort_unstable();
        incidents.dedup();
        let mut all = legacy;
        all.append(&mut self.lifecycle.state_records(&incidents, &self.sources));
        all.reserve(kept.len() + gone.len() + series.len() + clocks.len());
        all.append(&mut kept);
        all.append(&mut gone);
        all.append(&mut series);
        all.extend(clocks.into_iter().map(|(partition, at)| StateRecord {
            partition,
            key: state::CLOCK_KEY.to_owned(),
            value: Some(at.to_be_bytes().to_vec()),
        }));
        all
    }

    /// Rebuilds one partition's state from its changelog records, in changelog order; returns
    /// the partition's event clock, if it had one. Records that cannot be read are skipped and
    /// returned as errors (the rest of the partition is still restored). A stored event clock
    /// later than `not_after` (the wall clock plus `limits.max_clock_ahead`) was moved by a
    /// record an older version took: it is ignored, and returned as an error, so the
    /// partition's clock restarts from its next event rather than from the future.
    pub fn restore<'a>(
        &mut self,
        partition: i32,
        records: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        now: EventTime,
        not_after: EventTime,
    ) -> (Option<i64>, Vec<state::StateError>) {
        let mut alerts: HashMap<u64, Option<state::RestoredAlert>> = HashMap::new();
        let mut clock = None;
        let mut errors = Vec::new();
        // Incidents whose latest value so far came from a legacy key: only those does a
        // legacy tombstone remove (a record under the new key is newer, whatever its order).
        let mut migrated: HashSet<IncidentKey> = HashSet::new();
        // Legacy keys whose latest record is a value: to tombstone.
        let mut live: BTreeMap<Box<str>, IncidentKey> = BTreeMap::new();
        for (key, value) in records {
            match state::parse_key(key) {
                Some(StateKey::Incident(incident)) => {
                    migrated.remove(incident.encoded());
                    if let Err(error) =
                        self.lifecycle
                            .restore(partition, incident, value, &mut self.sources)
                    {
                        errors.push(error);
                    }
                }
                Some(StateKey::LegacyIncident(legacy)) => {
                    let (tenant, id) = state::legacy_pair(legacy);
                    let incident = IncidentKey::new(tenant, id);
                    if value.is_none() {
                        live.remove(legacy);
                        if migrated.remove(&incident) {
                            let _ = self.lifecycle.restore(
                                partition,
                                incident.as_key(),
                                None,
                                &mut self.sources,
                            );
                        }
                        continue;
                    }
                    match self.lifecycle.restore(
                        partition,
                        incident.as_key(),
                        value,
                        &mut self.sources,
                    ) {
                        Ok(()) => {
                            live.insert(Box::from(legacy), incident.clone());
                            migrated.insert(incident);
                        }
                        Err(error) => errors.push(error),
                    }
                }
                Some(StateKey::Alert(hash)) => {
                    match value.map(|v| state::decode_alert(key, v)).transpose() {
                        Ok(alert) => {
                            alerts.insert(hash, alert);
                        }
                        Err(error) => errors.push(error),
                    }
                }
                Some(StateKey::Series(severity, source)) => {
                    if value.is_some() {
                        let source = self.sources.intern(source);
                        self.alert_partition(partition)
                            .book
                            .series_mut(source, severity)
                            .seen = true;
                    }
                }
                Some(StateKey::Clock) => {
                    if let Some(bytes) = value.and_then(|v| <[u8; 8]>::try_from(v).ok()) {
                        let at = i64::from_be_bytes(bytes);
                        // An ignored clock leaves the partition's last clock in bounds, if any.
                        if at > not_after.millis() {
                            errors.push(state::StateError::ClockAhead {
                                at: EventTime(at),
                                not_after,
                            });
                        } else {
                            clock = Some(at);
                        }
                    }
                }
                None => errors.push(state::StateError::Corrupt {
                    key: key.to_owned(),
                    reason: "unknown key".into(),
                }),
            }
        }
        // Each live legacy key is tombstoned; its incident is rewritten under its pair key
        // unless a record under that key was newer.
        if self.durable {
            for (legacy, incident) in live {
                self.migrations.push(Change::LegacyIncident {
                    partition,
                    key: legacy,
                });
                if migrated.contains(&incident) {
                    self.migrations.push(Change::Incident {
                        partition,
                        key: incident,
                    });
                }
            }
        }
        // The partition's own clock counts even before the caller's clock has moved (a fresh
        // process in event-clock mode is still at the epoch).
        let now = clock.map_or(now, |at| now.max(EventTime(at)));
        let oldest_kept = now.millis().saturating_sub(self.longest_alert_window);
        for (hash, alert) in alerts {
            let Some(alert) = alert else { continue };
            let source = self.sources.intern(&alert.source);
            let target = self.alert_partition(partition);
            target.book.series_mut(source, alert.severity).keep(
                alert.detected_at,
                hash,
                oldest_kept,
            );
            target.seen.insert(hash, now.millis());
        }
        if let Some(at) = clock {
            self.clocks.insert(partition, at);
            self.lifecycle.observe(partition, at);
        }
        (clock, errors)
    }
}
