//! Alerts: the SOC's detection tools, their bursts, and the alert records they send.
//!
//! Each tool has its own rate, severity mix and rules. A burst runs one tool at many times
//! its rate for a minute or two: either a noisy rule (which opens proportionally fewer
//! incidents) or an attack (its first alert opens one high or critical incident that some
//! of the burst's later alerts join). A few alerts are malformed and a few are delivered
//! twice, byte for byte, a little later.
//!
//! Invariant: the draws of one alert come in a fixed order (severity, rule, host, occurrence,
//! incident, threat intel, redelivery), which the byte-identical output of a seed relies on.

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Map, Value};

use super::estate::HOSTS;
use super::incidents::{Opening, incident_id};
use super::{HOUR, Simulator, pick};
use crate::event::{Detection, EventTime, Severity};
use crate::source::TopicRole;

/// One detection tool of the simulated SOC (also what the benches' alert workloads draw from).
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    name: &'static str,
    /// Alerts per second outside bursts.
    pub(super) rate: f64,
    /// Relative weights of informational, low, medium, high, critical.
    mix: [u32; 5],
    rules: &'static [&'static str],
}

pub const TOOLS: [Tool; 6] = [
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

impl Tool {
    /// The tool's name, the alerts' `source`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The rules it raises alerts for.
    pub fn rules(&self) -> &'static [&'static str] {
        self.rules
    }

    /// A severity drawn from the tool's mix.
    pub fn severity(&self, rng: &mut SmallRng) -> Severity {
        pick(rng, &Severity::ALL, &self.mix)
    }
}

/// Share of alerts deliberately malformed, and of alerts delivered twice.
const MALFORMED_SHARE: f64 = 0.002;
const DUPLICATE_SHARE: f64 = 0.01;
/// Chance that an alert opens an incident, by severity (informational … critical). With the
/// tools' mixes this is about 0.032 incidents a second, ~2,800 a day.
const OPENS_INCIDENT: [f64; 5] = [0.0005, 0.002, 0.006, 0.02, 0.04];
/// Chance that a burst is an attack (one incident the burst's alerts join), not a noisy rule.
const ATTACK_SHARE: f64 = 0.3;
/// Chance that an alert of an attack burst names the attack's incident.
const JOINS_ATTACK: f64 = 0.1;

/// A running burst: one tool at many times its rate until `until`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Burst {
    pub(super) tool: usize,
    pub(super) factor: f64,
    pub(super) until: i64,
    /// An attack rather than a noisy rule: its first alert opens an incident.
    attack: bool,
    /// The attack's incident, once opened.
    incident: Option<u64>,
}

impl Simulator {
    /// Starts a burst at `now` now and then, unless one is still running.
    pub(super) fn maybe_burst(&mut self, now: i64, span: f64) {
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

    /// One alert of `TOOLS[tool_index]` detected at `detected_at`; `factor` is the tool's burst
    /// factor (1 outside bursts), which thins out the incidents a noisy rule opens.
    pub(super) fn alert(&mut self, tool_index: usize, detected_at: i64, factor: f64) {
        let tool = TOOLS[tool_index];
        if self.rng.random_bool(MALFORMED_SHARE) {
            let payload = self.malformed_alert(&tool, detected_at);
            self.schedule(TopicRole::Alerts, detected_at, None, payload);
            return;
        }
        self.next_alert += 1;
        let id = self.next_alert;
        let severity = tool.severity(&mut self.rng);
        let rule = tool.rules[self.rng.random_range(0..tool.rules.len())];
        let named = self.rng.random_range(1..HOSTS + 1);
        let occurred_at = detected_at - self.rng.random_range(0..HOUR);
        let opening = Opening {
            detected_at,
            occurred_at,
            severity,
            detection: Detection::Alert,
            asset: named,
        };
        let (incident, asset) = self.incident_of_alert(tool_index, opening, factor);
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

    /// The incident an alert names, if any, and the host it names: its own, or the host of
    /// the incident it joins (an analyst links alerts about the same machine).
    fn incident_of_alert(
        &mut self,
        tool_index: usize,
        opening: Opening,
        factor: f64,
    ) -> (Option<u64>, u32) {
        let in_attack = self
            .burst
            .filter(|b| b.attack && b.tool == tool_index && b.until > opening.detected_at);
        match in_attack {
            Some(Burst {
                incident: Some(number),
                ..
            }) => (
                self.rng.random_bool(JOINS_ATTACK).then_some(number),
                opening.asset,
            ),
            Some(_) => {
                // The attack's first alert opens its incident, high or critical.
                let number = self.open_incident(Opening {
                    severity: opening.severity.max(Severity::High),
                    ..opening
                });
                if let Some(burst) = &mut self.burst {
                    burst.incident = Some(number);
                }
                (Some(number), opening.asset)
            }
            None if self
                .rng
                .random_bool(OPENS_INCIDENT[opening.severity.index()] / factor) =>
            {
                (Some(self.open_incident(opening)), opening.asset)
            }
            None => match self.join(opening.detected_at) {
                Some(joined) => (Some(joined.number), joined.asset),
                None => (None, opening.asset),
            },
        }
    }

    /// What a broken integration sends: a record missing its id, with an unknown severity,
    /// or not JSON at all.
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::native::decode_alert;
    use crate::sim::fixtures::{START, text};

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
}
