//! The demo's SOC traffic: several detection sources, each with its own alert rate and
//! severity mix, bursts (an attack, a noisy rule), a few duplicate deliveries and a few
//! malformed records, rendered as native JSON records so they take the same path as Kafka's.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::event::{EventTime, Severity};

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

/// Share of records deliberately malformed, and of alerts delivered twice.
const MALFORMED_SHARE: f64 = 0.002;
const DUPLICATE_SHARE: f64 = 0.01;

/// A running burst: one tool at many times its rate until `until`.
#[derive(Clone, Copy, Debug)]
struct Burst {
    tool: usize,
    factor: f64,
    until: i64,
}

/// The traffic generator.
#[derive(Debug)]
pub struct Simulator {
    rng: SmallRng,
    next_id: u64,
    burst: Option<Burst>,
    last_id: Option<u64>,
}

impl Simulator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
            next_id: 0,
            burst: None,
            last_id: None,
        }
    }

    /// The records of every alert detected in `[from, to)`, in time order.
    pub fn alerts_between(&mut self, from: EventTime, to: EventTime) -> Vec<Vec<u8>> {
        let mut records = Vec::new();
        let step = 1_000;
        let mut second = from.millis();
        while second < to.millis() {
            let end = (second + step).min(to.millis());
            self.maybe_burst(second);
            let span = (end - second) as f64 / 1_000.0;
            for (index, tool) in TOOLS.iter().enumerate() {
                let factor = match self.burst {
                    Some(burst) if burst.tool == index && burst.until > second => burst.factor,
                    _ => 1.0,
                };
                for _ in 0..self.poisson(tool.rate * factor * span) {
                    let at = self.rng.random_range(second..end.max(second + 1));
                    records.push(self.alert(tool, EventTime(at)));
                }
            }
            second = end;
        }
        records
    }

    fn maybe_burst(&mut self, now: i64) {
        if self.burst.is_some_and(|b| b.until > now) {
            return;
        }
        // About one burst every ten minutes, lasting half a minute to two.
        if self.rng.random_bool(1.0 / 600.0) {
            self.burst = Some(Burst {
                tool: self.rng.random_range(0..TOOLS.len()),
                factor: self.rng.random_range(8.0..25.0),
                until: now + self.rng.random_range(30_000..120_000),
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

    fn alert(&mut self, tool: &Tool, detected_at: EventTime) -> Vec<u8> {
        if self.rng.random_bool(MALFORMED_SHARE) {
            return self.malformed(tool, detected_at);
        }
        let id = match self.last_id {
            Some(previous) if self.rng.random_bool(DUPLICATE_SHARE) => previous,
            _ => {
                self.next_id += 1;
                self.next_id
            }
        };
        self.last_id = Some(id);
        let severity = self.severity(tool);
        let rule = tool.rules[self.rng.random_range(0..tool.rules.len())];
        let asset = self.rng.random_range(1..400);
        let lead = self.rng.random_range(0..3_600_000);
        serde_json::json!({
            "alert_id": format!("{}-{id}", tool.name),
            "detected_at": detected_at.to_string(),
            "occurred_at": detected_at.millis() - lead,
            "source": tool.name,
            "rule": rule,
            "severity": severity.as_str(),
            "asset": format!("host-{asset:03}"),
            "threat_intel": self.rng.random_bool(0.1),
        })
        .to_string()
        .into_bytes()
    }

    fn severity(&mut self, tool: &Tool) -> Severity {
        let total: u32 = tool.mix.iter().sum();
        let mut pick = self.rng.random_range(0..total);
        for (level, weight) in Severity::ALL.into_iter().zip(tool.mix) {
            if pick < weight {
                return level;
            }
            pick -= weight;
        }
        Severity::Low
    }

    fn malformed(&mut self, tool: &Tool, detected_at: EventTime) -> Vec<u8> {
        match self.rng.random_range(0..3) {
            0 => format!(
                r#"{{"detected_at":{},"source":"{}","severity":"high"}}"#,
                detected_at.millis(),
                tool.name
            ),
            1 => format!(
                r#"{{"alert_id":"x","detected_at":{},"source":"{}","severity":"sev0"}}"#,
                detected_at.millis(),
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

    #[test]
    fn an_hour_of_traffic_is_mostly_valid_time_ordered_alerts_from_every_tool() {
        let mut sim = Simulator::new(7);
        let start = EventTime(1_767_225_600_000);
        let records = sim.alerts_between(start, EventTime(start.millis() + 3_600_000));
        let decoded: Vec<_> = records
            .iter()
            .filter_map(|r| decode_alert(std::str::from_utf8(r).ok()?).ok())
            .collect();
        // 5.2 alerts/s on average, more in bursts.
        assert!(records.len() > 15_000, "{}", records.len());
        assert!(decoded.len() as f64 > records.len() as f64 * 0.99);
        assert!(decoded.len() < records.len());
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
                .all(|a| a.detected_at >= start
                    && a.detected_at.millis() < start.millis() + 3_600_000)
        );
    }
}
